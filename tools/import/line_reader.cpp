#include "tools/import/line_reader.hpp"

namespace tributary::tools::import {

LineReader::LineReader(std::istream& in, int64_t offset, int64_t line, size_t max_line_bytes)
    : buffer_(in.rdbuf()), offset_(offset), line_(line), max_line_bytes_(max_line_bytes) {}

bool LineReader::Next(Line& line) {
    using Traits = std::char_traits<char>;
    while (true) {
        line.text.clear();
        line.too_long = false;
        bool any = false;
        size_t length = 0;
        while (true) {
            const int c = buffer_->sbumpc();
            if (c == Traits::eof()) break;
            any = true;
            ++offset_;
            if (c == '\n') break;
            ++length;
            if (length > max_line_bytes_) {
                if (!line.too_long) line.text.clear();
                line.too_long = true;
            } else {
                line.text.push_back(static_cast<char>(c));
            }
        }
        if (!any) return false;
        ++line_;
        if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
        line.number = line_;
        line.end_offset = offset_;
        if (line.too_long) {
            line.text.clear();
            return true;
        }
        if (line.text.find_first_not_of(" \t") != std::string::npos) return true;
    }
}

}  // namespace tributary::tools::import
