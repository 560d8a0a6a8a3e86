// Alert rule bodies → query::alerts::ParseRule (POST and PUT /api/v1/alerts/rules).
//
// Input: one selector byte (bit 0: the caller has the operator scope; bit 1: a PUT over a
// previous rule with a webhook secret), then the body.
//
// Properties: never throws; a refusal is a 400 (403 for a platform metric without the operator
// scope) whose details each name a field; an accepted rule is what the evaluator can read back:
// RuleSpec → RuleFromSpec gives the same spec, every string in it is storable in PostgreSQL
// (no NUL), windows and thresholds are within bounds, and the public JSON never carries a
// secret.

#include <cmath>
#include <exception>
#include <variant>

#include "query/alerts/rule.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace tributary::fuzz {
namespace {

using query::alerts::Rule;
using query::alerts::RuleProblem;

void CheckNoNul(const nlohmann::json& json) {
    if (json.is_string()) {
        Check(json.get<std::string>().find('\0') == std::string::npos,
              "an accepted rule has no NUL in any string (PostgreSQL refuses them)", json.dump());
    } else if (json.is_structured()) {
        for (const auto& [key, value] : json.items()) {
            Check(key.find('\0') == std::string::npos, "no NUL in a key");
            CheckNoNul(value);
        }
    }
}

bool HasSecretKey(const nlohmann::json& json) {
    if (!json.is_structured()) return false;
    for (const auto& [key, value] : json.items()) {
        if ((json.is_object() && key == "secret") || HasSecretKey(value)) return true;
    }
    return false;
}

}  // namespace
}  // namespace tributary::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tributary;
    using namespace tributary::fuzz;
    namespace alerts = query::alerts;
    if (size == 0) return 0;
    const std::string_view body = AsText(data + 1, size - 1);
    const bool operator_scope = (data[0] & 1) != 0;
    Rule previous;
    previous.channels = {{alerts::Channel::Type::kWebhook, "http://127.0.0.1:9000/hook", "previous-secret"}};
    try {
        const auto parsed = alerts::ParseRule(body, operator_scope, (data[0] & 2) ? &previous : nullptr);
        if (const auto* problem = std::get_if<RuleProblem>(&parsed)) {
            Check(problem->status == 400 || (problem->status == 403 && !operator_scope),
                  "rules are refused with 400, or 403 without the operator scope",
                  std::to_string(problem->status));
            Check(!problem->code.empty() && !problem->message.empty(), "a refusal has a code and a message");
            Check(problem->details.is_array() && !problem->details.empty(), "a refusal lists its problems");
            for (const auto& detail : problem->details) {
                Check(detail.contains("field") && detail["field"].is_string() && detail.contains("reason"),
                      "every problem names a field and a reason", DumpLikeResponse(problem->details));
            }
            (void)DumpLikeResponse(problem->details);
            return 0;
        }
        const Rule& rule = std::get<Rule>(parsed);
        Check(!rule.name.empty() && !rule.channels.empty(), "an accepted rule has a name and channels");
        Check(std::isfinite(rule.condition.threshold), "the threshold is a finite number");
        Check(rule.condition.window.count() >= 1 && rule.condition.window <= alerts::kMaxWindow,
              "the window is within bounds");
        Check(operator_scope || !alerts::IsPlatformMetric(rule.condition.metric),
              "platform metrics only with the operator scope");
        const nlohmann::json spec = alerts::RuleSpec(rule);
        CheckNoNul(spec);
        const Rule back = alerts::RuleFromSpec("rul_x", "tenant", spec);
        Check(alerts::RuleSpec(back) == spec, "a stored rule reads back as it was", spec.dump());
        Rule shown = rule;
        shown.id = "rul_x";
        Check(!HasSecretKey(alerts::RulePublicJson(shown)), "the public JSON has no secret");
        (void)DumpLikeResponse(alerts::RulePublicJson(shown));
    } catch (const std::exception& e) {
        Fail("ParseRule threw", e.what());
    }
    return 0;
}
