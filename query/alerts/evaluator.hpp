#pragma once

// The alert evaluator: every interval, measures every enabled rule and moves it through
// ok -> pending -> firing -> resolved, writing each transition, the alert it belongs to and
// the notifications it causes in one transaction (the outbox; delivery.hpp sends them).
//
// Exactly one process evaluates: the one holding a PostgreSQL session advisory lock on its
// own connection. Every write of a round goes through that connection, so an evaluator that
// lost its session (crashed, partitioned) cannot write anything more; the others try to take
// the lock every interval, so one of them takes over within an interval of the holder's
// session ending.

#include "common/metrics.hpp"
#include "common/signals.hpp"
#include "common/time_util.hpp"
#include "query/alerts/alert_metrics.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <string>

namespace tributary::query::alerts {

constexpr long kEvaluatorLockKey = 7326517015;  // arbitrary, fixed: "tributary alerts evaluator"

struct EvaluatorConfig {
    bool enabled = true;
    std::chrono::seconds interval{15};
};

struct RoundStats {
    size_t rules = 0;          // enabled rules measured
    size_t transitions = 0;
    size_t notifications = 0;  // outbox rows written
    size_t errors = 0;         // rules whose value could not be measured
    double measure_ms = 0;     // reading the metrics
    double total_ms = 0;       // the whole round, writes included
};

class Evaluator {
public:
    // `platform` may be null (platform rules then record an error); it must outlive Run.
    Evaluator(std::string database_url, EvaluatorConfig config, common::MetricsRegistry& metrics,
              PlatformSource* platform);

    // Until shutdown: take or hold the lock, evaluate each interval. Closes its connection on
    // the way out, which releases the lock at once.
    void Run(common::ShutdownSignals& signals);

    // One round at `now` on `connection` (which the caller has made the lock holder, or a test's).
    RoundStats EvaluateOnce(pqxx::connection& connection, common::SystemTime now);

    bool IsLeader() const { return leader_.load(); }

private:
    std::string database_url_;
    EvaluatorConfig config_;
    PlatformSource* platform_;
    std::atomic<bool> leader_{false};
    common::Gauge& leader_gauge_;
    common::Gauge& rules_gauge_;
    common::Gauge& firing_gauge_;
    common::Histogram& round_seconds_;
    common::Counter& round_failures_;
    common::MetricsRegistry& metrics_;
};

}  // namespace tributary::query::alerts
