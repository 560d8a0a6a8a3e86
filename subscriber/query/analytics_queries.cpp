#include "subscriber/query/analytics_queries.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>
#include <string_view>
#include <variant>

namespace tributary::subscriber::query {
namespace {

constexpr const char* kBucketFormat =
    R"('YYYY-MM-DD"T"HH24:MI:SS"Z"')";  // buckets start on whole seconds

QueryResponse Bad(const ParamError& error) { return {400, ParamErrorJson(error)}; }

std::string Quoted(SystemTime time) { return std::string("\"") + common::FormatRfc3339(time) + "\""; }

std::string JsonString(const std::string& text) { return nlohmann::json(text).dump(); }

// Runs `body(txn)` in a read-only transaction on a pooled connection. Parallel query is off:
// the rollup queries are small, and starting workers costs more than it saves on the few
// cores a query API shares with its database.
template <typename Body>
auto WithReadTxn(DbPool& pool, Body&& body) {
    auto lease = pool.Acquire();
    try {
        pqxx::read_transaction txn(*lease);
        txn.exec("SET LOCAL max_parallel_workers_per_gather = 0");
        return body(txn);
    } catch (...) {
        lease.Discard();
        throw;
    }
}

// Positional parameters of a statement being assembled.
class Args {
public:
    std::string Add(std::string value) {
        values_.push_back(std::move(value));
        return std::string("$") + std::to_string(values_.size());
    }
    pqxx::result Exec(pqxx::transaction_base& txn, const std::string& sql) const {
        return txn.exec_params(sql, pqxx::prepare::make_dynamic_params(values_));
    }

private:
    std::vector<std::string> values_;
};

char GrainCode(Grain grain) {
    switch (grain) {
        case Grain::kMinute: return 'm';
        case Grain::kHour: return 'h';
        case Grain::kDay: return 'd';
        case Grain::kRaw: return '?';
    }
    return '?';
}

std::string RangeSql(const char* column, const Piece& piece) {
    return std::string(" AND ") + column + " >= " + SqlTime(piece.from) + " AND " + column + " < " +
           SqlTime(piece.to);
}

std::string UnionAll(const std::vector<std::string>& parts, const std::string& empty) {
    if (parts.empty()) return empty;
    std::string sql;
    for (const auto& part : parts) {
        if (!sql.empty()) sql += " UNION ALL ";
        sql += "(" + part + ")";
    }
    return sql;
}

// Rows (t, v, n): events per (minute or rollup bucket t, event type v) over the pieces.
// `filter` is an extra condition on event_type (or empty).
std::string EventCountRows(const std::vector<Piece>& pieces, const std::string& filter) {
    std::vector<std::string> parts;
    for (const Piece& piece : pieces) {
        if (piece.grain == Grain::kRaw) {
            parts.push_back(
                "SELECT date_trunc('minute', event_time, 'UTC') AS t, event_type AS v, "
                "count(*) AS n FROM user_analytics_events WHERE tenant_id = 'default'" +
                RangeSql("event_time", piece) + filter + " GROUP BY 1, 2");
        } else {
            parts.push_back(std::string("SELECT bucket AS t, event_type AS v, n FROM "
                                        "analytics_event_counts WHERE tenant_id = 'default' AND "
                                        "grain = '") +
                            GrainCode(piece.grain) + "'" + RangeSql("bucket", piece) + filter);
        }
    }
    return UnionAll(parts, "SELECT NULL::timestamptz AS t, NULL::text AS v, 0::bigint AS n WHERE false");
}

// Rows (t, v, n): events per (bucket, value of `dimension`), NULL values left out.
std::string DimensionCountRows(const std::vector<Piece>& pieces, const std::string& dimension) {
    std::vector<std::string> parts;
    for (const Piece& piece : pieces) {
        if (piece.grain == Grain::kRaw) {
            parts.push_back("SELECT date_trunc('minute', event_time, 'UTC') AS t, " + dimension +
                            " AS v, count(*) AS n FROM user_analytics_events WHERE tenant_id = "
                            "'default'" + RangeSql("event_time", piece) + " AND " + dimension +
                            " IS NOT NULL GROUP BY 1, 2");
        } else {
            parts.push_back(std::string("SELECT bucket AS t, value AS v, n FROM "
                                        "analytics_dimension_counts WHERE tenant_id = 'default' "
                                        "AND dimension = '") +
                            dimension + "' AND grain = '" + GrainCode(piece.grain) + "'" +
                            RangeSql("bucket", piece));
        }
    }
    return UnionAll(parts, "SELECT NULL::timestamptz AS t, NULL::text AS v, 0::bigint AS n WHERE false");
}

// Whether a query groups user bitmaps by time (a bucket grid) or only by value.
enum class ByTime { kYes, kNo };

// Rows (t, v, chunk, bits): bitmaps of the users active per (bucket t, value v) over the
// pieces. kind "all" has the single value ''. `column` is the raw column of the kind. With
// ByTime::kNo, t is meaningless and raw rows are not split by hour.
std::string UserBitRows(const std::vector<Piece>& pieces, const std::string& kind,
                        const std::string& column, ByTime by_time = ByTime::kYes) {
    const std::string raw_time = by_time == ByTime::kYes ? "date_trunc('hour', event_time, 'UTC')"
                                                         : "NULL::timestamptz";
    std::vector<std::string> parts;
    for (const Piece& piece : pieces) {
        if (piece.grain == Grain::kRaw) {
            const std::string value = kind == "all" ? std::string("''::text") : column;
            const std::string not_null = kind == "all" ? "" : " AND " + column + " IS NOT NULL";
            parts.push_back(
                "SELECT t, v, user_no / 8192 AS chunk, "
                "bit_or(set_bit(B'0'::bit(8192), user_no % 8192, 1)) AS bits FROM (SELECT "
                "DISTINCT " + raw_time + " AS t, " + value +
                " AS v, user_no FROM user_analytics_events WHERE tenant_id = 'default'" +
                RangeSql("event_time", piece) + " AND user_no IS NOT NULL" + not_null +
                ") r GROUP BY 1, 2, 3");
        } else {
            parts.push_back(std::string("SELECT bucket AS t, value AS v, chunk, bits FROM "
                                        "analytics_user_bits WHERE tenant_id = 'default' AND "
                                        "kind = '") +
                            kind + "' AND grain = '" + GrainCode(piece.grain) + "'" +
                            RangeSql("bucket", piece));
        }
    }
    return UnionAll(parts,
                    "SELECT NULL::timestamptz AS t, NULL::text AS v, 0 AS chunk, "
                    "B'0'::bit(8192) AS bits WHERE false");
}

// Rows (v, users): exact unique users per value over the bitmap rows.
std::string UniqueUsersByValue(const std::string& bit_rows) {
    return "SELECT v, sum(k)::bigint AS users FROM (SELECT v, chunk, bit_count(bit_or(bits)) AS k "
           "FROM (" + bit_rows + ") b GROUP BY 1, 2) x GROUP BY 1";
}

// A page of buckets [first, ...) of `interval` before `to`.
struct BucketPage {
    std::vector<SystemTime> starts;
    SystemTime data_from;  // the range the page's data covers: [data_from, data_to)
    SystemTime data_to;
    std::optional<SystemTime> next;
};

std::variant<BucketPage, ParamError> PageBuckets(const TimeRange& range, Interval interval,
                                                 const std::optional<std::string>& cursor,
                                                 int64_t limit) {
    const SystemTime first = FloorTo(range.from, interval);
    SystemTime start = first;
    if (cursor) {
        const auto decoded = DecodeTimeCursor(*cursor);
        if (!decoded || FloorTo(*decoded, interval) != *decoded || !(first < *decoded) ||
            !(*decoded < range.to)) {
            return ParamError{"cursor", "is not a cursor returned for this query"};
        }
        start = *decoded;
    }
    BucketPage page;
    SystemTime bucket = start;
    while (bucket < range.to && static_cast<int64_t>(page.starts.size()) < limit) {
        page.starts.push_back(bucket);
        bucket = NextBucket(bucket, interval);
    }
    page.data_from = std::max(range.from, start);
    page.data_to = std::min(range.to, bucket);
    if (bucket < range.to) page.next = bucket;
    return page;
}

std::string TimeArrayLiteral(const std::vector<SystemTime>& times) {
    std::string text = "{";
    for (size_t i = 0; i < times.size(); ++i) {
        if (i > 0) text += ',';
        text += common::FormatRfc3339(times[i]);
    }
    return text + "}";
}

std::string NextCursorJson(const std::optional<SystemTime>& next) {
    return next ? JsonString(EncodeTimeCursor(*next)) : "null";
}

// A page of a list ordered by count descending, then value ascending (byte order).
struct RankPage {
    int64_t limit = 0;
    std::optional<RankCursor> after;
};

ParamResult ParseRankPage(const ParamMap& params, int64_t default_limit, RankPage& out) {
    if (auto error = ParseInt(params, "limit", 1, 1000, default_limit, out.limit)) return error;
    if (const auto cursor = Get(params, "cursor")) {
        out.after = DecodeRankCursor(*cursor);
        if (!out.after) return ParamError{"cursor", "is not a cursor returned for this query"};
    }
    return std::nullopt;
}

// SQL tail selecting the page from relation `rel` with columns (json, n, v).
std::string RankPageSql(const RankPage& page, Args& args) {
    std::string sql = " WHERE true";
    if (page.after) {
        const std::string n = args.Add(std::to_string(page.after->count));
        const std::string v = args.Add(page.after->value);
        sql += " AND (n < " + n + "::bigint OR (n = " + n + "::bigint AND v COLLATE \"C\" > " + v +
               "))";
    }
    sql += " ORDER BY n DESC, v COLLATE \"C\" LIMIT " + std::to_string(page.limit + 1);
    return sql;
}

// `"name":[rows...],"next_cursor":...` from rows (json, n, v) of RankPageSql.
std::string RankPageJson(const pqxx::result& rows, const RankPage& page, const char* name) {
    const size_t shown = std::min<size_t>(rows.size(), static_cast<size_t>(page.limit));
    std::string body = "\"" + std::string(name) + "\":[";
    for (size_t i = 0; i < shown; ++i) {
        if (i > 0) body += ',';
        body += rows[i][0].c_str();
    }
    body += "],\"next_cursor\":";
    if (rows.size() > shown) {
        body += JsonString(EncodeRankCursor({rows[shown - 1][1].as<int64_t>(),
                                             rows[shown - 1][2].as<std::string>()}));
    } else {
        body += "null";
    }
    return body;
}

std::string RangeJson(const TimeRange& range) {
    return "\"from\":" + Quoted(range.from) + ",\"to\":" + Quoted(range.to);
}

int64_t ParseInt64(const char* text) {
    int64_t value = 0;
    std::from_chars(text, text + std::strlen(text), value);
    return value;
}

// "2026-03-01 00:17:23.123456+00" (PostgreSQL's ISO output in UTC) as microseconds since
// the epoch.
std::optional<int64_t> ParseIsoUtcMicros(const char* text) {
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

}  // namespace

QueryResponse AnalyticsQueries::EventTrends(const ParamMap& params) {
    if (auto e = CheckKnown(params, {"from", "to", "interval", "event_type", "limit", "cursor"})) {
        return Bad(*e);
    }
    TimeRange range;
    std::string interval_name;
    std::optional<std::string> event_type;
    int64_t limit = 0;
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    if (auto e = ParseChoice(params, "interval", {"minute", "hour", "day"}, "hour", interval_name)) {
        return Bad(*e);
    }
    if (auto e = ParseOptionalEventType(params, "event_type", event_type)) return Bad(*e);
    if (auto e = ParseInt(params, "limit", 1, 10000, 1000, limit)) return Bad(*e);
    const Interval interval = *IntervalFromName(interval_name);
    auto paged = PageBuckets(range, interval, Get(params, "cursor"), limit);
    if (auto* error = std::get_if<ParamError>(&paged)) return Bad(*error);
    const BucketPage& page = std::get<BucketPage>(paged);

    std::vector<Piece> pieces;
    switch (interval) {
        case Interval::kMinute:
            pieces = SplitRange(page.data_from, page.data_to, {Grain::kMinute});
            break;
        case Interval::kHour:
            pieces = SplitRange(page.data_from, page.data_to, {Grain::kHour, Grain::kMinute});
            break;
        default:
            pieces = SplitRange(page.data_from, page.data_to,
                                {Grain::kDay, Grain::kHour, Grain::kMinute});
            break;
    }
    Args args;
    const std::string buckets = args.Add(TimeArrayLiteral(page.starts));
    const std::string filter = event_type ? " AND event_type = " + args.Add(*event_type) : "";
    const std::string sql =
        "WITH a AS (SELECT date_trunc('" + interval_name + "', t, 'UTC') AS b, sum(n) AS n FROM (" +
        EventCountRows(pieces, filter) +
        ") p GROUP BY 1) SELECT COALESCE(json_agg(json_build_object('bucket', to_char(g.b AT TIME "
        "ZONE 'UTC', " + kBucketFormat + "), 'count', COALESCE(a.n, 0)) ORDER BY g.b), "
        "'[]')::text, COALESCE(sum(a.n), 0)::text FROM unnest(" + buckets +
        "::timestamptz[]) g(b) LEFT JOIN a ON a.b = g.b";
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return args.Exec(txn, sql); });
    std::string body = "{" + RangeJson(range) + ",\"interval\":\"" + interval_name +
                       "\",\"event_type\":" + (event_type ? JsonString(*event_type) : "null") +
                       ",\"buckets\":" + rows[0][0].c_str() + ",\"total\":" + rows[0][1].c_str() +
                       ",\"next_cursor\":" + NextCursorJson(page.next) + "}";
    return {200, body};
}

