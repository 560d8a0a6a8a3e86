#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace tributary::tools::import {

// Reads RFC 4180 CSV records from a stream: fields separated by commas, records by CRLF or
// LF; a field in double quotes may hold commas, line breaks and doubled quotes (""). Blank
// lines are skipped. Keeps the byte offset and line number for resuming. Memory is bounded by
// the longest record (records over `max_record_bytes` are skipped and reported). Not
// thread-safe; borrows `in`.
class CsvReader {
public:
    struct Record {
        std::vector<std::string> fields;
        std::string text;        // the record as it appears in the file (for the rejects file)
        int64_t line = 0;        // 1-based line where the record starts
        int64_t end_offset = 0;  // byte offset just past the record's line break
        std::string error;       // set for a malformed record (fields are then incomplete)
    };

    CsvReader(std::istream& in, int64_t offset, int64_t line, size_t max_record_bytes);

    // The next record; false at the end of the input.
    bool Next(Record& record);

    int64_t Offset() const { return offset_; }
    int64_t Line() const { return line_; }

private:
    int Get();
    int Peek();
    void SkipToLineEnd(Record& record);

    std::streambuf* buffer_;
    int64_t offset_;
    int64_t line_;  // lines fully consumed
    size_t max_record_bytes_;
};

}  // namespace tributary::tools::import
