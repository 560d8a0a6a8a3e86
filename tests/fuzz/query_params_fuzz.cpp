// Query strings → every parser of query/params.hpp and the cursors of the query API.
//
// Input: a query string as httplib hands it over (already percent-decoded): pairs separated by
// '&', name and value by the first '=', pairs without a name dropped. Parameters used: from, to,
// limit, min_count, threshold, include_empty, interval, event_type, steps, window, cursor, tenant
// (the caller's tenant, default "acme").
//
// Properties: nothing throws; a refusal is a ParamError naming a field with a reason, whose
// JSON rendering parses; an accepted value is within its documented bounds; the UTC bucket
// arithmetic and SplitRange hold on every accepted range; cursors round-trip (encode then
// decode gives the value back, and a decoded cursor decodes the same once re-encoded).

#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "query/params.hpp"
#include "query/query_service.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace tributary::fuzz {
namespace {

using namespace tributary::query;

ParamMap Split(std::string_view text) {
    ParamMap params;
    while (true) {
        const size_t amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        const size_t eq = pair.find('=');
        // httplib drops pairs without a name.
        if (eq != 0 && !pair.empty()) {
            params.emplace(std::string(pair.substr(0, eq)), eq == std::string_view::npos
                                                                ? std::string()
                                                                : std::string(pair.substr(eq + 1)));
        }
        if (amp == std::string_view::npos) break;
        text.remove_prefix(amp + 1);
    }
    return params;
}

// A refusal must name a parameter and say why, and render as the error JSON.
void CheckError(const ParamResult& error) {
    if (!error) return;
    Check(!error->field.empty() && !error->reason.empty(), "a ParamError names field and reason",
          error->field + ": " + error->reason);
    const auto parsed = nlohmann::json::parse(ParamErrorJson(*error), nullptr, false);
    Check(!parsed.is_discarded() && parsed["error"]["details"][0]["field"].is_string(),
          "ParamErrorJson renders the error", ParamErrorJson(*error));
}

void CheckRange(SystemTime from, SystemTime to) {
    Check(from < to, "an accepted range has from < to");
    for (const auto interval :
         {Interval::kMinute, Interval::kHour, Interval::kDay, Interval::kWeek, Interval::kMonth}) {
        const SystemTime floor = FloorTo(from, interval);
        Check(floor <= from && from < NextBucket(floor, interval),
              "FloorTo gives the bucket holding the time", IntervalName(interval));
        Check(FloorTo(floor, interval) == floor, "a bucket start floors to itself",
              IntervalName(interval));
        Check(IntervalFromName(IntervalName(interval)) == interval, "interval names round-trip");
    }
    const auto pieces = SplitRange(from, to, {Grain::kMinute, Grain::kHour, Grain::kDay});
    SystemTime at = from;
    for (const Piece& piece : pieces) {
        Check(piece.from == at && piece.from < piece.to, "SplitRange pieces are contiguous");
        at = piece.to;
    }
    Check(at == to, "SplitRange covers the range");
    (void)SqlTime(from);
    (void)SqlTime(to);
}

void CheckCursors(const ParamMap& params) {
    const std::string tenant = Get(params, "tenant").value_or("acme");
    const auto cursor = Get(params, "cursor");
    if (!cursor) return;
    if (const auto raw = Base64UrlDecode(*cursor)) {
        Check(Base64UrlEncode(*raw) == *cursor, "base64url has one encoding per value", *cursor);
    }
    if (const auto payload = DecodeTenantCursor(tenant, *cursor)) {
        Check(EncodeTenantCursor(tenant, *payload) == *cursor, "tenant cursors round-trip");
        Check(tenant == "other" || !DecodeTenantCursor("other", *cursor),
              "a cursor decodes for its own tenant only");
    }
    if (const auto time = DecodeTimeCursor(tenant, *cursor)) {
        Check(DecodeTimeCursor(tenant, EncodeTimeCursor(tenant, *time)) == time,
              "time cursors round-trip");
    }
    if (const auto rank = DecodeRankCursor(tenant, *cursor)) {
        Check(rank->count >= 0, "a rank cursor's count is not negative");
        const auto again = DecodeRankCursor(tenant, EncodeRankCursor(tenant, *rank));
        Check(again && again->count == rank->count && again->value == rank->value,
              "rank cursors round-trip");
    }
    if (const auto key = DecodeKeyCursor(tenant, *cursor)) {
        Check(DecodeKeyCursor(tenant, EncodeKeyCursor(tenant, *key)) == key,
              "key cursors round-trip");
    }
    if (const auto list = DecodeCursor(tenant, *cursor)) {
        const auto again = DecodeCursor(tenant, EncodeCursor(tenant, *list));
        Check(again && again->time_us == list->time_us && again->id == list->id,
              "event-list cursors round-trip");
    }
    // Values taken from the input survive encode + decode.
    Check(DecodeKeyCursor(tenant, EncodeKeyCursor(tenant, *cursor)) == *cursor,
          "any key encodes to a cursor that decodes to it");
    const RankCursor rank{static_cast<int64_t>(cursor->size()), *cursor};
    const auto rank_again = DecodeRankCursor(tenant, EncodeRankCursor(tenant, rank));
    Check(rank_again && rank_again->value == *cursor, "any rank value round-trips");
    int64_t micros = 0;
    std::from_chars(cursor->data(), cursor->data() + cursor->size(), micros);
    const SystemTime time{std::chrono::microseconds(micros)};
    Check(DecodeTimeCursor(tenant, EncodeTimeCursor(tenant, time)) == time, "any time round-trips");
}

void Run(const ParamMap& params) {
    CheckError(
        CheckKnown(params, {"from", "to", "limit", "min_count", "threshold", "include_empty",
                            "interval", "event_type", "steps", "window", "cursor", "tenant"}));
    TimeRange range;
    const auto range_error = ParseTimeRange(params, range);
    CheckError(range_error);
    if (!range_error) CheckRange(range.from, range.to);
    std::optional<SystemTime> from;
    std::optional<SystemTime> to;
    const auto optional_error = ParseOptionalTimeRange(params, from, to);
    CheckError(optional_error);
    if (!optional_error && from && to) CheckRange(*from, *to);

    int64_t limit = 0;
    const auto limit_error = ParseInt(params, "limit", 1, 1000, 100, limit);
    CheckError(limit_error);
    Check(limit_error || (limit >= 1 && limit <= 1000), "ParseInt keeps to its bounds");
    std::optional<int64_t> min_count;
    const auto min_error = ParseOptionalInt(params, "min_count", 0, INT64_MAX, min_count);
    CheckError(min_error);
    Check(min_error || !min_count || *min_count >= 0, "ParseOptionalInt keeps to its bounds");
    std::optional<double> threshold;
    const auto threshold_error = ParseOptionalDouble(params, "threshold", threshold);
    CheckError(threshold_error);
    Check(threshold_error || !threshold || std::isfinite(*threshold), "doubles are finite");
    std::optional<bool> include_empty;
    CheckError(ParseOptionalBool(params, "include_empty", include_empty));
    std::string interval;
    const auto interval_error = ParseChoice(
        params, "interval", {"minute", "hour", "day", "week", "month"}, "day", interval);
    CheckError(interval_error);
    Check(interval_error || IntervalFromName(interval).has_value(), "choices are valid");

    std::optional<std::string> event_type;
    const auto type_error = ParseOptionalEventType(params, "event_type", event_type);
    CheckError(type_error);
    Check(type_error || !event_type || IsValidEventType(*event_type), "event types are valid");
    std::vector<std::string> steps;
    const auto steps_error = ParseSteps(params, "steps", steps);
    CheckError(steps_error);
    if (!steps_error) {
        Check(!steps.empty() && steps.size() <= 10, "1 to 10 steps");
        for (const auto& step : steps) Check(IsValidEventType(step), "every step is an event type");
    }
    const auto funnel_error = ParseFunnelSteps(params, steps);
    CheckError(funnel_error);
    if (!funnel_error) {
        Check(!steps.empty() && steps.size() <= 10, "1 to 10 funnel steps");
        for (const auto& step : steps) Check(IsValidEventType(step), "every funnel step is an event type");
    }
    constexpr int64_t kMaxWindow = 90LL * 86400;
    int64_t window = 0;
    const auto window_error = ParseDuration(params, "window", kMaxWindow, 3600, window);
    CheckError(window_error);
    Check(window_error || (window >= 1 && window <= kMaxWindow), "durations keep to their bounds");

    CheckCursors(params);
}

}  // namespace
}  // namespace tributary::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tributary::fuzz;
    const auto params = Split(AsText(data, size));
    try {
        Run(params);
    } catch (const std::exception& e) {
        Fail("a query parameter parser threw", e.what());
    }
    return 0;
}