QueryResponse AnalyticsQueries::EventTypes(const ParamMap& params) {
    if (auto e = CheckKnown(params, {"from", "to", "limit", "cursor"})) return Bad(*e);
    TimeRange range;
    RankPage page;
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    if (auto e = ParseRankPage(params, 100, page)) return Bad(*e);
    const auto count_pieces =
        SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour, Grain::kMinute});
    const auto user_pieces = SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour});
    Args args;
    const std::string sql =
        "WITH c AS (SELECT v, sum(n) AS n FROM (" + EventCountRows(count_pieces, "") +
        ") p GROUP BY 1), u AS (" +
        UniqueUsersByValue(UserBitRows(user_pieces, "event_type", "event_type", ByTime::kNo)) +
        "), r AS (SELECT json_build_object('event_type', c.v, 'count', c.n, 'unique_users', "
        "COALESCE(u.users, 0))::text AS json, c.n, c.v FROM c LEFT JOIN u USING (v)) "
        "SELECT json, n, v FROM r" + RankPageSql(page, args);
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return args.Exec(txn, sql); });
    return {200, "{" + RangeJson(range) + "," + RankPageJson(rows, page, "event_types") + "}"};
}

QueryResponse AnalyticsQueries::Top(const ParamMap& params) {
    if (auto e = CheckKnown(params, {"dimension", "from", "to", "limit", "cursor"})) return Bad(*e);
    std::string dimension;
    TimeRange range;
    RankPage page;
    if (auto e = ParseChoice(params, "dimension",
                             {"page", "event_type", "device", "country", "referrer", "source"},
                             std::nullopt, dimension)) {
        return Bad(*e);
    }
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    if (auto e = ParseRankPage(params, 10, page)) return Bad(*e);
    const std::string counts =
        dimension == "event_type"
            ? EventCountRows(SplitRange(range.from, range.to,
                                        {Grain::kDay, Grain::kHour, Grain::kMinute}), "")
            : DimensionCountRows(SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour}),
                                 dimension);
    Args args;
    const std::string sql =
        "WITH r AS (SELECT json_build_object('value', v, 'count', sum(n))::text AS json, "
        "sum(n) AS n, v FROM (" + counts + ") p GROUP BY v) SELECT json, n, v FROM r" +
        RankPageSql(page, args);
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return args.Exec(txn, sql); });
    return {200, "{\"dimension\":\"" + dimension + "\"," + RangeJson(range) + "," +
                     RankPageJson(rows, page, "items") + "}"};
}

