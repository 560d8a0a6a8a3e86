#include "query/raw_events.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/event_model.hpp"

namespace tributary::query {
namespace {

int64_t Micros(SystemTime time) { return time.time_since_epoch().count(); }

// Appends `text` length-prefixed, so that no two filters serialize alike.
void AppendField(std::string& out, std::string_view text) {
    out += std::to_string(text.size());
    out += ':';
    out += text;
}

// 16 hex digits identifying the filter of a query: a cursor carries them, so one handed out
// for another range, type or value is refused instead of continuing the wrong list.
std::string FilterFingerprint(const RawEventsQuery& query) {
    std::string canonical = std::to_string(Micros(query.range.from)) + "," +
                            std::to_string(Micros(query.range.to)) + ",";
    for (const auto* field : {&query.event_type, &query.dimension, &query.value}) {
        if (*field) {
            canonical += '+';
            AppendField(canonical, **field);
        } else {
            canonical += '-';
        }
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < 8; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

constexpr std::string_view kCursorPrefix = "e:";

bool ParseWhole(std::string_view text, int64_t& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// The position of a cursor of `tenant` for exactly `query`'s filter.
std::optional<Cursor> DecodeRawEventsCursor(const std::string& tenant, const RawEventsQuery& query,
                                            std::string_view text) {
    const auto payload = DecodeTenantCursor(tenant, text);
    if (!payload || !payload->starts_with(kCursorPrefix)) return std::nullopt;
    const std::string_view rest = std::string_view(*payload).substr(kCursorPrefix.size());
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos || rest.substr(0, colon) != FilterFingerprint(query)) {
        return std::nullopt;
    }
    const std::string_view position = rest.substr(colon + 1);
    const size_t dot = position.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    Cursor cursor;
    if (!ParseWhole(position.substr(0, dot), cursor.time_us) ||
        !ParseWhole(position.substr(dot + 1), cursor.id) || cursor.id < 0) {
        return std::nullopt;
    }
    return cursor;
}

std::string JsonOrNull(const std::optional<std::string>& text) {
    return text ? nlohmann::json(*text).dump() : "null";
}

}  // namespace

std::string EncodeRawEventsCursor(const std::string& tenant, const RawEventsQuery& query,
                                  const Cursor& position) {
    return EncodeTenantCursor(tenant, std::string(kCursorPrefix) + FilterFingerprint(query) + ":" +
                                          std::to_string(position.time_us) + "." +
                                          std::to_string(position.id));
}

std::variant<RawEventsQuery, ParamError> ParseRawEventsQuery(const std::string& tenant,
                                                             const ParamMap& params) {
    if (auto e = CheckKnown(
            params, {"from", "to", "event_type", "dimension", "value", "limit", "cursor"})) {
        return *e;
    }
    RawEventsQuery query;
    if (auto e = ParseTimeRange(params, query.range)) return *e;
    if (auto e = ParseOptionalEventType(params, "event_type", query.event_type)) return *e;
    if (auto e = ParseDimension(params, false, query.dimension)) return *e;
    query.value = Get(params, "value");
    if (query.dimension && !query.value) {
        return ParamError{"value", "is required with dimension (the value of " + *query.dimension +
                                       " to list the events of)"};
    }
    if (query.value && !query.dimension) {
        return ParamError{"value",
                          "needs dimension (one of: page, event_type, device, country, "
                          "referrer, source)"};
    }
    if (query.dimension == "event_type") {
        if (const std::string problem = common::EventNameProblem(*query.value); !problem.empty()) {
            return ParamError{"value", problem};
        }
    }
    if (auto e =
            ParseInt(params, "limit", 1, kRawEventsMaxLimit, kRawEventsDefaultLimit, query.limit)) {
        return *e;
    }
    if (const auto cursor = Get(params, "cursor")) {
        query.after = DecodeRawEventsCursor(tenant, query, *cursor);
        if (!query.after) return ParamError{"cursor", "is not a cursor returned for this query"};
    }
    return query;
}

QueryResponse RawEventQueries::List(const std::string& tenant, const ParamMap& params) {
    auto parsed = ParseRawEventsQuery(tenant, params);
    if (auto* error = std::get_if<ParamError>(&parsed)) return {400, ParamErrorJson(*error)};
    const RawEventsQuery& query = std::get<RawEventsQuery>(parsed);

    std::vector<std::string> args;
    const auto arg = [&args](std::string value) {
        args.push_back(std::move(value));
        std::string placeholder = "$";  // appended, not "$" + ...: GCC 12 warns (-Wrestrict)
        placeholder += std::to_string(args.size());
        return placeholder;
    };
    // Served by the (event_time) index of migration 0003 read backwards from `to` (or from the
    // cursor: an explicit upper bound, the row comparison only breaks ties of one instant),
    // other tenants' rows and the filter applied on the way: a page reads about as many rows as
    // it returns when its events are common; the worst case (a value that never occurs, the
    // whole range read) is bounded by QUERY_TIMEOUT_MS like every query.
    std::string sql = std::string("SELECT ") + AnalyticsEventJson() +
                      "::text, (extract(epoch FROM e.event_time) * 1000000)::bigint, e.id, "
                      "e.kafka_partition, e.kafka_offset, to_char(e.stored_at AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM user_analytics_events e WHERE "
                      "e.tenant_id = " +
                      arg(tenant) +
                      " AND e.event_time >= " + arg(common::FormatRfc3339(query.range.from)) +
                      "::timestamptz AND e.event_time < " +
                      arg(common::FormatRfc3339(query.range.to)) + "::timestamptz";
    if (query.event_type) sql += " AND e.event_type = " + arg(*query.event_type);
    // The dimension is one of ParseDimension's names, each a column: safe to splice.
    if (query.dimension) sql += " AND e." + *query.dimension + " = " + arg(*query.value);
    if (query.after) {
        const SystemTime after_time{std::chrono::microseconds(query.after->time_us)};
        const std::string time = arg(common::FormatRfc3339(after_time));
        const std::string id = arg(std::to_string(query.after->id));
        sql += " AND e.event_time <= " + time + "::timestamptz AND (e.event_time, e.id) < (" +
               time + "::timestamptz, " + id + "::bigint)";
    }
    sql += " ORDER BY e.event_time DESC, e.id DESC LIMIT " + std::to_string(query.limit + 1);

    auto lease = pool_.Acquire();
    pqxx::result rows;
    try {
        pqxx::read_transaction txn(*lease);
        // Like the analytics queries: one small index scan gains nothing from workers.
        txn.exec("SET LOCAL max_parallel_workers_per_gather = 0");
        rows = txn.exec_params(sql, pqxx::prepare::make_dynamic_params(args));
    } catch (...) {
        lease.Discard();
        throw;
    }

    const size_t shown = std::min<size_t>(rows.size(), static_cast<size_t>(query.limit));
    std::string body = "{\"from\":\"" + common::FormatRfc3339(query.range.from) + "\",\"to\":\"" +
                       common::FormatRfc3339(query.range.to) +
                       "\",\"event_type\":" + JsonOrNull(query.event_type) +
                       ",\"dimension\":" + JsonOrNull(query.dimension) +
                       ",\"value\":" + JsonOrNull(query.value) + ",\"events\":[";
    for (size_t i = 0; i < shown; ++i) {
        const auto& row = rows[i];
        // The event's JSON object, extended with where it came from and when it was stored.
        std::string_view event = row[0].c_str();
        event.remove_suffix(1);  // '}'
        if (i > 0) body += ',';
        body += event;
        body += ",\"kafka_partition\":";
        body += row[3].is_null() ? "null" : row[3].c_str();
        body += ",\"kafka_offset\":";
        body += row[4].is_null() ? "null" : row[4].c_str();
        body += ",\"stored_at\":";
        if (row[5].is_null()) {
            body += "null";
        } else {
            body += '"';
            body += row[5].c_str();
            body += '"';
        }
        body += '}';
    }
    body += "],\"count\":" + std::to_string(shown) + ",\"next_cursor\":";
    if (rows.size() > shown) {
        const auto& last = rows[shown - 1];
        body += nlohmann::json(EncodeRawEventsCursor(
                                   tenant, query, {last[1].as<int64_t>(), last[2].as<int64_t>()}))
                    .dump();
    } else {
        body += "null";
    }
    body += "}";
    return {200, body};
}

}  // namespace tributary::query
