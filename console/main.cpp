// tributary-console: the Kafka-inspection JSON API, the dead-letter/trace routes, the proxy to
// the query API and the embedded web UI. Wires configuration, background samplers and routes.
#include "common/auth/http_gate.hpp"
#include "common/config.hpp"
#include "common/http/server.hpp"
#include "common/http_util.hpp"
#include "common/logging.hpp"
#include "common/redis/redis_client.hpp"
#include "common/signals.hpp"
#include "console/api_routes.hpp"
#include "console/config.hpp"
#include "console/dead_letter_routes.hpp"
#include "console/kafka_inspector.hpp"
#include "console/lag_history.hpp"
#include "console/overview.hpp"
#include "console/proxy.hpp"
#include "console/static_routes.hpp"
#include "storage/key_repository.hpp"

#include <pqxx/pqxx>

#include <iostream>
#include <thread>

using namespace tributary;

int main() {
    common::ShutdownSignals signals;
    console::ConsoleConfig config;
    common::MetricsRegistry metrics;
    std::optional<console::DeadLetterSettings> dead_letter_settings;
    try {
        common::EnvReader env;
        config = console::ReadConsoleConfig(env);
        dead_letter_settings.emplace(console::DeadLetterSettings{metrics, config.kafka, config.database_url});
        console::ReadDeadLetterSettings(env, *dead_letter_settings);
        env.ThrowIfInvalid();
    } catch (const common::ConfigError& e) {
        std::cerr << "tributary-console: " << e.what() << "\n";
        return 2;
    }
    common::InitLogging(config.log);
    const auto log = common::GetLogger("console");
    try {
        console::KafkaInspector kafka(config.kafka);
        console::LagHistory lag(console::LagHistory::CapacityFor(config.lag_sample_interval));
        console::Overview overview(kafka, lag, config.database_url);

        common::http::Server server(config.http, metrics, "console");
        // Who calls is decided exactly as on the query API: key -> tenant, scopes, rate limit.
        storage::PgKeyLookup key_lookup(config.database_url);
        common::auth::Authenticator authenticator(&key_lookup, config.gate.auth, metrics);
        common::auth::RateLimiter limiter(common::redis::ParseRedisUrl(config.redis_url, nullptr), metrics);
        common::auth::HttpGate gate(authenticator, limiter, config.gate.rates);
        const auto authorize = gate.RequestGate();

        common::AddOperationalRoutes(
            server, metrics,
            [&]() -> std::string {
                if (auto reason = kafka.CheckReachable(); !reason.empty()) return reason;
                try {
                    pqxx::connection connection(config.database_url);
                    pqxx::nontransaction tx(connection);
                    tx.exec("SELECT 1");
                } catch (const std::exception& e) {
                    return std::string("PostgreSQL: ") + e.what();
                }
                return "";
            },
            "{}");
        console::RegisterConsoleRoutes(server, {kafka, lag, overview, authorize, metrics});
        console::RegisterDeadLetterRoutes(server, authorize, std::move(*dead_letter_settings));
        console::RegisterProxyRoutes(server, config.query_url, config.proxy_timeout, metrics);
        console::RegisterStaticRoutes(server);

        if (server.Bind(config.host, config.port) < 0) {
            log->critical("cannot listen on {}:{}", config.host, config.port);
            return 1;
        }
        std::thread http_thread([&] { server.Run(); });
        log->info("console listening on {}:{} (Kafka {}, query API {})", config.host, config.port,
                  config.kafka.bootstrap_servers, config.query_url);
        const auto wait_or_stop = [&signals](std::chrono::milliseconds interval) {
            return signals.WaitFor(interval);
        };
        std::thread lag_thread([&] { console::RunLagSampler(kafka, lag, config.lag_sample_interval, wait_or_stop); });
        std::thread overview_thread([&] { overview.Run(std::chrono::seconds(2), wait_or_stop); });
        signals.Wait();
        log->info("shutting down");
        server.Stop();
        http_thread.join();
        lag_thread.join();
        overview_thread.join();
        return 0;
    } catch (const std::exception& e) {
        log->critical("console failed: {}", e.what());
        return 1;
    }
}
