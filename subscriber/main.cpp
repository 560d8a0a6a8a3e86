// tributary-subscriber: consumer-group workers, Kafka -> enrich -> PostgreSQL. Wires
// configuration, migrations, the workers and the operational HTTP endpoints.
#include "common/backoff.hpp"
#include "common/http/server.hpp"
#include "common/http_util.hpp"
#include "common/kafka/admin.hpp"
#include "common/kafka/producer.hpp"
#include "common/logging.hpp"
#include "common/signals.hpp"
#include "subscriber/config.hpp"
#include "subscriber/enrichment_factory.hpp"
#include "storage/migrations.hpp"
#include "storage/retention.hpp"
#include "subscriber/worker.hpp"

#include <pqxx/pqxx>

#include <iostream>
#include <thread>

using namespace tributary;

namespace {

// Applies migrations, retrying while PostgreSQL is not reachable yet. False if shutdown came
// first.
bool MigrateWithRetry(const std::string& database_url, common::ShutdownSignals& signals) {
    const auto log = common::GetLogger("subscriber");
    common::Backoff backoff(std::chrono::milliseconds(200), std::chrono::seconds(5));
    while (!signals.Requested()) {
        try {
            pqxx::connection connection(database_url);
            for (const auto& name : storage::ApplyMigrations(connection)) {
                log->info("applied migration {}", name);
            }
            return true;
        } catch (const std::exception& e) {
            const auto delay = backoff.Next();
            log->warn("database not ready ({}); retrying in {} ms", e.what(), delay.count());
            signals.WaitFor(delay);
        }
    }
    return false;
}

}  // namespace

int main() {
    common::ShutdownSignals signals;
    subscriber::SubscriberConfig config;
    try {
        common::EnvReader env;
        config = subscriber::LoadSubscriberConfig(env);
    } catch (const common::ConfigError& e) {
        std::cerr << "tributary-subscriber: " << e.what() << "\n";
        return 2;
    }
    common::InitLogging(config.log);
    const auto log = common::GetLogger("subscriber");
    try {
        common::MetricsRegistry metrics;
        std::atomic<bool> migrated{false};
        std::atomic<bool> stop{false};
        std::atomic<int> running_workers{0};
        std::vector<std::unique_ptr<subscriber::ConsumerWorker>> workers;

        common::http::Server server({.worker_threads = 4, .max_body_bytes = 64 * 1024}, metrics,
                                    "subscriber");
        common::AddOperationalRoutes(
            server, metrics,
            [&]() -> std::string {
                if (!migrated.load()) return "database migrations not applied yet";
                if (running_workers.load() < config.workers) return "workers starting";
                return {};
            },
            R"json({"openapi":"3.0.3","info":{"title":"Tributary subscriber (operational endpoints)","version":"1.0.0"},"paths":{"/healthz":{},"/readyz":{},"/metrics":{}}})json");
        if (server.Bind(config.host, config.port) < 0) {
            log->critical("cannot listen on {}:{}", config.host, config.port);
            return 1;
        }
        std::thread http_thread([&] { server.Run(); });
        // Gauges of the enrichment and the workers read those objects when /metrics is
        // scraped, so the server stops before they are destroyed at the end of their scope.
        const auto stop_http = [&] {
            if (!http_thread.joinable()) return;
            server.Stop();
            http_thread.join();
        };

        int exit_code = 0;
        if (MigrateWithRetry(config.database_url, signals)) {
            migrated.store(true);
            common::kafka::ProducerOptions options;
            options.client_id = "tributary-subscriber-dlq";
            common::kafka::Producer dead_letters(config.kafka, options, &metrics);
            if (config.create_topics) {
                common::Backoff backoff(std::chrono::milliseconds(500), std::chrono::seconds(5));
                while (!signals.Requested()) {
                    try {
                        common::kafka::EnsureTopics(dead_letters.Handle(),
                                                    common::kafka::ContractTopics(config.kafka.topic_prefix),
                                                    config.kafka.topic_partitions,
                                                    config.kafka.replication_factor,
                                                    std::chrono::seconds(10));
                        break;
                    } catch (const common::kafka::KafkaError& e) {
                        log->warn("ensuring topics failed: {}", e.what());
                        signals.WaitFor(backoff.Next());
                    }
                }
            }
            auto enrichment = subscriber::MakeEnrichment(config, metrics, dead_letters);
            subscriber::WorkerMetrics worker_metrics(metrics);
            std::vector<std::unique_ptr<storage::PgEventStore>> stores;
            std::vector<std::thread> threads;
            for (int i = 0; i < config.workers; ++i) {
                stores.push_back(std::make_unique<storage::PgEventStore>(
                    config.database_url, config.enrichment_max_retries,
                    config.idempotency_window_days));
                workers.push_back(std::make_unique<subscriber::ConsumerWorker>(
                    i, config, *stores.back(), dead_letters, enrichment->Enricher(),
                    worker_metrics, stop));
            }
            for (auto& worker : workers) {
                threads.emplace_back([&, w = worker.get()] {
                    running_workers.fetch_add(1);
                    try {
                        w->Run();
                    } catch (const std::exception& e) {
                        log->critical("worker failed: {}", e.what());
                        exit_code = 1;
                        signals.Trigger();
                    }
                    running_workers.fetch_sub(1);
                });
            }
            log->info("subscriber running: {} workers, group {}, kafka {}, database {}",
                      config.workers, config.group_id, config.kafka.bootstrap_servers,
                      common::RedactUrl(config.database_url));
            enrichment->Start();
            // Storage maintenance (partitions ahead, retention): at start, then every
            // RETENTION_INTERVAL_S; one process of the deployment runs it at a time.
            std::thread maintenance([&] {
                storage::RetentionJob job(config.database_url, config.retention, &metrics);
                do {
                    try {
                        job.RunOnce();
                    } catch (const std::exception& e) {
                        log->warn("storage maintenance failed (next try in {} s): {}",
                                  config.retention_interval.count(), e.what());
                    }
                } while (!signals.WaitFor(config.retention_interval));
            });
            signals.Wait();
            maintenance.join();
            log->info("shutting down: finishing batches, committing offsets, leaving the group");
            enrichment->Stop();
            stop.store(true);
            for (auto& thread : threads) thread.join();
            dead_letters.Flush(std::chrono::seconds(10));
            stop_http();
        }
        stop_http();
        log->info("subscriber stopped");
        return exit_code;
    } catch (const std::exception& e) {
        log->critical("subscriber failed: {}", e.what());
        return 1;
    }
}
