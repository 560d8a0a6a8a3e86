// tributary-raw-producer: the Kafka ceiling. A plain librdkafka (C API) producer sending the
// same envelopes the publisher writes (same event generator, same envelope fields) with the
// publisher's producer settings (enable.idempotence, acks=all, linger.ms, lz4,
// batch.num.messages, queue sizes), as fast as the client and broker allow, for a fixed time.
// Counts delivery reports; prints one JSON object. With --messages it also serves to fill a
// topic with a backlog of valid envelopes for the subscriber to drain. With --rate it sends at a
// fixed rate instead (open loop, one message at a time like single-event requests) and reports
// each message's delivery latency, measured from its scheduled send time: the latency floor of
// the single-event scenario at the same rate.

#include "bench/event_gen.hpp"

#include <librdkafka/rdkafka.h>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string bootstrap = "127.0.0.1:9092";
    std::string topic = "bench.raw.analytics.events";
    std::string kind = "analytics";
    int partitions = 6;
    double duration_s = 10;
    uint64_t messages = 0;  // stop after this many (0: run for duration_s)
    size_t event_bytes = 250;
    int linger_ms = 5;
    std::string compression = "lz4";
    std::string prefix = "raw";
    std::string acks = "all";
    bool idempotence = true;
    double rate = 0;  // messages/s, open loop; 0: as fast as possible
};

[[noreturn]] void Usage(const std::string& problem) {
    std::cerr << "tributary-raw-producer: " << problem << "\n"
              << "usage: tributary-raw-producer --bootstrap HOST:PORT --topic T [--kind analytics|chemical]\n"
                 "  [--partitions N] [--duration S | --messages N] [--event-bytes B] [--linger-ms MS]\n"
                 "  [--compression C] [--acks A] [--no-idempotence] [--prefix P] [--rate MSGS_PER_S]\n";
    std::exit(2);
}

Options ParseOptions(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) Usage(arg + " needs a value");
            return argv[++i];
        };
        try {
            if (arg == "--bootstrap") o.bootstrap = value();
            else if (arg == "--topic") o.topic = value();
            else if (arg == "--kind") o.kind = value();
            else if (arg == "--partitions") o.partitions = std::stoi(value());
            else if (arg == "--duration") o.duration_s = std::stod(value());
            else if (arg == "--messages") o.messages = std::stoull(value());
            else if (arg == "--event-bytes") o.event_bytes = std::stoul(value());
            else if (arg == "--linger-ms") o.linger_ms = std::stoi(value());
            else if (arg == "--compression") o.compression = value();
            else if (arg == "--acks") o.acks = value();
            else if (arg == "--no-idempotence") o.idempotence = false;
            else if (arg == "--prefix") o.prefix = value();
            else if (arg == "--rate") o.rate = std::stod(value());
            else Usage("unknown option " + arg);
        } catch (const std::logic_error&) {
            Usage("bad value for " + arg);
        }
    }
    if (o.rate < 0) Usage("--rate must be >= 0");
    return o;
}

struct Counters {
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> failed{0};
    std::string first_error;
    // --rate: delivery latencies (ms) from each message's scheduled send time, which travels
    // as the message's opaque (ns after `start`). Written only by the poll thread.
    Clock::time_point start;
    std::vector<double> latencies_ms;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* counters = static_cast<Counters*>(opaque);
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        counters->delivered.fetch_add(1, std::memory_order_relaxed);
        if (message->_private != nullptr) {
            const auto scheduled = counters->start + std::chrono::nanoseconds(
                                                         reinterpret_cast<uintptr_t>(message->_private));
            counters->latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - scheduled).count());
        }
    } else {
        if (counters->failed.fetch_add(1) == 0) counters->first_error = rd_kafka_err2str(message->err);
    }
}

void Set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
    char error[512];
    if (rd_kafka_conf_set(conf, key, value.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK) {
        std::cerr << "tributary-raw-producer: " << key << ": " << error << "\n";
        std::exit(1);
    }
}