QueryResponse AnalyticsQueries::UserDistribution(const ParamMap& params) {
    if (auto e = CheckKnown(params, {"dimension", "from", "to", "limit", "cursor"})) return Bad(*e);
    std::string dimension;
    TimeRange range;
    RankPage page;
    if (auto e = ParseChoice(params, "dimension", {"device", "os", "browser", "country"},
                             std::nullopt, dimension)) {
        return Bad(*e);
    }
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    if (auto e = ParseRankPage(params, 100, page)) return Bad(*e);
    // Per-value user bitmaps exist per day only: the partial days at the edges come from raw
    // rows.
    const auto value_pieces = SplitRange(range.from, range.to, {Grain::kDay});
    const auto all_pieces = SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour});
    const auto count_pieces = SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour});
    Args args;
    const std::string sql =
        "WITH u AS (" + UniqueUsersByValue(UserBitRows(value_pieces, dimension, dimension, ByTime::kNo)) +
        "), c AS (SELECT v, sum(n) AS n FROM (" + DimensionCountRows(count_pieces, dimension) +
        ") p GROUP BY 1), r AS (SELECT json_build_object('value', u.v, 'users', u.users, "
        "'events', COALESCE(c.n, 0))::text AS json, u.users AS n, u.v FROM u LEFT JOIN c "
        "USING (v)) SELECT json, n, v FROM r" + RankPageSql(page, args);
    const std::string total_sql =
        "SELECT COALESCE(sum(users), 0)::text FROM (" +
        UniqueUsersByValue(UserBitRows(all_pieces, "all", "", ByTime::kNo)) + ") t";
    std::string total;
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) {
        total = txn.exec(total_sql)[0][0].c_str();
        return args.Exec(txn, sql);
    });
    return {200, "{\"dimension\":\"" + dimension + "\"," + RangeJson(range) +
                     ",\"total_users\":" + total + "," + RankPageJson(rows, page, "values") + "}"};
}

