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

IngestCaller IngestCallerFor(common::auth::HttpGate& gate, const common::auth::Principal& principal,
                             httplib::Response& response) {
    return {principal.tenant_id, [&gate, &principal, &response](size_t events) {
                const auto decision = gate.Charge(principal, common::auth::Scope::kIngest,
                                                  static_cast<double>(events), response);
                if (decision.allowed) return Admission{};
                return Admission{false, decision.retry_after_s,
                                 common::auth::HttpGate::RefusalMessage(decision, "events")};
            }};
}

void RegisterRoutes(common::http::Server& server, IngestService& service, common::auth::HttpGate& gate,
                    common::MetricsRegistry& metrics, std::function<std::string()> ready) {
    using common::auth::Scope;
    // The key is checked from the request head, before the body is read: a client without a
    // valid key cannot make the publisher read (and hold) a body.
    const common::http::HeadCheck authorize = [&gate](common::http::Request& request,
                                                      httplib::Response& response) {
        auto principal = gate.Authorize(request, response, Scope::kIngest);
        if (!principal) return false;
        request.context = std::move(*principal);
        return true;
    };
    const auto route = [&service, &gate](common::EventKind kind) {
        return [&service, &gate, kind](const common::http::Request& request,
                                       httplib::Response& response) {
            // The tenant is the key's, whatever the body says.
            const auto* principal = std::any_cast<common::auth::Principal>(&request.context);
            if (principal == nullptr) {
                common::SetError(response, 500, "internal", "request reached ingestion unauthorized");
                return;
            }
            const IngestCaller caller = IngestCallerFor(gate, *principal, response);
            Respond(response, service.Ingest(kind, request.get_header_value("Content-Type"),
                                             request.body, caller));
        };
    };
    server.Post("/api/v1/events/analytics", route(common::EventKind::kAnalytics), authorize);
    server.Post("/api/v1/events/chemical", route(common::EventKind::kChemical), authorize);
    common::AddOperationalRoutes(server, metrics, std::move(ready), PublisherOpenApi());
}

}  // namespace tributary::publisher