// Creates the topic when missing (the benchmark's brokers do not auto-create).
void EnsureTopic(rd_kafka_t* rk, const Options& o) {
    char error[512];
    rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, 1, error, sizeof(error));
    if (topic == nullptr) {
        std::cerr << "tributary-raw-producer: " << error << "\n";
        std::exit(1);
    }
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, 10000, error, sizeof(error));
    rd_kafka_CreateTopics(rk, &topic, 1, options, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 15000);
    if (event == nullptr) {
        std::cerr << "tributary-raw-producer: topic creation timed out\n";
        std::exit(1);
    }
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &count);
    for (size_t i = 0; i < count; ++i) {
        const auto err = rd_kafka_topic_result_error(topics[i]);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            std::cerr << "tributary-raw-producer: cannot create " << o.topic << ": "
                      << rd_kafka_err2str(err) << "\n";
            std::exit(1);
        }
    }
    rd_kafka_event_destroy(event);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_queue_destroy(queue);
    rd_kafka_NewTopic_destroy(topic);
}

std::string NowRfc3339() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[40];
    std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
    char out[64];
    std::snprintf(out, sizeof(out), "%s.%06lldZ", buffer, static_cast<long long>(micros));
    return out;
}

// The envelope the publisher writes: {"event_id","payload","received_at","schema_version",
// "tenant_id","type"} with the event (plus its normalized timestamp) as payload.
void AppendEnvelope(std::string& out, const Options& o, uint64_t seq, const std::string& now,
                    std::string& scratch) {
    scratch.clear();
    if (o.kind == "analytics") {
        tributary::bench::AppendAnalyticsEvent(scratch, o.prefix, seq, o.event_bytes, 0);
    } else {
        tributary::bench::AppendChemicalRecord(scratch, o.prefix, seq, o.event_bytes, 0);
    }
    scratch.pop_back();  // reopen the event object to add the timestamp, as the publisher does
    scratch += R"(,"timestamp":")";
    scratch += now;
    scratch += "\"}";
    out += R"({"event_id":")";
    tributary::bench::AppendEventId(out, o.prefix, seq);
    out += R"(","payload":)";
    out += scratch;
    out += R"(,"received_at":")";
    out += now;
    out += R"(","schema_version":1,"tenant_id":"default","type":")";
    out += o.kind == "analytics" ? "user_analytics" : "chemical_research";
    out += "\"}";
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = ParseOptions(argc, argv);
    Counters counters;
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    Set(conf, "bootstrap.servers", o.bootstrap);
    Set(conf, "client.id", "tributary-raw-producer");
    Set(conf, "enable.idempotence", o.idempotence ? "true" : "false");
    Set(conf, "acks", o.acks);
    Set(conf, "linger.ms", std::to_string(o.linger_ms));
    Set(conf, "message.timeout.ms", "10000");
    Set(conf, "queue.buffering.max.messages", "500000");
    Set(conf, "queue.buffering.max.kbytes", "1048576");
    Set(conf, "batch.num.messages", "10000");
    Set(conf, "compression.type", o.compression);
    rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
    rd_kafka_conf_set_opaque(conf, &counters);
    char error[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    if (rk == nullptr) {
        std::cerr << "tributary-raw-producer: " << error << "\n";
        return 1;
    }
    EnsureTopic(rk, o);
    rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);

    std::string value;
    std::string scratch;
    std::string key;
    std::string now = NowRfc3339();
    uint64_t produced = 0;
    uint64_t queue_full = 0;
    uint64_t bytes = 0;
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    const auto start = Clock::now();
    counters.start = start;
    const auto stop = start + std::chrono::duration<double>(o.duration_s);
    // --rate: delivery reports are served at once by a poll thread, as in the publisher.
    std::atomic<bool> polling{o.rate > 0};
    std::thread poller;
    if (o.rate > 0) {
        counters.latencies_ms.reserve(static_cast<size_t>(o.rate * o.duration_s) + 1024);
        poller = std::thread([&] {
            while (polling.load()) rd_kafka_poll(rk, 10);
        });
    }
    void* scheduled_ns = nullptr;
    while (o.messages == 0 || produced < o.messages) {
        if (o.rate > 0) {
            const auto scheduled = start + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(
                                                   static_cast<double>(produced) / o.rate));
            if (scheduled >= stop) break;
            std::this_thread::sleep_until(scheduled);
            // +1: a message scheduled at `start` must not look like one without a schedule.
            scheduled_ns = reinterpret_cast<void*>(static_cast<uintptr_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(scheduled - start).count() + 1));
            if ((produced & 1023) == 0) now = NowRfc3339();
        } else if ((produced & 1023) == 0) {
            if (o.messages == 0 && Clock::now() >= stop) break;
            now = NowRfc3339();
            rd_kafka_poll(rk, 0);
        }
        value.clear();
        AppendEnvelope(value, o, produced, now, scratch);
        key = "user_" + std::to_string((produced * 7919) % tributary::bench::kUsers);
        while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value.data(),
                                value.size(), key.data(), key.size(), scheduled_ns) != 0) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                std::cerr << "tributary-raw-producer: produce failed: "
                          << rd_kafka_err2str(rd_kafka_last_error()) << "\n";
                return 1;
            }
            ++queue_full;
            if (o.rate > 0) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            } else {
                rd_kafka_poll(rk, 1);
            }
        }
        bytes += value.size();
        ++produced;
    }
    const auto produced_at = Clock::now();
    if (o.rate > 0) {
        // Let the poll thread serve the remaining reports, then stop it.
        for (int i = 0; i < 3000 && rd_kafka_outq_len(rk) > 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        polling.store(false);
        poller.join();
    }
    rd_kafka_flush(rk, 30000);
    const auto done = Clock::now();
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    const double seconds = std::chrono::duration<double>(done - start).count();
    const auto cpu = [](const timeval& a, const timeval& b) {
        return static_cast<double>(b.tv_sec - a.tv_sec) + static_cast<double>(b.tv_usec - a.tv_usec) / 1e6;
    };
    nlohmann::json report = {
        {"topic", o.topic},
        {"kind", o.kind},
        {"acks", o.acks},
        {"idempotence", o.idempotence},
        {"linger_ms", o.linger_ms},
        {"compression", o.compression},
        {"event_bytes", o.event_bytes},
        {"messages_produced", produced},
        {"messages_delivered", counters.delivered.load()},
        {"messages_failed", counters.failed.load()},
        {"first_error", counters.first_error},
        {"queue_full_retries", queue_full},
        {"avg_value_bytes", produced ? static_cast<double>(bytes) / static_cast<double>(produced) : 0.0},
        {"produce_s", std::chrono::duration<double>(produced_at - start).count()},
        {"elapsed_s", seconds},
        {"messages_per_s", static_cast<double>(counters.delivered.load()) / seconds},
        {"mb_per_s", static_cast<double>(bytes) / seconds / 1e6},
        {"cpu_s", {{"user", cpu(before.ru_utime, after.ru_utime)}, {"sys", cpu(before.ru_stime, after.ru_stime)}}},
    };
    if (o.rate > 0) {
        auto& l = counters.latencies_ms;
        std::sort(l.begin(), l.end());
        const auto at = [&l](double q) {
            return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<size_t>(q * static_cast<double>(l.size())))];
        };
        report["target_rate"] = o.rate;
        report["messages_per_s"] = static_cast<double>(produced) / o.duration_s;
        report["latency_ms"] = {{"p50", at(0.50)}, {"p90", at(0.90)}, {"p99", at(0.99)},
                                {"p999", at(0.999)}, {"max", l.empty() ? 0.0 : l.back()},
                                {"samples", l.size()}};
    }
    std::cout << report.dump() << std::endl;
    rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(rk);
    return counters.failed.load() == 0 ? 0 : 1;
}
