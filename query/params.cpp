#include "query/params.hpp"

#include "common/event_model.hpp"

#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>

namespace tributary::query {
namespace {

using std::chrono::microseconds;

constexpr int64_t kMinuteUs = 60LL * 1000 * 1000;
constexpr int64_t kHourUs = 60 * kMinuteUs;
constexpr int64_t kDayUs = 24 * kHourUs;

int64_t FloorDiv(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t Micros(SystemTime time) { return time.time_since_epoch().count(); }
SystemTime FromMicros(int64_t us) { return SystemTime(microseconds(us)); }

std::string JoinChoices(std::initializer_list<std::string_view> choices) {
    std::string out;
    for (const auto choice : choices) {
        if (!out.empty()) out += ", ";
        out += choice;
    }
    return out;
}

// PostgreSQL rejects text that is not UTF-8; checking first makes that a 400, not a 503.
bool IsUtf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<uint8_t>(text[i]);
        size_t extra = 0;
        uint32_t code = 0;
        if (c < 0x80) {
            if (c == 0) return false;  // NUL cannot be stored in PostgreSQL text
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            code = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            code = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            code = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= text.size()) return false;
        for (size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<uint8_t>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code = (code << 6) | (next & 0x3F);
        }
        static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (code < kMin[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += extra + 1;
    }
    return true;
}

bool ParseWholeInt(std::string_view text, int64_t& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

int64_t GrainUs(Grain grain) {
    switch (grain) {
        case Grain::kMinute: return kMinuteUs;
        case Grain::kHour: return kHourUs;
        case Grain::kDay: return kDayUs;
        case Grain::kRaw: return 1;
    }
    return 1;
}

// Appends the pieces of [lo, hi) using levels[index...] (coarsest first), raw when none left.
void Split(const std::vector<Grain>& levels, size_t index, int64_t lo, int64_t hi,
           std::vector<Piece>& out) {
    if (lo >= hi) return;
    if (index == levels.size()) {
        out.push_back({Grain::kRaw, FromMicros(lo), FromMicros(hi)});
        return;
    }
    const int64_t unit = GrainUs(levels[index]);
    const int64_t first = FloorDiv(lo + unit - 1, unit) * unit;  // ceil
    const int64_t last = FloorDiv(hi, unit) * unit;
    if (first >= last) {
        Split(levels, index + 1, lo, hi, out);
        return;
    }
    Split(levels, index + 1, lo, first, out);
    out.push_back({levels[index], FromMicros(first), FromMicros(last)});
    Split(levels, index + 1, last, hi, out);
}

}  // namespace

std::string ParamErrorJson(const ParamError& error) {
    const nlohmann::json body = {
        {"error",
         {{"code", "invalid_parameter"},
          {"message", error.field + " " + error.reason},
          {"details", {{{"field", error.field}, {"reason", error.reason}}}}}}};
    // The field may be an unknown parameter name that is not UTF-8.
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ParamResult CheckKnown(const ParamMap& params, std::initializer_list<std::string_view> allowed,
                       std::initializer_list<std::string_view> repeatable) {
    for (auto it = params.begin(); it != params.end(); it = params.upper_bound(it->first)) {
        if (std::find(allowed.begin(), allowed.end(), it->first) == allowed.end()) {
            return ParamError{it->first, "is not a parameter of this endpoint (expected one of: " +
                                             JoinChoices(allowed) + ")"};
        }
        if (params.count(it->first) > 1 &&
            std::find(repeatable.begin(), repeatable.end(), it->first) == repeatable.end()) {
            return ParamError{it->first, "is given more than once"};
        }
    }
    for (const auto& [name, value] : params) {
        if (!IsUtf8(value)) return ParamError{name, "must be valid UTF-8 text"};
    }
    return std::nullopt;
}

std::optional<std::string> Get(const ParamMap& params, const std::string& name) {
    const auto it = params.find(name);
    if (it == params.end()) return std::nullopt;
    return it->second;
}

namespace {
ParamResult ParseTime(const ParamMap& params, const std::string& name,
                      std::optional<SystemTime>& out) {
    const auto text = Get(params, name);
    if (!text) return std::nullopt;
    out = common::ParseRfc3339(*text);
    if (!out) {
        return ParamError{name, "must be an RFC 3339 date-time with an offset, e.g. "
                                "2026-01-01T00:00:00Z"};
    }
    return std::nullopt;
}
}  // namespace

ParamResult ParseOptionalTimeRange(const ParamMap& params, std::optional<SystemTime>& from,
                                   std::optional<SystemTime>& to) {
    if (auto error = ParseTime(params, "from", from)) return error;
    if (auto error = ParseTime(params, "to", to)) return error;
    if (from && to && !(*from < *to)) return ParamError{"to", "must be later than from"};
    return std::nullopt;
}

ParamResult ParseTimeRange(const ParamMap& params, TimeRange& out) {
    std::optional<SystemTime> from;
    std::optional<SystemTime> to;
    if (!Get(params, "from")) return ParamError{"from", "is required"};
    if (!Get(params, "to")) return ParamError{"to", "is required"};
    if (auto error = ParseOptionalTimeRange(params, from, to)) return error;
    out = {*from, *to};
    return std::nullopt;
}

ParamResult ParseInt(const ParamMap& params, const std::string& name, int64_t min, int64_t max,
                     int64_t fallback, int64_t& out) {
    std::optional<int64_t> value;
    if (auto error = ParseOptionalInt(params, name, min, max, value)) return error;
    out = value.value_or(fallback);
    return std::nullopt;
}

ParamResult ParseOptionalInt(const ParamMap& params, const std::string& name, int64_t min,
                             int64_t max, std::optional<int64_t>& out) {
    const auto text = Get(params, name);
    if (!text) return std::nullopt;
    int64_t value = 0;
    if (!ParseWholeInt(*text, value) || value < min || value > max) {
        return ParamError{name, "must be an integer from " + std::to_string(min) + " to " +
                                    std::to_string(max)};
    }
    out = value;
    return std::nullopt;
}

ParamResult ParseOptionalDouble(const ParamMap& params, const std::string& name,
                                std::optional<double>& out) {
    const auto text = Get(params, name);
    if (!text) return std::nullopt;
    double value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (text->empty() || ec != std::errc() || end != text->data() + text->size() ||
        !std::isfinite(value)) {
        return ParamError{name, "must be a number"};
    }
    out = value;
    return std::nullopt;
}

ParamResult ParseOptionalBool(const ParamMap& params, const std::string& name,
                              std::optional<bool>& out) {
    const auto text = Get(params, name);
    if (!text) return std::nullopt;
    if (*text == "true") {
        out = true;
    } else if (*text == "false") {
        out = false;
    } else {
        return ParamError{name, "must be true or false"};
    }
    return std::nullopt;
}

ParamResult ParseChoice(const ParamMap& params, const std::string& name,
                        std::initializer_list<std::string_view> choices,
                        std::optional<std::string_view> fallback, std::string& out) {
    const auto text = Get(params, name);
    if (!text) {
        if (!fallback) return ParamError{name, "is required (one of: " + JoinChoices(choices) + ")"};
        out = *fallback;
        return std::nullopt;
    }
    if (std::find(choices.begin(), choices.end(), *text) == choices.end()) {
        return ParamError{name, "must be one of: " + JoinChoices(choices)};
    }
    out = *text;
    return std::nullopt;
}

bool IsValidEventType(std::string_view text) { return common::IsValidEventName(text); }

ParamResult ParseOptionalEventType(const ParamMap& params, const std::string& name,
                                   std::optional<std::string>& out) {
    const auto text = Get(params, name);
    if (!text) return std::nullopt;
    if (const std::string problem = common::EventNameProblem(*text); !problem.empty()) {
        return ParamError{name, problem};
    }
    out = *text;
    return std::nullopt;
}

ParamResult ParseDimension(const ParamMap& params, bool required, std::optional<std::string>& out) {
    if (!required && !Get(params, "dimension")) return std::nullopt;
    std::string dimension;
    if (auto error = ParseChoice(params, "dimension",
                                 {"page", "event_type", "device", "country", "referrer", "source"},
                                 std::nullopt, dimension)) {
        return error;
    }
    out = std::move(dimension);
    return std::nullopt;
}

ParamResult ParseSteps(const ParamMap& params, const std::string& name,
                       std::vector<std::string>& out) {
    const auto text = Get(params, name);
    if (!text) return ParamError{name, "is required: 1 to 10 comma-separated event types"};
    out.clear();
    size_t start = 0;
    while (true) {
        const size_t comma = text->find(',', start);
        std::string step = text->substr(start, comma == std::string::npos ? std::string::npos
                                                                           : comma - start);
        if (const std::string problem = common::EventNameProblem(step); !problem.empty()) {
            return ParamError{name, "step " + std::to_string(out.size() + 1) + " " + problem +
                                        " (1 to 10 comma-separated event types; use step= once "
                                        "per step for names with commas)"};
        }
        out.push_back(std::move(step));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (out.size() > kMaxFunnelSteps) return ParamError{name, "must have at most 10 steps"};
    return std::nullopt;
}

ParamResult ParseFunnelSteps(const ParamMap& params, std::vector<std::string>& out) {
    const auto [first, last] = params.equal_range("step");
    if (first == last) {
        if (!Get(params, "steps")) {
            return ParamError{"steps", "is required: 1 to 10 comma-separated event types (or "
                                       "step= once per step)"};
        }
        return ParseSteps(params, "steps", out);
    }
    if (Get(params, "steps")) return ParamError{"step", "cannot be combined with steps"};
    out.clear();
    for (auto it = first; it != last; ++it) {
        if (const std::string problem = common::EventNameProblem(it->second); !problem.empty()) {
            return ParamError{"step", "number " + std::to_string(out.size() + 1) + " " + problem};
        }
        out.push_back(it->second);
    }
    if (out.size() > kMaxFunnelSteps) return ParamError{"step", "must be given at most 10 times"};
    return std::nullopt;
}

ParamResult ParseDuration(const ParamMap& params, const std::string& name, int64_t max_seconds,
                          int64_t fallback_seconds, int64_t& out_seconds) {
    const auto text = Get(params, name);
    if (!text) {
        out_seconds = fallback_seconds;
        return std::nullopt;
    }
    const ParamError error{name, "must be a duration such as 90s, 30m, 1h or 7d, from 1s to " +
                                     std::to_string(max_seconds / 86400) + "d"};
    if (text->size() < 2) return error;
    int64_t count = 0;
    if (!ParseWholeInt(std::string_view(*text).substr(0, text->size() - 1), count) || count < 1) {
        return error;
    }
    int64_t unit = 0;
    switch (text->back()) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return error;
    }
    if (count > max_seconds / unit) return error;
    out_seconds = count * unit;
    return std::nullopt;
}

std::optional<Interval> IntervalFromName(std::string_view name) {
    if (name == "minute") return Interval::kMinute;
    if (name == "hour") return Interval::kHour;
    if (name == "day") return Interval::kDay;
    if (name == "week") return Interval::kWeek;
    if (name == "month") return Interval::kMonth;
    return std::nullopt;
}

const char* IntervalName(Interval interval) {
    switch (interval) {
        case Interval::kMinute: return "minute";
        case Interval::kHour: return "hour";
        case Interval::kDay: return "day";
        case Interval::kWeek: return "week";
        case Interval::kMonth: return "month";
    }
    return "day";
}

SystemTime FloorTo(SystemTime time, Interval interval) {
    const int64_t us = Micros(time);
    switch (interval) {
        case Interval::kMinute: return FromMicros(FloorDiv(us, kMinuteUs) * kMinuteUs);
        case Interval::kHour: return FromMicros(FloorDiv(us, kHourUs) * kHourUs);
        case Interval::kDay: return FromMicros(FloorDiv(us, kDayUs) * kDayUs);
        case Interval::kWeek: {
            // Day 0 (1970-01-01) was a Thursday; day 4 a Monday.
            const int64_t day = FloorDiv(us, kDayUs);
            const int64_t monday = day - (((day - 4) % 7) + 7) % 7;
            return FromMicros(monday * kDayUs);
        }
        case Interval::kMonth: {
            const auto days = std::chrono::floor<std::chrono::days>(time);
            const std::chrono::year_month_day ymd{days};
            const std::chrono::sys_days first{ymd.year() / ymd.month() / 1};
            return std::chrono::time_point_cast<microseconds>(first);
        }
    }
    return time;
}

SystemTime NextBucket(SystemTime bucket, Interval interval) {
    switch (interval) {
        case Interval::kMinute: return bucket + microseconds(kMinuteUs);
        case Interval::kHour: return bucket + microseconds(kHourUs);
        case Interval::kDay: return bucket + microseconds(kDayUs);
        case Interval::kWeek: return bucket + microseconds(7 * kDayUs);
        case Interval::kMonth: {
            const auto days = std::chrono::floor<std::chrono::days>(bucket);
            const std::chrono::year_month_day ymd{days};
            const auto next = (ymd.year() / ymd.month() / 1) + std::chrono::months(1);
            return std::chrono::time_point_cast<microseconds>(std::chrono::sys_days{next});
        }
    }
    return bucket;
}

std::vector<Piece> SplitRange(SystemTime from, SystemTime to, std::initializer_list<Grain> grains) {
    std::vector<Grain> levels;
    for (const Grain grain : {Grain::kDay, Grain::kHour, Grain::kMinute}) {
        if (std::find(grains.begin(), grains.end(), grain) != grains.end()) levels.push_back(grain);
    }
    std::vector<Piece> pieces;
    Split(levels, 0, Micros(from), Micros(to), pieces);
    return pieces;
}

std::string SqlTime(SystemTime time) {
    return std::string("'") + common::FormatRfc3339(time) + "'::timestamptz";
}

namespace {
constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    const auto* in = reinterpret_cast<const uint8_t*>(bytes.data());
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
        out += kBase64UrlAlphabet[v >> 18];
        out += kBase64UrlAlphabet[(v >> 12) & 63];
        out += kBase64UrlAlphabet[(v >> 6) & 63];
        out += kBase64UrlAlphabet[v & 63];
    }
    if (const size_t rest = bytes.size() - i; rest > 0) {
        const uint32_t v = (uint32_t{in[i]} << 16) | (rest == 2 ? uint32_t{in[i + 1]} << 8 : 0);
        out += kBase64UrlAlphabet[v >> 18];
        out += kBase64UrlAlphabet[(v >> 12) & 63];
        if (rest == 2) out += kBase64UrlAlphabet[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
    // One table per position of a character in its group of four, each holding the
    // character's six bits already shifted into place; kInvalid marks characters outside the
    // alphabet, so a whole group is checked with one test (this decodes day segments, megabytes
    // per query).
    static constexpr uint32_t kInvalid = 1u << 24;
    static const auto tables = [] {
        std::array<std::array<uint32_t, 256>, 4> t{};
        for (auto& table : t) table.fill(kInvalid);
        for (uint32_t i = 0; i < 64; ++i) {
            const auto c = static_cast<uint8_t>(kBase64UrlAlphabet[i]);
            t[0][c] = i << 18;
            t[1][c] = i << 12;
            t[2][c] = i << 6;
            t[3][c] = i;
        }
        return t;
    }();
    const size_t rest = text.size() % 4;  // characters of a last, partial group
    if (rest == 1) return std::nullopt;
    std::string out(text.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1), '\0');
    const auto* in = reinterpret_cast<const uint8_t*>(text.data());
    auto* o = reinterpret_cast<uint8_t*>(out.data());
    const size_t full = text.size() - rest;
    uint32_t seen = 0;
    for (size_t i = 0; i < full; i += 4) {
        const uint32_t v = tables[0][in[i]] | tables[1][in[i + 1]] | tables[2][in[i + 2]] |
                           tables[3][in[i + 3]];
        seen |= v;
        o[0] = static_cast<uint8_t>(v >> 16);
        o[1] = static_cast<uint8_t>(v >> 8);
        o[2] = static_cast<uint8_t>(v);
        o += 3;
    }
    if (rest > 0) {
        uint32_t v = tables[0][in[full]] | tables[1][in[full + 1]];
        if (rest == 3) v |= tables[2][in[full + 2]];
        seen |= v;
        // Leftover bits must be zero, so that every value has exactly one encoding.
        if ((v & (rest == 2 ? 0xffffu : 0xffu)) != 0 && (v & kInvalid) == 0) return std::nullopt;
        *o++ = static_cast<uint8_t>(v >> 16);
        if (rest == 3) *o++ = static_cast<uint8_t>(v >> 8);
    }
    if (seen & kInvalid) return std::nullopt;
    return out;
}

namespace {
constexpr size_t kCursorTagBytes = 8;

std::string CursorTag(std::string_view tenant, std::string_view payload) {
    std::string message;
    message.reserve(tenant.size() + 1 + payload.size());
    message.append(tenant).append(1, '\x1f').append(payload);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest);
    return std::string(reinterpret_cast<const char*>(digest), kCursorTagBytes);
}
}  // namespace

std::string EncodeTenantCursor(std::string_view tenant, std::string_view payload) {
    return Base64UrlEncode(std::string(payload) + CursorTag(tenant, payload));
}

std::optional<std::string> DecodeTenantCursor(std::string_view tenant, std::string_view text) {
    auto raw = Base64UrlDecode(text);
    if (!raw || raw->size() < kCursorTagBytes) return std::nullopt;
    const std::string_view bytes = *raw;
    const std::string_view payload = bytes.substr(0, bytes.size() - kCursorTagBytes);
    if (bytes.substr(payload.size()) != CursorTag(tenant, payload)) {
        return std::nullopt;
    }
    raw->resize(payload.size());
    return raw;
}

std::string EncodeTimeCursor(std::string_view tenant, SystemTime time) {
    return EncodeTenantCursor(tenant, "t:" + std::to_string(Micros(time)));
}

std::optional<SystemTime> DecodeTimeCursor(std::string_view tenant, std::string_view text) {
    const auto raw = DecodeTenantCursor(tenant, text);
    if (!raw || raw->rfind("t:", 0) != 0) return std::nullopt;
    int64_t us = 0;
    if (!ParseWholeInt(std::string_view(*raw).substr(2), us)) return std::nullopt;
    return FromMicros(us);
}

std::string EncodeRankCursor(std::string_view tenant, const RankCursor& cursor) {
    return EncodeTenantCursor(tenant, "r:" + std::to_string(cursor.count) + ":" + cursor.value);
}

std::optional<RankCursor> DecodeRankCursor(std::string_view tenant, std::string_view text) {
    const auto raw = DecodeTenantCursor(tenant, text);
    if (!raw || raw->rfind("r:", 0) != 0) return std::nullopt;
    const size_t colon = raw->find(':', 2);
    if (colon == std::string::npos) return std::nullopt;
    RankCursor cursor;
    if (!ParseWholeInt(std::string_view(*raw).substr(2, colon - 2), cursor.count) ||
        cursor.count < 0) {
        return std::nullopt;
    }
    cursor.value = raw->substr(colon + 1);
    return cursor;
}

std::string EncodeKeyCursor(std::string_view tenant, std::string_view key) {
    return EncodeTenantCursor(tenant, "k:" + std::string(key));
}

std::optional<std::string> DecodeKeyCursor(std::string_view tenant, std::string_view text) {
    const auto raw = DecodeTenantCursor(tenant, text);
    if (!raw || raw->rfind("k:", 0) != 0) return std::nullopt;
    return raw->substr(2);
}

}  // namespace tributary::query
