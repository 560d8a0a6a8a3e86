#pragma once
// Day segments: one UTC day of analytics events compacted into two byte columns, so that
// queries which must look at individual events (funnels, and the partial days at the edges
// of user distributions) read a few bytes per event instead of an index entry per event.
//
// A segment is a snapshot of the day's rows: it stores how many rows it covers, and it is
// used only while that number equals the day's total in analytics_event_counts (maintained in
// the insert transaction). An event arriving late for a sealed day makes the segment stale
// until it is rebuilt; in between, queries read that day's raw rows. Answers are therefore
// the same with or without segments.
//
// Encoding (format 1), events sorted by (user_no, time):
//   timeline:   per event varint(user_no - previous user_no), then varint(time - previous
//               time) when the user is the previous event's user, else varint(time - day
//               start) (microseconds), then varint(event type code)
//   dimensions: per event, in the same order, four varints: device, os, browser, country
//               codes + 1 (0 when the event has no value)
// Codes index the segment's dictionaries (SegmentDictionary), in first-seen order. Both
// columns are stored as base64url text (Base64UrlEncode in params.hpp).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::query {

inline constexpr int kSegmentFormat = 1;
inline constexpr size_t kSegmentDimensions = 4;
// The dimensions of the `dimensions` column, in order.
inline constexpr std::array<std::string_view, kSegmentDimensions> kSegmentDimensionNames = {
    "device", "os", "browser", "country"};

// Strings behind the codes of one segment.
struct SegmentDictionary {
    std::vector<std::string> event_types;
    std::array<std::vector<std::string>, kSegmentDimensions> dimensions;

    std::string ToJson() const;
    // nullopt when `json` is not a dictionary written by ToJson.
    static std::optional<SegmentDictionary> FromJson(std::string_view json);
};

// One event as the segment writer takes it.
struct SegmentEvent {
    uint32_t user_no = 0;
    int64_t time_us = 0;  // microseconds since the epoch, inside the segment's day
    std::string_view event_type;
    std::array<std::optional<std::string_view>, kSegmentDimensions> dimensions;
};

struct EncodedSegment {
    SegmentDictionary dictionary;
    std::string timeline;
    std::string dimensions;
    int64_t events = 0;
};

// Encodes events of the day starting at `day_start_us`. Events must be sorted by (user_no,
// time_us) and lie inside the day; throws std::invalid_argument otherwise.
EncodedSegment EncodeSegment(int64_t day_start_us, const std::vector<SegmentEvent>& events);

// Reads a timeline column in order. Malformed input (truncated varints, times outside the day,
// codes outside the dictionary) throws std::runtime_error: a segment is never half-trusted.
class TimelineReader {
public:
    TimelineReader(std::string_view timeline, int64_t day_start_us, size_t type_count)
        : at_(reinterpret_cast<const uint8_t*>(timeline.data())),
          end_(at_ + timeline.size()),
          day_start_us_(day_start_us),
          type_count_(type_count) {}

    bool Done() const { return at_ == end_; }
    // Reads the next event; call only while !Done().
    void Next(uint32_t& user_no, int64_t& time_us, uint32_t& type) {
        const uint64_t user_delta = Varint();
        if (user_delta == 0 && started_) {
            time_ += static_cast<int64_t>(Varint());
        } else {
            user_ += user_delta;
            time_ = day_start_us_ + static_cast<int64_t>(Varint());
        }
        started_ = true;
        const uint64_t code = Varint();
        if (user_ > UINT32_MAX || time_ >= day_start_us_ + kDayUs || code >= type_count_) {
            Corrupt();
        }
        user_no = static_cast<uint32_t>(user_);
        time_us = time_;
        type = static_cast<uint32_t>(code);
    }

private:
    static constexpr int64_t kDayUs = 86400LL * 1000000;
    uint64_t Varint() {
        uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (at_ == end_) Corrupt();
            const uint8_t byte = *at_++;
            value |= static_cast<uint64_t>(byte & 0x7f) << shift;
            if ((byte & 0x80) == 0) return value;
        }
        Corrupt();
        return 0;
    }
    [[noreturn]] static void Corrupt();

    const uint8_t* at_;
    const uint8_t* end_;
    int64_t day_start_us_;
    size_t type_count_;
    uint64_t user_ = 0;
    int64_t time_ = 0;
    bool started_ = false;
};

// Reads a dimensions column in order: codes[d] is the code of dimension d, or -1 for none.
class DimensionReader {
public:
    DimensionReader(std::string_view dimensions, const SegmentDictionary& dictionary);
    bool Done() const { return at_ == end_; }
    void Next(std::array<int32_t, kSegmentDimensions>& codes);

private:
    const uint8_t* at_;
    const uint8_t* end_;
    std::array<size_t, kSegmentDimensions> sizes_;
};

// "2026-03-01 00:17:23.123456+00" (PostgreSQL's ISO output with TimeZone UTC) as microseconds
// since the epoch; nullopt for any other shape.
std::optional<int64_t> ParsePgUtcMicros(const char* text);

}  // namespace tributary::query
