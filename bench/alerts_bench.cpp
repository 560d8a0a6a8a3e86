// alerts_bench: what one alert evaluation round costs (issue 15: 1,000 rules over 10,000,000
// events), driven by bench/alerts.sh, which prefills the data (bench/alerts_prefill.sql).
//
//   alerts_bench migrate [--database-url URL]
//   alerts_bench run [--database-url URL] [--rules N] [--rounds R] [--interval-ms MS]
//                    [--seed S] [--at RFC3339] [--json FILE]
//
// `run` replaces the rules it made before (created_by = "bench:alerts_bench") with N new ones
// (default 1,000) over the tenants that have events, parsed by ParseRule from request bodies
// and inserted with the statements of the API's POST handler. The mix: 40% event_count
// (with or without an event type; windows 1m/5m/15m/1h/24h), 15% ratio of two event types,
// 15% event_count with a page/country/device filter (<= 1h), 15% unique_users (<= 1h; some
// with an event type or a country/device filter), 15% enrichment_failed /
// enrichment_fallback_share on the research tenants. Thresholds are set from each rule's
// value measured once before (MeasureRules, not timed with the rounds): ~12% of the rules
// breach (some with a `for`, so they pend), the rest sit well clear of their threshold, some
// of them below-type ("drops under"). Channels: webhooks to 192.0.2.0/24 (TEST-NET-1:
// accepted by the validation, routed nowhere); nothing sends them (no delivery worker runs),
// so the outbox rows the rounds write are part of the measurement and the deliveries are not.
//
// Then R rounds (default 10, one per --interval-ms, 1000) of the real Evaluator::EvaluateOnce
// on a connection holding the evaluator's advisory lock, each followed by the floor at the
// same instant: the reads any evaluation of these rules has to make at least, each one
// statement over all tenants, timed around the statement: the minute rollups of the last 24 h,
// the raw rows of the last hour (with the columns the filters need) and the enrichment
// attempts of the last 24 h, all aggregated in PostgreSQL (no rows sent back). A second floor
// reads the whole hours of the 24 h from the hour rollups instead and only the minutes at either
// end from the minute rollups: what a round could get down to (the evaluator reads minutes only).
//
// --at evaluates as of a past instant instead of the clock (round r at AT + r x interval, the
// calibration at AT): the cost of the raw reads depends on how full the newest day partition
// is, so e.g. --at <yesterday>T23:59:30Z shows the end of a UTC day whatever the hour of the run.
// Rows newer than AT are then in the tables but outside every window read.
//
// Prints Markdown tables on stdout (progress on stderr); --json writes every figure.
#include "common/metrics.hpp"
#include "common/time_util.hpp"
#include "query/alerts/alert_metrics.hpp"
#include "query/alerts/evaluator.hpp"
#include "query/alerts/outbox.hpp"
#include "query/alerts/rule.hpp"
#include "storage/migrations.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace alerts = tributary::query::alerts;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using tributary::common::SystemTime;

constexpr const char* kActor = "bench:alerts_bench";

struct Options {
    std::string database_url;
    int rules = 1000;
    int rounds = 10;
    int interval_ms = 1000;
    uint64_t seed = 15;
    std::optional<SystemTime> at;
    std::string json_path;
};

double Ms(Clock::duration duration) {
    return std::chrono::duration<double, std::milli>(duration).count();
}

// Nearest rank, as analytics_bench: the p90 of 10 values is the 9th.
double Percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto rank =
        static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

struct Summary {
    double median = 0, p90 = 0, max = 0;
};
Summary Summarize(const std::vector<double>& values) {
    return {Percentile(values, 50), Percentile(values, 90), Percentile(values, 100)};
}
Json ToJson(const Summary& s) { return {{"median", s.median}, {"p90", s.p90}, {"max", s.max}}; }

std::string TextArray(const std::vector<std::string>& items) {
    std::string out = "{";
    for (const auto& item : items) out += (out.size() > 1 ? ",\"" : "\"") + item + "\"";
    return out + "}";
}

// --- what the data holds -------------------------------------------------------------------

struct Dataset {
    std::vector<std::pair<std::string, double>> tenants;  // with their events of the last 24 h
    std::vector<std::string> research_tenants;
    std::map<std::string, std::vector<std::string>> dimension_values;  // page, country, device
    int64_t events = 0;
    int64_t events_last_hour = 0;
    int64_t minute_rows_24h = 0;
    int64_t attempts_24h = 0;
};

