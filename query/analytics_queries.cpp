#include "query/analytics_queries.hpp"

#include "query/day_segment.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <bit>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>
#include <variant>

namespace tributary::query {
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

// In the row builders below, `tenant_sql` is the caller's tenant as SQL: a bound parameter
// ("$1") or a quoted literal (txn.quote). Every table they read is confined to it.

// Rows (t, v, n): events per (minute or rollup bucket t, event type v) over the pieces.
// `filter` is an extra condition on event_type (or empty).
std::string EventCountRows(const std::string& tenant_sql, const std::vector<Piece>& pieces,
                           const std::string& filter) {
    std::vector<std::string> parts;
    for (const Piece& piece : pieces) {
        if (piece.grain == Grain::kRaw) {
            parts.push_back(
                "SELECT date_trunc('minute', event_time, 'UTC') AS t, event_type AS v, "
                "count(*) AS n FROM user_analytics_events WHERE tenant_id = " + tenant_sql +
                RangeSql("event_time", piece) + filter + " GROUP BY 1, 2");
        } else {
            parts.push_back("SELECT bucket AS t, event_type AS v, n FROM analytics_event_counts "
                            "WHERE tenant_id = " + tenant_sql + " AND grain = '" +
                            GrainCode(piece.grain) + "'" + RangeSql("bucket", piece) + filter);
        }
    }
    return UnionAll(parts, "SELECT NULL::timestamptz AS t, NULL::text AS v, 0::bigint AS n WHERE false");
}

// Rows (t, v, n): events per (bucket, value of `dimension`), NULL values left out.
std::string DimensionCountRows(const std::string& tenant_sql, const std::vector<Piece>& pieces,
                               const std::string& dimension) {
    std::vector<std::string> parts;
    for (const Piece& piece : pieces) {
        if (piece.grain == Grain::kRaw) {
            parts.push_back("SELECT date_trunc('minute', event_time, 'UTC') AS t, " + dimension +
                            " AS v, count(*) AS n FROM user_analytics_events WHERE tenant_id = " +
                            tenant_sql + RangeSql("event_time", piece) + " AND " + dimension +
                            " IS NOT NULL GROUP BY 1, 2");
        } else {
            parts.push_back("SELECT bucket AS t, value AS v, n FROM analytics_dimension_counts "
                            "WHERE tenant_id = " + tenant_sql + " AND dimension = '" + dimension +
                            "' AND grain = '" + GrainCode(piece.grain) + "'" +
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
std::string UserBitRows(const std::string& tenant_sql, const std::vector<Piece>& pieces,
                        const std::string& kind, const std::string& column,
                        ByTime by_time = ByTime::kYes) {
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
                " AS v, user_no FROM user_analytics_events WHERE tenant_id = " + tenant_sql +
                RangeSql("event_time", piece) + " AND user_no IS NOT NULL" + not_null +
                ") r GROUP BY 1, 2, 3");
        } else {
            parts.push_back("SELECT bucket AS t, value AS v, chunk, bits FROM analytics_user_bits "
                            "WHERE tenant_id = " + tenant_sql + " AND kind = '" + kind +
                            "' AND grain = '" + GrainCode(piece.grain) + "'" +
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

std::variant<BucketPage, ParamError> PageBuckets(const std::string& tenant,
                                                 const TimeRange& range, Interval interval,
                                                 const std::optional<std::string>& cursor,
                                                 int64_t limit) {
    const SystemTime first = FloorTo(range.from, interval);
    SystemTime start = first;
    if (cursor) {
        const auto decoded = DecodeTimeCursor(tenant, *cursor);
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

std::string NextCursorJson(const std::string& tenant, const std::optional<SystemTime>& next) {
    return next ? JsonString(EncodeTimeCursor(tenant, *next)) : "null";
}

// A page of a list ordered by count descending, then value ascending (byte order).
struct RankPage {
    int64_t limit = 0;
    std::optional<RankCursor> after;
};

ParamResult ParseRankPage(const std::string& tenant, const ParamMap& params,
                          int64_t default_limit, RankPage& out) {
    if (auto error = ParseInt(params, "limit", 1, 1000, default_limit, out.limit)) return error;
    if (const auto cursor = Get(params, "cursor")) {
        out.after = DecodeRankCursor(tenant, *cursor);
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
std::string RankPageJson(const std::string& tenant, const pqxx::result& rows, const RankPage& page,
                         const char* name) {
    const size_t shown = std::min<size_t>(rows.size(), static_cast<size_t>(page.limit));
    std::string body = "\"" + std::string(name) + "\":[";
    for (size_t i = 0; i < shown; ++i) {
        if (i > 0) body += ',';
        body += rows[i][0].c_str();
    }
    body += "],\"next_cursor\":";
    if (rows.size() > shown) {
        body += JsonString(EncodeRankCursor(tenant, {rows[shown - 1][1].as<int64_t>(),
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

// A set of user numbers as a bitmap, filled from segments (Add) and from the rollups' bit(8192)
// chunks (AddChunk: `varbit_send(bits)` as PostgreSQL prints bytea, "\x" + hex of a 4-byte bit
// count (8192) and 1,024 bytes, the first bit the high bit of the first byte; bit i is user
// chunk * 8192 + i).
class UserSet {
public:
    void Add(uint32_t user) {
        const size_t word = user / 64;
        if (word >= words_.size()) words_.resize(word + 1);
        words_[word] |= uint64_t{1} << (user % 64);
    }
    void AddChunk(int64_t chunk, std::string_view hex) {
        constexpr std::string_view kPrefix = "\\x00002000";
        if (chunk < 0 || hex.size() != kPrefix.size() + 2048 || hex.substr(0, kPrefix.size()) != kPrefix) {
            throw std::runtime_error("unexpected user bitmap");
        }
        const size_t first = static_cast<size_t>(chunk) * 8192 / 64;
        if (first + 128 > words_.size()) words_.resize(first + 128);
        const auto digit = [](char c) -> unsigned {
            if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
            if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
            throw std::runtime_error("unexpected user bitmap");
        };
        for (size_t byte = 0; byte < 1024; ++byte) {
            const unsigned value = digit(hex[kPrefix.size() + 2 * byte]) << 4 |
                                   digit(hex[kPrefix.size() + 2 * byte + 1]);
            if (value == 0) continue;
            for (unsigned bit = 0; bit < 8; ++bit) {
                if (value & (0x80u >> bit)) {
                    const size_t i = byte * 8 + bit;
                    words_[first + i / 64] |= uint64_t{1} << (i % 64);
                }
            }
        }
    }
    void Merge(const UserSet& other) {
        if (other.words_.size() > words_.size()) words_.resize(other.words_.size());
        for (size_t i = 0; i < other.words_.size(); ++i) words_[i] |= other.words_[i];
    }
    int64_t Count() const {
        int64_t n = 0;
        for (const uint64_t word : words_) n += std::popcount(word);
        return n;
    }

private:
    std::vector<uint64_t> words_;
};

// Runs `body(txn)` in a read-only REPEATABLE READ transaction: every statement sees the same
// snapshot, so a segment found current is read as it was found.
template <typename Body>
auto WithSnapshotTxn(DbPool& pool, Body&& body) {
    auto lease = pool.Acquire();
    try {
        pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(*lease);
        txn.exec("SET LOCAL max_parallel_workers_per_gather = 0");
        return body(txn);
    } catch (...) {
        lease.Discard();
        throw;
    }
}

// Start times of the days in [floor_day(range.from), range.to) whose segment of the tenant is
// current: it covers as many rows as the tenant's rollup total of the day, which the insert
// transaction maintains.
std::set<SystemTime> CurrentSegmentDays(pqxx::transaction_base& txn, const std::string& tenant,
                                        const TimeRange& range) {
    const auto rows = txn.exec_params(
        "SELECT extract(epoch FROM s.day)::bigint FROM analytics_day_segments s WHERE s.tenant_id "
        "= $1 AND s.day >= " + SqlTime(FloorTo(range.from, Interval::kDay)) +
        " AND s.day < " + SqlTime(range.to) + " AND s.format = " + std::to_string(kSegmentFormat) +
        " AND s.events = (SELECT sum(c.n) FROM analytics_event_counts c WHERE c.tenant_id = "
        "s.tenant_id AND c.grain = 'd' AND c.bucket = s.day)",
        tenant);
    std::set<SystemTime> days;
    for (const auto& row : rows) {
        days.insert(SystemTime(std::chrono::seconds(row[0].as<int64_t>())));
    }
    return days;
}

struct LoadedSegment {
    SegmentDictionary dictionary;
    std::string timeline;
    std::string dimensions;
};

// The stored columns of the tenant's segment of `day` (known to exist in the transaction's
// snapshot): dictionary, timeline and (when asked for) dimensions, still in their stored text
// form.
pqxx::result FetchSegment(pqxx::transaction_base& txn, const std::string& tenant, SystemTime day,
                          bool with_dimensions) {
    auto rows = txn.exec_params(std::string("SELECT dictionary, timeline, ") +
                                    (with_dimensions ? "dimensions" : "NULL") +
                                    " FROM analytics_day_segments WHERE tenant_id = $1 AND day = " +
                                    SqlTime(day),
                                tenant);
    if (rows.size() != 1) throw std::runtime_error("day segment vanished from its snapshot");
    return rows;
}

LoadedSegment ParseSegment(const pqxx::result& rows) {
    LoadedSegment segment;
    auto dictionary = SegmentDictionary::FromJson(rows[0][0].c_str());
    auto timeline = Base64UrlDecode(std::string_view(rows[0][1].c_str(), rows[0][1].size()));
    if (!dictionary || !timeline) throw std::runtime_error("corrupt day segment");
    segment.dictionary = std::move(*dictionary);
    segment.timeline = std::move(*timeline);
    if (!rows[0][2].is_null()) {
        auto dimensions = Base64UrlDecode(std::string_view(rows[0][2].c_str(), rows[0][2].size()));
        if (!dimensions) throw std::runtime_error("corrupt day segment");
        segment.dimensions = std::move(*dimensions);
    }
    return segment;
}

int64_t Micros(SystemTime time) { return time.time_since_epoch().count(); }

// Runs tasks on one background thread in the order posted, at most `depth` waiting, so that a
// query can decode one part of its data while PostgreSQL sends the next. The first exception
// of a task skips the rest and is rethrown by Finish().
class OrderedWorker {
public:
    explicit OrderedWorker(size_t depth) : depth_(depth), thread_([this] { Run(); }) {}
    OrderedWorker(const OrderedWorker&) = delete;
    OrderedWorker& operator=(const OrderedWorker&) = delete;
    ~OrderedWorker() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
            failed_ = failed_ || !tasks_.empty();  // abandoned: skip what is left
        }
        changed_.notify_all();
        thread_.join();
    }

    void Post(std::function<void()> task) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return tasks_.size() < depth_ || failed_; });
        if (failed_) return;  // Finish() reports why
        tasks_.push_back(std::move(task));
        changed_.notify_all();
    }

    void Finish() {
        std::unique_lock lock(mutex_);
        closed_ = true;
        changed_.notify_all();
        changed_.wait(lock, [this] { return done_; });
        if (error_) std::rethrow_exception(error_);
    }

private:
    void Run() {
        std::unique_lock lock(mutex_);
        while (true) {
            changed_.wait(lock, [this] { return !tasks_.empty() || closed_; });
            if (tasks_.empty() || failed_) break;
            auto task = std::move(tasks_.front());
            tasks_.pop_front();
            changed_.notify_all();
            lock.unlock();
            try {
                task();
            } catch (...) {
                lock.lock();
                error_ = std::current_exception();
                failed_ = true;
                tasks_.clear();
                changed_.notify_all();
                continue;
            }
            lock.lock();
        }
        done_ = true;
        changed_.notify_all();
    }

    const size_t depth_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::function<void()>> tasks_;
    bool closed_ = false;
    bool failed_ = false;
    bool done_ = false;
    std::exception_ptr error_;
    std::thread thread_;  // last: starts after the members it uses exist
};

// Feeds the events of the step `types` in [from, to) (inside `day`) from the day's segment
// columns as fetched by FetchSegment.
void FeedSegmentFunnelEvents(const pqxx::result& columns, const std::vector<std::string>& types,
                             SystemTime day, SystemTime from, SystemTime to,
                             FunnelAggregator& funnel) {
    const LoadedSegment segment = ParseSegment(columns);
    std::vector<int> step_of_code(segment.dictionary.event_types.size(), -1);
    for (size_t code = 0; code < step_of_code.size(); ++code) {
        const auto it = std::find(types.begin(), types.end(), segment.dictionary.event_types[code]);
        if (it != types.end()) step_of_code[code] = static_cast<int>(it - types.begin());
    }
    const int64_t from_us = Micros(from);
    const int64_t to_us = Micros(to);
    TimelineReader reader(segment.timeline, Micros(day), step_of_code.size());
    uint32_t user = 0;
    int64_t time_us = 0;
    uint32_t code = 0;
    while (!reader.Done()) {
        reader.Next(user, time_us, code);
        const int step = step_of_code[code];
        if (step >= 0 && time_us >= from_us && time_us < to_us) funnel.Add(user, time_us, step);
    }
    funnel.EndSource();
}

// Fetches the tenant's events of the step `types` in [from, to) from the raw rows, a page at
// a time, and posts their feeding to `worker`.
void FeedRawFunnelEvents(pqxx::transaction_base& txn, const std::string& tenant,
                         const std::vector<std::string>& types, SystemTime from, SystemTime to,
                         FunnelAggregator& funnel, OrderedWorker& worker) {
    // DECLARE takes no parameters here: the tenant goes in as a quoted literal.
    const std::string tenant_sql = txn.quote(tenant);
    // One index scan per step type, each already in (user, time) order, merged by the planner
    // (Merge Append) instead of sorting the events. Step types are free text (spaces, quotes,
    // Unicode: any storable event name), so they too go in quoted by the connection (txn.quote
    // escapes for the server's encoding and standard_conforming_strings).
    std::string sql;
    for (size_t k = 0; k < types.size(); ++k) {
        if (!sql.empty()) sql += " UNION ALL ";
        sql += std::string("(SELECT user_no, ") + std::to_string(k) +
               " AS k, event_time FROM user_analytics_events WHERE tenant_id = " + tenant_sql +
               " AND event_type = " + txn.quote(types[k]) +
               " AND user_no IS NOT NULL AND event_time >= " +
               SqlTime(from) + " AND event_time < " + SqlTime(to) + " ORDER BY user_no, event_time)";
    }
    txn.exec("DECLARE funnel_events NO SCROLL CURSOR FOR SELECT user_no, k, event_time FROM (" +
             sql + ") e ORDER BY user_no, event_time");
    while (true) {
        auto rows = txn.exec("FETCH FORWARD 50000 FROM funnel_events");
        if (rows.empty()) break;
        worker.Post([rows = std::move(rows), &funnel] {
            for (const auto& row : rows) {
                const auto time_us = ParsePgUtcMicros(row[2].c_str());
                if (!time_us) throw std::runtime_error(std::string("unexpected time ") + row[2].c_str());
                funnel.Add(static_cast<uint32_t>(ParseInt64(row[0].c_str())), *time_us,
                           static_cast<int>(ParseInt64(row[1].c_str())));
            }
        });
    }
    txn.exec("CLOSE funnel_events");
    worker.Post([&funnel] { funnel.EndSource(); });
}

}  // namespace

QueryResponse AnalyticsQueries::EventTrends(const std::string& tenant, const ParamMap& params) {
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
    auto paged = PageBuckets(tenant, range, interval, Get(params, "cursor"), limit);
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
    const std::string tenant_sql = args.Add(tenant);
    const std::string buckets = args.Add(TimeArrayLiteral(page.starts));
    const std::string filter = event_type ? " AND event_type = " + args.Add(*event_type) : "";
    const std::string sql =
        "WITH a AS (SELECT date_trunc('" + interval_name + "', t, 'UTC') AS b, sum(n) AS n FROM (" +
        EventCountRows(tenant_sql, pieces, filter) +
        ") p GROUP BY 1) SELECT COALESCE(json_agg(json_build_object('bucket', to_char(g.b AT TIME "
        "ZONE 'UTC', " + kBucketFormat + "), 'count', COALESCE(a.n, 0)) ORDER BY g.b), "
        "'[]')::text, COALESCE(sum(a.n), 0)::text FROM unnest(" + buckets +
        "::timestamptz[]) g(b) LEFT JOIN a ON a.b = g.b";
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return args.Exec(txn, sql); });
    std::string body = "{" + RangeJson(range) + ",\"interval\":\"" + interval_name +
                       "\",\"event_type\":" + (event_type ? JsonString(*event_type) : "null") +
                       ",\"buckets\":" + rows[0][0].c_str() + ",\"total\":" + rows[0][1].c_str() +
                       ",\"next_cursor\":" + NextCursorJson(tenant, page.next) + "}";
    return {200, body};
}

QueryResponse AnalyticsQueries::EventTypes(const std::string& tenant, const ParamMap& params) {
    if (auto e = CheckKnown(params, {"from", "to", "limit", "cursor"})) return Bad(*e);
    TimeRange range;
    RankPage page;
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    if (auto e = ParseRankPage(tenant, params, 100, page)) return Bad(*e);
    const auto count_pieces =
        SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour, Grain::kMinute});
    const auto user_pieces = SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour});
    Args args;
    const std::string tenant_sql = args.Add(tenant);
    const std::string sql =
        "WITH c AS (SELECT v, sum(n) AS n FROM (" + EventCountRows(tenant_sql, count_pieces, "") +
        ") p GROUP BY 1), u AS (" +
        UniqueUsersByValue(
            UserBitRows(tenant_sql, user_pieces, "event_type", "event_type", ByTime::kNo)) +
        "), r AS (SELECT json_build_object('event_type', c.v, 'count', c.n, 'unique_users', "
        "COALESCE(u.users, 0))::text AS json, c.n, c.v FROM c LEFT JOIN u USING (v)) "
        "SELECT json, n, v FROM r" + RankPageSql(page, args);
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return args.Exec(txn, sql); });
    return {200,
            "{" + RangeJson(range) + "," + RankPageJson(tenant, rows, page, "event_types") + "}"};
}

QueryResponse AnalyticsQueries::Top(const std::string& tenant, const ParamMap& params) {
    if (auto e = CheckKnown(params, {"dimension", "from", "to", "limit", "cursor"})) return Bad(*e);
    std::optional<std::string> chosen;
    TimeRange range;
    RankPage page;
    if (auto e = ParseDimension(params, true, chosen)) return Bad(*e);
    const std::string dimension = *chosen;
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    if (auto e = ParseRankPage(tenant, params, 10, page)) return Bad(*e);
    Args args;
    const std::string tenant_sql = args.Add(tenant);
    const std::string counts =
        dimension == "event_type"
            ? EventCountRows(tenant_sql,
                             SplitRange(range.from, range.to,
                                        {Grain::kDay, Grain::kHour, Grain::kMinute}), "")
            : DimensionCountRows(tenant_sql,
                                 SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour}),
                                 dimension);
    const std::string sql =
        "WITH r AS (SELECT json_build_object('value', v, 'count', sum(n))::text AS json, "
        "sum(n) AS n, v FROM (" + counts + ") p GROUP BY v) SELECT json, n, v FROM r" +
        RankPageSql(page, args);
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return args.Exec(txn, sql); });
    return {200, "{\"dimension\":\"" + dimension + "\"," + RangeJson(range) + "," +
                     RankPageJson(tenant, rows, page, "items") + "}"};
}

