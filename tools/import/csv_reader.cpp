#include "tools/import/csv_reader.hpp"

namespace tributary::tools::import {
namespace {
constexpr int kEof = std::char_traits<char>::eof();
}

CsvReader::CsvReader(std::istream& in, int64_t offset, int64_t line, size_t max_record_bytes)
    : buffer_(in.rdbuf()), offset_(offset), line_(line), max_record_bytes_(max_record_bytes) {}

int CsvReader::Get() {
    const int c = buffer_->sbumpc();
    if (c != kEof) {
        ++offset_;
        if (c == '\n') ++line_;
    }
    return c;
}

int CsvReader::Peek() { return buffer_->sgetc(); }

void CsvReader::SkipToLineEnd(Record& record) {
    for (int c = Get(); c != kEof && c != '\n'; c = Get()) {
        if (record.text.size() < max_record_bytes_) record.text.push_back(static_cast<char>(c));
    }
    record.end_offset = offset_;
}

bool CsvReader::Next(Record& record) {
    while (true) {
        record.fields.clear();
        record.text.clear();
        record.error.clear();
        record.line = line_ + 1;
        if (Peek() == kEof) return false;
        std::string field;
        bool quoted = false;       // inside a quoted field
        bool was_quoted = false;   // the current field started with a quote
        bool field_started = false;
        while (true) {
            const int c = Get();
            if (c == kEof) {
                if (quoted) {
                    record.error = "a quoted field is not closed before the end of the file";
                    record.end_offset = offset_;
                    return true;
                }
                break;
            }
            const char ch = static_cast<char>(c);
            if (record.text.size() >= max_record_bytes_) {
                record.error = "record longer than " + std::to_string(max_record_bytes_) + " bytes";
                if (!quoted && ch == '\n') {
                    record.end_offset = offset_;
                    return true;
                }
                SkipToLineEnd(record);
                return true;
            }
            if (quoted) {
                record.text.push_back(ch);
                if (ch == '"') {
                    if (Peek() == '"') {
                        record.text.push_back(static_cast<char>(Get()));
                        field.push_back('"');
                    } else {
                        quoted = false;
                    }
                } else {
                    field.push_back(ch);
                }
                continue;
            }
            if (ch == '\n') break;
            if (ch == '\r' && Peek() == '\n') {
                Get();
                break;
            }
            record.text.push_back(ch);
            if (ch == ',') {
                record.fields.push_back(std::move(field));
                field.clear();
                was_quoted = false;
                field_started = false;
                continue;
            }
            if (ch == '"') {
                if (!field_started) {
                    quoted = true;
                    was_quoted = true;
                    field_started = true;
                    continue;
                }
                record.error = was_quoted
                                   ? "a quoted field is followed by text before the next comma"
                                   : "a double quote inside a field that does not start with one";
                SkipToLineEnd(record);
                return true;
            }
            if (was_quoted) {
                record.error = "a quoted field is followed by text before the next comma";
                SkipToLineEnd(record);
                return true;
            }
            field_started = true;
            field.push_back(ch);
        }
        record.fields.push_back(std::move(field));
        record.end_offset = offset_;
        if (record.fields.size() == 1 && record.fields[0].empty() && record.text.empty()) {
            continue;  // a blank line
        }
        return true;
    }
}

}  // namespace tributary::tools::import
