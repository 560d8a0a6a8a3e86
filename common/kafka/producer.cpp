#include "common/kafka/producer.hpp"

#include "common/logging.hpp"

#include <map>

namespace tributary::common::kafka {

void DeliveryTracker::Report(bool ok, const std::string& error, int32_t, int64_t) {
    std::lock_guard lock(mutex_);
    if (!ok) {
        if (failed_++ == 0) first_error_ = error;
    }
    if (remaining_ > 0 && --remaining_ == 0) done_.notify_all();
}

void DeliveryTracker::Abandon(size_t count, const std::string& error) {
    std::lock_guard lock(mutex_);
    if (failed_ == 0) first_error_ = error;
    failed_ += count;
    remaining_ = remaining_ > count ? remaining_ - count : 0;
    if (remaining_ == 0) done_.notify_all();
}

bool DeliveryTracker::Wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, timeout, [this] { return remaining_ == 0; });
}

size_t DeliveryTracker::FailedCount() const {
    std::lock_guard lock(mutex_);
    return failed_;
}

std::string DeliveryTracker::FirstError() const {
    std::lock_guard lock(mutex_);
    return first_error_;
}

class Producer::Callbacks final : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
public:
    Callbacks(Producer& owner, MetricsRegistry* metrics) : owner_(owner) {
        if (metrics != nullptr) {
            delivered_ = &metrics->GetCounter("tributary_kafka_messages_delivered_total",
                                              "Messages acknowledged by Kafka");
            failed_ = &metrics->GetCounter("tributary_kafka_messages_failed_total",
                                           "Messages whose delivery failed");
        }
    }

    void dr_cb(RdKafka::Message& message) override {
        auto* holder = static_cast<std::shared_ptr<DeliveryTracker>*>(message.msg_opaque());
        const bool ok = message.err() == RdKafka::ERR_NO_ERROR;
        if (ok) {
            if (delivered_) delivered_->Inc();
        } else if (failed_) {
            failed_->Inc();
        }
        if (holder != nullptr) {
            (*holder)->Report(ok, ok ? std::string() : message.errstr(), message.partition(),
                              message.offset());
            delete holder;
        }
    }

    void event_cb(RdKafka::Event& event) override {
        static const auto log = GetLogger("kafka");
        switch (event.type()) {
            case RdKafka::Event::EVENT_ERROR:
                if (Repeated(static_cast<int>(event.err()))) {
                    if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) owner_.reachable_.store(false);
                    break;
                }
                if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) {
                    owner_.reachable_.store(false);
                }
                {
                    std::lock_guard lock(owner_.error_mutex_);
                    owner_.last_broker_error_ = RdKafka::err2str(event.err()) + ": " + event.str();
                }
                if (event.fatal()) {
                    log->critical("fatal producer error: {} ({})", event.str(),
                                  RdKafka::err2str(event.err()));
                } else {
                    log->warn("producer error: {} ({})", event.str(), RdKafka::err2str(event.err()));
                }
                break;
            case RdKafka::Event::EVENT_LOG:
                // Connection failures are reported once more as EVENT_ERROR; the log line
                // would only double them.
                if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING && event.fac() != "FAIL") {
                    log->warn("librdkafka {}: {}", event.fac(), event.str());
                }
                break;
            default:
                break;
        }
    }

private:
    // True when the same error was logged less than 10 s ago: an outage logs once per 10 s,
    // not once per reconnect attempt. Called from librdkafka's threads, hence the atomics.
    bool Repeated(int code) {
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
        std::lock_guard lock(throttle_mutex_);
        int64_t& last = last_logged_ms_[code];
        if (last != 0 && now - last < 10000) return true;
        last = now;
        return false;
    }

    Producer& owner_;
    std::mutex throttle_mutex_;
    std::map<int, int64_t> last_logged_ms_;
    Counter* delivered_ = nullptr;
    Counter* failed_ = nullptr;
};