Dataset ReadDataset(pqxx::connection& connection) {
    Dataset data;
    pqxx::read_transaction txn(connection);
    for (const auto& row :
         txn.exec("SELECT tenant_id, sum(n) FROM analytics_event_counts WHERE grain = 'h' "
                  "AND bucket > now() - interval '25 hours' GROUP BY 1 ORDER BY 2 DESC, 1")) {
        data.tenants.emplace_back(row[0].as<std::string>(), row[1].as<double>());
    }
    for (const auto& row : txn.exec("SELECT DISTINCT tenant_id FROM enrichment_attempts "
                                    "WHERE finished_at > now() - interval '1 day' ORDER BY 1")) {
        data.research_tenants.push_back(row[0].as<std::string>());
    }
    for (const char* dimension : {"page", "country", "device"}) {
        for (const auto& row : txn.exec(std::string("SELECT DISTINCT ") + dimension +
                                        " FROM user_analytics_events WHERE event_time > now() - "
                                        "interval '1 hour' AND " +
                                        dimension + " IS NOT NULL ORDER BY 1")) {
            data.dimension_values[dimension].push_back(row[0].as<std::string>());
        }
    }
    data.events =
        txn.exec1("SELECT coalesce(sum(n), 0) FROM analytics_event_counts WHERE grain = 'd'")[0]
            .as<int64_t>();
    data.events_last_hour = txn.exec1(
                                   "SELECT count(*) FROM user_analytics_events "
                                   "WHERE event_time > now() - interval '1 hour'")[0]
                                .as<int64_t>();
    data.minute_rows_24h = txn.exec1(
                                  "SELECT count(*) FROM analytics_event_counts WHERE grain = 'm' "
                                  "AND bucket > now() - interval '24 hours'")[0]
                               .as<int64_t>();
    data.attempts_24h = txn.exec1(
                               "SELECT count(*) FROM enrichment_attempts "
                               "WHERE finished_at > now() - interval '1 day'")[0]
                            .as<int64_t>();
    if (data.tenants.empty())
        throw std::runtime_error("no events in the last 24 h: prefill first (bench/alerts.sh)");
    return data;
}

// --- the rules -----------------------------------------------------------------------------

enum class Kind { kCount, kRatio, kDimensionCount, kUniqueUsers, kResearch };
const char* KindName(Kind kind) {
    switch (kind) {
        case Kind::kCount:
            return "event_count";
        case Kind::kRatio:
            return "ratio";
        case Kind::kDimensionCount:
            return "event_count_dimension";
        case Kind::kUniqueUsers:
            return "unique_users";
        case Kind::kResearch:
            return "research";
    }
    return "?";
}

struct Draft {
    Kind kind;
    std::string tenant;
    Json body;  // condition without op and threshold until Finish
};

class RuleMaker {
public:
    RuleMaker(const Dataset& data, uint64_t seed) : data_(data), rng_(seed) {}

    std::vector<Draft> Drafts(int n) {
        // Shares of the mix; the research share goes to analytics when no tenant has research.
        std::vector<std::pair<Kind, double>> mix = {{Kind::kCount, 0.40},
                                                    {Kind::kRatio, 0.15},
                                                    {Kind::kDimensionCount, 0.15},
                                                    {Kind::kUniqueUsers, 0.15},
                                                    {Kind::kResearch, 0.15}};
        if (data_.research_tenants.empty()) {
            mix.pop_back();
            mix[0].second += 0.15;
        }
        std::vector<Draft> drafts;
        int made = 0;
        for (size_t k = 0; k < mix.size(); ++k) {
            const int count =
                k + 1 == mix.size() ? n - made : static_cast<int>(std::lround(n * mix[k].second));
            for (int i = 0; i < count; ++i) drafts.push_back(Make(mix[k].first));
            made += count;
        }
        return drafts;
    }

