#include "subscriber/worker.hpp"

#include "common/backoff.hpp"
#include "common/event_model.hpp"
#include "common/logging.hpp"
#include "common/time_util.hpp"
#include "storage/db_error.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <thread>

namespace tributary::subscriber {
namespace {

const auto& Log() {
    static const auto log = common::GetLogger("subscriber");
    return log;
}

std::string DeadLetterTopic(const std::string& topic) { return topic + ".dlq"; }

constexpr const char* kReplayCountHeader = "tributary.replay_count";

std::optional<std::string> HeaderValue(const RdKafka::Message& message, const std::string& name) {
    // headers() is not const in librdkafka's C++ API although it only reads.
    RdKafka::Message& readable = const_cast<RdKafka::Message&>(message);
    const RdKafka::Headers* headers = readable.headers();
    if (headers == nullptr) return std::nullopt;
    const RdKafka::Headers::Header header = headers->get_last(name);
    if (header.err() != RdKafka::ERR_NO_ERROR || header.value() == nullptr) return std::nullopt;
    return std::string(static_cast<const char*>(header.value()), header.value_size());
}

}  // namespace

WorkerMetrics::WorkerMetrics(common::MetricsRegistry& registry)
    : consumed(registry.GetCounter("tributary_subscriber_messages_consumed_total",
                                   "Kafka messages consumed")),
      analytics_inserted(registry.GetCounter("tributary_subscriber_rows_inserted_total",
                                             "Rows inserted into PostgreSQL",
                                             {{"table", "user_analytics_events"}})),
      chemical_inserted(registry.GetCounter("tributary_subscriber_rows_inserted_total",
                                            "Rows inserted into PostgreSQL",
                                            {{"table", "chemical_research_events"}})),
      duplicates(registry.GetCounter("tributary_subscriber_duplicates_total",
                                     "Messages whose event_id was already stored (redelivery)")),
      dead_lettered(registry.GetCounter("tributary_subscriber_dead_lettered_total",
                                        "Messages sent to a dead-letter topic")),
      db_retries(registry.GetCounter("tributary_subscriber_db_retries_total",
                                     "Batch writes retried after a retryable database error")),
      commits_failed(registry.GetCounter("tributary_subscriber_offset_commits_failed_total",
                                         "Offset commits that failed (the batch is redelivered)")),
      batch_seconds(registry.GetHistogram("tributary_subscriber_batch_seconds",
                                          "Time to map, store and commit one batch",
                                          common::LatencyBuckets())),
      paused_workers(registry.GetGauge("tributary_subscriber_paused_workers",
                                       "Workers paused while the database is unavailable")),
      all(registry),
      lag_clock(std::make_shared<ConsumerLagClock>()) {
    for (const auto kind : {common::EventKind::kAnalytics, common::EventKind::kChemical}) {
        const std::string topic(common::TopicFor(kind));
        // The callback owns the clock too: a scrape after the workers are gone reads a valid one.
        registry.AddCallbackGauge(
            "tributary_subscriber_consumer_lag_seconds",
            "Age of the oldest message not yet stored, over the partitions this process owns (0 when caught up)",
            [clock = lag_clock, topic] {
                const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch());
                return clock->OldestAgeSeconds(topic, now.count());
            },
            {{"topic", topic}});
    }
}

// Turns librdkafka's periodic statistics into a consumer-lag gauge per worker: the sum over
// its assigned partitions of (high watermark - committed offset).
class ConsumerWorker::StatsListener final : public RdKafka::EventCb {
public:
    explicit StatsListener(common::Gauge& lag) : lag_(lag) {}

    void event_cb(RdKafka::Event& event) override {
        if (event.type() == RdKafka::Event::EVENT_STATS) {
            const auto stats = nlohmann::json::parse(event.str(), nullptr, false);
            if (!stats.is_object() || !stats.contains("topics")) return;
            double lag = 0;
            for (const auto& [name, topic] : stats["topics"].items()) {
                if (!topic.contains("partitions")) continue;
                for (const auto& [id, partition] : topic["partitions"].items()) {
                    const auto value = partition.value("consumer_lag_stored", int64_t{-1});
                    if (id != "-1" && value > 0) lag += static_cast<double>(value);
                }
            }
            lag_.Set(lag);
        } else if (event.type() == RdKafka::Event::EVENT_ERROR) {
            Log()->warn("consumer error: {} ({})", event.str(), RdKafka::err2str(event.err()));
        }
    }

private:
    common::Gauge& lag_;
};

