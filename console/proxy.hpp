#pragma once

#include "common/http/server.hpp"
#include "common/metrics.hpp"

#include <chrono>
#include <string>

namespace tributary::console {

// Forwards GET /api/v1/{analytics,events,research,users}/... and GET, POST, PUT and DELETE
// /api/v1/alerts[/...] to the query API at `query_base_url` (http://host:port from QUERY_URL;
// nothing else is ever contacted) with the caller's Authorization, Accept and conditional
// headers (and a body with its Content-Type), and passes status, body, content type and the
// rate-limit / auth headers back. Timeouts answer 504, an unreachable query API 502,
// both as {"error": {...}}. Register after the console's own routes.
void RegisterProxyRoutes(common::http::Server& server, const std::string& query_base_url,
                         std::chrono::milliseconds timeout, common::MetricsRegistry& metrics);

}  // namespace tributary::console
