#pragma once

// The overview page's numbers: ingest rate from the watermark deltas of the contract topics,
// dead letters from the .dlq topics (all of them for an operator, the caller's tenant's
// otherwise: counted from the messages the sampler reads incrementally), consumer lag from
// the lag history, and from PostgreSQL the tenant's accepted -> stored latency and enrichment
// status counts. A background sampler refreshes the Kafka parts every 2 s; Snapshot() is
// thread-safe and cheap except for its database reads (cached per tenant for 2 s).

#include "common/auth/principal.hpp"
#include "console/kafka_inspector.hpp"
#include "console/lag_history.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>


namespace tributary::console {

// Rate from two (time, count) samples; 0 when time did not advance or the count went back.
double RatePerSecond(int64_t count_before, int64_t count_after, std::chrono::milliseconds elapsed);

class Overview {
public:
    Overview(KafkaInspector& kafka, LagHistory& lag, std::string database_url);
    ~Overview();

    // The contract's overview object for this caller.
    nlohmann::json Snapshot(const common::auth::Principal& principal);

    // One sampling round (ingest watermarks, dead letters); called by Run and by tests.
    void Sample();
    // Samples every `interval` until wait_or_stop returns true.
    void Run(std::chrono::milliseconds interval, const std::function<bool(std::chrono::milliseconds)>& wait_or_stop);

private:
    struct DeadLetterCounts {
        int64_t total = 0;
        std::deque<int64_t> recent_ms;  // timestamps of the last minute's
    };
    struct TenantDb {
        std::chrono::steady_clock::time_point at{};
        nlohmann::json latency;
        nlohmann::json enrichment;
    };
    nlohmann::json DatabasePart(const std::string& tenant_id);
    void ScanDeadLetters(const std::string& topic, int64_t now_ms);

    KafkaInspector& kafka_;
    LagHistory& lag_;
    std::string database_url_;

    std::mutex mutex_;
    std::chrono::steady_clock::time_point last_sample_{};
    std::map<std::string, int64_t> last_high_;  // topic -> sum of high watermarks
    std::map<std::string, double> rates_;       // topic -> events/s
    std::map<std::string, int64_t> dlq_messages_;  // dlq topic -> messages in it (operator)
    std::deque<std::pair<int64_t, int64_t>> dlq_history_;  // (at_ms, total dlq high) for per_min
    std::map<std::string, std::map<int32_t, int64_t>> dlq_positions_;
    std::map<std::string, DeadLetterCounts> dlq_by_tenant_;

    std::mutex db_mutex_;
    std::unique_ptr<pqxx::connection> db_;
    std::map<std::string, TenantDb> db_cache_;
};

}  // namespace tributary::console
