#pragma once

#include "tools/import/arguments.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::tools::import {

// Everything the mapping needs besides the record itself. Immutable during an import.
struct MappingContext {
    Kind kind = Kind::kAnalytics;
    std::string file_head_sha256;  // names the deterministic ids
    std::string researcher;        // chemical: for records that name none
};

// A record turned into the JSON of one event, or why it cannot be sent.
struct MappedEvent {
    std::string json;    // serialized event, set when error is empty
    std::string field;   // the offending field, when known
    std::string error;   // why the record is refused before sending
    bool ok() const { return error.empty(); }
};

// The member that carries the idempotency key: event_id (native kinds) or messageId (segment).
std::string_view IdField(Kind kind);

// Completes a parsed event and serializes it: the deterministic id when the event has none
// (from `number` and `content`, the record's text), the default researcher for chemical
// records without one. Refuses what is not a JSON object or lacks a researcher. Pure.
MappedEvent FinishEvent(const MappingContext& context, nlohmann::json event, int64_t number,
                        std::string_view content);

// One NDJSON line: parsed (a syntax error is refused with its byte), then FinishEvent.
MappedEvent MapJsonLine(const MappingContext& context, std::string_view line, int64_t number);

// A CSV header: trimmed names (a UTF-8 byte-order mark removed); an error names an empty or
// repeated column.
std::optional<std::vector<std::string>> CsvHeader(const std::vector<std::string>& fields,
                                                  std::string* error);

// One CSV row under `header` (see docs/IMPORTING.md for the column mapping of each kind);
// empty cells are left out. Then FinishEvent with the row's text.
MappedEvent MapCsvRow(const MappingContext& context, const std::vector<std::string>& header,
                      const std::vector<std::string>& fields, std::string_view text,
                      int64_t number);

// A CSV cell as a JSON number when the whole cell is one in JSON's grammar ("12", "-0.5",
// "1e3"; not "007", "1,5", " 3", "NaN"), integers as integers; nullopt otherwise.
std::optional<nlohmann::json> ParseNumber(std::string_view text);

}  // namespace tributary::tools::import