QueryResponse AnalyticsQueries::ActiveUsers(const ParamMap& params) {
    if (auto e = CheckKnown(params, {"from", "to", "interval", "limit", "cursor"})) return Bad(*e);
    TimeRange range;
    std::string interval_name;
    int64_t limit = 0;
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    if (auto e = ParseChoice(params, "interval", {"day", "week", "month"}, "day", interval_name)) {
        return Bad(*e);
    }
    if (auto e = ParseInt(params, "limit", 1, 1000, 100, limit)) return Bad(*e);
    const Interval interval = *IntervalFromName(interval_name);
    auto paged = PageBuckets(range, interval, Get(params, "cursor"), limit);
    if (auto* error = std::get_if<ParamError>(&paged)) return Bad(*error);
    const BucketPage& page = std::get<BucketPage>(paged);
    const auto pieces = SplitRange(page.data_from, page.data_to, {Grain::kDay, Grain::kHour});
    Args args;
    const std::string buckets = args.Add(TimeArrayLiteral(page.starts));
    const std::string sql =
        "WITH a AS (SELECT b, sum(k)::bigint AS users FROM (SELECT date_trunc('" + interval_name +
        "', t, 'UTC') AS b, chunk, bit_count(bit_or(bits)) AS k FROM (" +
        UserBitRows(pieces, "all", "") +
        ") x GROUP BY 1, 2) y GROUP BY 1) SELECT COALESCE(json_agg(json_build_object('bucket', "
        "to_char(g.b AT TIME ZONE 'UTC', " + kBucketFormat +
        "), 'users', COALESCE(a.users, 0)) ORDER BY g.b), '[]')::text FROM unnest(" + buckets +
        "::timestamptz[]) g(b) LEFT JOIN a ON a.b = g.b";
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return args.Exec(txn, sql); });
    return {200, "{" + RangeJson(range) + ",\"interval\":\"" + interval_name +
                     "\",\"buckets\":" + rows[0][0].c_str() +
                     ",\"next_cursor\":" + NextCursorJson(page.next) + "}"};
}