class ConsumerWorker::Rebalancer final : public RdKafka::RebalanceCb {
public:
    explicit Rebalancer(ConsumerWorker& worker) : worker_(worker) {}

    void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& partitions) override {
        if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
            consumer->assign(partitions);
            worker_.assigned_partitions_.store(partitions.size());
            worker_.paused_ = false;
            Log()->info("worker {} assigned {} partitions", worker_.index_, partitions.size());
        } else {
            // Messages of revoked partitions that are not committed yet will be redelivered to
            // their new owner, so the batch in hand is dropped rather than stored and committed.
            worker_.OnRevoked();
            for (const auto* partition : partitions) {
                worker_.metrics_.lag_clock->Forget(worker_.ContractTopic(partition->topic()),
                                                  partition->partition());
            }
            consumer->unassign();
            worker_.assigned_partitions_.store(0);
            Log()->info("worker {} partitions revoked", worker_.index_);
        }
    }

private:
    ConsumerWorker& worker_;
};

ConsumerWorker::ConsumerWorker(int index, const SubscriberConfig& config, storage::EventStore& store,
                               common::kafka::Producer& dead_letters, Enricher& enricher,
                               WorkerMetrics& metrics, const std::atomic<bool>& stop)
    : index_(index),
      config_(config),
      store_(store),
      dead_letters_(dead_letters),
      enricher_(enricher),
      metrics_(metrics),
      stop_(stop),
      rebalancer_(std::make_unique<Rebalancer>(*this)),
      stats_listener_(std::make_unique<StatsListener>(metrics.all.GetGauge(
          "tributary_subscriber_consumer_lag", "Messages not yet stored, per worker (from librdkafka statistics)",
          {{"worker", std::to_string(index)}}))) {
    std::map<std::string, std::string> properties = {
        {"bootstrap.servers", config.kafka.bootstrap_servers},
        {"group.id", config.group_id},
        {"client.id", "tributary-subscriber-" + std::to_string(index)},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"session.timeout.ms", "10000"},
        {"heartbeat.interval.ms", "1000"},
        {"max.poll.interval.ms", "300000"},
        {"fetch.wait.max.ms", "50"},
        {"queued.max.messages.kbytes", "65536"},
        {"statistics.interval.ms", "5000"},
    };
    for (const auto& [key, value] : config.kafka.extra) properties[key] = value;
    auto conf = common::kafka::MakeConf(properties);
    std::string error;
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(rebalancer_.get()), error) !=
        RdKafka::Conf::CONF_OK) {
        throw common::kafka::KafkaError("cannot install rebalance callback: " + error, false);
    }
    if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(stats_listener_.get()), error) !=
        RdKafka::Conf::CONF_OK) {
        throw common::kafka::KafkaError("cannot install statistics callback: " + error, false);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer_) throw common::kafka::KafkaError("cannot create consumer: " + error, false);
}

ConsumerWorker::~ConsumerWorker() = default;

void ConsumerWorker::OnRevoked() {
    batch_.clear();
    carried_.clear();
    batch_revoked_ = true;
    if (paused_) {
        paused_ = false;
        metrics_.paused_workers.Dec();
    }
}

std::string_view ConsumerWorker::ContractTopic(const std::string& topic) const {
    return std::string_view(topic).substr(std::min(topic.size(), config_.kafka.topic_prefix.size()));
}