    // Op, threshold, `for` and the rest from the value measured now.
    std::string Finish(const Draft& draft, size_t index, double value) {
        Json body = draft.body;
        Json& c = body["condition"];
        const bool share = c["metric"] == "ratio" || c["metric"] == "enrichment_fallback_share";
        const double floor = share ? 0.05 : 5;  // a "quiet" threshold is never below this
        const double r = Uniform();
        if (r < 0.12) {  // breaching now
            if (value > 0) {
                c["op"] = ">";
                c["threshold"] = Round(value * Uniform(0.3, 0.8));
            } else {
                c["op"] = "<";
                c["threshold"] = share ? 0.01 : 1;  // "drops to zero"
            }
        } else if (r < 0.30 && value > 0) {  // quiet, below-type: a drop would fire it
            c["op"] = "<";
            c["threshold"] = Round(value * Uniform(0.1, 0.4));
        } else {  // quiet, above-type
            c["op"] = ">";
            c["threshold"] = Round(std::max(floor, value * Uniform(2, 4)));
            if (Uniform() < 0.3) c["resolve_threshold"] = Round(c["threshold"].get<double>() * 0.8);
        }
        const double h = Uniform();
        c["for"] = h < 0.6 ? "0s" : h < 0.85 ? "1m" : "5m";
        const double p = Uniform();
        if (p < 0.2)
            body["repeat_every"] = "1h";
        else if (p < 0.3)
            body["repeat_every"] = "0s";
        Json channels =
            Json::array({{{"type", "webhook"},
                          {"url", "http://192.0.2." + std::to_string(1 + index % 250) + ":9/hook"},
                          {"secret", "bench-secret-" + std::to_string(index)}}});
        if (Uniform() < 0.15) {
            channels.push_back({{"type", "webhook"}, {"url", "http://192.0.2.251:9/team"}});
        }
        body["channels"] = channels;
        if (Uniform() < 0.2) {
            body["escalation"] = {
                {"after", "15m"},
                {"channels",
                 Json::array({{{"type", "webhook"}, {"url", "http://192.0.2.252:9/lead"}}})}};
        }
        body["name"] = "bench " + std::to_string(index) + " " + KindName(draft.kind);
        return body.dump();
    }

private:
    double Uniform(double lo = 0, double hi = 1) {
        return std::uniform_real_distribution<double>(lo, hi)(rng_);
    }
    template <typename T>
    const T& Pick(const std::vector<T>& items) {
        return items[std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng_)];
    }
    static double Round(double v) { return v >= 10 ? std::round(v) : std::round(v * 1000) / 1000; }

    // Analytics rules go to tenants in proportion to their traffic.
    const std::string& AnalyticsTenant() {
        double total = 0;
        for (const auto& [tenant, events] : data_.tenants) total += std::max(events, 1.0);
        double at = Uniform(0, total);
        for (const auto& [tenant, events] : data_.tenants) {
            at -= std::max(events, 1.0);
            if (at <= 0) return tenant;
        }
        return data_.tenants.back().first;
    }

    Json Dimension(const std::vector<std::string>& names) {
        const std::string& name = Pick(names);
        return {{"name", name}, {"value", Pick(data_.dimension_values.at(name))}};
    }

    Draft Make(Kind kind) {
        static const std::vector<std::string> kTypes = {"error",     "purchase",    "signup",
                                                        "checkout",  "add_to_cart", "login",
                                                        "page_view", "search"};
        static const std::vector<std::string> kCountWindows = {"1m",  "5m", "5m", "15m",
                                                               "15m", "1h", "1h", "24h"};
        static const std::vector<std::string> kRawWindows = {"1m", "5m", "15m", "1h"};
        static const std::vector<std::pair<std::string, std::string>> kRatios = {
            {"error", ""},
            {"error", "page_view"},
            {"purchase", "add_to_cart"},
            {"purchase", "checkout"},
            {"signup", "page_view"}};
        Draft draft{kind, "", Json::object()};
        Json c = {{"op", ">"}, {"threshold", 0}};
        switch (kind) {
            case Kind::kCount:
                c["metric"] = "event_count";
                if (Uniform() < 0.6) c["event_type"] = Pick(kTypes);
                c["window"] = Pick(kCountWindows);
                break;
            case Kind::kRatio: {
                const auto& [numerator, denominator] = Pick(kRatios);
                c["metric"] = "ratio";
                c["numerator"] = {{"event_type", numerator}};
                c["denominator"] =
                    denominator.empty() ? Json::object() : Json{{"event_type", denominator}};
                c["window"] = Pick(std::vector<std::string>{"5m", "15m", "1h", "24h"});
                break;
            }
            case Kind::kDimensionCount:
                c["metric"] = "event_count";
                c["dimension"] = Dimension({"page", "page", "country", "country", "device"});
                if (Uniform() < 0.5) c["event_type"] = Pick(kTypes);
                c["window"] = Pick(kRawWindows);
                break;
            case Kind::kUniqueUsers: {
                c["metric"] = "unique_users";
                const double f = Uniform();
                if (f < 0.3)
                    c["event_type"] = Pick(kTypes);
                else if (f < 0.6)
                    c["dimension"] = Dimension({"country", "device"});
                c["window"] = Pick(std::vector<std::string>{"5m", "15m", "1h", "1h"});
                break;
            }
            case Kind::kResearch:
                if (Uniform() < 0.5) {
                    c["metric"] = "enrichment_failed";
                    c["window"] = Pick(std::vector<std::string>{"15m", "1h", "24h"});
                } else {
                    c["metric"] = "enrichment_fallback_share";
                    c["window"] = Pick(std::vector<std::string>{"5m", "15m", "1h", "24h"});
                }
                break;
        }
        draft.tenant = kind == Kind::kResearch ? Pick(data_.research_tenants) : AnalyticsTenant();
        draft.body = {
            {"name", "draft"},
            {"condition", c},
            {"channels", Json::array({{{"type", "webhook"}, {"url", "http://192.0.2.1:9/hook"}}})}};
        return draft;
    }

    const Dataset& data_;
    std::mt19937_64 rng_;
};

