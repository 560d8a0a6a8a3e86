#pragma once

#include "common/kafka/config.hpp"
#include "common/metrics.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tributary::common::kafka {

// Collects the delivery reports of a group of messages (one HTTP request, one dead-letter
// write) and lets the sender wait for all of them. Thread-safe.
class DeliveryTracker {
public:
    explicit DeliveryTracker(size_t expected) : remaining_(expected) {}

    // Called from the producer's poll thread, once per message.
    void Report(bool ok, const std::string& error, int32_t partition, int64_t offset);
    // Marks messages that were never enqueued, so Wait() does not wait for them.
    void Abandon(size_t count, const std::string& error);
    // Waits until every message has a report; false on timeout.
    bool Wait(std::chrono::milliseconds timeout);

    size_t FailedCount() const;
    std::string FirstError() const;

private:
    mutable std::mutex mutex_;
    std::condition_variable done_;
    size_t remaining_;
    size_t failed_ = 0;
    std::string first_error_;
};

enum class ProduceStatus { kQueued, kQueueFull, kFailed };

struct ProducerOptions {
    std::chrono::milliseconds delivery_timeout{10000};  // message.timeout.ms
    std::chrono::milliseconds linger{5};
    int queue_max_messages = 500000;
    std::string compression = "lz4";
    std::string client_id = "tributary";
    // Probe broker reachability every interval in the background (for readiness and
    // fail-fast 503s); zero disables the probe.
    std::chrono::milliseconds health_interval{1000};
};

// An idempotent (enable.idempotence, acks=all) producer with its own delivery-report polling
// thread. Produce() is thread-safe and never blocks; every queued message gets exactly one
// report through its tracker (success, or failure after delivery_timeout at the latest).
class Producer {
public:
    using Header = std::pair<std::string, std::string>;

    Producer(const KafkaSettings& settings, const ProducerOptions& options,
             MetricsRegistry* metrics);
    ~Producer();
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    ProduceStatus Produce(std::string_view topic, std::string_view key, std::string_view value,
                          const std::vector<Header>& headers,
                          const std::shared_ptr<DeliveryTracker>& tracker, std::string* error);

    // Waits for everything queued to be delivered (or to fail); false on timeout.
    bool Flush(std::chrono::milliseconds timeout);

    // True when the last background probe reached a broker (always true when probing is off
    // and no all-brokers-down event was seen).
    bool BrokersReachable() const { return reachable_.load(std::memory_order_relaxed); }
    std::string LastBrokerError() const;

    int64_t QueueLength() const { return producer_->outq_len(); }
    RdKafka::Producer& Handle() { return *producer_; }

private:
    class Callbacks;
    void PollLoop();
    void ProbeLoop();

    std::unique_ptr<Callbacks> callbacks_;
    std::unique_ptr<RdKafka::Producer> producer_;
    std::chrono::milliseconds health_interval_;
    std::atomic<bool> reachable_{true};
    std::atomic<bool> stopping_{false};
    mutable std::mutex error_mutex_;
    std::string last_broker_error_;
    std::mutex probe_mutex_;
    std::condition_variable probe_wakeup_;
    std::thread poll_thread_;
    std::thread probe_thread_;
};

}  // namespace tributary::common::kafka
