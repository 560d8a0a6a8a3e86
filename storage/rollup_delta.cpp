#include "storage/rollup_delta.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace tributary::storage {
namespace {

constexpr std::array<std::pair<char, int64_t>, 2> kHourAndDay = {
    {{'h', RollupDelta::kHourUs}, {'d', RollupDelta::kDayUs}}};

// Dimensions whose users are kept per day (indexes into kRollupDimensions).
constexpr std::array<size_t, 4> kUserDimensions = {3, 4, 5, 6};  // device, os, browser, country

}  // namespace

size_t RollupDelta::KeyHash::operator()(const Key& key) const noexcept {
    const std::hash<std::string_view> text;
    size_t h = text(key.tenant_id);
    const auto mix = [&h](size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    mix(text(key.a));
    mix(text(key.b));
    mix(std::hash<int64_t>{}(key.bucket_us));
    mix(std::hash<int64_t>{}((int64_t{key.number} << 8) | static_cast<unsigned char>(key.grain)));
    return h;
}

int64_t RollupDelta::Truncate(int64_t time_us, int64_t unit_us) {
    int64_t start = time_us / unit_us * unit_us;
    if (start > time_us) start -= unit_us;  // division truncates towards zero
    return start;
}

std::string RollupDelta::BitsText(const Bitmap& bits) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text;
    text.reserve(1 + bits.size() * 2);
    text.push_back('x');
    for (const uint8_t byte : bits) {
        text.push_back(kHex[byte >> 4]);
        text.push_back(kHex[byte & 0x0f]);
    }
    return text;
}

void RollupDelta::SetBit(std::string_view tenant, std::string_view kind, std::string_view value,
                         char grain, int64_t bucket_us, int32_t user_no) {
    const Key key{tenant, kind, value, bucket_us, user_no / kChunkBits, grain};
    Bitmap& bits = bits_.try_emplace(key, Bitmap{}).first->second;
    const int32_t bit = user_no % kChunkBits;
    bits[static_cast<size_t>(bit / 8)] |= static_cast<uint8_t>(0x80u >> (bit % 8));
}

void RollupDelta::Add(const InsertedEvent& e) {
    if (e.user_no < 0) throw std::invalid_argument("negative user number");
    events_[Key{e.tenant_id, e.event_type, {}, Truncate(e.time_us, kMinuteUs), 0, 'm'}] += 1;
    for (const auto& [grain, unit] : kHourAndDay) {
        const int64_t bucket = Truncate(e.time_us, unit);
        events_[Key{e.tenant_id, e.event_type, {}, bucket, 0, grain}] += 1;
        for (size_t d = 0; d < kRollupDimensions.size(); ++d) {
            if (e.dimensions[d]) {
                const Key key{e.tenant_id, kRollupDimensions[d], *e.dimensions[d], bucket, 0, grain};
                dims_[key] += 1;
            }
        }
        SetBit(e.tenant_id, "all", "", grain, bucket, e.user_no);
        SetBit(e.tenant_id, "event_type", e.event_type, grain, bucket, e.user_no);
        if (grain == 'd') {
            for (const size_t d : kUserDimensions) {
                if (e.dimensions[d]) {
                    SetBit(e.tenant_id, kRollupDimensions[d], *e.dimensions[d], grain, bucket,
                           e.user_no);
                }
            }
        }
    }
    if (e.session_id) {
        const Key key{e.tenant_id, *e.session_id, {}, 0, e.user_no, 0};
        auto [it, fresh] = sessions_.try_emplace(key, SessionSpan{e.time_us, e.time_us, 0});
        SessionSpan& span = it->second;
        if (!fresh) {
            span.first_us = std::min(span.first_us, e.time_us);
            span.last_us = std::max(span.last_us, e.time_us);
        }
        span.events += 1;
    }
}

}  // namespace tributary::storage
