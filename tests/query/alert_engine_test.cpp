// The evaluator's pure decisions (states, follow-ups), the window split over the minute
// rollups, and what delivery sends: signatures, address checks, retry delays, Slack and email.
#include "query/alerts/alert_metrics.hpp"
#include "query/alerts/delivery.hpp"
#include "query/alerts/outbox.hpp"
#include "query/alerts/state_machine.hpp"

#include <gtest/gtest.h>

namespace tributary::query::alerts {
namespace {

using common::SystemTime;
using std::chrono::minutes;
using std::chrono::seconds;

SystemTime At(int64_t second) { return SystemTime(std::chrono::microseconds(second * 1'000'000)); }

Condition Above(double threshold, seconds hold = seconds(0)) {
    Condition c;
    c.op = Op::kGt;
    c.threshold = threshold;
    c.hold = hold;
    return c;
}

TEST(AlertStateMachine, FiresAtOnceWithoutFor) {
    const Condition c = Above(5);
    EXPECT_EQ(Decide(c, State::kOk, At(0), 10, At(15)), Action::kOpenFiring);
    EXPECT_EQ(Decide(c, State::kOk, At(0), 5, At(15)), Action::kNone);
    EXPECT_EQ(Decide(c, State::kFiring, At(0), 10, At(30)), Action::kNone);
    EXPECT_EQ(Decide(c, State::kFiring, At(0), 3, At(30)), Action::kResolve);
    EXPECT_EQ(Decide(c, State::kResolved, At(30), 3, At(45)), Action::kNone);
    EXPECT_EQ(Decide(c, State::kResolved, At(30), 9, At(45)), Action::kOpenFiring);
}

TEST(AlertStateMachine, HoldsForTheForDuration) {
    const Condition c = Above(5, minutes(1));
    EXPECT_EQ(Decide(c, State::kOk, At(0), 10, At(0)), Action::kOpenPending);
    EXPECT_EQ(Decide(c, State::kPending, At(0), 10, At(59)), Action::kNone);
    EXPECT_EQ(Decide(c, State::kPending, At(0), 10, At(60)), Action::kFire);
    // Gone before `for` passed: back to ok without a notification.
    EXPECT_EQ(Decide(c, State::kPending, At(0), 1, At(30)), Action::kCancelPending);
    EXPECT_EQ(TargetState(Action::kCancelPending, State::kPending), State::kOk);
}

TEST(AlertStateMachine, HysteresisKeepsItFiring) {
    Condition c = Above(5);
    c.resolve_threshold = 2;
    EXPECT_EQ(Decide(c, State::kFiring, At(0), 4, At(15)), Action::kNone);
    EXPECT_EQ(Decide(c, State::kFiring, At(0), 2, At(30)), Action::kResolve);
}

Rule WithFollowUps() {
    Rule rule;
    rule.channels = {Channel{Channel::Type::kWebhook, "http://a", ""}};
    rule.escalation_after = minutes(5);
    rule.escalation_channels = {Channel{Channel::Type::kEmail, "lead@example.org", ""}};
    rule.repeat_every = minutes(30);
    return rule;
}

TEST(AlertFollowUps, EscalatesOnceWhenNotAcknowledged) {
    const Rule rule = WithFollowUps();
    FiringAlert alert{At(0), false, std::nullopt, false, At(0)};
    EXPECT_FALSE(DueFollowUps(rule, alert, At(299)).escalate);
    EXPECT_TRUE(DueFollowUps(rule, alert, At(300)).escalate);
    alert.escalated = true;
    EXPECT_FALSE(DueFollowUps(rule, alert, At(400)).escalate);
    alert.escalated = false;
    alert.acknowledged = true;
    EXPECT_FALSE(DueFollowUps(rule, alert, At(300)).escalate);
    EXPECT_FALSE(DueFollowUps(rule, alert, At(3600)).repeat);
}

TEST(AlertFollowUps, RepeatsAndRespectsSnooze) {
    const Rule rule = WithFollowUps();
    FiringAlert alert{At(0), false, std::nullopt, true, At(0)};
    EXPECT_FALSE(DueFollowUps(rule, alert, At(1799)).repeat);
    EXPECT_TRUE(DueFollowUps(rule, alert, At(1800)).repeat);
    alert.snoozed_until = At(7200);
    EXPECT_FALSE(DueFollowUps(rule, alert, At(3600)).repeat);
    // The snooze ended: one repeat right away, however recent the last one.
    alert.last_notified_at = At(7000);
    EXPECT_TRUE(DueFollowUps(rule, alert, At(7201)).repeat);
    alert.last_notified_at = At(7201);
    EXPECT_FALSE(DueFollowUps(rule, alert, At(7300)).repeat);
}

TEST(AlertWindow, SplitsIntoRawEdgeAndWholeMinutes) {
    // 10:00:30 back 1m: raw [09:59:30, 10:00:00), then the bucket of 10:00.
    const int64_t now = (10 * 3600 + 30) * 1'000'000LL;
    const WindowSplit split = SplitWindow(now, minutes(1));
    EXPECT_TRUE(split.has_edge);
    EXPECT_EQ(split.start_us, now - 60'000'000);
    EXPECT_EQ(split.first_bucket_us, 10 * 3600 * 1'000'000LL);
    // On a minute boundary there is no raw part.
    const WindowSplit aligned = SplitWindow(10 * 3600 * 1'000'000LL, minutes(5));
    EXPECT_FALSE(aligned.has_edge);
    EXPECT_EQ(aligned.first_bucket_us, (10 * 3600 - 300) * 1'000'000LL);
    // A window shorter than a minute inside one minute: all raw, no whole bucket before now.
    const WindowSplit small = SplitWindow(now, seconds(10));
    EXPECT_TRUE(small.has_edge);
    EXPECT_EQ(small.first_bucket_us, (10 * 3600 + 60) * 1'000'000LL);
}

TEST(AlertDelivery, SignsTimestampDotBody) {
    // Python: hmac.new(b"key", b'1700000000.{"id":1}', hashlib.sha256).hexdigest()
    EXPECT_EQ(SignWebhook("key", "1700000000", "{\"id\":1}"),
              "sha256=1d542af0cd7355fefa5c19021ad89d3e2afd77ebff5448db280f180e013d2651");
    const std::string a = SignWebhook("secret-one", "1700000000", "{\"id\":1}");
    EXPECT_NE(a, SignWebhook("secret-two", "1700000000", "{\"id\":1}"));
    EXPECT_NE(a, SignWebhook("secret-one", "1700000001", "{\"id\":1}"));
    EXPECT_NE(a, SignWebhook("secret-one", "1700000000", "{\"id\":2}"));
}

TEST(AlertDelivery, RefusesMetadataAndPrivateAddresses) {
    EXPECT_NE(ForbiddenAddressReason("169.254.169.254", true), "");  // always
    EXPECT_NE(ForbiddenAddressReason("fe80::1", true), "");
    EXPECT_NE(ForbiddenAddressReason("224.0.0.1", true), "");
    EXPECT_EQ(ForbiddenAddressReason("127.0.0.1", true), "");
    for (const char* address : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
                                "192.168.1.1", "100.64.0.1", "0.0.0.0", "::1", "fd00::1",
                                "::ffff:10.0.0.1", "::ffff:169.254.169.254"}) {
        EXPECT_NE(ForbiddenAddressReason(address, false), "") << address;
    }
    for (const char* address : {"93.184.216.34", "172.32.0.1", "2606:4700::1111", "8.8.8.8"}) {
        EXPECT_EQ(ForbiddenAddressReason(address, false), "") << address;
    }
}

TEST(AlertDelivery, RetryDelaysDoubleUpToTheCap) {
    DeliveryConfig config;
    config.retry_initial = std::chrono::milliseconds(2000);
    config.retry_max = std::chrono::milliseconds(300000);
    EXPECT_EQ(RetryDelay(config, 1).count(), 2000);
    EXPECT_EQ(RetryDelay(config, 2).count(), 4000);
    EXPECT_EQ(RetryDelay(config, 5).count(), 32000);
    EXPECT_EQ(RetryDelay(config, 9).count(), 300000);
    EXPECT_EQ(RetryDelay(config, 1000).count(), 300000);
}

TEST(AlertDelivery, EnvironmentIsValidated) {
    common::EnvReader env({{"ALERTS_SMTP_URL", "http://mail"}, {"ALERTS_RETRY_INITIAL_MS", "5000"},
                           {"ALERTS_RETRY_MAX_MS", "100"}, {"ALERTS_MAX_ATTEMPTS", "0"}});
    ReadDeliveryConfig(env);
    try {
        env.ThrowIfInvalid();
        FAIL() << "accepted";
    } catch (const common::ConfigError& e) {
        EXPECT_EQ(e.Problems().size(), 3u) << e.what();
    }
}

nlohmann::json Body() {
    Rule rule;
    rule.id = "rul_1";
    rule.tenant_id = "acme";
    rule.name = "Umsätze <checkout> errors";
    rule.condition = Above(5);
    return NotificationBody(rule, {"firing", "alt_1", State::kFiring, 10, At(1700000000), At(1700000000), ""},
                            "ntf_abc");
}

TEST(AlertDelivery, BodyCarriesWhatReceiversNeed) {
    const auto body = Body();
    for (const char* field : {"id", "rule_id", "rule_name", "state", "value", "threshold", "alert_id"}) {
        EXPECT_TRUE(body.contains(field)) << field;
    }
    EXPECT_EQ(body["id"], "ntf_abc");
    EXPECT_EQ(body["type"], "alert.firing");
    EXPECT_EQ(body["state"], "firing");
}

TEST(AlertDelivery, SlackAndEmailRenderings) {
    const auto slack = SlackMessage(Body());
    EXPECT_NE(slack["text"].get<std::string>().find("FIRING: Umsätze <checkout> errors"), std::string::npos);
    EXPECT_NE(slack["text"].get<std::string>().find("= 10, threshold > 5"), std::string::npos);
    EXPECT_EQ(slack["metadata"]["event_payload"]["id"], "ntf_abc");
    const std::string mail = EmailMessage(Body(), "alerts@example.org", "oncall@example.org",
                                          std::chrono::system_clock::from_time_t(1700000000));
    EXPECT_NE(mail.find("Message-ID: <ntf_abc@tributary>\r\n"), std::string::npos);
    EXPECT_NE(mail.find("X-Tributary-Notification-Id: ntf_abc\r\n"), std::string::npos);
    EXPECT_NE(mail.find("Subject: =?UTF-8?B?"), std::string::npos);  // non-ASCII name encoded
    EXPECT_NE(mail.find("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), std::string::npos);
    EXPECT_EQ(mail.find("\n\n"), std::string::npos);  // CRLF only
    EXPECT_NE(mail.find("\"id\": \"ntf_abc\""), std::string::npos);
}

TEST(AlertIds, HavePrefixAndDiffer) {
    const std::string a = NewId("ntf_");
    EXPECT_EQ(a.size(), 28u);
    EXPECT_EQ(a.rfind("ntf_", 0), 0u);
    EXPECT_NE(a, NewId("ntf_"));
}

}  // namespace
}  // namespace tributary::query::alerts
