#include "publisher/routes.hpp"

#include "common/http_util.hpp"

namespace tributary::publisher {
namespace {

void Respond(httplib::Response& response, const IngestResponse& outcome) {
    if (outcome.retry_after_seconds > 0) {
        response.set_header("Retry-After", std::to_string(outcome.retry_after_seconds));
    }
    common::SetJson(response, outcome.status, outcome.body);
}

}  // namespace

void RegisterRoutes(httplib::Server& server, IngestService& service, common::auth::HttpGate& gate,
                    common::MetricsRegistry& metrics, std::function<std::string()> ready) {
    using common::auth::Scope;
    const auto route = [&service, &gate](common::EventKind kind) {
        return [&service, &gate, kind](const httplib::Request& request,
                                       httplib::Response& response) {
            // The tenant is the key's, whatever the body says.
            const auto principal = gate.Authorize(request, response, Scope::kIngest);
            if (!principal) return;
            const IngestCaller caller{
                principal->tenant_id, [&](size_t events) {
                    const auto decision =
                        gate.Charge(*principal, Scope::kIngest, static_cast<double>(events), response);
                    if (decision.allowed) return Admission{};
                    return Admission{false, decision.retry_after_s,
                                     common::auth::HttpGate::RefusalMessage(decision, "events")};
                }};
            Respond(response, service.Ingest(kind, request.get_header_value("Content-Type"),
                                             request.body, caller));
        };
    };
    server.Post("/api/v1/events/analytics", route(common::EventKind::kAnalytics));
    server.Post("/api/v1/events/chemical", route(common::EventKind::kChemical));
    common::AddOperationalRoutes(server, metrics, std::move(ready), PublisherOpenApi());
    // httplib answers some errors itself (413 over the body limit, 404, 400 on broken HTTP);
    // give those the same JSON error shape as ours.
    server.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
        if (!response.body.empty()) return;
        switch (response.status) {
            case 413:
                common::SetError(response, 413, "payload_too_large", "request body is too large");
                break;
            case 404:
                common::SetError(response, 404, "not_found", "no route for " + request.path);
                break;
            default:
                common::SetError(response, response.status, "http_error",
                                 "request could not be handled");
        }
    });
}

}  // namespace tributary::publisher