FunnelCounter::FunnelCounter(std::vector<int> step_types, int64_t within_us)
    : step_types_(std::move(step_types)), within_us_(within_us) {
    type_count_ = step_types_.empty() ? 0 : *std::max_element(step_types_.begin(), step_types_.end()) + 1;
}

int FunnelCounter::Depth(const std::vector<Event>& events) const {
    const int steps = static_cast<int>(step_types_.size());
    constexpr int64_t kNone = std::numeric_limits<int64_t>::min();
    // best[j]: the latest start (time of its first event) of a chain of distinct events
    // completing steps 1..j, over the events seen so far. A later start dominates an earlier
    // one: same progress, later deadline.
    std::vector<int64_t> best(static_cast<size_t>(steps) + 1, kNone);
    std::vector<int64_t> next;
    std::vector<int> group_counts(static_cast<size_t>(type_count_));
    std::vector<int> left;
    int depth = 0;
    size_t i = 0;
    while (i < events.size() && depth < steps) {
        // Events at the same instant can follow each other in any order, so they are taken as
        // one group: each chain may use every event of the group once.
        const int64_t t = events[i].time_us;
        std::fill(group_counts.begin(), group_counts.end(), 0);
        while (i < events.size() && events[i].time_us == t) {
            // Events of a type that is no step of the funnel cannot advance a chain.
            const int type = events[i].type;
            if (type >= 0 && type < type_count_) ++group_counts[static_cast<size_t>(type)];
            ++i;
        }
        next = best;
        for (int j = 0; j < steps; ++j) {
            const int64_t start = j == 0 ? t : best[static_cast<size_t>(j)];
            if (start == kNone || t - start > within_us_) continue;
            left = group_counts;
            int reached = j;
            while (reached < steps && left[static_cast<size_t>(step_types_[static_cast<size_t>(reached)])] > 0) {
                --left[static_cast<size_t>(step_types_[static_cast<size_t>(reached)])];
                ++reached;
                next[static_cast<size_t>(reached)] = std::max(next[static_cast<size_t>(reached)], start);
            }
            depth = std::max(depth, reached);
        }
        best.swap(next);
    }
    return depth;
}