alerts::Rule ParseOrThrow(const std::string& body) {
    auto parsed = alerts::ParseRule(body, false);
    if (auto* problem = std::get_if<alerts::RuleProblem>(&parsed)) {
        throw std::runtime_error("rule refused: " + problem->message + " " +
                                 problem->details.dump() + " in " + body);
    }
    return std::get<alerts::Rule>(std::move(parsed));
}

struct MadeRules {
    std::map<std::string, int> by_kind;
    std::map<std::string, int> by_tenant;
    double calibration_ms = 0;
    size_t breaching_at_creation = 0;
};

// Replaces the bench's earlier rules with `n` new ones; returns what was made.
MadeRules CreateRules(pqxx::connection& connection, const Dataset& data, const Options& options) {
    MadeRules made;
    RuleMaker maker(data, options.seed);
    const std::vector<Draft> drafts = maker.Drafts(options.rules);
    std::vector<alerts::Rule> rules;
    for (const auto& draft : drafts) {
        alerts::Rule rule = ParseOrThrow(draft.body.dump());
        rule.id = alerts::NewId("rul_");
        rule.tenant_id = draft.tenant;
        rules.push_back(std::move(rule));
    }
    const auto started = Clock::now();
    const auto values = alerts::MeasureRules(
        connection, rules, options.at.value_or(tributary::common::NowUtc()), nullptr);
    made.calibration_ms = Ms(Clock::now() - started);

    pqxx::work txn(connection);
    txn.exec_params("DELETE FROM alert_rules WHERE created_by = $1", kActor);
    for (size_t i = 0; i < drafts.size(); ++i) {
        const auto& measured = values.at(rules[i].id);
        if (!measured.value) throw std::runtime_error("rule not measurable: " + measured.error);
        alerts::Rule rule = ParseOrThrow(maker.Finish(drafts[i], i, *measured.value));
        rule.id = rules[i].id;
        rule.tenant_id = drafts[i].tenant;
        made.breaching_at_creation += alerts::Breaches(rule.condition, *measured.value);
        // The statements of POST /api/v1/alerts/rules (query/alerts/alert_routes.cpp).
        txn.exec_params(
            "INSERT INTO alert_rules (id, tenant_id, name, spec, enabled, created_by) "
            "VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
            rule.id, rule.tenant_id, rule.name, alerts::RuleSpec(rule).dump(), rule.enabled,
            kActor);
        txn.exec_params(
            "INSERT INTO alert_rule_state (rule_id, tenant_id, state, since) VALUES ($1, $2, 'ok', "
            "now())",
            rule.id, rule.tenant_id);
        ++made.by_kind[KindName(drafts[i].kind)];
        ++made.by_tenant[rule.tenant_id];
    }
    txn.commit();
    // What autovacuum does within a minute of a thousand new rows: the rounds are planned
    // with the tables' statistics, as they would be.
    pqxx::nontransaction analyze(connection);
    analyze.exec("ANALYZE alert_rules, alert_rule_state");
    return made;
}

