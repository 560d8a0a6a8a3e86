#pragma once

#include "common/auth/http_gate.hpp"
#include "common/http/server.hpp"
#include "common/metrics.hpp"
#include "publisher/ingest_service.hpp"

#include <functional>
#include <string>

namespace tributary::publisher {

// Registers the ingestion endpoints and the operational ones (/healthz, /readyz, /metrics,
// /openapi.json) on `server`. `service` and `metrics` must outlive the server.
// Every ingestion request is authorized by `gate` (scope ingest) and charged one token per
// event; `service`, `gate` and `metrics` must outlive the server.
void RegisterRoutes(common::http::Server& server, IngestService& service, common::auth::HttpGate& gate,
                    common::MetricsRegistry& metrics, std::function<std::string()> ready);

// The OpenAPI 3 document of the publisher.
const std::string& PublisherOpenApi();

}  // namespace tributary::publisher