void ConsumerWorker::Run() {
    const auto err = consumer_->subscribe({config_.kafka.Topic("analytics.events"),
                                           config_.kafka.Topic("research.records")});
    if (err != RdKafka::ERR_NO_ERROR) {
        throw common::kafka::KafkaError("subscribe failed: " + RdKafka::err2str(err), true);
    }
    while (!stop_.load()) {
        FillBatch();
        if (batch_.empty()) continue;
        const auto started = std::chrono::steady_clock::now();
        if (ProcessBatch()) CommitBatch();
        batch_.clear();
        metrics_.batch_seconds.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    // close() leaves the group cleanly (revoking our partitions) so others take over at once.
    consumer_->close();
    Log()->info("worker {} stopped", index_);
}

void ConsumerWorker::FillBatch() {
    batch_revoked_ = false;
    for (auto& message : carried_) batch_.push_back(std::move(message));
    carried_.clear();
    const auto deadline = std::chrono::steady_clock::now() + config_.batch_max_wait;
    while (batch_.size() < static_cast<size_t>(config_.batch_max_messages) && !stop_.load()) {
        const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        // An empty batch waits longer for its first message; a started one only until the
        // deadline, so latency stays bounded under low load.
        const int timeout = batch_.empty() ? 200 : static_cast<int>(std::max<int64_t>(0, remaining.count()));
        MessagePtr message(consumer_->consume(timeout));
        if (batch_revoked_) {
            batch_.clear();
            batch_revoked_ = false;
        }
        switch (message->err()) {
            case RdKafka::ERR_NO_ERROR:
                metrics_.lag_clock->Consumed(ContractTopic(message->topic_name()), message->partition(),
                                             message->timestamp().timestamp);
                batch_.push_back(std::move(message));
                break;
            case RdKafka::ERR__TIMED_OUT:
            case RdKafka::ERR__PARTITION_EOF:
                if (!batch_.empty()) return;
                break;
            default:
                Log()->warn("worker {} consume error: {}", index_, message->errstr());
                if (!batch_.empty()) return;
        }
        if (!batch_.empty() && std::chrono::steady_clock::now() >= deadline) return;
    }
}

bool ConsumerWorker::ProcessBatch() {
    metrics_.consumed.Inc(static_cast<double>(batch_.size()));
    std::vector<storage::AnalyticsRow> analytics;
    std::vector<storage::ChemicalRow> chemical;
    std::vector<size_t> analytics_source;  // batch index of each row, for poison isolation
    std::vector<size_t> chemical_source;
    std::vector<std::pair<size_t, PoisonMessage>> poisons;
    for (size_t i = 0; i < batch_.size(); ++i) {
        const RdKafka::Message& message = *batch_[i];
        // The mapper knows the contract's names; strip the deployment's prefix.
        const std::string& topic = message.topic_name();
        MappedMessage mapped =
            MapMessage(std::string_view(topic).substr(std::min(topic.size(), config_.kafka.topic_prefix.size())),
                       std::string_view(static_cast<const char*>(message.payload()), message.len()),
                       message.partition(), message.offset());
        if (auto* row = std::get_if<storage::AnalyticsRow>(&mapped)) {
            analytics.push_back(std::move(*row));
            analytics_source.push_back(i);
        } else if (auto* record = std::get_if<storage::ChemicalRow>(&mapped)) {
            chemical.push_back(std::move(*record));
            chemical_source.push_back(i);
        } else {
            poisons.emplace_back(i, std::get<PoisonMessage>(std::move(mapped)));
        }
    }
    enricher_.BeforeStore(chemical);
    if (!StoreWithRetry(analytics, chemical, poisons, analytics_source, chemical_source)) {
        return false;
    }
    if (!poisons.empty() && !SendDeadLetters(poisons)) return false;
    enricher_.AfterStore(chemical);
    return true;
}

bool ConsumerWorker::StoreWithRetry(std::vector<storage::AnalyticsRow>& analytics,
                                    std::vector<storage::ChemicalRow>& chemical,
                                    std::vector<std::pair<size_t, PoisonMessage>>& poisons,
                                    const std::vector<size_t>& analytics_source,
                                    const std::vector<size_t>& chemical_source) {
    if (analytics.empty() && chemical.empty()) return true;
    common::Backoff backoff(config_.retry_initial, config_.retry_max);
    while (true) {
        try {
            const storage::StoreResult result = store_.Store(analytics, chemical);
            metrics_.analytics_inserted.Inc(static_cast<double>(result.analytics_inserted));
            metrics_.chemical_inserted.Inc(static_cast<double>(result.chemical_inserted));
            metrics_.duplicates.Inc(static_cast<double>(analytics.size() + chemical.size() -
                                                        result.analytics_inserted -
                                                        result.chemical_inserted));
            if (paused_) SetPaused(false);
            return true;
        } catch (const std::exception& e) {
            if (storage::ClassifyDbError(e) == storage::DbErrorKind::kData) {
                Log()->warn("worker {}: batch rejected by the database ({}); isolating the bad rows",
                            index_, e.what());
                const bool complete =
                    IsolatePoison(analytics, chemical, poisons, analytics_source, chemical_source);
                if (paused_) SetPaused(false);
                return complete;
            }
            metrics_.db_retries.Inc();
            const auto delay = backoff.Next();
            Log()->warn("worker {}: database unavailable ({}); retrying in {} ms", index_, e.what(),
                        delay.count());
            if (!paused_) SetPaused(true);
            WaitPaused(delay);
            if (batch_revoked_) return false;
            if (stop_.load()) {
                Log()->warn("worker {}: shutting down during a database outage; the batch will be "
                            "redelivered", index_);
                return false;
            }
        }
    }
}

bool ConsumerWorker::IsolatePoison(std::vector<storage::AnalyticsRow>& analytics,
                                   std::vector<storage::ChemicalRow>& chemical,
                                   std::vector<std::pair<size_t, PoisonMessage>>& poisons,
                                   const std::vector<size_t>& analytics_source,
                                   const std::vector<size_t>& chemical_source) {
    // Row by row, each in its own transaction: data errors mark their row as poison, retryable
    // errors are retried here. Returns false if shutdown or a rebalance interrupted it.
    const auto store_one = [&](auto span_a, auto span_c, size_t source) -> bool {
        common::Backoff backoff(config_.retry_initial, config_.retry_max);
        while (true) {
            try {
                const auto result = store_.Store(span_a, span_c);
                metrics_.analytics_inserted.Inc(static_cast<double>(result.analytics_inserted));
                metrics_.chemical_inserted.Inc(static_cast<double>(result.chemical_inserted));
                return true;
            } catch (const std::exception& e) {
                if (storage::ClassifyDbError(e) == storage::DbErrorKind::kData) {
                    poisons.emplace_back(source, PoisonMessage{"store", e.what()});
                    return true;
                }
                metrics_.db_retries.Inc();
                WaitPaused(backoff.Next());
                if (stop_.load() || batch_revoked_) return false;
            }
        }
    };
    for (size_t i = 0; i < analytics.size(); ++i) {
        if (!store_one(std::span<const storage::AnalyticsRow>(&analytics[i], 1),
                       std::span<const storage::ChemicalRow>(), analytics_source[i])) {
            return false;
        }
    }
    for (size_t i = 0; i < chemical.size(); ++i) {
        if (!store_one(std::span<const storage::AnalyticsRow>(),
                       std::span<const storage::ChemicalRow>(&chemical[i], 1), chemical_source[i])) {
            return false;
        }
    }
    return true;
}

bool ConsumerWorker::SendDeadLetters(const std::vector<std::pair<size_t, PoisonMessage>>& poisons) {
    common::Backoff backoff(config_.retry_initial, config_.retry_max);
    while (!stop_.load() && !batch_revoked_) {
        auto tracker = std::make_shared<common::kafka::DeliveryTracker>(poisons.size());
        for (size_t i = 0; i < poisons.size(); ++i) {
            const auto& [index, poison] = poisons[i];
            const RdKafka::Message& message = *batch_[index];
            std::vector<common::kafka::Producer::Header> headers = {
                {"dlq.stage", poison.stage},
                {"dlq.reason", poison.reason},
                {"dlq.original.topic", message.topic_name()},
                {"dlq.original.partition", std::to_string(message.partition())},
                {"dlq.original.offset", std::to_string(message.offset())},
                {"dlq.failed_at", common::FormatRfc3339(common::NowUtc())},
            };
            // A replayed message that fails again keeps its replay count, so the console's
            // loop protection (CONSOLE_REPLAY_MAX) sees how often it was sent back already.
            if (auto replay_count = HeaderValue(message, kReplayCountHeader)) {
                headers.emplace_back(kReplayCountHeader, std::move(*replay_count));
            }
            const std::string key = message.key() ? *message.key() : std::string();
            std::string error;
            const auto status = dead_letters_.Produce(
                DeadLetterTopic(message.topic_name()), key,
                std::string_view(static_cast<const char*>(message.payload()), message.len()),
                headers, tracker, &error);
            if (status != common::kafka::ProduceStatus::kQueued) {
                tracker->Abandon(poisons.size() - i, error);
                break;
            }
        }
        tracker->Wait(std::chrono::seconds(60));
        if (tracker->FailedCount() == 0) {
            metrics_.dead_lettered.Inc(static_cast<double>(poisons.size()));
            for (const auto& [index, poison] : poisons) {
                Log()->warn("worker {}: {}[{}]@{} dead-lettered at stage {}: {}", index_,
                            batch_[index]->topic_name(), batch_[index]->partition(),
                            batch_[index]->offset(), poison.stage, poison.reason);
            }
            return true;
        }
        Log()->error("worker {}: dead-letter write failed: {}", index_, tracker->FirstError());
        WaitPaused(backoff.Next());
    }
    return false;
}

void ConsumerWorker::CommitBatch() {
    if (batch_revoked_) return;
    std::map<std::pair<std::string, int32_t>, int64_t> next_offsets;
    std::map<std::pair<std::string, int32_t>, int64_t> last_timestamps;
    for (const auto& message : batch_) {
        auto& next = next_offsets[{message->topic_name(), message->partition()}];
        if (message->offset() + 1 > next) {
            next = message->offset() + 1;
            last_timestamps[{message->topic_name(), message->partition()}] = message->timestamp().timestamp;
        }
    }
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& [partition, offset] : next_offsets) {
        offsets.push_back(RdKafka::TopicPartition::create(partition.first, partition.second, offset));
    }
    const auto err = consumer_->commitSync(offsets);
    RdKafka::TopicPartition::destroy(offsets);
    if (err != RdKafka::ERR_NO_ERROR) {
        // Not fatal: the rows are stored; the messages come again and are skipped as duplicates.
        metrics_.commits_failed.Inc();
        Log()->warn("worker {}: offset commit failed: {}", index_, RdKafka::err2str(err));
    }
    // Stored either way: the lag clock moves on. The high watermark is librdkafka's cached one
    // (from the last fetch), so this does not block.
    for (const auto& [partition, next] : next_offsets) {
        int64_t low = -1;
        int64_t high = -1;
        const bool behind = consumer_->get_watermark_offsets(partition.first, partition.second, &low, &high) ==
                                RdKafka::ERR_NO_ERROR &&
                            high > next;
        metrics_.lag_clock->Committed(ContractTopic(partition.first), partition.second,
                                      last_timestamps[partition], behind);
    }
    // Messages that arrived during a database outage wait for the next batch: still unprocessed.
    for (const auto& message : carried_) {
        metrics_.lag_clock->Consumed(ContractTopic(message->topic_name()), message->partition(),
                                     message->timestamp().timestamp);
    }
}

void ConsumerWorker::SetPaused(bool paused) {
    std::vector<RdKafka::TopicPartition*> assignment;
    if (consumer_->assignment(assignment) == RdKafka::ERR_NO_ERROR && !assignment.empty()) {
        if (paused) {
            consumer_->pause(assignment);
        } else {
            consumer_->resume(assignment);
        }
    }
    RdKafka::TopicPartition::destroy(assignment);
    if (paused != paused_) metrics_.paused_workers.Inc(paused ? 1 : -1);
    paused_ = paused;
}

void ConsumerWorker::WaitPaused(std::chrono::milliseconds delay) {
    // consume() keeps the group membership alive (max.poll.interval.ms) and serves rebalances;
    // the partitions are paused, but messages already buffered may still arrive: keep them.
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until && !stop_.load() && !batch_revoked_) {
        MessagePtr message(consumer_->consume(100));
        if (message->err() == RdKafka::ERR_NO_ERROR) {
            metrics_.lag_clock->Consumed(ContractTopic(message->topic_name()), message->partition(),
                                         message->timestamp().timestamp);
            carried_.push_back(std::move(message));
        }
    }
}

}  // namespace tributary::subscriber
