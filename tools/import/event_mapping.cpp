#include "tools/import/event_mapping.hpp"

#include "tools/import/ids.hpp"

#include <charconv>
#include <cmath>
#include <set>

namespace tributary::tools::import {
namespace {

// Does `text` match JSON's number grammar exactly?
bool IsJsonNumber(std::string_view text) {
    size_t i = 0;
    const size_t n = text.size();
    auto digit = [&](size_t at) { return at < n && text[at] >= '0' && text[at] <= '9'; };
    if (i < n && text[i] == '-') ++i;
    if (!digit(i)) return false;
    if (text[i] == '0') {
        ++i;
    } else {
        while (digit(i)) ++i;
    }
    if (i < n && text[i] == '.') {
        ++i;
        if (!digit(i)) return false;
        while (digit(i)) ++i;
    }
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
        if (!digit(i)) return false;
        while (digit(i)) ++i;
    }
    return i == n;
}

std::string Trim(std::string_view text) {
    const size_t begin = text.find_first_not_of(" \t");
    if (begin == std::string_view::npos) return "";
    const size_t end = text.find_last_not_of(" \t");
    return std::string(text.substr(begin, end - begin + 1));
}

// Sets a dotted path ("context.page.path" under `root` minus its first part) as a string.
void SetNested(nlohmann::json& object, std::string_view path, const std::string& value) {
    nlohmann::json* node = &object;
    size_t start = 0;
    while (true) {
        const size_t dot = path.find('.', start);
        const std::string part(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (dot == std::string_view::npos) {
            (*node)[part] = value;
            return;
        }
        nlohmann::json& child = (*node)[part];
        if (!child.is_object()) child = nlohmann::json::object();
        node = &child;
        start = dot + 1;
    }
}

nlohmann::json NumberOrText(const std::string& cell) {
    if (auto number = ParseNumber(cell)) return *number;
    return cell;
}

void MapAnalyticsColumn(nlohmann::json& event, const std::string& name, const std::string& cell) {
    static const std::set<std::string, std::less<>> kTopLevel = {"user_id", "event_type", "timestamp",
                                                                 "event_id", "session_id"};
    if (kTopLevel.contains(name)) {
        event[name] = cell;
    } else if (name.starts_with("context.") && name.size() > 8) {
        SetNested(event["context"], std::string_view(name).substr(8), cell);
    } else {
        event["metadata"][name] = NumberOrText(cell);
    }
}

void MapChemicalColumn(nlohmann::json& event, const std::string& name, const std::string& cell) {
    static const std::set<std::string, std::less<>> kTopLevel = {"molecule_id", "researcher",
                                                                 "experiment_id", "timestamp", "event_id"};
    static const std::set<std::string, std::less<>> kDataText = {"smiles", "name", "formula", "notes"};
    if (kTopLevel.contains(name)) {
        event[name] = cell;
    } else if (kDataText.contains(name)) {
        event["data"][name] = cell;
    } else if (auto number = ParseNumber(cell)) {
        event["data"]["measurements"][name] = *number;
    } else {
        event["data"][name] = cell;
    }
}

void MapSegmentColumn(nlohmann::json& event, const std::string& name, const std::string& cell) {
    static const std::set<std::string, std::less<>> kTopLevel = {
        "type", "userId", "anonymousId", "event", "messageId", "timestamp",
        "sentAt", "name", "groupId", "previousId"};
    if (kTopLevel.contains(name)) {
        event[name] = cell;
    } else if (name.starts_with("context.") && name.size() > 8) {
        SetNested(event["context"], std::string_view(name).substr(8), cell);
    } else if (name.starts_with("traits.") && name.size() > 7) {
        event["traits"][name.substr(7)] = NumberOrText(cell);
    } else {
        event["properties"][name] = NumberOrText(cell);
    }
}

}  // namespace

std::string_view IdField(Kind kind) { return kind == Kind::kSegment ? "messageId" : "event_id"; }

std::optional<nlohmann::json> ParseNumber(std::string_view text) {
    if (!IsJsonNumber(text)) return std::nullopt;
    const bool integral = text.find_first_of(".eE") == std::string_view::npos;
    if (integral) {
        int64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc() && end == text.data() + text.size()) return nlohmann::json(value);
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
        return std::nullopt;
    }
    return nlohmann::json(value);
}

