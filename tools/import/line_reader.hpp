#pragma once

#include <cstdint>
#include <istream>
#include <string>

namespace tributary::tools::import {

// Reads an NDJSON file line by line from a stream, keeping the byte offset and line number so
// an import can resume at a line boundary. Memory is bounded by the longest line it keeps
// (lines over `max_line_bytes` are skipped and reported). Not thread-safe; borrows `in`.
class LineReader {
public:
    struct Line {
        std::string text;        // without the "\n" (and a "\r" before it)
        int64_t number = 0;      // 1-based line number in the file
        int64_t end_offset = 0;  // byte offset just past this line's newline
        bool too_long = false;   // text is empty then
    };

    // `offset`/`line`: where `in` is positioned (bytes and lines before it), for resuming.
    LineReader(std::istream& in, int64_t offset, int64_t line, size_t max_line_bytes);

    // The next line that is not blank; false at the end of the input.
    bool Next(Line& line);

    int64_t Offset() const { return offset_; }

private:
    std::streambuf* buffer_;
    int64_t offset_;
    int64_t line_;
    size_t max_line_bytes_;
};

}  // namespace tributary::tools::import
