#pragma once

#include "common/auth/principal.hpp"
#include "common/http/server.hpp"
#include "common/metrics.hpp"
#include "console/kafka_inspector.hpp"
#include "console/lag_history.hpp"
#include "console/overview.hpp"

namespace tributary::console {

struct ConsoleRoutesContext {
    KafkaInspector& kafka;
    LagHistory& lag;
    Overview& overview;
    common::auth::Authorize authorize;
    common::MetricsRegistry& metrics;
};

// Registers the console's own Kafka-inspection API (CONSOLE_API.md): whoami, overview (+ SSE),
// topics, messages, search (SSE or JSON), tail (SSE), groups, the analytics live stream (SSE).
// Every route needs scope `query`; other tenants' messages need `operator`. The context's
// members must outlive the server.
void RegisterConsoleRoutes(common::http::Server& server, const ConsoleRoutesContext& context);

}  // namespace tributary::console
