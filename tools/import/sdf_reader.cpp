#include "tools/import/sdf_reader.hpp"

#include <GraphMol/FileParsers/MolSupplier.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <RDGeneral/RDLog.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <vector>

namespace tributary::tools::import {
namespace {

constexpr int kEof = std::char_traits<char>::eof();

bool IsTerminator(const std::string& line) {
    size_t end = line.size();
    while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
    return end == 4 && line.compare(0, 4, "$$$$") == 0;
}

// "… on line 6 …" with the record's line 6 → the same text with the file's line.
std::string FileLines(const std::string& text, int64_t first_line) {
    std::string out;
    size_t at = 0;
    while (true) {
        const size_t found = text.find("line ", at);
        if (found == std::string::npos) break;
        size_t end = found + 5;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
        out.append(text, at, found + 5 - at);
        if (end > found + 5 && end - found - 5 < 12) {
            out += std::to_string(std::stoll(text.substr(found + 5, end - found - 5)) + first_line - 1);
        } else {
            out.append(text, found + 5, end - found - 5);
        }
        at = end;
    }
    out.append(text, at, std::string::npos);
    return out;
}

// Sends RDKit's error and warning logs to a string while it lives, so a broken record's
// reason is ours to report instead of noise on stderr.
class RdkitLogCapture {
public:
    RdkitLogCapture()
        : saved_error_(rdErrorLog),
          saved_warning_(rdWarningLog) {
        rdErrorLog = std::make_shared<boost::logging::rdLogger>(&errors_);
        rdWarningLog = std::make_shared<boost::logging::rdLogger>(&warnings_);
    }
    ~RdkitLogCapture() {
        rdErrorLog = saved_error_;
        rdWarningLog = saved_warning_;
    }
    RdkitLogCapture(const RdkitLogCapture&) = delete;
    RdkitLogCapture& operator=(const RdkitLogCapture&) = delete;

    // The error lines without RDKit's "[hh:mm:ss] " stamps and "ERROR: " prefixes, each once,
    // joined. RDKit counts lines from the start of the text it was given (the record): "line N"
    // is turned into the file's line, the record starting at `first_line`.
    std::string Errors(int64_t first_line) const {
        std::istringstream lines(errors_.str());
        std::string line, out;
        std::vector<std::string> seen;
        while (std::getline(lines, line)) {
            if (line.starts_with('[')) {
                const size_t close = line.find("] ");
                if (close != std::string::npos && close < 12) line.erase(0, close + 2);
            }
            if (line.starts_with("ERROR: ")) line.erase(0, 7);
            while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
            if (line.empty()) continue;
            line = FileLines(line, first_line);
            if (std::find(seen.begin(), seen.end(), line) != seen.end()) continue;
            seen.push_back(line);
            if (!out.empty()) out += "; ";
            out += line;
        }
        return out;
    }

private:
    std::ostringstream errors_;
    std::ostringstream warnings_;
    RDLogger saved_error_;
    RDLogger saved_warning_;
};

}  // namespace

SdfSplitter::SdfSplitter(std::istream& in, int64_t offset, int64_t line, int64_t record,
                         size_t max_record_bytes)
    : buffer_(in.rdbuf()),
      offset_(offset),
      line_(line),
      record_(record),
      max_record_bytes_(max_record_bytes) {}

bool SdfSplitter::Next(Record& record) {
    std::string line;
    while (true) {
        record.text.clear();
        record.too_long = false;
        record.line = line_ + 1;
        bool blank = true;
        bool any = false;
        while (true) {
            line.clear();
            int c = buffer_->sbumpc();
            if (c == kEof) break;
            any = true;
            for (; c != kEof; c = buffer_->sbumpc()) {
                ++offset_;
                if (c == '\n') break;
                line.push_back(static_cast<char>(c));
            }
            ++line_;
            const bool terminator = IsTerminator(line);
            if (!terminator && line.find_first_not_of(" \t\r") != std::string::npos) blank = false;
            if (!record.too_long) {
                if (record.text.size() + line.size() + 1 > max_record_bytes_) {
                    record.too_long = true;
                    record.text.clear();
                } else {
                    record.text += line;
                    record.text += '\n';
                }
            }
            if (terminator) break;
        }
        if (!any) return false;
        record.end_offset = offset_;
        record.end_line = line_;
        // Only blank lines (and perhaps a lone "$$$$"): nothing to import.
        if (blank && !record.too_long) continue;
        record.number = ++record_;
        return true;
    }
}

MappedEvent MapSdfRecord(const MappingContext& context, const SdfOptions& options,
                         const std::string& text, int64_t number, int64_t first_line) {
    MappedEvent out;
    std::unique_ptr<RDKit::ROMol> mol;
    std::string reason;
    {
        RdkitLogCapture capture;
        try {
            auto stream = std::make_unique<std::istringstream>(text);
            RDKit::ForwardSDMolSupplier supplier(stream.get(), false, true, true);
            mol.reset(supplier.next());
        } catch (const std::exception& e) {
            reason = e.what();
        }
        if (!mol) {
            const std::string logged = capture.Errors(first_line);
            if (!logged.empty()) reason = reason.empty() ? logged : reason + "; " + logged;
        }
    }
    if (!mol) {
        out.field = "(structure)";
        out.error = "RDKit: " + (reason.empty() ? std::string("the record is not a readable molecule") : reason);
        return out;
    }
    nlohmann::json event = {{"data", nlohmann::json::object()}};
    nlohmann::json& data = event["data"];
    try {
        if (mol->getNumAtoms() > 0) data["smiles"] = RDKit::MolToSmiles(*mol);
    } catch (const std::exception& e) {
        out.field = "(structure)";
        out.error = std::string("RDKit cannot write the structure as SMILES: ") + e.what();
        return out;
    }
    std::string title;
    mol->getPropIfPresent(RDKit::common_properties::_Name, title);
    if (!title.empty()) data["name"] = title;
    std::string molecule_id;
    bool id_found = false;
    for (const std::string& name : mol->getPropList(false, false)) {
        std::string value;
        if (!mol->getPropIfPresent(name, value)) continue;
        if (!options.molecule_id_field.empty() && name == options.molecule_id_field) {
            molecule_id = value;
            id_found = true;
            continue;
        }
        if (name == "researcher" && !value.empty()) {
            event["researcher"] = value;
            continue;
        }
        if (auto numeric = ParseNumber(value)) {
            data["measurements"][name] = *numeric;
        } else {
            const std::string key = (name == "smiles" || name == "measurements") ? "sdf_" + name : name;
            if (!data.contains(key)) data[key] = value;
        }
    }
    if (!options.molecule_id_field.empty()) {
        if (!id_found || molecule_id.empty()) {
            out.field = options.molecule_id_field;
            out.error = "the record has no property '" + options.molecule_id_field +
                        "' (--molecule-id-field)";
            return out;
        }
    } else {
        molecule_id = title.empty() ? "record-" + std::to_string(number) : title;
    }
    event["molecule_id"] = molecule_id;
    return FinishEvent(context, std::move(event), number, text);
}

}  // namespace tributary::tools::import
