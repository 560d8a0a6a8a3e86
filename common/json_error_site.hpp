#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::common {

// One step of the path to a value: an object member (`key`) or an array element (`index`).
struct JsonPathStep {
    std::string key;
    std::optional<size_t> index;
};

// Where nlohmann's parser gives up on a JSON text: the byte offset (as parse_error::byte: the
// 1-based position of the last byte read), the path of the value being read there (empty at
// the top level), the last token read, and the library's message.
struct JsonErrorSite {
    size_t byte = 0;
    std::vector<JsonPathStep> path;
    std::string token;
    std::string message;
};

// Parses `text` once more with a SAX handler that tracks the path, for naming the field of a
// document that failed to parse (e.g. a number no double holds, which the library reports as
// out_of_range, not parse_error, and without position). nullopt when `text` parses. Costs a
// second parse: only for the error path. Never throws (except std::bad_alloc); thread-safe.
std::optional<JsonErrorSite> LocateJsonError(std::string_view text);

// "metadata.x", "events[1].data.t[0]": `path` from step `from` on.
std::string JsonPathText(const std::vector<JsonPathStep>& path, size_t from = 0);

}  // namespace tributary::common