QueryResponse AnalyticsQueries::UserDistribution(const std::string& tenant,
                                                 const ParamMap& params) {
    if (auto e = CheckKnown(params, {"dimension", "from", "to", "limit", "cursor"})) return Bad(*e);
    std::string dimension;
    TimeRange range;
    RankPage page;
    if (auto e = ParseChoice(params, "dimension", {"device", "os", "browser", "country"},
                             std::nullopt, dimension)) {
        return Bad(*e);
    }
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    if (auto e = ParseRankPage(tenant, params, 100, page)) return Bad(*e);
    // Per-value user bitmaps exist per day only. The partial days at the edges are read from
    // their day segments when current, else from raw rows; the union and the ranking are done
    // here.
    // Whole days, and the rest cut at midnight (a range within two days is one raw piece).
    std::vector<Piece> day_pieces;
    for (const Piece& piece : SplitRange(range.from, range.to, {Grain::kDay})) {
        if (piece.grain != Grain::kRaw) {
            day_pieces.push_back(piece);
            continue;
        }
        for (SystemTime at = piece.from; at < piece.to;) {
            const SystemTime end = std::min(piece.to, NextBucket(FloorTo(at, Interval::kDay), Interval::kDay));
            day_pieces.push_back({Grain::kRaw, at, end});
            at = end;
        }
    }
    const auto all_pieces = SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour});
    const auto count_pieces = SplitRange(range.from, range.to, {Grain::kDay, Grain::kHour});
    const size_t dimension_index = static_cast<size_t>(
        std::find(kSegmentDimensionNames.begin(), kSegmentDimensionNames.end(), dimension) -
        kSegmentDimensionNames.begin());
    std::map<std::string, UserSet> users;  // by value
    std::map<std::string, int64_t> events;
    std::string total;
    WithSnapshotTxn(pool_, [&](pqxx::transaction_base& txn) {
        txn.exec("SET LOCAL TimeZone = 'UTC'");
        txn.exec("SET LOCAL DateStyle = 'ISO'");
        const std::string tenant_sql = txn.quote(tenant);
        const auto segment_days = CurrentSegmentDays(txn, tenant, range);
        // Partial days with a segment are decoded by a worker (into its own sets) while this
        // thread fetches the next one and runs the rollup queries.
        std::map<std::string, UserSet> edge_users;
        OrderedWorker worker(2);
        std::vector<Piece> sql_pieces;
        for (const Piece& piece : day_pieces) {
            const SystemTime day = FloorTo(piece.from, Interval::kDay);
            if (piece.grain != Grain::kRaw || !segment_days.contains(day)) {
                sql_pieces.push_back(piece);
                continue;
            }
            worker.Post([columns = FetchSegment(txn, tenant, day, true), day, piece,
                         dimension_index, &edge_users] {
                const LoadedSegment segment = ParseSegment(columns);
                const auto& names = segment.dictionary.dimensions[dimension_index];
                std::vector<UserSet*> set_of_code(names.size());
                for (size_t code = 0; code < names.size(); ++code) set_of_code[code] = &edge_users[names[code]];
                TimelineReader timeline(segment.timeline, Micros(day), segment.dictionary.event_types.size());
                DimensionReader dimensions(segment.dimensions, segment.dictionary);
                const int64_t from_us = Micros(piece.from);
                const int64_t to_us = Micros(piece.to);
                uint32_t user = 0;
                int64_t time_us = 0;
                uint32_t type = 0;
                std::array<int32_t, kSegmentDimensions> codes{};
                while (!timeline.Done()) {
                    timeline.Next(user, time_us, type);
                    if (dimensions.Done()) throw std::runtime_error("corrupt day segment");
                    dimensions.Next(codes);
                    const int32_t code = codes[dimension_index];
                    if (code >= 0 && time_us >= from_us && time_us < to_us) {
                        set_of_code[static_cast<size_t>(code)]->Add(user);
                    }
                }
            });
        }
        for (const auto& row : txn.exec(
                 "SELECT v, chunk, varbit_send(bit_or(bits)) FROM (" +
                 UserBitRows(tenant_sql, sql_pieces, dimension, dimension, ByTime::kNo) +
                 ") b GROUP BY 1, 2")) {
            users[row[0].c_str()].AddChunk(row[1].as<int64_t>(),
                                           std::string_view(row[2].c_str(), row[2].size()));
        }
        for (const auto& row : txn.exec("SELECT v, sum(n)::bigint FROM (" +
                                        DimensionCountRows(tenant_sql, count_pieces, dimension) +
                                        ") p GROUP BY 1")) {
            events[row[0].c_str()] = row[1].as<int64_t>();
        }
        total = txn.exec("SELECT COALESCE(sum(users), 0)::text FROM (" +
                         UniqueUsersByValue(
                             UserBitRows(tenant_sql, all_pieces, "all", "", ByTime::kNo)) +
                         ") t")[0][0].c_str();
        worker.Finish();
        for (const auto& [value, set] : edge_users) users[value].Merge(set);
        return 0;
    });

    // Ranked by users descending, then value in byte order, as RankPageSql orders.
    struct Ranked {
        int64_t users;
        const std::string* value;
    };
    std::vector<Ranked> ranked;
    for (const auto& [value, set] : users) {
        const int64_t n = set.Count();
        if (n == 0) continue;
        if (page.after && !(n < page.after->count || (n == page.after->count && value > page.after->value))) {
            continue;
        }
        ranked.push_back({n, &value});
    }
    std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
        return a.users != b.users ? a.users > b.users : *a.value < *b.value;
    });
    const size_t shown = std::min(ranked.size(), static_cast<size_t>(page.limit));
    std::string body = "{\"dimension\":\"" + dimension + "\"," + RangeJson(range) +
                       ",\"total_users\":" + total + ",\"values\":[";
    for (size_t i = 0; i < shown; ++i) {
        if (i > 0) body += ',';
        const auto found = events.find(*ranked[i].value);
        body += "{\"value\":" + JsonString(*ranked[i].value) +
                ",\"users\":" + std::to_string(ranked[i].users) + ",\"events\":" +
                std::to_string(found == events.end() ? 0 : found->second) + "}";
    }
    body += "],\"next_cursor\":";
    body += ranked.size() > shown
                ? JsonString(EncodeRankCursor(tenant, {ranked[shown - 1].users,
                                                       *ranked[shown - 1].value}))
                : std::string("null");
    return {200, body + "}"};
}

