// tributary-publisher: HTTP ingestion -> Kafka. Wires configuration, the producer and the
// HTTP server; all logic lives in the tributary_publisher library.
#include "common/auth/http_gate.hpp"
#include "common/http/server.hpp"
#include "common/http_util.hpp"
#include "common/kafka/admin.hpp"
#include "common/kafka/producer.hpp"
#include "common/logging.hpp"
#include "common/signals.hpp"
#include "console/docs_routes.hpp"
#include "publisher/config.hpp"
#include "publisher/ingest_service.hpp"
#include "publisher/kafka_event_sink.hpp"
#include "publisher/routes.hpp"
#include "storage/key_repository.hpp"

#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

using namespace tributary;

int main() {
    common::ShutdownSignals signals;  // block SIGTERM/SIGINT before any thread starts
    publisher::PublisherConfig config;
    try {
        common::EnvReader env;
        config = publisher::LoadPublisherConfig(env);
    } catch (const common::ConfigError& e) {
        std::cerr << "tributary-publisher: " << e.what() << "\n";
        return 2;
    }
    common::InitLogging(config.log);
    const auto log = common::GetLogger("publisher");
    try {
        common::MetricsRegistry metrics;
        common::kafka::ProducerOptions options;
        options.delivery_timeout = config.delivery_timeout;
        options.linger = config.linger;
        options.client_id = "tributary-publisher";
        common::kafka::Producer producer(config.kafka, options, &metrics);
        metrics.AddCallbackGauge("tributary_kafka_producer_queue_messages",
                                 "Messages waiting in the producer's local queue",
                                 [&producer] { return static_cast<double>(producer.QueueLength()); });

        std::atomic<bool> topics_ready{!config.create_topics};
        std::thread topic_thread;
        if (config.create_topics) {
            // Topic creation retries in the background so the process starts (and reports
            // not-ready) while Kafka is still coming up.
            topic_thread = std::thread([&] {
                for (int attempt = 0; !signals.Requested(); ++attempt) {
                    try {
                        common::kafka::EnsureTopics(producer.Handle(), common::kafka::ContractTopics(config.kafka.topic_prefix),
                                                    config.kafka.topic_partitions,
                                                    config.kafka.replication_factor,
                                                    std::chrono::seconds(5));
                        topics_ready.store(true);
                        log->info("topics ready");
                        return;
                    } catch (const common::kafka::KafkaError& e) {
                        log->warn("ensuring topics failed (attempt {}): {}", attempt + 1, e.what());
                        signals.WaitFor(std::chrono::seconds(2));
                    }
                }
            });
        }

        publisher::KafkaEventSink sink(producer, config.delivery_timeout);
        publisher::IngestService service(sink, config.limits, metrics, config.kafka.topic_prefix);
        // The Segment-compatible routes: the same use case with Segment's rules.
        const publisher::segment::Limits segment_limits;
        publisher::IngestService segment_service(
            sink, publisher::SegmentValidationLimits(config.limits, segment_limits), metrics,
            config.kafka.topic_prefix);
        // API keys live in PostgreSQL; without DATABASE_URL only the anonymous tenant exists.
        std::unique_ptr<storage::PgKeyLookup> key_lookup;
        if (!config.database_url.empty()) {
            key_lookup = std::make_unique<storage::PgKeyLookup>(config.database_url);
        }
        common::auth::Authenticator authenticator(key_lookup.get(), config.gate.auth, metrics);
        common::auth::RateLimiter limiter(common::redis::ParseRedisUrl(config.redis_url, nullptr),
                                          metrics);
        // The largest native batch must fit in every key's bucket. Segment batches may hold up
        // to 2,500 messages, but the SDKs send far fewer (analytics-node 15, the Python SDK
        // 100); the floor is not raised for them, so that small limits stay small.
        config.gate.rates.min_ingest_burst = static_cast<double>(config.limits.max_batch_events);
        common::auth::HttpGate gate(authenticator, limiter, config.gate.rates);
        common::http::Server server(config.http, metrics, "publisher");
        publisher::RegisterSegmentRoutes(server, segment_service, gate, segment_limits);
        publisher::RegisterRoutes(server, service, gate, metrics, [&]() -> std::string {
            if (!topics_ready.load()) return "topics not created yet";
            return sink.Unavailable();
        });
        docs::AddDocsRoutes(server);  // GET /docs: the OpenAPI document, rendered
        if (server.Bind(config.host, config.port) < 0) {
            log->critical("cannot listen on {}:{}", config.host, config.port);
            signals.Trigger();
            if (topic_thread.joinable()) topic_thread.join();
            return 1;
        }
        std::thread http_thread([&] { server.Run(); });
        log->info("publisher listening on {}:{} (kafka {})", config.host, config.port,
                  config.kafka.bootstrap_servers);

        signals.Wait();
        log->info("shutting down: finishing in-flight requests and flushing Kafka");
        server.Stop();  // stops accepting; requests being handled are answered first
        http_thread.join();
        if (topic_thread.joinable()) topic_thread.join();
        if (!producer.Flush(std::chrono::seconds(15))) {
            log->error("flush timed out; {} messages still queued", producer.QueueLength());
        }
        log->info("publisher stopped");
        return 0;
    } catch (const std::exception& e) {
        log->critical("publisher failed: {}", e.what());
        return 1;
    }
}