QueryResponse AnalyticsQueries::Funnel(const ParamMap& params) {
    if (auto e = CheckKnown(params, {"steps", "within", "from", "to"})) return Bad(*e);
    std::vector<std::string> steps;
    int64_t within_s = 0;
    TimeRange range;
    if (auto e = ParseSteps(params, "steps", steps)) return Bad(*e);
    if (auto e = ParseDuration(params, "within", 90 * 86400, 86400, within_s)) return Bad(*e);
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);

    std::vector<std::string> types;  // distinct step types
    std::vector<int> step_types;
    for (const auto& step : steps) {
        auto it = std::find(types.begin(), types.end(), step);
        if (it == types.end()) it = types.insert(types.end(), step);
        step_types.push_back(static_cast<int>(it - types.begin()));
    }
    const FunnelCounter counter(step_types, within_s * 1000000);
    std::vector<int64_t> reached(steps.size() + 1, 0);

    WithReadTxn(pool_, [&](pqxx::read_transaction& txn) {
        // One index scan per step type, each already in (user, time) order, merged by the
        // planner (Merge Append) instead of sorting the events. Step types are validated
        // ([A-Za-z0-9_.:-] only), so they are safe as literals.
        std::string sql;
        for (size_t k = 0; k < types.size(); ++k) {
            if (!sql.empty()) sql += " UNION ALL ";
            sql += std::string("(SELECT user_no, ") + std::to_string(k) +
                   " AS k, event_time FROM user_analytics_events WHERE tenant_id = 'default' AND "
                   "event_type = '" + types[k] + "' AND user_no IS NOT NULL AND "
                   "event_time >= " + SqlTime(range.from) + " AND event_time < " +
                   SqlTime(range.to) + " ORDER BY user_no, event_time)";
        }
        // Times travel as text in UTC, parsed here: exact, and much cheaper for PostgreSQL than
        // extract(epoch ...), which computes in numeric.
        txn.exec("SET LOCAL TimeZone = 'UTC'");
        txn.exec("SET LOCAL DateStyle = 'ISO'");
        txn.exec("DECLARE funnel_events NO SCROLL CURSOR FOR SELECT user_no, k, event_time FROM (" +
                 sql + ") e ORDER BY user_no, event_time");
        std::vector<FunnelCounter::Event> events;
        int64_t user = -1;
        const auto flush = [&] {
            if (!events.empty()) ++reached[static_cast<size_t>(counter.Depth(events))];
            events.clear();
        };
        while (true) {
            const auto rows = txn.exec("FETCH FORWARD 50000 FROM funnel_events");
            if (rows.empty()) break;
            for (const auto& row : rows) {
                const int64_t row_user = ParseInt64(row[0].c_str());
                if (row_user != user) {
                    flush();
                    user = row_user;
                }
                const auto time_us = ParseIsoUtcMicros(row[2].c_str());
                if (!time_us) throw std::runtime_error(std::string("unexpected time ") + row[2].c_str());
                events.push_back({*time_us, static_cast<int>(ParseInt64(row[1].c_str()))});
            }
        }
        flush();
        return 0;
    });

    // reached[d]: users whose deepest step is d; users reaching step k: sum over d >= k.
    nlohmann::json out_steps = nlohmann::json::array();
    int64_t at_least = 0;
    std::vector<int64_t> users(steps.size(), 0);
    for (size_t k = steps.size(); k >= 1; --k) {
        at_least += reached[k];
        users[k - 1] = at_least;
    }
    for (size_t k = 0; k < steps.size(); ++k) {
        nlohmann::json step = {{"step", k + 1}, {"event_type", steps[k]}, {"users", users[k]}};
        const auto rate = [](int64_t part, int64_t whole) {
            return whole == 0 ? nlohmann::json(nullptr)
                              : nlohmann::json(static_cast<double>(part) / static_cast<double>(whole));
        };
        step["conversion_from_previous"] = rate(users[k], k == 0 ? users[0] : users[k - 1]);
        step["conversion_from_first"] = rate(users[k], users[0]);
        out_steps.push_back(step);
    }
    const nlohmann::json body = {{"from", common::FormatRfc3339(range.from)},
                                 {"to", common::FormatRfc3339(range.to)},
                                 {"within_seconds", within_s},
                                 {"steps", out_steps}};
    return {200, body.dump()};
}