QueryResponse AnalyticsQueries::ActiveUsers(const std::string& tenant, const ParamMap& params) {
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
    auto paged = PageBuckets(tenant, range, interval, Get(params, "cursor"), limit);
    if (auto* error = std::get_if<ParamError>(&paged)) return Bad(*error);
    const BucketPage& page = std::get<BucketPage>(paged);
    const auto pieces = SplitRange(page.data_from, page.data_to, {Grain::kDay, Grain::kHour});
    Args args;
    const std::string tenant_sql = args.Add(tenant);
    const std::string buckets = args.Add(TimeArrayLiteral(page.starts));
    const std::string sql =
        "WITH a AS (SELECT b, sum(k)::bigint AS users FROM (SELECT date_trunc('" + interval_name +
        "', t, 'UTC') AS b, chunk, bit_count(bit_or(bits)) AS k FROM (" +
        UserBitRows(tenant_sql, pieces, "all", "") +
        ") x GROUP BY 1, 2) y GROUP BY 1) SELECT COALESCE(json_agg(json_build_object('bucket', "
        "to_char(g.b AT TIME ZONE 'UTC', " + kBucketFormat +
        "), 'users', COALESCE(a.users, 0)) ORDER BY g.b), '[]')::text FROM unnest(" + buckets +
        "::timestamptz[]) g(b) LEFT JOIN a ON a.b = g.b";
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return args.Exec(txn, sql); });
    return {200, "{" + RangeJson(range) + ",\"interval\":\"" + interval_name +
                     "\",\"buckets\":" + rows[0][0].c_str() +
                     ",\"next_cursor\":" + NextCursorJson(tenant, page.next) + "}"};
}

