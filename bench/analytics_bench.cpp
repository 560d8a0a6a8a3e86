// analytics_bench: loads a synthetic analytics workload through the subscriber's insert path
// (PgEventStore, so the rollups are maintained exactly as in production) and measures the
// latency of the query API's analytics endpoints over it. Driven by bench/analytics.sh.
//
//   analytics_bench load  --database-url URL [--events N] [--users U] [--days D]
//                         [--batch B] [--writers W] [--baseline-events M]
//   analytics_bench query --query-url http://127.0.0.1:PORT [--days D] [--iterations I]
//                         [--warmup K]
//
// The workload: D days from 2026-03-01T00:00:00Z, U users whose activity follows a Zipf
// law, sessions of ~10 events (geometric) ~45 s apart with a daily rhythm, 10% of sessions
// without a session_id, skewed pages (300, Zipf), event types, devices/OS/browsers,
// countries (40, Zipf) and traffic sources. Deterministic (fixed seeds).
#include "common/time_util.hpp"
#include "storage/event_store.hpp"
#include "storage/migrations.hpp"

#include <httplib.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using tributary::storage::AnalyticsRow;

constexpr int64_t kStartSeconds = 1772323200;  // 2026-03-01T00:00:00Z

struct Options {
    std::string database_url;
    std::string query_url;
    int64_t events = 10'000'000;
    int64_t users = 100'000;
    int days = 30;
    int batch = 2000;
    int writers = 2;
    int64_t baseline_events = 1'000'000;
    int iterations = 50;
    int warmup = 5;
    std::string title = "Query latency";
    std::vector<std::string> only;  // query mode: only queries whose name contains one of these
};

// --- workload ---------------------------------------------------------------------------

constexpr std::array<const char*, 10> kTypes = {"page_view", "click",   "scroll",   "search",
                                                "add_to_cart", "login", "checkout", "purchase",
                                                "signup",   "logout"};
constexpr std::array<double, 10> kTypeWeights = {50, 20, 8, 6, 6, 3, 3, 2, 1, 1};
constexpr std::array<const char*, 3> kDevices = {"mobile", "desktop", "tablet"};
constexpr std::array<double, 3> kDeviceWeights = {55, 38, 7};
constexpr std::array<const char*, 6> kSources = {"direct", "google", "newsletter",
                                                 "twitter", "facebook", "partner"};
constexpr std::array<double, 6> kSourceWeights = {40, 30, 10, 8, 7, 5};
constexpr std::array<const char*, 6> kReferrers = {nullptr, "https://www.google.com/",
                                                   "https://mail.example.com/",
                                                   "https://t.co/", "https://www.facebook.com/",
                                                   "https://partner.example.org/"};
constexpr std::array<const char*, 40> kCountries = {
    "US", "DE", "GB", "IN", "FR", "BR", "CA", "JP", "ES", "IT", "NL", "AU", "PL", "SE",
    "MX", "KR", "TR", "CH", "BE", "AT", "ID", "AR", "NO", "DK", "FI", "IE", "PT", "CZ",
    "RO", "ZA", "NG", "EG", "SG", "NZ", "IL", "HU", "GR", "CL", "CO", "VN"};
// Hours of the day (UTC) weighted like a mostly European/American audience.
constexpr std::array<double, 24> kHourWeights = {3, 2, 2, 1, 1, 1, 2, 3, 5, 6, 7, 7,
                                                 7, 8, 9, 9, 9, 9, 8, 8, 7, 6, 5, 4};

struct GeneratedEvent {
    int64_t time_us;
    int32_t user;
    int32_t session;  // -1: no session_id
    uint16_t page;
    uint8_t type;
    uint8_t device;
    uint8_t os;
    uint8_t browser;
    uint8_t country;
    uint8_t source;
};

struct Profile {
    uint8_t device;
    uint8_t os;
    uint8_t browser;
    uint8_t country;
};

const char* OsName(uint8_t device, uint8_t os) {
    static constexpr std::array<std::array<const char*, 3>, 3> kOs = {
        {{"Android", "iOS", "iOS"}, {"Windows", "macOS", "Linux"}, {"iPadOS", "Android", "iPadOS"}}};
    return kOs[device][os];
}

const char* BrowserName(uint8_t browser) {
    static constexpr std::array<const char*, 4> kBrowsers = {"Chrome", "Safari", "Firefox", "Edge"};
    return kBrowsers[browser];
}

