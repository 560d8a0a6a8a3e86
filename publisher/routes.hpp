#pragma once

#include "common/auth/http_gate.hpp"
#include "common/http/server.hpp"
#include "common/metrics.hpp"
#include "publisher/ingest_service.hpp"
#include "publisher/segment.hpp"

#include <functional>
#include <string>

namespace tributary::publisher {

// Registers the ingestion endpoints and the operational ones (/healthz, /readyz, /metrics,
// /openapi.json) on `server`. `service` and `metrics` must outlive the server.
// Every ingestion request is authorized by `gate` (scope ingest) and charged one token per
// event; `service`, `gate` and `metrics` must outlive the server.
void RegisterRoutes(common::http::Server& server, IngestService& service, common::auth::HttpGate& gate,
                    common::MetricsRegistry& metrics, std::function<std::string()> ready);

// The caller of an ingestion request: the principal's tenant, charged one ingest token per
// event by `gate` (which writes the RateLimit headers into `response`). The principal and the
// response must outlive the caller.
IngestCaller IngestCallerFor(common::auth::HttpGate& gate, const common::auth::Principal& principal,
                             httplib::Response& response);

// Registers the Segment-compatible routes (/v1/track, /v1/identify, /v1/page, /v1/screen,
// /v1/group, /v1/alias, /v1/batch, /v1/import). `service` is an IngestService with the Segment
// rules (SegmentValidationLimits): the same use case as the native routes with the larger
// batch, 32 KB properties and free-form event names. The write key comes from the Basic
// Authorization header (checked before the body is read) or from the body's writeKey.
void RegisterSegmentRoutes(common::http::Server& server, IngestService& service,
                           common::auth::HttpGate& gate, const segment::Limits& limits = {});

// The native validation limits of events that arrive through the Segment-compatible routes.
common::ValidationLimits SegmentValidationLimits(common::ValidationLimits native,
                                                 const segment::Limits& limits = {});

// The OpenAPI 3 document of the publisher.
const std::string& PublisherOpenApi();

}  // namespace tributary::publisher