FunnelCounter::FunnelCounter(std::vector<int> step_types, int64_t within_us)
    : step_types_(std::move(step_types)), within_us_(within_us) {
    if (step_types_.size() > static_cast<size_t>(kMaxSteps)) {
        throw std::invalid_argument("a funnel has at most 10 steps");
    }
    type_count_ = step_types_.empty() ? 0 : *std::max_element(step_types_.begin(), step_types_.end()) + 1;
    if (type_count_ > kMaxSteps || (!step_types_.empty() && *std::min_element(step_types_.begin(), step_types_.end()) < 0)) {
        throw std::invalid_argument("funnel step type indexes must be in [0, 10)");
    }
}

void FunnelCounter::Advance(Progress& progress, int64_t t, const std::array<int, kMaxSteps>& counts) const {
    // Events at the same instant can follow each other in any order, so they are taken as one
    // group: each chain may use every event of the group once. A later start dominates an
    // earlier one: same progress, later deadline.
    const int steps = Steps();
    if (progress.depth >= steps) return;
    std::array<int64_t, kMaxSteps + 1> next = progress.best;
    for (int j = 0; j < steps; ++j) {
        const int64_t start = j == 0 ? t : progress.best[static_cast<size_t>(j)];
        if (start == kNone || t - start > within_us_) continue;
        std::array<int, kMaxSteps> left = counts;
        int reached = j;
        while (reached < steps && left[static_cast<size_t>(step_types_[static_cast<size_t>(reached)])] > 0) {
            --left[static_cast<size_t>(step_types_[static_cast<size_t>(reached)])];
            ++reached;
            next[static_cast<size_t>(reached)] = std::max(next[static_cast<size_t>(reached)], start);
        }
        progress.depth = std::max(progress.depth, reached);
    }
    progress.best = next;
}

