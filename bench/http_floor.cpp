// tributary-http-floor: the HTTP layer alone, as a ceiling for the single-event scenario.
//
// The publisher's HTTP server set up as the publisher sets it up (common::http::Server: same
// event loop, worker pool, deadlines, per-route metrics; the operational routes), with one
// route on the publisher's path that
// receives the body and answers 202 with a small JSON body — no validation, no Kafka. Optionally it waits
// --wait-us microseconds before answering, on the request's thread like the publisher waiting
// for its delivery report, to separate the cost of the wait from the cost of the work.
//
// With --kafka BOOTSTRAP it also writes --events-per-request copies of a fixed envelope
// (~440 bytes, the publisher's size, keys spread over users) to PREFIXanalytics.events per
// request through the publisher's own producer and sink (same settings, waits for every
// delivery report) before answering: the publisher's HTTP + Kafka path with no JSON work at
// all, i.e. the ceiling a faster parser or validator could approach.
//
// Usage: tributary-http-floor --port P [--threads N] [--wait-us U]
//                             [--kafka BOOTSTRAP [--topic-prefix P] [--events-per-request N]]
// Runs until SIGTERM/SIGINT.
#include "common/http/server.hpp"
#include "common/http_util.hpp"
#include "common/kafka/admin.hpp"
#include "common/kafka/producer.hpp"
#include "common/metrics.hpp"
#include "common/signals.hpp"
#include "publisher/kafka_event_sink.hpp"

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    using namespace tributary;
    common::ShutdownSignals signals;
    int port = 0, threads = 272;
    long wait_us = 0;
    int events_per_request = 1;
    std::string bootstrap, topic_prefix = "floor.";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--port") {
            port = std::atoi(argv[i + 1]);
        } else if (arg == "--threads") {
            threads = std::atoi(argv[i + 1]);
        } else if (arg == "--wait-us") {
            wait_us = std::atol(argv[i + 1]);
        } else if (arg == "--kafka") {
            bootstrap = argv[i + 1];
        } else if (arg == "--topic-prefix") {
            topic_prefix = argv[i + 1];
        } else if (arg == "--events-per-request") {
            events_per_request = std::atoi(argv[i + 1]);
        } else {
            std::cerr << "usage: tributary-http-floor --port P [--threads N] [--wait-us U] [--kafka "
                         "BOOTSTRAP [--topic-prefix P] [--events-per-request N]]\n";
            return 2;
        }
    }
    if (port <= 0 || threads <= 0 || wait_us < 0 || events_per_request <= 0) {
        std::cerr << "tributary-http-floor: --port, --threads and --events-per-request must be "
                     "> 0, --wait-us >= 0\n";
        return 2;
    }
    common::MetricsRegistry metrics;
    std::unique_ptr<common::kafka::Producer> producer;
    std::unique_ptr<publisher::KafkaEventSink> sink;
    std::string topic;
    std::string envelope;
    if (!bootstrap.empty()) {
        common::kafka::KafkaSettings settings;
        settings.bootstrap_servers = bootstrap;
        settings.topic_prefix = topic_prefix;
        common::kafka::ProducerOptions options;  // the publisher's defaults
        options.client_id = "tributary-http-floor";
        producer = std::make_unique<common::kafka::Producer>(settings, options, &metrics);
        common::kafka::EnsureTopics(producer->Handle(), common::kafka::ContractTopics(topic_prefix),
                                    settings.topic_partitions, settings.replication_factor,
                                    std::chrono::seconds(10));
        sink = std::make_unique<publisher::KafkaEventSink>(*producer, options.delivery_timeout);
        topic = settings.Topic("analytics.events");
        envelope = R"({"event_id":"floor","payload":{"event_type":"page_view","user_id":"user_1",)"
                   R"("timestamp":"2026-11-22T12:00:00.000000Z","properties":{"page":"/home"}},)"
                   R"("received_at":"2026-11-22T12:00:00.000000Z","schema_version":1,)"
                   R"("tenant_id":"default","type":"user_analytics"})";
        envelope.append(440 - std::min<size_t>(440, envelope.size()), ' ');
    }
    common::http::Server server({.worker_threads = threads}, metrics, "http-floor");
    const auto accept = [&, wait_us](const httplib::Request&, httplib::Response& response) {
        if (wait_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait_us));
        if (sink) {
            thread_local uint64_t sequence = 0;
            std::vector<publisher::OutgoingMessage> messages(static_cast<size_t>(events_per_request));
            for (auto& message : messages) {
                message.topic = topic;
                message.key = "user_" + std::to_string(sequence++ % 10000);
                message.value = envelope;
            }
            if (sink->Publish(messages).status != publisher::PublishStatus::kAcknowledged) {
                response.status = 503;
                return;
            }
        }
        response.status = 202;
        response.set_content(R"({"accepted":1})", "application/json");
    };
    server.Post("/api/v1/events/analytics", accept);
    common::AddOperationalRoutes(server, metrics, [] { return std::string(); }, "{}");
    if (server.Bind("127.0.0.1", port) < 0) {
        std::cerr << "tributary-http-floor: cannot listen on 127.0.0.1:" << port << "\n";
        return 1;
    }
    std::thread http([&] { server.Run(); });
    signals.Wait();
    server.Stop();
    http.join();
    return 0;
}
