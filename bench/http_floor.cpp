// tributary-http-floor: the HTTP layer alone, as a ceiling for the single-event scenario.
//
// The publisher's HTTP server set up exactly as the publisher sets it up (cpp-httplib,
// common::ConfigureServer: same pool, keep-alive, timeouts, per-route metrics logger;
// common::BindToPort), with one route on the publisher's path that reads the body and answers
// 202 with the publisher's response shape — no validation, no Kafka. Optionally it waits
// --wait-us microseconds before answering, on the request's thread like the publisher waiting
// for its delivery report, to separate the cost of the wait from the cost of the work.
//
// Usage: tributary-http-floor --port P [--threads N] [--wait-us U]
// Runs until SIGTERM/SIGINT.
#include "common/http_util.hpp"
#include "common/metrics.hpp"
#include "common/signals.hpp"

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    using namespace tributary;
    common::ShutdownSignals signals;
    int port = 0, threads = 272;
    long wait_us = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--port") {
            port = std::atoi(argv[i + 1]);
        } else if (arg == "--threads") {
            threads = std::atoi(argv[i + 1]);
        } else if (arg == "--wait-us") {
            wait_us = std::atol(argv[i + 1]);
        } else {
            std::cerr << "usage: tributary-http-floor --port P [--threads N] [--wait-us U]\n";
            return 2;
        }
    }
    if (port <= 0 || threads <= 0 || wait_us < 0) {
        std::cerr << "tributary-http-floor: --port must be > 0, --threads > 0, --wait-us >= 0\n";
        return 2;
    }
    common::MetricsRegistry metrics;
    httplib::Server server;
    common::ConfigureServer(server, {.threads = threads}, metrics, "http-floor");
    const auto accept = [wait_us](const httplib::Request& request, httplib::Response& response) {
        if (wait_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait_us));
        response.status = 202;
        response.set_content(request.body.empty() ? "{}" : "{\"accepted\":1}",
                             "application/json");
    };
    server.Post("/api/v1/events/analytics", accept);
    server.Get("/readyz", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("{\"status\":\"ready\"}", "application/json");
    });
    if (!common::BindToPort(server, "127.0.0.1", port)) {
        std::cerr << "tributary-http-floor: cannot listen on 127.0.0.1:" << port << "\n";
        return 1;
    }
    std::thread http([&] { server.listen_after_bind(); });
    signals.Wait();
    server.stop();
    http.join();
    return 0;
}