int FunnelCounter::Depth(const std::vector<Event>& events) const {
    Progress progress;
    size_t i = 0;
    while (i < events.size() && progress.depth < Steps()) {
        const int64_t t = events[i].time_us;
        std::array<int, kMaxSteps> counts{};
        while (i < events.size() && events[i].time_us == t) {
            // Events of a type that is no step of the funnel cannot advance a chain.
            const int type = events[i].type;
            if (type >= 0 && type < type_count_) ++counts[static_cast<size_t>(type)];
            ++i;
        }
        Advance(progress, t, counts);
    }
    return progress.depth;
}

void FunnelAggregator::Flush() {
    if (!pending_) return;
    if (user_ >= progress_.size()) {
        progress_.resize(std::max<size_t>(user_ + 1, progress_.size() * 3 / 2));
    }
    counter_.Advance(progress_[user_], time_, counts_);
    counts_.fill(0);
    pending_ = false;
}

std::vector<int64_t> FunnelAggregator::UsersReaching() {
    Flush();
    std::vector<int64_t> reached(static_cast<size_t>(counter_.Steps()) + 1, 0);
    for (const auto& progress : progress_) ++reached[static_cast<size_t>(progress.depth)];
    // reached[d]: users whose deepest step is d; users reaching step k: sum over d >= k.
    std::vector<int64_t> users(static_cast<size_t>(counter_.Steps()), 0);
    int64_t at_least = 0;
    for (size_t k = users.size(); k >= 1; --k) {
        at_least += reached[k];
        users[k - 1] = at_least;
    }
    return users;
}

