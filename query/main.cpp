// tributary-query: the query API over PostgreSQL. Wires configuration, migrations and routes.
#include "common/auth/http_gate.hpp"
#include "common/backoff.hpp"
#include "common/config.hpp"
#include "common/http/server.hpp"
#include "common/http_util.hpp"
#include "common/logging.hpp"
#include "common/redis/redis_client.hpp"
#include "common/signals.hpp"
#include "console/docs_routes.hpp"
#include "storage/key_repository.hpp"
#include "storage/migrations.hpp"
#include "common/kafka/config.hpp"
#include "query/admin_routes.hpp"
#include "query/alerts/alert_routes.hpp"
#include "query/alerts/delivery.hpp"
#include "query/alerts/evaluator.hpp"
#include "query/alerts/platform_source.hpp"
#include "query/query_service.hpp"
#include "query/segment_builder.hpp"

#include <pqxx/pqxx>

#include <iostream>
#include <thread>

using namespace tributary;

namespace tributary::query {
const std::vector<std::pair<std::string_view, std::string_view>>& EmbeddedQueryOpenApi();
}

int main() {
    common::ShutdownSignals signals;
    std::string database_url;
    std::string host;
    int port = 8001;
    int threads = 16;
    int pool_size = 8;
    query::QueryLimits query_limits;
    bool segments = true;
    query::SegmentBuilderConfig segment_config;
    common::LogConfig log_config;
    std::string redis_url = "redis://127.0.0.1:6379/0";  // shared rate-limit buckets
    common::auth::GateConfig gate_config;
    common::http::ServerOptions http_options;
    query::alerts::EvaluatorConfig alerts_config;
    query::alerts::DeliveryConfig delivery_config;
    query::alerts::AlertRoutesConfig alert_routes_config;
    // Platform alert metrics (consumer lag, dead letters) read Kafka when it is configured.
    std::optional<common::kafka::KafkaSettings> kafka_settings;
    std::string subscriber_group = "tributary-subscriber";
    try {
        common::EnvReader env;
        database_url = env.RequiredString("DATABASE_URL");
        host = env.String("QUERY_HOST", "0.0.0.0");
        port = env.Port("QUERY_PORT", port);
        threads = static_cast<int>(env.Int("QUERY_HTTP_THREADS", threads, 1, 1024));
        pool_size = static_cast<int>(env.Int("QUERY_DB_POOL", pool_size, 1, 256));
        query_limits = query::ReadQueryLimits(env, static_cast<size_t>(pool_size));
        segments = env.Bool("ANALYTICS_SEGMENTS", segments);
        segment_config.seal_after = std::chrono::seconds(env.Int(
            "ANALYTICS_SEAL_AFTER_S", segment_config.seal_after.count(), 0, 30 * 86400));
        segment_config.scan_interval = std::chrono::seconds(env.Int(
            "ANALYTICS_SEGMENT_SCAN_S", segment_config.scan_interval.count(), 1, 86400));
        redis_url = env.String("REDIS_URL", redis_url);
        if (std::string error; !common::redis::ParseRedisUrl(redis_url, &error)) {
            env.AddProblem("REDIS_URL='" + common::RedactUrl(redis_url) + "' is invalid: " + error);
        }
        gate_config = common::auth::ReadGateConfig(env);
        http_options = common::http::ReadServerOptions(
            env, {.worker_threads = threads, .max_body_bytes = 1024 * 1024});
        log_config = common::ReadLogConfig(env);
        alerts_config.enabled = env.Bool("ALERTS_ENABLED", alerts_config.enabled);
        alerts_config.interval = std::chrono::seconds(
            env.Int("ALERTS_INTERVAL_S", alerts_config.interval.count(), 1, 3600));
        alert_routes_config.max_rules_per_tenant = static_cast<size_t>(env.Int(
            "ALERTS_MAX_RULES_PER_TENANT",
            static_cast<int64_t>(alert_routes_config.max_rules_per_tenant), 1, 100000));
        delivery_config = query::alerts::ReadDeliveryConfig(env);
        if (!env.String("KAFKA_BOOTSTRAP_SERVERS", "").empty()) {
            kafka_settings = common::kafka::ReadKafkaSettings(env);
        }
        subscriber_group = env.String("SUBSCRIBER_GROUP_ID", subscriber_group);
        env.ThrowIfInvalid();
    } catch (const common::ConfigError& e) {
        std::cerr << "tributary-query: " << e.what() << "\n";
        return 2;
    }
    common::InitLogging(log_config);
    const auto log = common::GetLogger("query");
    try {
        common::MetricsRegistry metrics;
        query::DbPool pool(database_url, static_cast<size_t>(pool_size),
                                       query_limits.timeout);
        query::QueryService service(pool, query_limits);
        std::atomic<bool> migrated{false};
        common::http::Server server(http_options, metrics, "query");
        // Who calls is decided in one place: the gate (API key -> tenant, scope, rate limit).
        storage::PgKeyLookup key_lookup(database_url);
        common::auth::Authenticator authenticator(&key_lookup, gate_config.auth, metrics);
        common::auth::RateLimiter limiter(common::redis::ParseRedisUrl(redis_url, nullptr), metrics);
        common::auth::HttpGate gate(authenticator, limiter, gate_config.rates);
        storage::KeyRepository keys(database_url);
        query::RegisterQueryRoutes(server, service, metrics, gate.RequestGate());
        query::RegisterAdminRoutes(server, keys, gate.RequestGate());
        query::alerts::RegisterAlertRoutes(server, pool, gate.RequestGate(), alert_routes_config);
        common::AddOperationalRoutes(
            server, metrics,
            [&]() -> std::string {
                if (!migrated.load()) return "database migrations not applied yet";
                return service.CheckDatabase();
            },
            std::string(query::EmbeddedQueryOpenApi().front().second));
        docs::AddDocsRoutes(server);  // GET /docs: the OpenAPI document, rendered
        if (server.Bind(host, port) < 0) {
            log->critical("cannot listen on {}:{}", host, port);
            return 1;
        }
        std::thread http_thread([&] { server.Run(); });
        log->info("query API listening on {}:{} (database {})", host, port,
                  common::RedactUrl(database_url));
        // The query API may start before the subscriber: it applies the same migrations (the
        // advisory lock makes that safe) so its tables exist.
        common::Backoff backoff(std::chrono::milliseconds(200), std::chrono::seconds(5));
        while (!signals.Requested() && !migrated.load()) {
            try {
                pqxx::connection connection(database_url);
                storage::ApplyMigrations(connection);
                migrated.store(true);
            } catch (const std::exception& e) {
                log->warn("database not ready ({})", e.what());
                signals.WaitFor(backoff.Next());
            }
        }
        // Day segments (funnels, partial-day user distributions) are built in the background
        // once the schema exists; queries answer exactly from raw rows until then.
        query::SegmentBuilder segment_builder(database_url, segment_config, metrics);
        std::thread segment_thread;
        if (segments && migrated.load()) {
            segment_thread = std::thread([&] { segment_builder.Run(signals); });
        }
        // Alerts: every process delivers the outbox; the one holding the lock evaluates.
        std::unique_ptr<query::alerts::PlatformSource> platform;
        if (kafka_settings) {
            platform = std::make_unique<query::alerts::KafkaPlatformSource>(*kafka_settings,
                                                                          subscriber_group);
        }
        query::alerts::Evaluator evaluator(database_url, alerts_config, metrics, platform.get());
        query::alerts::CurlSender sender(delivery_config);
        query::alerts::DeliveryWorkers delivery(database_url, delivery_config, sender, metrics);
        std::thread evaluator_thread;
        std::thread delivery_thread;
        if (alerts_config.enabled && migrated.load()) {
            evaluator_thread = std::thread([&] { evaluator.Run(signals); });
            delivery_thread = std::thread([&] { delivery.Run(signals); });
        }
        signals.Wait();
        log->info("shutting down");
        server.Stop();
        http_thread.join();
        if (segment_thread.joinable()) segment_thread.join();
        if (evaluator_thread.joinable()) evaluator_thread.join();
        if (delivery_thread.joinable()) delivery_thread.join();
        return 0;
    } catch (const std::exception& e) {
        log->critical("query API failed: {}", e.what());
        return 1;
    }
}