MappedEvent FinishEvent(const MappingContext& context, nlohmann::json event, int64_t number,
                        std::string_view content) {
    MappedEvent out;
    if (!event.is_object()) {
        out.field = "(event)";
        out.error = std::string("is JSON but not an object (") + event.type_name() + ")";
        return out;
    }
    if (context.kind == Kind::kChemical) {
        const auto researcher = event.find("researcher");
        if (researcher == event.end() || researcher->is_null() ||
            (researcher->is_string() && researcher->get_ref<const std::string&>().empty())) {
            if (context.researcher.empty()) {
                out.field = "researcher";
                out.error = "the record names no researcher; pass --researcher NAME";
                return out;
            }
            event["researcher"] = context.researcher;
        }
    }
    if (context.kind == Kind::kSegment && !event.contains("type") && event.contains("event")) {
        event["type"] = "track";
    }
    const std::string id_field(IdField(context.kind));
    const auto id = event.find(id_field);
    if (id == event.end() || id->is_null()) {
        event[id_field] = DeterministicEventId(context.file_head_sha256, number, content);
    }
    // Invalid UTF-8 in a string would make dump() throw; replace it so the publisher names the
    // field it refuses instead of the whole line vanishing here.
    out.json = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return out;
}

MappedEvent MapJsonLine(const MappingContext& context, std::string_view line, int64_t number) {
    nlohmann::json event;
    try {
        event = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
        MappedEvent out;
        out.field = "(line)";
        out.error = std::string("invalid JSON: ") + e.what();
        return out;
    } catch (const nlohmann::json::exception& e) {
        MappedEvent out;
        out.field = "(line)";
        out.error = std::string("unacceptable JSON: ") + e.what();
        return out;
    }
    return FinishEvent(context, std::move(event), number, line);
}

std::optional<std::vector<std::string>> CsvHeader(const std::vector<std::string>& fields,
                                                  std::string* error) {
    std::vector<std::string> header;
    std::set<std::string, std::less<>> seen;
    for (size_t i = 0; i < fields.size(); ++i) {
        std::string name = fields[i];
        if (i == 0 && name.starts_with("\xEF\xBB\xBF")) name.erase(0, 3);
        name = Trim(name);
        if (name.empty()) {
            *error = "column " + std::to_string(i + 1) + " of the header row has no name";
            return std::nullopt;
        }
        if (!seen.insert(name).second) {
            *error = "the header row names column '" + name + "' twice";
            return std::nullopt;
        }
        header.push_back(std::move(name));
    }
    return header;
}

MappedEvent MapCsvRow(const MappingContext& context, const std::vector<std::string>& header,
                      const std::vector<std::string>& fields, std::string_view text,
                      int64_t number) {
    if (fields.size() != header.size()) {
        MappedEvent out;
        out.field = "(row)";
        out.error = "has " + std::to_string(fields.size()) + " fields, the header has " +
                    std::to_string(header.size());
        return out;
    }
    nlohmann::json event = nlohmann::json::object();
    for (size_t i = 0; i < header.size(); ++i) {
        if (fields[i].empty()) continue;
        switch (context.kind) {
            case Kind::kAnalytics: MapAnalyticsColumn(event, header[i], fields[i]); break;
            case Kind::kChemical: MapChemicalColumn(event, header[i], fields[i]); break;
            case Kind::kSegment: MapSegmentColumn(event, header[i], fields[i]); break;
        }
    }
    if (context.kind == Kind::kChemical && !event.contains("data")) event["data"] = nlohmann::json::object();
    return FinishEvent(context, std::move(event), number, text);
}

}  // namespace tributary::tools::import