QueryResponse AnalyticsQueries::Funnel(const std::string& tenant, const ParamMap& params) {
    if (auto e = CheckKnown(params, {"steps", "step", "within", "from", "to"}, {"step"})) {
        return Bad(*e);
    }
    std::vector<std::string> steps;
    int64_t within_s = 0;
    TimeRange range;
    if (auto e = ParseFunnelSteps(params, steps)) return Bad(*e);
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
    FunnelAggregator funnel(counter);

    WithSnapshotTxn(pool_, [&](pqxx::transaction_base& txn) {
        // Times travel as text in UTC, parsed here: exact, and much cheaper for PostgreSQL than
        // extract(epoch ...), which computes in numeric.
        txn.exec("SET LOCAL TimeZone = 'UTC'");
        txn.exec("SET LOCAL DateStyle = 'ISO'");
        // Day by day in time order: days with a current segment are read from it, runs of
        // other days (today, days with late events) from the raw rows. This thread fetches;
        // a worker decodes and counts, in the same order, while the next part is fetched.
        const auto segment_days = CurrentSegmentDays(txn, tenant, range);
        OrderedWorker worker(2);
        std::optional<SystemTime> raw_from;
        for (SystemTime day = FloorTo(range.from, Interval::kDay); day < range.to;
             day = NextBucket(day, Interval::kDay)) {
            const SystemTime from = std::max(day, range.from);
            const SystemTime to = std::min(NextBucket(day, Interval::kDay), range.to);
            if (!segment_days.contains(day)) {
                if (!raw_from) raw_from = from;
                continue;
            }
            if (raw_from) {
                FeedRawFunnelEvents(txn, tenant, types, *raw_from, from, funnel, worker);
                raw_from.reset();
            }
            worker.Post([columns = FetchSegment(txn, tenant, day, false), &types, day, from, to,
                         &funnel] {
                FeedSegmentFunnelEvents(columns, types, day, from, to, funnel);
            });
        }
        if (raw_from) FeedRawFunnelEvents(txn, tenant, types, *raw_from, range.to, funnel, worker);
        worker.Finish();
        return 0;
    });

    nlohmann::json out_steps = nlohmann::json::array();
    const std::vector<int64_t> users = funnel.UsersReaching();
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

QueryResponse AnalyticsQueries::Retention(const std::string& tenant, const ParamMap& params) {
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
    auto paged = PageBuckets(tenant, range, interval, Get(params, "cursor"), limit);
    if (auto* error = std::get_if<ParamError>(&paged)) return Bad(*error);
    const BucketPage& page = std::get<BucketPage>(paged);
    const int64_t unit_s = interval == Interval::kDay ? 86400 : 7 * 86400;

    // Cohorts need every bucket from the start of the range (a user's first bucket), and
    // the cohorts of this page need up to `periods` buckets after it.
    const SystemTime data_to =
        std::min(range.to, page.starts.back() + std::chrono::seconds(unit_s * (periods + 1)));
    const auto pieces = SplitRange(range.from, data_to, {Grain::kDay, Grain::kHour});
    Args args;
    const std::string tenant_sql = args.Add(tenant);
    const std::string sql =
        "WITH a AS (SELECT date_trunc('" + cohort_name + "', t, 'UTC') AS b, chunk, "
        "bit_or(bits) AS bits FROM (" + UserBitRows(tenant_sql, pieces, "all", "") +
        ") x GROUP BY 1, 2), c AS (SELECT b, chunk, bits & ~COALESCE(bit_or(bits) OVER (PARTITION "
        "BY chunk ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), "
        "B'0'::bit(8192)) AS bits FROM a WHERE b <= " + SqlTime(page.starts.back()) +
        ") SELECT extract(epoch FROM c.b)::bigint, ((extract(epoch FROM a.b) - extract(epoch "
        "FROM c.b)) / " + std::to_string(unit_s) + ")::bigint AS p, sum(bit_count(c.bits & "
        "a.bits))::bigint FROM c JOIN a ON a.chunk = c.chunk AND a.b >= c.b AND a.b < c.b + "
        "interval '" + std::to_string(unit_s * (periods + 1)) + " seconds' WHERE c.b >= " +
        SqlTime(page.starts.front()) + " GROUP BY 1, 2";
    const auto rows =
        WithReadTxn(pool_, [&](pqxx::read_transaction& txn) { return args.Exec(txn, sql); });
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
                           {"next_cursor", page.next
                                               ? nlohmann::json(EncodeTimeCursor(tenant, *page.next))
                                               : nlohmann::json(nullptr)}};
    return {200, body.dump()};
}