Producer::Producer(const KafkaSettings& settings, const ProducerOptions& options,
                   MetricsRegistry* metrics)
    : callbacks_(std::make_unique<Callbacks>(*this, metrics)),
      health_interval_(options.health_interval) {
    std::map<std::string, std::string> properties = {
        {"bootstrap.servers", settings.bootstrap_servers},
        {"client.id", options.client_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", std::to_string(options.linger.count())},
        {"message.timeout.ms", std::to_string(options.delivery_timeout.count())},
        {"queue.buffering.max.messages", std::to_string(options.queue_max_messages)},
        {"queue.buffering.max.kbytes", "1048576"},
        {"batch.num.messages", "10000"},
        {"compression.type", options.compression},
        {"socket.keepalive.enable", "true"},
        {"reconnect.backoff.max.ms", "1000"},
    };
    for (const auto& [key, value] : settings.extra) properties[key] = value;
    auto conf = MakeConf(properties);
    std::string error;
    if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(callbacks_.get()), error) !=
            RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(callbacks_.get()), error) !=
            RdKafka::Conf::CONF_OK) {
        throw KafkaError("cannot install producer callbacks: " + error, false);
    }
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (!producer_) throw KafkaError("cannot create Kafka producer: " + error, false);
    poll_thread_ = std::thread([this] { PollLoop(); });
    if (health_interval_.count() > 0) probe_thread_ = std::thread([this] { ProbeLoop(); });
}

Producer::~Producer() {
    // Deliver what is in flight before tearing down; every tracker then has its reports.
    producer_->flush(10000);
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    stopping_.store(true);
    probe_wakeup_.notify_all();
    if (probe_thread_.joinable()) probe_thread_.join();
    if (poll_thread_.joinable()) poll_thread_.join();
    producer_->poll(0);  // serve the purge reports
}

void Producer::PollLoop() {
    while (!stopping_.load(std::memory_order_relaxed)) producer_->poll(50);
}

void Producer::ProbeLoop() {
    static const auto log = GetLogger("kafka");
    int failures = 0;
    while (!stopping_.load()) {
        RdKafka::Metadata* metadata = nullptr;
        const auto err = producer_->metadata(true, nullptr, &metadata, 2000);
        std::unique_ptr<RdKafka::Metadata> owned(metadata);
        const bool answered = err == RdKafka::ERR_NO_ERROR && owned && !owned->brokers()->empty();
        failures = answered ? 0 : failures + 1;
        // One failed request is not an outage: in a cluster it may have gone to the broker that
        // just died while the others serve. Ask again at once; only a second failure in a row
        // marks Kafka unreachable (and makes the publisher answer 503).
        if (failures == 1 && reachable_.load()) continue;
        const bool ok = failures == 0;
        const bool was = reachable_.exchange(ok);
        if (was != ok) {
            if (ok) {
                log->info("Kafka reachable again");
            } else {
                log->warn("Kafka unreachable: {}", RdKafka::err2str(err));
                std::lock_guard lock(error_mutex_);
                last_broker_error_ = RdKafka::err2str(err);
            }
        }
        std::unique_lock lock(probe_mutex_);
        probe_wakeup_.wait_for(lock, health_interval_, [this] { return stopping_.load(); });
    }
}

std::string Producer::LastBrokerError() const {
    std::lock_guard lock(error_mutex_);
    return last_broker_error_;
}

ProduceStatus Producer::Produce(std::string_view topic, std::string_view key,
                                std::string_view value, const std::vector<Header>& headers,
                                const std::shared_ptr<DeliveryTracker>& tracker,
                                std::string* error) {
    RdKafka::Headers* kafka_headers = nullptr;
    if (!headers.empty()) {
        kafka_headers = RdKafka::Headers::create();
        for (const auto& [name, content] : headers) kafka_headers->add(name, content);
    }
    auto* holder = tracker ? new std::shared_ptr<DeliveryTracker>(tracker) : nullptr;
    const auto err = producer_->produce(
        std::string(topic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, kafka_headers,
        holder);
    if (err == RdKafka::ERR_NO_ERROR) return ProduceStatus::kQueued;
    delete kafka_headers;  // ownership passes to librdkafka only on success
    delete holder;
    if (error != nullptr) *error = RdKafka::err2str(err);
    return err == RdKafka::ERR__QUEUE_FULL ? ProduceStatus::kQueueFull : ProduceStatus::kFailed;
}

bool Producer::Flush(std::chrono::milliseconds timeout) {
    return producer_->flush(static_cast<int>(timeout.count())) == RdKafka::ERR_NO_ERROR;
}

}  // namespace tributary::common::kafka