std::string PageName(uint16_t page) {
    static const std::array<const char*, 8> kHeads = {"/",         "/pricing", "/products",
                                                      "/search",   "/cart",    "/checkout",
                                                      "/login",    "/blog"};
    if (page < kHeads.size()) return kHeads[page];
    return "/products/" + std::to_string(page);
}

// Zipf(s) over 0..n-1 by inverse CDF.
class Zipf {
public:
    Zipf(int64_t n, double s) : cdf_(static_cast<size_t>(n)) {
        double sum = 0;
        for (int64_t i = 0; i < n; ++i) {
            sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
            cdf_[static_cast<size_t>(i)] = sum;
        }
        for (auto& v : cdf_) v /= sum;
    }
    template <typename Rng>
    int64_t operator()(Rng& rng) const {
        const double u = std::uniform_real_distribution<double>(0, 1)(rng);
        return std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin();
    }

private:
    std::vector<double> cdf_;
};

std::vector<GeneratedEvent> Generate(const Options& options) {
    std::mt19937_64 rng(20260301);
    const Zipf user_activity(options.users, 0.8);
    const Zipf pages(300, 1.1);
    const Zipf countries(static_cast<int64_t>(kCountries.size()), 1.2);
    std::discrete_distribution<int> type_dist(kTypeWeights.begin(), kTypeWeights.end());
    std::discrete_distribution<int> device_dist(kDeviceWeights.begin(), kDeviceWeights.end());
    std::discrete_distribution<int> source_dist(kSourceWeights.begin(), kSourceWeights.end());
    std::discrete_distribution<int> hour_dist(kHourWeights.begin(), kHourWeights.end());
    std::geometric_distribution<int> session_length(0.1);
    std::exponential_distribution<double> gap_seconds(1.0 / 45);

    // A user mostly uses one device and lives in one country; user numbers are shuffled so
    // that activity is not correlated with the order users first appear.
    std::vector<Profile> profiles(static_cast<size_t>(options.users));
    for (auto& p : profiles) {
        p.device = static_cast<uint8_t>(device_dist(rng));
        p.os = static_cast<uint8_t>(rng() % 3);
        p.browser = static_cast<uint8_t>(p.os == 1 && p.device == 0 ? 1 : rng() % 4);
        p.country = static_cast<uint8_t>(countries(rng));
    }
    std::vector<int32_t> user_ids(static_cast<size_t>(options.users));
    for (size_t i = 0; i < user_ids.size(); ++i) user_ids[i] = static_cast<int32_t>(i);
    std::shuffle(user_ids.begin(), user_ids.end(), rng);

    const int64_t end_us = (kStartSeconds + 86400LL * options.days) * 1000000;
    std::vector<GeneratedEvent> events;
    events.reserve(static_cast<size_t>(options.events));
    int32_t session = 0;
    while (static_cast<int64_t>(events.size()) < options.events) {
        const int32_t user = user_ids[static_cast<size_t>(user_activity(rng))];
        Profile profile = profiles[static_cast<size_t>(user)];
        if (rng() % 10 == 0) profile.device = static_cast<uint8_t>(device_dist(rng));  // a second device
        const int day = static_cast<int>(rng() % static_cast<uint64_t>(options.days));
        int64_t t = (kStartSeconds + 86400LL * day + 3600LL * hour_dist(rng)) * 1000000 +
                    static_cast<int64_t>(rng() % 3600000000ULL);
        const bool with_id = rng() % 10 != 0;
        const auto source = static_cast<uint8_t>(source_dist(rng));
        const int length = std::min(200, 1 + session_length(rng));
        for (int i = 0; i < length && static_cast<int64_t>(events.size()) < options.events; ++i) {
            if (t >= end_us) break;
            GeneratedEvent e{};
            e.time_us = t;
            e.user = user;
            e.session = with_id ? session : -1;
            e.page = static_cast<uint16_t>(pages(rng));
            e.type = static_cast<uint8_t>(i == 0 ? 0 : type_dist(rng));
            e.device = profile.device;
            e.os = profile.os;
            e.browser = profile.browser;
            e.country = profile.country;
            e.source = source;
            events.push_back(e);
            t += 1000000 + static_cast<int64_t>(gap_seconds(rng) * 1e6);
        }
        ++session;
    }
    std::sort(events.begin(), events.end(),
              [](const GeneratedEvent& a, const GeneratedEvent& b) { return a.time_us < b.time_us; });
    return events;
}