// --- the floor -----------------------------------------------------------------------------

struct FloorRound {
    double rollup_ms = 0, raw_ms = 0, research_ms = 0;
    double hour_rollup_ms = 0;  // the 24 h from hour buckets plus the minutes at both ends
    int64_t minute_rows = 0, raw_rows = 0, attempts = 0, hour_rollup_rows = 0;
    double total() const { return rollup_ms + raw_ms + research_ms; }
    double total_with_hours() const { return hour_rollup_ms + raw_ms + research_ms; }
};

SystemTime FloorTo(SystemTime time, std::chrono::minutes unit) {
    return std::chrono::floor<std::chrono::minutes>(time) -
           std::chrono::floor<std::chrono::minutes>(time).time_since_epoch() % unit;
}

FloorRound MeasureFloor(pqxx::connection& connection, const Dataset& data, SystemTime now) {
    std::vector<std::string> tenants;
    for (const auto& [tenant, events] : data.tenants) tenants.push_back(tenant);
    const std::string end = alerts::SqlTime(now);
    const std::string day_ago =
        alerts::SqlTime(now - std::chrono::hours(24) - std::chrono::minutes(1));
    const std::string hour_ago = alerts::SqlTime(now - std::chrono::hours(1));
    FloorRound floor;
    pqxx::read_transaction txn(connection);
    auto started = Clock::now();
    floor.minute_rows = txn.exec_params1(
                               "SELECT count(*), coalesce(sum(n), 0) FROM analytics_event_counts "
                               "WHERE tenant_id = ANY($1::text[]) AND grain = 'm' "
                               "AND bucket >= $2::timestamptz AND bucket <= $3::timestamptz",
                               TextArray(tenants), day_ago, end)[0]
                            .as<int64_t>();
    floor.rollup_ms = Ms(Clock::now() - started);
    const SystemTime day_start = now - std::chrono::hours(24);
    const SystemTime first_hour =
        FloorTo(day_start, std::chrono::minutes(60)) + std::chrono::hours(1);
    const SystemTime last_hour = FloorTo(now, std::chrono::minutes(60));
    started = Clock::now();
    floor.hour_rollup_rows =
        txn.exec_params1(
               "SELECT count(*), coalesce(sum(n), 0) FROM analytics_event_counts "
               "WHERE tenant_id = ANY($1::text[]) AND ((grain = 'h' AND bucket >= $3::timestamptz "
               "AND bucket < $4::timestamptz) OR (grain = 'm' AND ((bucket >= $2::timestamptz "
               "AND bucket < $3::timestamptz) OR (bucket >= $4::timestamptz "
               "AND bucket <= $5::timestamptz))))",
               TextArray(tenants), day_ago, alerts::SqlTime(first_hour), alerts::SqlTime(last_hour),
               end)[0]
            .as<int64_t>();
    floor.hour_rollup_ms = Ms(Clock::now() - started);
    started = Clock::now();
    // Every column a rule of the mix filters or counts on: tenant, type, user, page, country,
    // device.
    floor.raw_rows = txn.exec_params1(
                            "SELECT count(*), count(DISTINCT tenant_id), sum(user_no), "
                            "count(event_type), count(page), count(country), count(device) "
                            "FROM user_analytics_events "
                            "WHERE event_time >= $1::timestamptz AND event_time <= $2::timestamptz",
                            hour_ago, end)[0]
                         .as<int64_t>();
    floor.raw_ms = Ms(Clock::now() - started);
    if (!data.research_tenants.empty()) {
        started = Clock::now();
        floor.attempts =
            txn.exec_params1(
                   "SELECT count(*), count(*) FILTER (WHERE outcome = 'failed'), "
                   "count(*) FILTER (WHERE attempt = 1 AND outcome = 'fallback') "
                   "FROM enrichment_attempts WHERE tenant_id = ANY($1::text[]) "
                   "AND finished_at > $2::timestamptz AND finished_at <= $3::timestamptz",
                   TextArray(data.research_tenants), day_ago, end)[0]
                .as<int64_t>();
        floor.research_ms = Ms(Clock::now() - started);
    }
    txn.commit();
    return floor;
}

