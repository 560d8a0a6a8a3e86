#include "query/day_segment.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <stdexcept>
#include <unordered_map>

namespace tributary::query {
namespace {

constexpr int64_t kDayUs = 86400LL * 1000000;

void PutVarint(std::string& out, uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

// Codes in first-seen order.
class Interner {
public:
    explicit Interner(std::vector<std::string>& names) : names_(names) {}
    uint32_t Code(std::string_view name) {
        const auto it = codes_.find(name);
        if (it != codes_.end()) return it->second;
        names_.emplace_back(name);
        const auto code = static_cast<uint32_t>(names_.size() - 1);
        codes_.emplace(name, code);
        return code;
    }

private:
    std::vector<std::string>& names_;
    std::unordered_map<std::string_view, uint32_t> codes_;  // views of the caller's events
};

}  // namespace

std::string SegmentDictionary::ToJson() const {
    nlohmann::json json = {{"format", kSegmentFormat}, {"event_type", event_types}};
    for (size_t d = 0; d < kSegmentDimensions; ++d) {
        json[std::string(kSegmentDimensionNames[d])] = dimensions[d];
    }
    return json.dump();
}

std::optional<SegmentDictionary> SegmentDictionary::FromJson(std::string_view text) {
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object() || json.value("format", 0) != kSegmentFormat) {
        return std::nullopt;
    }
    const auto strings = [&json](const std::string& key, std::vector<std::string>& out) {
        const auto it = json.find(key);
        if (it == json.end() || !it->is_array()) return false;
        for (const auto& item : *it) {
            if (!item.is_string()) return false;
            out.push_back(item.get<std::string>());
        }
        return true;
    };
    SegmentDictionary dictionary;
    if (!strings("event_type", dictionary.event_types)) return std::nullopt;
    for (size_t d = 0; d < kSegmentDimensions; ++d) {
        if (!strings(std::string(kSegmentDimensionNames[d]), dictionary.dimensions[d])) {
            return std::nullopt;
        }
    }
    return dictionary;
}

EncodedSegment EncodeSegment(int64_t day_start_us, const std::vector<SegmentEvent>& events) {
    EncodedSegment out;
    Interner types(out.dictionary.event_types);
    std::array<std::optional<Interner>, kSegmentDimensions> values;
    for (size_t d = 0; d < kSegmentDimensions; ++d) values[d].emplace(out.dictionary.dimensions[d]);
    out.timeline.reserve(events.size() * 6);
    out.dimensions.reserve(events.size() * 4);
    const SegmentEvent* previous = nullptr;
    for (const SegmentEvent& event : events) {
        if (event.time_us < day_start_us || event.time_us >= day_start_us + kDayUs) {
            throw std::invalid_argument("segment event outside its day");
        }
        if (previous == nullptr) {
            PutVarint(out.timeline, event.user_no);
            PutVarint(out.timeline, static_cast<uint64_t>(event.time_us - day_start_us));
        } else if (event.user_no == previous->user_no) {
            if (event.time_us < previous->time_us) {
                throw std::invalid_argument("segment events not sorted by (user, time)");
            }
            PutVarint(out.timeline, 0);
            PutVarint(out.timeline, static_cast<uint64_t>(event.time_us - previous->time_us));
        } else {
            if (event.user_no < previous->user_no) {
                throw std::invalid_argument("segment events not sorted by (user, time)");
            }
            PutVarint(out.timeline, event.user_no - previous->user_no);
            PutVarint(out.timeline, static_cast<uint64_t>(event.time_us - day_start_us));
        }
        PutVarint(out.timeline, types.Code(event.event_type));
        for (size_t d = 0; d < kSegmentDimensions; ++d) {
            const auto& value = event.dimensions[d];
            PutVarint(out.dimensions, value ? values[d]->Code(*value) + 1ULL : 0ULL);
        }
        previous = &event;
    }
    out.events = static_cast<int64_t>(events.size());
    return out;
}

void TimelineReader::Corrupt() { throw std::runtime_error("corrupt day segment timeline"); }

DimensionReader::DimensionReader(std::string_view dimensions, const SegmentDictionary& dictionary)
    : at_(reinterpret_cast<const uint8_t*>(dimensions.data())), end_(at_ + dimensions.size()) {
    for (size_t d = 0; d < kSegmentDimensions; ++d) sizes_[d] = dictionary.dimensions[d].size();
}

void DimensionReader::Next(std::array<int32_t, kSegmentDimensions>& codes) {
    for (size_t d = 0; d < kSegmentDimensions; ++d) {
        uint64_t value = 0;
        int shift = 0;
        while (true) {
            if (at_ == end_ || shift >= 35) throw std::runtime_error("corrupt day segment dimensions");
            const uint8_t byte = *at_++;
            value |= static_cast<uint64_t>(byte & 0x7f) << shift;
            shift += 7;
            if ((byte & 0x80) == 0) break;
        }
        if (value > sizes_[d]) throw std::runtime_error("corrupt day segment dimensions");
        codes[d] = static_cast<int32_t>(value) - 1;
    }
}

std::optional<int64_t> ParsePgUtcMicros(const char* text) {
    const std::string_view s(text);
    if (s.size() < 22 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
        s[16] != ':' || s.substr(s.size() - 3) != "+00") {
        return std::nullopt;
    }
    const auto number = [&s](size_t at, size_t length) {
        int value = 0;
        for (size_t i = at; i < at + length; ++i) value = value * 10 + (s[i] - '0');
        return value;
    };
    int64_t micros = 0;
    if (s[19] == '.') {
        const size_t digits = s.size() - 3 - 20;
        micros = number(20, digits);
        for (size_t i = digits; i < 6; ++i) micros *= 10;
    }
    const std::chrono::year_month_day ymd{std::chrono::year(number(0, 4)),
                                          std::chrono::month(static_cast<unsigned>(number(5, 2))),
                                          std::chrono::day(static_cast<unsigned>(number(8, 2)))};
    const int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
    const int64_t seconds = days * 86400 + number(11, 2) * 3600 + number(14, 2) * 60 + number(17, 2);
    return seconds * 1000000 + micros;
}

}  // namespace tributary::query
