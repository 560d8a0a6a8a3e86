#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tributary::storage {

// The dimensions counted in analytics_dimension_counts, in this order.
inline constexpr std::array<std::string_view, 7> kRollupDimensions = {
    "page", "referrer", "source", "device", "os", "browser", "country"};

// One event as stored: what the insert statement reports for every row it actually inserted.
// The views must outlive the RollupDelta the event is added to.
struct InsertedEvent {
    std::string_view tenant_id;
    int32_t user_no = 0;
    std::string_view event_type;
    int64_t time_us = 0;  // microseconds since the Unix epoch
    std::optional<std::string_view> session_id;
    std::array<std::optional<std::string_view>, kRollupDimensions.size()> dimensions;
};

// One batch's contribution to the rollups of migration 0002 — the same numbers the rollup
// statements of analytics_rebuild_rollups() compute from raw rows, restricted to the added
// events: events per (minute, hour, day; type), per (hour, day; dimension value), the users
// active per (hour, day; all / type) and per (day; device, os, browser, country) as 8,192-bit
// chunks, and per (user, session id) the first and last time and the count. Buckets are UTC
// (Unix time has no leap seconds, so a UTC day is 86,400 s). Computing this in the
// subscriber replaces per-row grouping work in PostgreSQL with a few hundred upserts.
class RollupDelta {
public:
    static constexpr int32_t kChunkBits = 8192;
    static constexpr int64_t kMinuteUs = 60'000'000;
    static constexpr int64_t kHourUs = 60 * kMinuteUs;
    static constexpr int64_t kDayUs = 24 * kHourUs;

    struct Key {
        std::string_view tenant_id;
        std::string_view a;  // event type, dimension, kind, or session id
        std::string_view b;  // dimension value or kind value
        int64_t bucket_us = 0;
        int32_t number = 0;  // chunk, or user number for sessions
        char grain = 0;      // 'm', 'h', 'd'; 0 for sessions

        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        size_t operator()(const Key& key) const noexcept;
    };
    struct SessionSpan {
        int64_t first_us = 0;
        int64_t last_us = 0;
        int64_t events = 0;
    };
    using Bitmap = std::array<uint8_t, kChunkBits / 8>;

    void Add(const InsertedEvent& event);

    // Keyed (tenant, a = event type, grain, bucket).
    const std::unordered_map<Key, int64_t, KeyHash>& EventCounts() const { return events_; }
    // Keyed (tenant, a = dimension, b = value, grain, bucket).
    const std::unordered_map<Key, int64_t, KeyHash>& DimensionCounts() const { return dims_; }
    // Keyed (tenant, a = kind, b = value, grain, bucket, number = chunk).
    const std::unordered_map<Key, Bitmap, KeyHash>& UserBits() const { return bits_; }
    // Keyed (tenant, a = session id, number = user number).
    const std::unordered_map<Key, SessionSpan, KeyHash>& Sessions() const { return sessions_; }

    // Start of the UTC minute/hour/day holding `time_us` (also before 1970).
    static int64_t Truncate(int64_t time_us, int64_t unit_us);
    // PostgreSQL's text form of a bit string: "x" and the bytes in hex, most significant bit
    // of the first byte = bit 0 (what set_bit numbers 0).
    static std::string BitsText(const Bitmap& bits);

private:
    void SetBit(std::string_view tenant, std::string_view kind, std::string_view value, char grain,
                int64_t bucket_us, int32_t user_no);

    std::unordered_map<Key, int64_t, KeyHash> events_;
    std::unordered_map<Key, int64_t, KeyHash> dims_;
    std::unordered_map<Key, Bitmap, KeyHash> bits_;
    std::unordered_map<Key, SessionSpan, KeyHash> sessions_;
};

}  // namespace tributary::storage