QueryResponse AnalyticsQueries::Retention(const ParamMap& params) {
    if (auto e = CheckKnown(params, {"from", "to", "cohort", "periods", "limit", "cursor"})) {
        return Bad(*e);
    }
    TimeRange range;
    std::string cohort_name;
    int64_t periods = 0;
    int64_t limit = 0;
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    if (auto e = ParseChoice(params, "cohort", {"day", "week"}, "day", cohort_name)) return Bad(*e);
    if (auto e = ParseInt(params, "periods", 1, 365, 7, periods)) return Bad(*e);
    if (auto e = ParseInt(params, "limit", 1, 1000, 100, limit)) return Bad(*e);
    const Interval interval = *IntervalFromName(cohort_name);
    auto paged = PageBuckets(range, interval, Get(params, "cursor"), limit);
    if (auto* error = std::get_if<ParamError>(&paged)) return Bad(*error);
    const BucketPage& page = std::get<BucketPage>(paged);
    const int64_t unit_s = interval == Interval::kDay ? 86400 : 7 * 86400;

    // Cohorts need every bucket from the start of the range (a user's first bucket), and
    // the cohorts of this page need up to `periods` buckets after it.
    const SystemTime data_to =
        std::min(range.to, page.starts.back() + std::chrono::seconds(unit_s * (periods + 1)));
    const auto pieces = SplitRange(range.from, data_to, {Grain::kDay, Grain::kHour});
    const std::string sql =
        "WITH a AS (SELECT date_trunc('" + cohort_name + "', t, 'UTC') AS b, chunk, "
        "bit_or(bits) AS bits FROM (" + UserBitRows(pieces, "all", "") +
        ") x GROUP BY 1, 2), c AS (SELECT b, chunk, bits & ~COALESCE(bit_or(bits) OVER (PARTITION "
        "BY chunk ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), "
        "B'0'::bit(8192)) AS bits FROM a WHERE b <= " + SqlTime(page.starts.back()) +
        ") SELECT extract(epoch FROM c.b)::bigint, ((extract(epoch FROM a.b) - extract(epoch "
        "FROM c.b)) / " + std::to_string(unit_s) + ")::bigint AS p, sum(bit_count(c.bits & "
        "a.bits))::bigint FROM c JOIN a ON a.chunk = c.chunk AND a.b >= c.b AND a.b < c.b + "
        "interval '" + std::to_string(unit_s * (periods + 1)) + " seconds' WHERE c.b >= " +
        SqlTime(page.starts.front()) + " GROUP BY 1, 2";
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return txn.exec(sql); });
    std::map<std::pair<int64_t, int64_t>, int64_t> counts;
    for (const auto& row : rows) {
        counts[{row[0].as<int64_t>(), row[1].as<int64_t>()}] = row[2].as<int64_t>();
    }
    nlohmann::json cohorts = nlohmann::json::array();
    for (const SystemTime start : page.starts) {
        const int64_t start_s = std::chrono::duration_cast<std::chrono::seconds>(
                                    start.time_since_epoch()).count();
        const auto it = counts.find({start_s, 0});
        const int64_t size = it == counts.end() ? 0 : it->second;
        nlohmann::json retained = nlohmann::json::array();
        nlohmann::json rates = nlohmann::json::array();
        for (int64_t p = 0; p <= periods; ++p) {
            if (!(start + std::chrono::seconds(unit_s * p) < range.to)) {
                retained.push_back(nullptr);  // that period has not been observed
                rates.push_back(nullptr);
                continue;
            }
            const auto found = counts.find({start_s, p});
            const int64_t n = found == counts.end() ? 0 : found->second;
            retained.push_back(n);
            rates.push_back(size == 0 ? nlohmann::json(nullptr)
                                      : nlohmann::json(static_cast<double>(n) / static_cast<double>(size)));
        }
        cohorts.push_back({{"cohort", common::FormatRfc3339(start).substr(0, 19) + "Z"},
                           {"users", size},
                           {"retained", retained},
                           {"rates", rates}});
    }
    nlohmann::json body = {{"from", common::FormatRfc3339(range.from)},
                           {"to", common::FormatRfc3339(range.to)},
                           {"cohort", cohort_name},
                           {"periods", periods},
                           {"cohorts", cohorts},
                           {"next_cursor", page.next ? nlohmann::json(EncodeTimeCursor(*page.next))
                                                     : nlohmann::json(nullptr)}};
    return {200, body.dump()};
}

