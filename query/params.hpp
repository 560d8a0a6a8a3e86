#pragma once

// Query-string parsing and validation for the analytics and research endpoints, and the UTC
// time arithmetic behind their buckets and rollups. Pure functions: no I/O, no clock.

#include "common/time_util.hpp"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::query {

using common::SystemTime;

// Query parameters as httplib delivers them (already percent-decoded).
using ParamMap = std::multimap<std::string, std::string>;

// A rejected parameter: rendered as 400 {"error": {"code": "invalid_parameter", "message",
// "details": [{"field", "reason"}]}}.
struct ParamError {
    std::string field;
    std::string reason;
};
std::string ParamErrorJson(const ParamError& error);

// Every parser returns nullopt on success (filling `out`) or the error naming the parameter.
using ParamResult = std::optional<ParamError>;

// Rejects parameters not in `allowed`, and any parameter given more than once unless it is in
// `repeatable`.
ParamResult CheckKnown(const ParamMap& params, std::initializer_list<std::string_view> allowed,
                       std::initializer_list<std::string_view> repeatable = {});

// A single value; nullopt when absent.
std::optional<std::string> Get(const ParamMap& params, const std::string& name);

// [from, to): both RFC 3339 with an offset, from strictly before to.
struct TimeRange {
    SystemTime from;
    SystemTime to;
};
ParamResult ParseTimeRange(const ParamMap& params, TimeRange& out);
// Same, both optional: absent bounds are left as nullopt.
ParamResult ParseOptionalTimeRange(const ParamMap& params, std::optional<SystemTime>& from,
                                   std::optional<SystemTime>& to);

ParamResult ParseInt(const ParamMap& params, const std::string& name, int64_t min, int64_t max,
                     int64_t fallback, int64_t& out);
ParamResult ParseOptionalDouble(const ParamMap& params, const std::string& name,
                                std::optional<double>& out);
ParamResult ParseOptionalInt(const ParamMap& params, const std::string& name, int64_t min,
                             int64_t max, std::optional<int64_t>& out);
ParamResult ParseOptionalBool(const ParamMap& params, const std::string& name,
                              std::optional<bool>& out);
// One of `choices`; `fallback` when absent (nullopt fallback: required).
ParamResult ParseChoice(const ParamMap& params, const std::string& name,
                        std::initializer_list<std::string_view> choices,
                        std::optional<std::string_view> fallback, std::string& out);
// An event type as it can be stored: common::IsValidEventName (1-200 code points of UTF-8, not
// blank, no control characters), so Segment names such as "Order Completed" are queryable too.
bool IsValidEventType(std::string_view text);
ParamResult ParseOptionalEventType(const ParamMap& params, const std::string& name,
                                   std::optional<std::string>& out);
inline constexpr size_t kMaxFunnelSteps = 10;
// Comma-separated event types, 1 to 10 of them (repeats allowed), each taken verbatim (no
// trimming): the short form, for names without commas.
ParamResult ParseSteps(const ParamMap& params, const std::string& name,
                       std::vector<std::string>& out);
// A funnel's steps, in one of two forms (not both): `steps` (ParseSteps), or `step` repeated
// once per step in order, each value one event type verbatim (names with commas).
ParamResult ParseFunnelSteps(const ParamMap& params, std::vector<std::string>& out);
// The dimensions events are broken down by (GET /analytics/top) and filtered by (GET /events):
// `dimension` is one of page, event_type, device, country, referrer, source, each the column
// of the same name (an event without a value has none of them). Required when `required`,
// else an absent `dimension` leaves `out` empty.
ParamResult ParseDimension(const ParamMap& params, bool required, std::optional<std::string>& out);
// A duration "<n>s|m|h|d" from 1 second to `max_seconds`; `fallback_seconds` when absent.
ParamResult ParseDuration(const ParamMap& params, const std::string& name, int64_t max_seconds,
                          int64_t fallback_seconds, int64_t& out_seconds);

// --- UTC calendar -----------------------------------------------------------------------

enum class Interval { kMinute, kHour, kDay, kWeek, kMonth };
std::optional<Interval> IntervalFromName(std::string_view name);
const char* IntervalName(Interval interval);
// Start of the bucket holding `time` (weeks start on Monday, as ISO 8601 and PostgreSQL's
// date_trunc('week') have it).
SystemTime FloorTo(SystemTime time, Interval interval);
// Start of the bucket after the one starting at `bucket`.
SystemTime NextBucket(SystemTime bucket, Interval interval);

// Where the counts of a piece of a time range come from.
enum class Grain { kRaw, kMinute, kHour, kDay };

struct Piece {
    Grain grain;
    SystemTime from;
    SystemTime to;  // exclusive
};

// Splits [from, to) into pieces answerable from rollups of the given grains (any subset of
// minute, hour, day): the longest aligned run of whole days in the middle, then whole hours
// and whole minutes towards the ends, and raw rows for what is left at the edges. Pieces are
// disjoint, cover [from, to) exactly, and are returned in time order.
std::vector<Piece> SplitRange(SystemTime from, SystemTime to, std::initializer_list<Grain> grains);

// SQL literal of a time: '2026-01-01T00:00:00.000000Z'::timestamptz.
std::string SqlTime(SystemTime time);

// --- cursors ----------------------------------------------------------------------------
// Opaque to clients (base64url); each endpoint documents what its cursor continues. Every
// cursor is bound to the tenant it was handed to: it carries a tag, the first 8 bytes of
// SHA-256(tenant + '\x1f' + payload), and decodes only for that tenant, so a cursor presented
// by another tenant (or altered) is refused like a malformed one. The tag is not a secret:
// it binds, it does not hide or authorize (every query is confined to the caller's tenant
// anyway).

std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// base64url(payload + tag) for `tenant`.
std::string EncodeTenantCursor(std::string_view tenant, std::string_view payload);
// The payload, when `text` is base64url of a payload whose tag matches `tenant`.
std::optional<std::string> DecodeTenantCursor(std::string_view tenant, std::string_view text);

// Continues a list ordered by a time key (bucket start).
std::string EncodeTimeCursor(std::string_view tenant, SystemTime time);
std::optional<SystemTime> DecodeTimeCursor(std::string_view tenant, std::string_view text);

// Continues a list ordered by count descending, then value ascending.
struct RankCursor {
    int64_t count = 0;
    std::string value;
};
std::string EncodeRankCursor(std::string_view tenant, const RankCursor& cursor);
std::optional<RankCursor> DecodeRankCursor(std::string_view tenant, std::string_view text);

// Continues a list ordered by a text key ascending.
std::string EncodeKeyCursor(std::string_view tenant, std::string_view key);
std::optional<std::string> DecodeKeyCursor(std::string_view tenant, std::string_view text);

}  // namespace tributary::query