// --- run -----------------------------------------------------------------------------------

int Run(const Options& options) {
    pqxx::connection setup(options.database_url);
    std::fprintf(stderr, "reading the dataset...\n");
    const Dataset data = ReadDataset(setup);
    std::fprintf(stderr, "creating %d rules over %zu tenants (%zu with research)...\n",
                 options.rules, data.tenants.size(), data.research_tenants.size());
    const MadeRules made = CreateRules(setup, data, options);

    // The evaluator's own session, holding its lock as Evaluator::Run would.
    pqxx::connection evaluator_connection(options.database_url);
    {
        pqxx::nontransaction txn(evaluator_connection);
        if (!txn.exec_params1("SELECT pg_try_advisory_lock($1)", alerts::kEvaluatorLockKey)[0]
                 .as<bool>()) {
            throw std::runtime_error("another evaluator holds the lock on this database");
        }
    }
    tributary::common::MetricsRegistry metrics;
    alerts::Evaluator evaluator(options.database_url, alerts::EvaluatorConfig{}, metrics, nullptr);
    pqxx::connection floor_connection(options.database_url);

    struct Round {
        alerts::RoundStats stats;
        FloorRound floor;
    };
    std::vector<Round> rounds;
    auto next = Clock::now();
    for (int r = 0; r < options.rounds; ++r) {
        std::this_thread::sleep_until(next);
        next += std::chrono::milliseconds(options.interval_ms);
        const SystemTime now =
            options.at ? *options.at + std::chrono::milliseconds(options.interval_ms) * r
                       : tributary::common::NowUtc();
        Round round;
        round.stats = evaluator.EvaluateOnce(evaluator_connection, now);
        round.floor = MeasureFloor(floor_connection, data, now);
        std::fprintf(stderr,
                     "round %d: %.1f ms (measure %.1f ms), %zu transitions; floor %.1f ms\n", r + 1,
                     round.stats.total_ms, round.stats.measure_ms, round.stats.transitions,
                     round.floor.total());
        rounds.push_back(round);
    }

    std::map<std::string, int64_t> states;
    int64_t alerts_open = 0, notifications = 0;
    {
        pqxx::read_transaction txn(setup);
        for (const auto& row : txn.exec_params("SELECT s.state, count(*) FROM alert_rule_state s "
                                               "JOIN alert_rules r ON r.id = s.rule_id "
                                               "WHERE r.created_by = $1 GROUP BY 1 ORDER BY 1",
                                               kActor)) {
            states[row[0].as<std::string>()] = row[1].as<int64_t>();
        }
        alerts_open = txn.exec_params1(
                             "SELECT count(*) FROM alerts a JOIN alert_rules r ON r.id = a.rule_id "
                             "WHERE r.created_by = $1 AND a.state <> 'resolved'",
                             kActor)[0]
                          .as<int64_t>();
        notifications = txn.exec_params1(
                               "SELECT count(*) FROM alert_notifications n JOIN alert_rules r "
                               "ON r.id = n.rule_id WHERE r.created_by = $1",
                               kActor)[0]
                            .as<int64_t>();
    }

    // --- report
    std::vector<double> total, measure, floor, floor_hours, floor_rollup, floor_hour_rollup,
        floor_raw, floor_research, steady_total, steady_measure;
    for (size_t i = 0; i < rounds.size(); ++i) {
        total.push_back(rounds[i].stats.total_ms);
        measure.push_back(rounds[i].stats.measure_ms);
        floor.push_back(rounds[i].floor.total());
        floor_hours.push_back(rounds[i].floor.total_with_hours());
        floor_rollup.push_back(rounds[i].floor.rollup_ms);
        floor_hour_rollup.push_back(rounds[i].floor.hour_rollup_ms);
        floor_raw.push_back(rounds[i].floor.raw_ms);
        floor_research.push_back(rounds[i].floor.research_ms);
        if (i > 0) {
            steady_total.push_back(rounds[i].stats.total_ms);
            steady_measure.push_back(rounds[i].stats.measure_ms);
        }
    }
    const Summary s_total = Summarize(total), s_measure = Summarize(measure),
                  s_floor = Summarize(floor), s_floor_hours = Summarize(floor_hours);
    const auto ratio = [](double ours, double bound) { return bound > 0 ? ours / bound : 0.0; };

    std::printf(
        "\n## Alert evaluation: %d rules, %lld events (%lld in the last hour), %zu tenants\n\n",
        options.rules, static_cast<long long>(data.events),
        static_cast<long long>(data.events_last_hour), data.tenants.size());
    std::printf("Mix:");
    for (const auto& [kind, n] : made.by_kind) std::printf(" %s %d,", kind.c_str(), n);
    std::printf(" %zu breaching when created. Rounds %d ms apart, %s.\n\n",
                made.breaching_at_creation, options.interval_ms,
                options.at ? ("from " + tributary::common::FormatRfc3339(*options.at)).c_str()
                           : "at the clock's time");
    std::printf(
        "| round | rules | transitions | notifications | errors | measure ms | total ms | floor ms "
        "|\n");
    std::printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < rounds.size(); ++i) {
        const auto& s = rounds[i].stats;
        std::printf("| %zu | %zu | %zu | %zu | %zu | %.1f | %.1f | %.1f |\n", i + 1, s.rules,
                    s.transitions, s.notifications, s.errors, s.measure_ms, s.total_ms,
                    rounds[i].floor.total());
    }
    std::printf(
        "\n| per round | median ms | p90 ms | max ms | floor median ms | ours / floor "
        "| floor with hour rollups ms | ours / that |\n");
    std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    const auto row = [&](const std::string& name, const Summary& s) {
        std::printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", name.c_str(),
                    s.median, s.p90, s.max, s_floor.median, ratio(s.median, s_floor.median),
                    s_floor_hours.median, ratio(s.median, s_floor_hours.median));
    };
    row("measure (reads)", s_measure);
    row("total (reads + writes)", s_total);
    if (!steady_total.empty()) {
        row("measure, rounds 2-" + std::to_string(rounds.size()), Summarize(steady_measure));
        row("total, rounds 2-" + std::to_string(rounds.size()), Summarize(steady_total));
    }
    std::printf(
        "\nFloor (median ms): minute rollups of 24 h %.1f (%lld rows; from hour rollups and the "
        "minutes at both ends instead: %.1f, %lld rows), raw rows of 1 h %.1f "
        "(%lld rows), enrichment attempts of 24 h %.1f (%lld rows). Calibration (the first "
        "measurement, before the rounds): %.1f ms. After the rounds:",
        Percentile(floor_rollup, 50),
        static_cast<long long>(rounds.empty() ? 0 : rounds[0].floor.minute_rows),
        Percentile(floor_hour_rollup, 50),
        static_cast<long long>(rounds.empty() ? 0 : rounds[0].floor.hour_rollup_rows),
        Percentile(floor_raw, 50),
        static_cast<long long>(rounds.empty() ? 0 : rounds[0].floor.raw_rows),
        Percentile(floor_research, 50),
        static_cast<long long>(rounds.empty() ? 0 : rounds[0].floor.attempts), made.calibration_ms);
    for (const auto& [state, n] : states)
        std::printf(" %s %lld,", state.c_str(), static_cast<long long>(n));
    std::printf(" %lld open alerts, %lld outbox rows.\n", static_cast<long long>(alerts_open),
                static_cast<long long>(notifications));
    std::fflush(stdout);

    if (!options.json_path.empty()) {
        Json out = {
            {"rules", options.rules},
            {"rounds_requested", options.rounds},
            {"interval_ms", options.interval_ms},
            {"seed", options.seed},
            {"at", options.at ? tributary::common::FormatRfc3339(*options.at) : "clock"},
            {"dataset",
             {{"events", data.events},
              {"events_last_hour", data.events_last_hour},
              {"minute_rollup_rows_24h", data.minute_rows_24h},
              {"enrichment_attempts_24h", data.attempts_24h},
              {"tenants", data.tenants.size()},
              {"research_tenants", data.research_tenants}}},
            {"mix", made.by_kind},
            {"rules_by_tenant", made.by_tenant},
            {"breaching_at_creation", made.breaching_at_creation},
            {"calibration_measure_ms", made.calibration_ms},
            {"total_ms", ToJson(s_total)},
            {"measure_ms", ToJson(s_measure)},
            {"floor_ms", ToJson(s_floor)},
            {"floor_with_hour_rollups_ms", ToJson(s_floor_hours)},
            {"floor_parts_median_ms",
             {{"minute_rollups_24h", Percentile(floor_rollup, 50)},
              {"hour_and_edge_minute_rollups_24h", Percentile(floor_hour_rollup, 50)},
              {"raw_rows_1h", Percentile(floor_raw, 50)},
              {"enrichment_attempts_24h", Percentile(floor_research, 50)}}},
            {"measure_over_floor", ratio(s_measure.median, s_floor.median)},
            {"total_over_floor", ratio(s_total.median, s_floor.median)},
            {"measure_over_floor_with_hour_rollups", ratio(s_measure.median, s_floor_hours.median)},
            {"states_after", states},
            {"open_alerts_after", alerts_open},
            {"outbox_rows_after", notifications}};
        if (!steady_total.empty()) {
            out["steady_total_ms"] = ToJson(Summarize(steady_total));
            out["steady_measure_ms"] = ToJson(Summarize(steady_measure));
        }
        Json per_round = Json::array();
        for (const auto& round : rounds) {
            const auto& s = round.stats;
            per_round.push_back(
                {{"rules", s.rules},
                 {"transitions", s.transitions},
                 {"notifications", s.notifications},
                 {"errors", s.errors},
                 {"measure_ms", s.measure_ms},
                 {"total_ms", s.total_ms},
                 {"floor_ms",
                  {{"minute_rollups_24h", round.floor.rollup_ms},
                   {"hour_and_edge_minute_rollups_24h", round.floor.hour_rollup_ms},
                   {"raw_rows_1h", round.floor.raw_ms},
                   {"enrichment_attempts_24h", round.floor.research_ms}}},
                 {"floor_rows",
                  {{"minute_rollups_24h", round.floor.minute_rows},
                   {"hour_and_edge_minute_rollups_24h", round.floor.hour_rollup_rows},
                   {"raw_rows_1h", round.floor.raw_rows},
                   {"enrichment_attempts_24h", round.floor.attempts}}}});
        }
        out["per_round"] = per_round;
        std::ofstream(options.json_path) << out.dump(2) << "\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: alerts_bench migrate|run [options] (see bench/alerts_bench.cpp)\n";
        return 2;
    }
    const std::string mode = argv[1];
    Options options;
    if (const char* url = std::getenv("DATABASE_URL")) options.database_url = url;
    for (int i = 2; i < argc; i += 2) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) {
            std::cerr << flag << " needs a value\n";
            return 2;
        }
        const std::string value = argv[i + 1];
        try {
            if (flag == "--database-url")
                options.database_url = value;
            else if (flag == "--rules")
                options.rules = std::stoi(value);
            else if (flag == "--rounds")
                options.rounds = std::stoi(value);
            else if (flag == "--interval-ms")
                options.interval_ms = std::stoi(value);
            else if (flag == "--seed")
                options.seed = std::stoull(value);
            else if (flag == "--json")
                options.json_path = value;
            else if (flag == "--at") {
                options.at = tributary::common::ParseRfc3339(value);
                if (!options.at) {
                    std::cerr << "--at takes an RFC 3339 time\n";
                    return 2;
                }
            } else {
                std::cerr << "unknown option " << flag << "\n";
                return 2;
            }
        } catch (const std::logic_error&) {
            std::cerr << flag << " takes a number\n";
            return 2;
        }
    }
    if (options.database_url.empty()) {
        std::cerr << "alerts_bench: --database-url or DATABASE_URL is required\n";
        return 2;
    }
    if (options.rules < 1 || options.rounds < 1 || options.interval_ms < 0) {
        std::cerr << "alerts_bench: --rules and --rounds must be at least 1, --interval-ms not "
                     "negative\n";
        return 2;
    }
    try {
        if (mode == "migrate") {
            pqxx::connection connection(options.database_url);
            for (const auto& name : tributary::storage::ApplyMigrations(connection)) {
                std::fprintf(stderr, "applied %s\n", name.c_str());
            }
            return 0;
        }
        if (mode == "run") return Run(options);
    } catch (const std::exception& e) {
        std::cerr << "alerts_bench: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "unknown mode " << mode << "\n";
    return 2;
}
