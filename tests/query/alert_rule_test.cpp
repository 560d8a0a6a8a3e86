// Alert rules: validation (every problem named by its field), durations, JSON round trips and
// the threshold / hysteresis comparisons.
#include "query/alerts/rule.hpp"

#include <gtest/gtest.h>

namespace tributary::query::alerts {
namespace {

using Json = nlohmann::json;

Json ValidRule() {
    return Json::parse(R"({"name": "checkout errors",
        "condition": {"metric": "event_count", "event_type": "error", "window": "1m", "op": ">",
                      "threshold": 5, "for": "0s"},
        "channels": [{"type": "webhook", "url": "http://127.0.0.1:9000/hook", "secret": "0123456789"},
                     {"type": "slack", "url": "https://hooks.example.org/T/B/X"},
                     {"type": "email", "to": "oncall@example.org"}]})");
}

std::vector<std::string> Fields(const std::variant<Rule, RuleProblem>& parsed) {
    std::vector<std::string> fields;
    if (const auto* problem = std::get_if<RuleProblem>(&parsed)) {
        for (const auto& detail : problem->details) fields.push_back(detail["field"]);
    }
    return fields;
}

std::variant<Rule, RuleProblem> Parse(const Json& body, bool op = false) {
    return ParseRule(body.dump(), op);
}

TEST(AlertDuration, ParsesUnitsAndSums) {
    EXPECT_EQ(ParseDuration("30s"), std::chrono::seconds(30));
    EXPECT_EQ(ParseDuration("5m"), std::chrono::seconds(300));
    EXPECT_EQ(ParseDuration("1h30m"), std::chrono::seconds(5400));
    EXPECT_EQ(ParseDuration("2d"), std::chrono::seconds(172800));
    EXPECT_EQ(ParseDuration("0s"), std::chrono::seconds(0));
    for (const char* bad : {"", "5", "m", "-1m", "1.5m", "5 m", "1w", "99999999999999s"}) {
        EXPECT_FALSE(ParseDuration(bad)) << bad;
    }
    EXPECT_EQ(FormatDuration(std::chrono::seconds(90)), "1m30s");
    EXPECT_EQ(FormatDuration(std::chrono::seconds(0)), "0s");
    EXPECT_EQ(FormatDuration(std::chrono::seconds(86400 + 3600)), "1d1h");
}

TEST(AlertRule, AcceptsTheContractExample) {
    const auto parsed = Parse(ValidRule());
    ASSERT_TRUE(std::holds_alternative<Rule>(parsed)) << std::get<RuleProblem>(parsed).message;
    const Rule& rule = std::get<Rule>(parsed);
    EXPECT_EQ(rule.name, "checkout errors");
    EXPECT_EQ(rule.condition.metric, Metric::kEventCount);
    EXPECT_EQ(rule.condition.filter.event_type, "error");
    EXPECT_EQ(rule.condition.window, std::chrono::seconds(60));
    EXPECT_EQ(rule.condition.threshold, 5);
    ASSERT_EQ(rule.channels.size(), 3u);
    EXPECT_EQ(rule.channels[0].secret, "0123456789");
    EXPECT_EQ(rule.channels[2].type, Channel::Type::kEmail);
    EXPECT_EQ(rule.repeat_every, std::chrono::hours(4));  // the default
}

TEST(AlertRule, NamesEveryBadField) {
    Json body = ValidRule();
    body["condition"]["metric"] = "events_per_fortnight";
    body["condition"]["window"] = "-5m";
    body["condition"]["threshold"] = "five";
    body["channels"][0]["url"] = "ftp://example.org";
    body["channels"][2]["to"] = "not an address";
    body.erase("name");
    const auto fields = Fields(Parse(body));
    EXPECT_EQ(fields, (std::vector<std::string>{"name", "condition.metric", "condition.window",
                                                "condition.threshold", "channels[0].url",
                                                "channels[2].to"}));
    const auto parsed = Parse(body);
    const auto& problem = std::get<RuleProblem>(parsed);
    EXPECT_EQ(problem.status, 400);
    EXPECT_EQ(problem.code, "validation_failed");
    EXPECT_NE(problem.message.find("condition.window must not be negative"), std::string::npos);
}

TEST(AlertRule, RefusesUnknownFieldsAndATenant) {
    Json body = ValidRule();
    body["tenant_id"] = "other";
    body["condition"]["colour"] = "red";
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"tenant_id", "condition.colour"}));
    EXPECT_EQ(std::get<RuleProblem>(ParseRule("{not json", false)).code, "invalid_json");
    EXPECT_EQ(Fields(ParseRule("[1]", false)), (std::vector<std::string>{"body"}));
}

TEST(AlertRule, PlatformMetricsNeedTheOperatorScope) {
    Json body = ValidRule();
    body["condition"] = {{"metric", "consumer_lag_seconds"}, {"op", ">"}, {"threshold", 30}};
    const auto refused = Parse(body, false);
    ASSERT_TRUE(std::holds_alternative<RuleProblem>(refused));
    EXPECT_EQ(std::get<RuleProblem>(refused).status, 403);
    EXPECT_TRUE(std::holds_alternative<Rule>(Parse(body, true)));
    body["condition"] = {{"metric", "dead_letters"}, {"window", "1m"}, {"op", ">"}, {"threshold", 0}};
    EXPECT_TRUE(std::holds_alternative<Rule>(Parse(body, true)));
}

