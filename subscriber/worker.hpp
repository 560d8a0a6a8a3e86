#pragma once

#include "common/kafka/producer.hpp"
#include "common/metrics.hpp"
#include "subscriber/config.hpp"
#include "subscriber/enricher.hpp"
#include "subscriber/lag_clock.hpp"
#include "subscriber/message_mapper.hpp"
#include "storage/event_store.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <memory>
#include <vector>

namespace tributary::subscriber {

// Counters shared by every worker of a process.
struct WorkerMetrics {
    explicit WorkerMetrics(common::MetricsRegistry& registry);
    common::Counter& consumed;
    common::Counter& analytics_inserted;
    common::Counter& chemical_inserted;
    common::Counter& duplicates;
    common::Counter& dead_lettered;
    common::Counter& db_retries;
    common::Counter& commits_failed;
    common::Histogram& batch_seconds;
    common::Gauge& paused_workers;
    common::MetricsRegistry& all;  // for per-worker series
    // Backs tributary_subscriber_consumer_lag_seconds{topic}; shared with the scrape callback.
    std::shared_ptr<ConsumerLagClock> lag_clock;
};

// One consumer-group member: consumes both topics in batches, stores each batch in one
// transaction, sends poison messages to the dead-letter topics, and commits offsets only after
// the transaction (and any dead-letter write) succeeded, so a crash at any point causes
// redelivery, never loss, and redelivery is absorbed by the idempotent insert.
// Run() owns its thread; the worker is not otherwise thread-safe.
class ConsumerWorker {
public:
    ConsumerWorker(int index, const SubscriberConfig& config, storage::EventStore& store,
                   common::kafka::Producer& dead_letters, Enricher& enricher,
                   WorkerMetrics& metrics, const std::atomic<bool>& stop);
    ~ConsumerWorker();

    // Consumes until `stop` is set; then finishes the batch in hand, commits and leaves the
    // group. Throws only on setup failure.
    void Run();
    bool HasAssignment() const { return assigned_partitions_.load() > 0; }

private:
    class Rebalancer;
    class StatsListener;
    using MessagePtr = std::unique_ptr<RdKafka::Message>;

    void FillBatch();
    // Returns false when the batch was abandoned (revoked partitions, shutdown during an
    // outage): then nothing is committed and the messages will be redelivered.
    bool ProcessBatch();
    bool StoreWithRetry(std::vector<storage::AnalyticsRow>& analytics, std::vector<storage::ChemicalRow>& chemical,
                        std::vector<std::pair<size_t, PoisonMessage>>& poisons,
                        const std::vector<size_t>& analytics_source,
                        const std::vector<size_t>& chemical_source);
    bool IsolatePoison(std::vector<storage::AnalyticsRow>& analytics, std::vector<storage::ChemicalRow>& chemical,
                       std::vector<std::pair<size_t, PoisonMessage>>& poisons,
                       const std::vector<size_t>& analytics_source,
                       const std::vector<size_t>& chemical_source);
    bool SendDeadLetters(const std::vector<std::pair<size_t, PoisonMessage>>& poisons);
    void CommitBatch();
    // Sleeps for `delay` while keeping the consumer alive in its group (paused).
    void WaitPaused(std::chrono::milliseconds delay);
    void SetPaused(bool paused);
    void OnRevoked();
    // The contract's name of a topic of this deployment (the prefix stripped).
    std::string_view ContractTopic(const std::string& topic) const;

    int index_;
    const SubscriberConfig& config_;
    storage::EventStore& store_;
    common::kafka::Producer& dead_letters_;
    Enricher& enricher_;
    WorkerMetrics& metrics_;
    const std::atomic<bool>& stop_;
    std::unique_ptr<Rebalancer> rebalancer_;
    std::unique_ptr<StatsListener> stats_listener_;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
    std::vector<MessagePtr> batch_;
    std::vector<MessagePtr> carried_;  // arrived while paused; first in the next batch
    bool batch_revoked_ = false;
    bool paused_ = false;
    std::atomic<size_t> assigned_partitions_{0};
};

}  // namespace tributary::subscriber
