#include "common/config.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "llm_client/mock_server/mock_llm_server.hpp"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <exception>

// tributary-mock-llm: an OpenAI-compatible chat-completions server for offline use, demos and
// tests. All behaviour lives in mock_llm_server.{hpp,cpp}; this file only wires it up.
int main() {
    using namespace tributary;
    // Block the shutdown signals before any thread starts (every thread inherits the mask), then
    // wait for them synchronously below.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) {
        std::fprintf(stderr, "tributary-mock-llm: cannot block signals\n");
        return 1;
    }
    try {
        common::EnvReader env;
        const common::LogConfig log_config = common::ReadLogConfig(env);
        const llm::mock::MockLlmConfig config = llm::mock::MockLlmConfig::FromEnv(env);
        env.ThrowIfInvalid();
        common::InitLogging(log_config);

        common::MetricsRegistry metrics;
        llm::mock::MockLlmServer server(config, metrics);
        server.Start();
        int received = 0;
        if (sigwait(&signals, &received) != 0) {
            std::fprintf(stderr, "tributary-mock-llm: sigwait failed\n");
        }
        common::GetLogger("mock_llm")->info("signal {} received, shutting down", received);
        server.Stop();
        common::GetLogger("mock_llm")->flush();
        return 0;
    } catch (const common::ConfigError& error) {
        std::fprintf(stderr, "tributary-mock-llm: %s\n", error.what());
        return 2;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "tributary-mock-llm: %s\n", error.what());
        return 1;
    }
}
