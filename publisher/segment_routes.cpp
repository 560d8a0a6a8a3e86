// The Segment-compatible routes: authentication by write key, translation
// (publisher/segment.hpp), the native ingestion use case, and answers in the shape the
// Segment SDKs expect: 200 {"success": true} once Kafka has every event, errors with `code` and
// `message` (the SDKs decide on retries from them), integer Retry-After on 429 / 503.
#include "common/auth/api_key.hpp"
#include "common/http_util.hpp"
#include "common/time_util.hpp"
#include "publisher/routes.hpp"

namespace tributary::publisher {
namespace {

using nlohmann::json;

void SegmentError(httplib::Response& response, int status, std::string_view code,
                  std::string_view message, json errors = nullptr) {
    json body = {{"success", false}, {"code", code}, {"message", message}};
    if (!errors.is_null()) body["errors"] = std::move(errors);
    common::SetJson(response, status, body);
}

// Rewrites an answer the gate or IngestService wrote ({"error": {code, message, details}}) in
// Segment's shape, keeping its status and headers (WWW-Authenticate, Retry-After, RateLimit).
void ToSegmentShape(httplib::Response& response) {
    const json native = json::parse(response.body, nullptr, false);
    const json* error = native.is_object() && native.contains("error") ? &native["error"] : nullptr;
    const std::string code = error != nullptr ? error->value("code", "error") : "error";
    const std::string message = error != nullptr ? error->value("message", "") : response.body;
    SegmentError(response, response.status, code, message);
}

json ProblemsJson(const std::vector<segment::Problem>& problems) {
    json errors = json::array();
    for (const auto& p : problems) {
        errors.push_back({{"index", p.index}, {"code", p.code}, {"field", p.field}, {"message", p.message}});
    }
    return errors;
}

std::string Summary(const std::vector<segment::Problem>& problems) {
    if (problems.size() == 1) {
        const auto& p = problems.front();
        return p.field == "(body)" || p.field == "(event)" ? "message " + std::to_string(p.index) +
                                                                 " " + p.message
                                                           : p.field + " " + p.message;
    }
    return std::to_string(problems.size()) + " problems found; nothing was published";
}

// A 400 of IngestService, its details named in Segment's words.
void ValidationError(httplib::Response& response, const IngestResponse& outcome,
                     const segment::Translation& translation) {
    const json& error = outcome.body["error"];
    json errors = json::array();
    for (const auto& detail : error.value("details", json::array())) {
        const size_t index = detail.value("index", size_t{0});
        const bool known = index < translation.calls.size();
        const std::string field =
            known ? segment::SegmentField(detail.value("field", ""), translation.calls[index],
                                          translation.from_user_id[index])
                  : detail.value("field", "");
        const std::string reason = detail.value("reason", "");
        const bool missing = reason.starts_with("is required");
        errors.push_back({{"index", index},
                          {"code", missing ? "missing_field" : "invalid_field"},
                          {"field", field},
                          {"message", reason}});
    }
    std::string message = error.value("message", "invalid request");
    if (errors.size() == 1) {
        message = "invalid message " + std::to_string(errors[0]["index"].get<size_t>()) + ": " +
                  errors[0]["field"].get<std::string>() + " " + errors[0]["message"].get<std::string>();
    }
    SegmentError(response, 400, error.value("code", "validation_failed"), message, std::move(errors));
}

}  // namespace

common::ValidationLimits SegmentValidationLimits(common::ValidationLimits native,
                                                 const segment::Limits& limits) {
    native.max_batch_events = limits.max_batch_events;
    // properties and context may use a message's whole 32 KB
    native.max_metadata_bytes = std::max(native.max_metadata_bytes, limits.max_event_bytes);
    native.free_form_event_names = true;
    return native;
}

void RegisterSegmentRoutes(common::http::Server& server, IngestService& service,
                           common::auth::HttpGate& gate, const segment::Limits& limits) {
    using common::auth::Scope;
    // A key in the Authorization header is checked before the body is read. Without one the
    // body (at most limits.max_request_bytes) is read for its writeKey: the Python SDK sends
    // only that.
    const common::http::HeadCheck authorize = [&gate](common::http::Request& request,
                                                      httplib::Response& response) {
        if (!request.has_header("Authorization")) return true;
        auto principal = gate.Authorize(request, response, Scope::kIngest);
        if (!principal) {
            ToSegmentShape(response);
            return false;
        }
        request.context = std::move(*principal);
        return true;
    };
    for (const char* name : {"track", "identify", "page", "screen", "group", "alias", "batch", "import"}) {
        const segment::Call call = *segment::CallNamed(name);
        const auto handler = [&service, &gate, limits, call](const common::http::Request& request,
                                                               httplib::Response& response) {
            const segment::Translation translation =
                segment::Translate(call, request.body, common::NowUtc(), limits);
            if (translation.write_key_not_string) {
                return SegmentError(response, 400, "invalid_field", "writeKey must be a string",
                                    json::array({{{"index", 0}, {"code", "invalid_field"},
                                                  {"field", "writeKey"}, {"message", "must be a string"}}}));
            }
            std::optional<common::auth::Principal> principal;
            if (const auto* known = std::any_cast<common::auth::Principal>(&request.context)) {
                // Keyed by the header: a different key in the body is a client mistake that
                // must not silently pick one tenant.
                if (translation.write_key) {
                    const auto header = common::auth::ParseAuthorization(
                        request.get_header_value("Authorization"));
                    if (!common::auth::ConstantTimeEquals(header.key, *translation.write_key)) {
                        response.set_header("WWW-Authenticate", "Basic realm=\"tributary\"");
                        return SegmentError(response, 401, "key_mismatch",
                                            "the write key in the body differs from the one in "
                                            "the Authorization header");
                    }
                }
                principal = *known;
            } else {
                httplib::Request probe;
                if (translation.write_key) {
                    probe.headers.emplace("Authorization", "Bearer " + *translation.write_key);
                }
                principal = gate.Authorize(probe, response, Scope::kIngest);
                if (!principal) {
                    ToSegmentShape(response);
                    if (!translation.write_key) {
                        SegmentError(response, response.status, "unauthorized",
                                     "missing write key: send it as the HTTP Basic user name or "
                                     "as writeKey in the body");
                    }
                    return;
                }
            }
            if (!translation.problems.empty()) {
                return SegmentError(response, 400,
                                    translation.problems.front().code == "invalid_json"
                                        ? "invalid_json"
                                        : "validation_failed",
                                    Summary(translation.problems), ProblemsJson(translation.problems));
            }
            const IngestCaller caller = IngestCallerFor(gate, *principal, response);
            const IngestResponse outcome = service.Ingest(
                common::EventKind::kAnalytics, "application/json", translation.native.dump(), caller);
            if (outcome.retry_after_seconds > 0) {
                response.set_header("Retry-After", std::to_string(outcome.retry_after_seconds));
            }
            if (outcome.status == 202) {
                return common::SetJson(response, 200, {{"success", true}});
            }
            if (outcome.status == 400) return ValidationError(response, outcome, translation);
            const json& error = outcome.body.contains("error") ? outcome.body["error"] : json::object();
            SegmentError(response, outcome.status, error.value("code", "error"),
                         error.value("message", ""));
        };
        server.Post(std::string("/v1/") + name, handler, authorize,
                    common::http::RouteOptions{
                        limits.max_request_bytes,
                        [](httplib::Response& response, int status, std::string_view code,
                           const std::string& message) { SegmentError(response, status, code, message); }});
    }
}

}  // namespace tributary::publisher