QueryResponse AnalyticsQueries::Sessions(const std::string& tenant, const ParamMap& params) {
    if (auto e = CheckKnown(params, {"from", "to"})) return Bad(*e);
    TimeRange range;
    if (auto e = ParseTimeRange(params, range)) return Bad(*e);
    Args args;
    const std::string where = " WHERE tenant_id = " + args.Add(tenant) + " AND started_at >= " +
                              SqlTime(range.from) + " AND started_at < " + SqlTime(range.to);
    // date_part returns float8 (extract computes in numeric, several times slower); the median
    // sorts every session of the range, in memory given enough work_mem.
    const std::string sql =
        "WITH s AS (SELECT date_part('epoch', ended_at - started_at) AS d, events, "
        "true AS by_id FROM analytics_sessions" + where +
        " UNION ALL SELECT date_part('epoch', ended_at - started_at), events, false FROM "
        "analytics_gap_sessions" + where +
        ") SELECT json_build_object('sessions', count(*), 'sessions_with_id', count(*) FILTER "
        "(WHERE by_id), 'sessions_by_inactivity', count(*) FILTER (WHERE NOT by_id), 'events', "
        "COALESCE(sum(events), 0), 'median_duration_seconds', percentile_cont(0.5) WITHIN GROUP "
        "(ORDER BY d), 'mean_duration_seconds', avg(d), 'events_per_session', "
        "avg(events)::float8)::text FROM s";
    const auto rows = WithReadTxn(pool_, [&](pqxx::read_transaction& txn) {
        txn.exec("SET LOCAL work_mem = '256MB'");
        return args.Exec(txn, sql);
    });
    return {200, "{" + RangeJson(range) + ",\"inactivity_gap_seconds\":1800,\"summary\":" +
                     rows[0][0].c_str() + "}"};
}

}  // namespace tributary::query
