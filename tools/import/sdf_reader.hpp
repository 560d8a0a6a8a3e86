#pragma once

#include "tools/import/event_mapping.hpp"

#include <cstdint>
#include <istream>
#include <string>

namespace tributary::tools::import {

// Splits an SD file into records (the lines up to and including each "$$$$") from a stream,
// keeping byte offsets and line numbers for resuming. Memory is bounded by the longest record
// (records over `max_record_bytes` are skipped and reported). Not thread-safe; borrows `in`.
class SdfSplitter {
public:
    struct Record {
        std::string text;
        int64_t number = 0;      // 1-based record number in the file
        int64_t line = 0;        // 1-based line where the record starts
        int64_t end_offset = 0;  // byte offset just past its "$$$$" line
        int64_t end_line = 0;    // lines up to and including it
        bool too_long = false;
    };

    SdfSplitter(std::istream& in, int64_t offset, int64_t line, int64_t record,
                size_t max_record_bytes);

    // The next record that is not blank; false at the end of the input.
    bool Next(Record& record);

private:
    std::streambuf* buffer_;
    int64_t offset_;
    int64_t line_;
    int64_t record_;
    size_t max_record_bytes_;
};

struct SdfOptions {
    std::string molecule_id_field;  // empty: the title line, else "record-N"
};

// One SD record read with RDKit (ForwardSDMolSupplier over the record's text, sanitized):
// the structure → data.smiles (RDKit's canonical SMILES), numeric properties →
// data.measurements, text properties → data fields (renamed "sdf_NAME" when NAME is smiles or
// measurements), the title line → data.name, a "researcher" property → researcher; then
// FinishEvent with the record's text. A record RDKit cannot read is refused with RDKit's own
// reason (its line numbers turned into the file's, the record starting at `first_line`). Not thread-safe: it redirects RDKit's global error log while it parses.
MappedEvent MapSdfRecord(const MappingContext& context, const SdfOptions& options,
                         const std::string& text, int64_t number, int64_t first_line = 1);

}  // namespace tributary::tools::import