QueryResponse AnalyticsQueries::Sessions(const ParamMap& params) {
    if (auto e = CheckKnown(params, {"from", "to"})) return Bad(*e);
    TimeRange range;
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    const std::string where = " WHERE tenant_id = 'default' AND started_at >= " +
                              SqlTime(range.from) + " AND started_at < " + SqlTime(range.to);
    const std::string sql =
        "WITH s AS (SELECT extract(epoch FROM ended_at - started_at)::float8 AS d, events, "
        "true AS by_id FROM analytics_sessions" + where +
        " UNION ALL SELECT extract(epoch FROM ended_at - started_at)::float8, events, false FROM "
        "analytics_gap_sessions" + where +
        ") SELECT json_build_object('sessions', count(*), 'sessions_with_id', count(*) FILTER "
        "(WHERE by_id), 'sessions_by_inactivity', count(*) FILTER (WHERE NOT by_id), 'events', "
        "COALESCE(sum(events), 0), 'median_duration_seconds', percentile_cont(0.5) WITHIN GROUP "
        "(ORDER BY d), 'mean_duration_seconds', avg(d), 'events_per_session', "
        "avg(events)::float8)::text FROM s";
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return txn.exec(sql); });
    return {200, "{" + RangeJson(range) + ",\"inactivity_gap_seconds\":1800,\"summary\":" +
                     rows[0][0].c_str() + "}"};
}

}  // namespace tributary::subscriber::query