AnalyticsRow ToRow(const GeneratedEvent& e, int64_t index) {
    AnalyticsRow row;
    row.tenant_id = "default";
    row.event_id = "bench-" + std::to_string(index);
    row.user_id = "user-" + std::to_string(e.user);
    row.event_type = kTypes[e.type];
    row.event_time = tributary::common::FormatRfc3339(
        tributary::common::SystemTime(std::chrono::microseconds(e.time_us)));
    row.received_at = row.event_time;
    if (e.session >= 0) row.session_id = "s-" + std::to_string(e.session);
    row.page = PageName(e.page);
    if (kReferrers[e.source] != nullptr) row.referrer = kReferrers[e.source];
    row.source = kSources[e.source];
    row.device = kDevices[e.device];
    row.os = OsName(e.device, e.os);
    row.browser = BrowserName(e.browser);
    row.country = kCountries[e.country];
    return row;
}

// --- loading ----------------------------------------------------------------------------

// Store function: one batch, returns rows inserted.
using StoreFn = std::function<size_t(std::span<const AnalyticsRow>)>;

// Writes `events[begin, end)` with `writers` threads, users partitioned across writers (as
// Kafka keys partition them), each writer in time order and batches of `batch`. Returns the
// elapsed seconds.
double Load(const std::vector<GeneratedEvent>& events, int64_t begin, int64_t end,
            const Options& options, const std::function<StoreFn()>& make_store, const char* label) {
    const int64_t count = end - begin;
    std::atomic<int64_t> done{0};
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    std::atomic<bool> failed{false};
    for (int w = 0; w < options.writers; ++w) {
        threads.emplace_back([&, w] {
            try {
                StoreFn store = make_store();
                std::vector<AnalyticsRow> batch;
                batch.reserve(static_cast<size_t>(options.batch));
                for (int64_t i = begin; i < end; ++i) {
                    if (events[static_cast<size_t>(i)].user % options.writers != w) continue;
                    batch.push_back(ToRow(events[static_cast<size_t>(i)], i));
                    if (static_cast<int>(batch.size()) == options.batch) {
                        store(batch);
                        done += static_cast<int64_t>(batch.size());
                        batch.clear();
                    }
                }
                if (!batch.empty()) {
                    store(batch);
                    done += static_cast<int64_t>(batch.size());
                }
            } catch (const std::exception& e) {
                std::cerr << label << ": writer " << w << " failed: " << e.what() << "\n";
                failed = true;
            }
        });
    }
    std::thread progress([&] {
        while (done.load() < count && !failed.load()) {
            std::this_thread::sleep_for(std::chrono::seconds(1));
            const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
            if (static_cast<int64_t>(elapsed) % 30 == 0) {
                std::fprintf(stderr, "%s: %lld / %lld events, %.0f events/s\n", label,
                             static_cast<long long>(done.load()), static_cast<long long>(count),
                             static_cast<double>(done.load()) / elapsed);
            }
        }
    });
    for (auto& t : threads) t.join();
    progress.join();
    if (failed) throw std::runtime_error(std::string(label) + " failed");
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The insert path without rollups (what PgEventStore did before migration 0002): COPY into
// a staging table, then INSERT ... SELECT ... ON CONFLICT DO NOTHING.
StoreFn PlainStore(const std::string& url) {
    auto connection = std::make_shared<pqxx::connection>(url);
    {
        pqxx::nontransaction setup(*connection);
        setup.exec("CREATE TEMP TABLE stage_plain (tenant_id TEXT, event_id TEXT, user_id TEXT, "
                   "event_type TEXT, event_time TIMESTAMPTZ, received_at TIMESTAMPTZ, session_id TEXT, "
                   "page TEXT, referrer TEXT, source TEXT, device TEXT, os TEXT, browser TEXT, "
                   "country TEXT) ON COMMIT DELETE ROWS");
    }
    return [connection](std::span<const AnalyticsRow> rows) -> size_t {
        pqxx::work txn(*connection);
        {
            pqxx::stream_to stream(txn, "stage_plain");
            const auto opt = [](const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; };
            for (const auto& r : rows) {
                const std::array<const char*, 14> values = {
                    r.tenant_id.c_str(), r.event_id.c_str(), r.user_id.c_str(), r.event_type.c_str(),
                    r.event_time.c_str(), r.received_at.c_str(), opt(r.session_id), opt(r.page),
                    opt(r.referrer), opt(r.source), opt(r.device), opt(r.os), opt(r.browser),
                    opt(r.country)};
                stream << values;
            }
            stream.complete();
        }
        const auto result = txn.exec(
            "INSERT INTO user_analytics_events (tenant_id, event_id, user_id, event_type, event_time, "
            "received_at, session_id, page, referrer, source, device, os, browser, country) SELECT * "
            "FROM stage_plain ON CONFLICT (tenant_id, event_id) DO NOTHING");
        txn.commit();
        return result.affected_rows();
    };
}

std::string Scalar(const std::string& url, const std::string& sql) {
    pqxx::connection connection(url);
    pqxx::nontransaction txn(connection);
    const auto rows = txn.exec(sql);
    return rows[0][0].is_null() ? "" : rows[0][0].c_str();
}

void Exec(const std::string& url, const std::string& sql) {
    pqxx::connection connection(url);
    pqxx::nontransaction txn(connection);
    txn.exec(sql);
}

int RunLoad(const Options& options) {
    std::fprintf(stderr, "generating %lld events (%lld users, %d days)...\n",
                 static_cast<long long>(options.events), static_cast<long long>(options.users),
                 options.days);
    const auto generated_at = Clock::now();
    const auto events = Generate(options);
    std::fprintf(stderr, "generated in %.1f s\n",
                 std::chrono::duration<double>(Clock::now() - generated_at).count());

    {
        pqxx::connection connection(options.database_url);
        tributary::storage::ApplyMigrations(connection);
    }

    // Baseline: the same first events through the insert path without rollups, into a
    // separate database with the same schema.
    double plain_rate = 0;
    const int64_t baseline = std::min(options.baseline_events, options.events);
    if (baseline > 0) {
        const auto slash = options.database_url.rfind('/');
        const std::string plain_url = options.database_url.substr(0, slash + 1) + "bench_plain";
        Exec(options.database_url, "DROP DATABASE IF EXISTS bench_plain");
        Exec(options.database_url, "CREATE DATABASE bench_plain");
        {
            pqxx::connection connection(plain_url);
            tributary::storage::ApplyMigrations(connection);
        }
        const double seconds = Load(events, 0, baseline, options, [&] { return PlainStore(plain_url); },
                                    "baseline (no rollups)");
        plain_rate = static_cast<double>(baseline) / seconds;
        Exec(options.database_url, "DROP DATABASE bench_plain");
    }

    // The real path. The rate over the first `baseline` events is measured separately so it
    // compares with the baseline at the same table size.
    double first_rate = 0;
    const auto make_store = [&] {
        auto store = std::make_shared<tributary::storage::PgEventStore>(options.database_url, 3);
        return StoreFn([store](std::span<const AnalyticsRow> rows) {
            return store->Store(rows, {}).analytics_inserted;
        });
    };
    double seconds = 0;
    if (baseline > 0) {
        const double first = Load(events, 0, baseline, options, make_store, "with rollups (first part)");
        first_rate = static_cast<double>(baseline) / first;
        seconds += first;
    }
    if (options.events > baseline) {
        seconds += Load(events, baseline, options.events, options, make_store, "with rollups");
    }
    const auto vacuum_start = Clock::now();
    for (const char* table : {"user_analytics_events", "analytics_users", "analytics_event_counts",
                              "analytics_dimension_counts", "analytics_user_bits",
                              "analytics_sessions", "analytics_gap_sessions"}) {
        Exec(options.database_url, std::string("VACUUM (ANALYZE) ") + table);
    }
    const double vacuum_seconds = std::chrono::duration<double>(Clock::now() - vacuum_start).count();

    const std::string stored = Scalar(options.database_url, "SELECT count(*) FROM user_analytics_events");
    const std::string counted = Scalar(options.database_url,
                                       "SELECT sum(n) FROM analytics_event_counts WHERE grain = 'd'");
    std::printf("\n## Load\n\n");
    std::printf("| | value |\n|---|---|\n");
    std::printf("| events stored | %s (rollup total %s) |\n", stored.c_str(), counted.c_str());
    std::printf("| writers x batch | %d x %d |\n", options.writers, options.batch);
    std::printf("| insert without rollups, first %lld events | %.0f events/s |\n",
                static_cast<long long>(baseline), plain_rate);
    std::printf("| insert with rollups, first %lld events | %.0f events/s |\n",
                static_cast<long long>(baseline), first_rate);
    std::printf("| insert with rollups, all %lld events | %.0f events/s (%.0f s) |\n",
                static_cast<long long>(options.events), static_cast<double>(options.events) / seconds,
                seconds);
    std::printf("| VACUUM ANALYZE after load | %.1f s |\n", vacuum_seconds);
    for (const char* table : {"user_analytics_events", "analytics_event_counts",
                              "analytics_dimension_counts", "analytics_user_bits",
                              "analytics_sessions", "analytics_gap_sessions", "analytics_users"}) {
        std::printf("| size of %s | %s (%s rows) |\n", table,
                    Scalar(options.database_url, std::string("SELECT pg_size_pretty(pg_total_relation_size('") +
                                                     table + "'))").c_str(),
                    Scalar(options.database_url, std::string("SELECT count(*) FROM ") + table).c_str());
    }
    if (stored != counted) {
        std::fprintf(stderr, "rollup total %s differs from %s stored events\n", counted.c_str(), stored.c_str());
        return 1;
    }
    return 0;
}

// --- queries ----------------------------------------------------------------------------

std::string Iso(int64_t seconds) {
    return tributary::common::FormatRfc3339(
        tributary::common::SystemTime(std::chrono::seconds(seconds)));
}

int RunQueries(const Options& options) {
    const auto colon = options.query_url.rfind(':');
    const std::string host = options.query_url.substr(options.query_url.find("//") + 2,
                                                      colon - options.query_url.find("//") - 2);
    const int port = std::stoi(options.query_url.substr(colon + 1));
    httplib::Client client(host, port);
    client.set_keep_alive(true);
    client.set_read_timeout(120, 0);
    client.set_tcp_nodelay(true);

    const int64_t end = kStartSeconds + 86400LL * options.days;
    // Unaligned bounds (17m23s into the first day, 6m41s before the end) exercise the raw-row
    // edges as well as the rollups; aligned ones are what a dashboard asking for whole days
    // sends.
    const std::string unaligned = "from=" + Iso(kStartSeconds + 17 * 60 + 23) + "&to=" + Iso(end - 401);
    const std::string aligned = "from=" + Iso(kStartSeconds) + "&to=" + Iso(end);
    const std::string one_day = "from=" + Iso(end - 86400 - 401) + "&to=" + Iso(end - 401);
    struct Query {
        std::string name;
        std::string path;
    };
    std::vector<Query> queries;
    for (const auto& [label, range] : {std::pair<std::string, std::string>{"30 d", unaligned},
                                       std::pair<std::string, std::string>{"30 d aligned", aligned}}) {
        queries.push_back({"event-trends hour, " + label, "/api/v1/analytics/event-trends?interval=hour&" + range});
        queries.push_back({"event-trends day, " + label, "/api/v1/analytics/event-trends?interval=day&" + range});
        queries.push_back({"event-trends hour purchase, " + label,
                           "/api/v1/analytics/event-trends?interval=hour&event_type=purchase&" + range});
        queries.push_back({"event-types, " + label, "/api/v1/analytics/event-types?" + range});
        queries.push_back({"top page, " + label, "/api/v1/analytics/top?dimension=page&limit=10&" + range});
        queries.push_back({"top country, " + label, "/api/v1/analytics/top?dimension=country&limit=10&" + range});
        queries.push_back({"top event_type, " + label, "/api/v1/analytics/top?dimension=event_type&" + range});
        queries.push_back({"user-distribution device, " + label,
                           "/api/v1/analytics/user-distribution?dimension=device&" + range});
        queries.push_back({"user-distribution country, " + label,
                           "/api/v1/analytics/user-distribution?dimension=country&" + range});
        queries.push_back({"active-users day, " + label, "/api/v1/analytics/active-users?interval=day&" + range});
        queries.push_back({"active-users week, " + label, "/api/v1/analytics/active-users?interval=week&" + range});
        queries.push_back({"funnel view>cart>purchase 1h, " + label,
                           "/api/v1/analytics/funnel?steps=page_view,add_to_cart,purchase&within=1h&" + range});
        queries.push_back({"funnel signup>cart>purchase 1d, " + label,
                           "/api/v1/analytics/funnel?steps=signup,add_to_cart,purchase&within=1d&" + range});
        queries.push_back({"retention day x7, " + label, "/api/v1/analytics/retention?cohort=day&periods=7&" + range});
        queries.push_back({"retention week x4, " + label, "/api/v1/analytics/retention?cohort=week&periods=4&" + range});
        queries.push_back({"sessions, " + label, "/api/v1/analytics/sessions?" + range});
    }
    queries.push_back({"event-trends minute, last 24 h", "/api/v1/analytics/event-trends?interval=minute&limit=10000&" + one_day});
    queries.push_back({"event-types, last 24 h", "/api/v1/analytics/event-types?" + one_day});
    queries.push_back({"funnel view>cart>purchase 1h, last 24 h",
                       "/api/v1/analytics/funnel?steps=page_view,add_to_cart,purchase&within=1h&" + one_day});
    queries.push_back({"sessions, last 24 h", "/api/v1/analytics/sessions?" + one_day});

    if (!options.only.empty()) {
        std::erase_if(queries, [&options](const Query& query) {
            return std::none_of(options.only.begin(), options.only.end(), [&query](const std::string& part) {
                return query.name.find(part) != std::string::npos;
            });
        });
    }
    std::printf("\n## %s (%d runs after %d warm-up runs; ms)\n\n", options.title.c_str(),
                options.iterations, options.warmup);
    std::printf("| endpoint | p50 | p99 | max | bytes | runs |\n|---|---:|---:|---:|---:|---:|\n");
    std::fflush(stdout);
    for (const auto& query : queries) {
        std::vector<double> ms;
        size_t bytes = 0;
        // Queries slower than a second get a fifth of the runs (and one warm-up), so that the
        // whole table takes minutes, not hours; the row says how many runs it has.
        int warmup = options.warmup;
        int iterations = options.iterations;
        {
            const auto start = Clock::now();
            const auto response = client.Get(query.path.c_str());
            if (std::chrono::duration<double>(Clock::now() - start).count() > 1.0) {
                warmup = 0;
                iterations = std::max(5, options.iterations / 5);
            }
        }
        for (int i = 0; i < warmup + iterations; ++i) {
            const auto start = Clock::now();
            const auto response = client.Get(query.path.c_str());
            const double elapsed = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
            if (!response || response->status != 200) {
                std::fprintf(stderr, "%s: %s\n", query.path.c_str(),
                             response ? response->body.c_str() : "no response");
                return 1;
            }
            bytes = response->body.size();
            if (i >= warmup) ms.push_back(elapsed);
        }
        std::sort(ms.begin(), ms.end());
        const auto pct = [&ms](double p) {
            // Nearest rank.
            const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(ms.size())));
            return ms[std::max<size_t>(rank, 1) - 1];
        };
        std::printf("| %s | %.1f | %.1f | %.1f | %zu | %d |\n", query.name.c_str(), pct(0.5),
                    pct(0.99), ms.back(), bytes, iterations);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: analytics_bench load|query [options] (see bench/analytics_bench.cpp)\n";
        return 2;
    }
    const std::string mode = argv[1];
    Options options;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const std::string value = argv[i + 1];
        if (flag == "--database-url") options.database_url = value;
        else if (flag == "--query-url") options.query_url = value;
        else if (flag == "--events") options.events = std::stoll(value);
        else if (flag == "--users") options.users = std::stoll(value);
        else if (flag == "--days") options.days = std::stoi(value);
        else if (flag == "--batch") options.batch = std::stoi(value);
        else if (flag == "--writers") options.writers = std::stoi(value);
        else if (flag == "--baseline-events") options.baseline_events = std::stoll(value);
        else if (flag == "--iterations") options.iterations = std::stoi(value);
        else if (flag == "--warmup") options.warmup = std::stoi(value);
        else if (flag == "--title") options.title = value;
        else if (flag == "--only") {
            for (size_t start = 0; start <= value.size();) {
                const size_t comma = std::min(value.find(',', start), value.size());
                options.only.push_back(value.substr(start, comma - start));
                start = comma + 1;
            }
        }
        else {
            std::cerr << "unknown option " << flag << "\n";
            return 2;
        }
    }
    try {
        if (mode == "load") return RunLoad(options);
        if (mode == "query") return RunQueries(options);
    } catch (const std::exception& e) {
        std::cerr << "analytics_bench: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "unknown mode " << mode << "\n";
    return 2;
}