TEST(AlertRule, RatioNeedsBothPartsAndFiltersBelongToCounts) {
    Json body = ValidRule();
    body["condition"] = {{"metric", "ratio"}, {"window", "5m"}, {"op", ">"}, {"threshold", 0.1}};
    EXPECT_EQ(Fields(Parse(body)),
              (std::vector<std::string>{"condition.numerator", "condition.denominator"}));
    body["condition"]["numerator"] = {{"event_type", "error"}};
    body["condition"]["denominator"] = Json::object();
    const auto parsed = Parse(body);
    ASSERT_TRUE(std::holds_alternative<Rule>(parsed));
    EXPECT_EQ(std::get<Rule>(parsed).condition.numerator.event_type, "error");
    EXPECT_FALSE(std::get<Rule>(parsed).condition.denominator.event_type);
    body["condition"]["event_type"] = "error";
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"condition.event_type"}));
}

TEST(AlertRule, RawMetricsHaveShorterWindows) {
    Json body = ValidRule();
    body["condition"] = {{"metric", "unique_users"}, {"window", "2h"}, {"op", "<"}, {"threshold", 1}};
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"condition.window"}));
    body["condition"]["window"] = "1h";
    EXPECT_TRUE(std::holds_alternative<Rule>(Parse(body)));
    body["condition"] = {{"metric", "event_count"}, {"window", "2h"}, {"op", ">"}, {"threshold", 1},
                         {"dimension", {{"name", "page"}, {"value", "/checkout"}}}};
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"condition.window"}));
    body["condition"]["dimension"] = {{"name", "colour"}, {"value", "x"}};
    body["condition"]["window"] = "1m";
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"condition.dimension.name"}));
}

TEST(AlertRule, ResolveThresholdMustBeOnTheQuietSide) {
    Json body = ValidRule();
    body["condition"]["resolve_threshold"] = 9;
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"condition.resolve_threshold"}));
    body["condition"]["resolve_threshold"] = 2;
    EXPECT_TRUE(std::holds_alternative<Rule>(Parse(body)));
    body["condition"]["op"] = "<";
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"condition.resolve_threshold"}));
}

TEST(AlertRule, ChannelsAndEscalationAreChecked) {
    Json body = ValidRule();
    body["channels"] = Json::array();
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"channels"}));
    body = ValidRule();
    body["channels"][0]["secret"] = "short";
    body["channels"][1]["type"] = "pager";
    body["escalation"] = {{"after", "10m"}};
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"channels[0].secret", "channels[1].type",
                                                             "escalation.channels"}));
    body = ValidRule();
    body["channels"][2]["to"] = "a@b.org\r\nBcc: x@y.org";  // header injection
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"channels[2].to"}));
    body = ValidRule();
    body["name"] = "bad\nname";
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"name"}));
    // PostgreSQL stores no NUL in TEXT or JSONB: refused up front, never a 5xx at insert.
    body = ValidRule();
    body["description"] = std::string("a\0b", 3);
    body["channels"][0]["secret"] = std::string("0123456789\0", 11);
    body["condition"]["dimension"] = {{"name", "page"}, {"value", std::string("/\0", 2)}};
    EXPECT_EQ(Fields(Parse(body)), (std::vector<std::string>{"description", "condition.dimension.value",
                                                             "channels[0].secret"}));
}

TEST(AlertRule, SpecRoundTripsAndPublicJsonHidesSecrets) {
    Json body = ValidRule();
    body["escalation"] = {{"after", "15m"}, {"channels", {{{"type", "email"}, {"to", "lead@example.org"}}}}};
    body["condition"]["resolve_threshold"] = 2;
    body["repeat_every"] = "0s";
    Rule rule = std::get<Rule>(Parse(body));
    const Rule back = RuleFromSpec("rul_1", "acme", RuleSpec(rule));
    EXPECT_EQ(back.id, "rul_1");
    EXPECT_EQ(back.tenant_id, "acme");
    EXPECT_EQ(back.channels[0].secret, "0123456789");
    EXPECT_EQ(back.condition.resolve_threshold, 2);
    EXPECT_EQ(back.escalation_after, std::chrono::minutes(15));
    EXPECT_EQ(back.repeat_every, std::chrono::seconds(0));
    rule.id = "rul_1";
    const Json shown = RulePublicJson(rule);
    EXPECT_EQ(shown.dump().find("0123456789"), std::string::npos);
    EXPECT_EQ(shown["channels"][0]["has_secret"], true);
    // A rule read back and PUT again keeps its secret (same URL, no secret given).
    const auto again = ParseRule(shown.dump(), false, &back);
    ASSERT_TRUE(std::holds_alternative<Rule>(again)) << std::get<RuleProblem>(again).message;
    EXPECT_EQ(std::get<Rule>(again).channels[0].secret, "0123456789");
}

TEST(AlertRule, BreachesAndRecoversWithHysteresis) {
    Condition c;
    c.op = Op::kGt;
    c.threshold = 5;
    EXPECT_TRUE(Breaches(c, 6));
    EXPECT_FALSE(Breaches(c, 5));
    EXPECT_TRUE(Recovered(c, 5));
    c.resolve_threshold = 2;
    EXPECT_FALSE(Recovered(c, 4));  // below the threshold but above the resolve threshold
    EXPECT_TRUE(Recovered(c, 2));
    c.op = Op::kLe;
    c.threshold = 0;
    c.resolve_threshold = 3;
    EXPECT_TRUE(Breaches(c, 0));
    EXPECT_FALSE(Recovered(c, 1));
    EXPECT_TRUE(Recovered(c, 3));
}

}  // namespace
}  // namespace tributary::query::alerts
