#include "publisher/ingest_service.hpp"

#include "common/envelope.hpp"
#include "common/metrics.hpp"
#include "common/time_util.hpp"
#include "publisher/event_sink.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <mutex>
#include <string>
#include <vector>

namespace tributary::publisher {
namespace {

using common::EventKind;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A copy of one OutgoingMessage (whose topic is a view).
struct SentMessage {
    std::string topic;
    std::string key;
    std::string value;
};

// Records what it is given and answers with a scripted status.
class FakeEventSink final : public EventSink {
public:
    PublishResult Publish(std::span<const OutgoingMessage> messages) override {
        std::lock_guard lock(mutex_);
        ++publish_calls;
        for (const auto& m : messages) sent.push_back({std::string(m.topic), m.key, m.value});
        return result;
    }
    std::string Unavailable() const override { return unavailable; }

    PublishResult result;  // what Publish() answers
    std::string unavailable;
    int publish_calls = 0;
    std::vector<SentMessage> sent;

private:
    std::mutex mutex_;
};

class IngestServiceTest : public ::testing::Test {
protected:
    IngestResponse Post(EventKind kind, const json& body,
                        std::string_view content_type = "application/json") {
        return service_.Ingest(kind, content_type, body.dump(), caller_);
    }

    static json Analytics(const std::string& user_id = "user-1") {
        return {{"user_id", user_id}, {"event_type", "page_view"},
                {"metadata", {{"page", "/dashboard"}, {"source", "web"}}}};
    }
    static json Chemical(const std::string& molecule_id = "MOL-1") {
        return {{"molecule_id", molecule_id},
                {"researcher", "Dr. Smith"},
                {"data", {{"smiles", "CC(=O)Oc1ccccc1C(=O)O"}, {"name", "Aspirin"}}}};
    }

    common::Envelope DecodeSent(size_t i) const {
        const auto decoded = common::DecodeEnvelope(sink_.sent.at(i).value);
        EXPECT_TRUE(decoded.envelope.has_value()) << decoded.error;
        return decoded.envelope.value_or(common::Envelope{});
    }

    FakeEventSink sink_;
    common::MetricsRegistry metrics_;
    IngestService service_{sink_, common::ValidationLimits{}, metrics_};
    IngestCaller caller_{"acme", {}};
};

// --- Tenant and admission ----------------------------------------------------------------------

TEST_F(IngestServiceTest, WritesTheCallersTenantIntoTheEnvelopeWhateverTheBodyClaims) {
    json event = Analytics();
    event["tenant_id"] = "someone-else";
    ASSERT_EQ(Post(EventKind::kAnalytics, event).status, 202);
    const common::Envelope envelope = DecodeSent(0);
    EXPECT_EQ(envelope.tenant_id, "acme");
    // The claim stays in the payload as an unknown field; it decides nothing.
    EXPECT_EQ(envelope.payload.value("tenant_id", ""), "someone-else");
}

TEST_F(IngestServiceTest, AsksAdmissionWithTheNumberOfEventsOfAValidRequest) {
    std::vector<size_t> asked;
    caller_.admit = [&](size_t events) {
        asked.push_back(events);
        return Admission{};
    };
    ASSERT_EQ(Post(EventKind::kAnalytics, {{"events", {Analytics("a"), Analytics("b"), Analytics("c")}}}).status, 202);
    json invalid = Analytics();
    invalid.erase("user_id");
    EXPECT_EQ(Post(EventKind::kAnalytics, invalid).status, 400);  // not asked: nothing to admit
    EXPECT_EQ(asked, std::vector<size_t>{3});
}

TEST_F(IngestServiceTest, RefusedAdmissionIs429WithRetryAfterAndPublishesNothing) {
    caller_.admit = [](size_t) { return Admission{false, 3, "over the limit"}; };
    const IngestResponse response =
        Post(EventKind::kAnalytics, {{"events", {Analytics("a"), Analytics("b")}}});
    EXPECT_EQ(response.status, 429);
    EXPECT_EQ(response.retry_after_seconds, 3);
    EXPECT_EQ(response.body["error"]["code"], "rate_limited");
    EXPECT_EQ(response.body["error"]["message"], "over the limit");
    EXPECT_EQ(sink_.publish_calls, 0);
    EXPECT_TRUE(sink_.sent.empty());
}

// --- Content type -----------------------------------------------------------------------------

class RejectedContentType : public IngestServiceTest,
                            public ::testing::WithParamInterface<std::string> {};

TEST_P(RejectedContentType, Is415AndPublishesNothing) {
    const IngestResponse response = Post(EventKind::kAnalytics, Analytics(), GetParam());
    EXPECT_EQ(response.status, 415);
    EXPECT_EQ(response.body["error"]["code"], "unsupported_media_type");
    EXPECT_EQ(sink_.publish_calls, 0);
}

INSTANTIATE_TEST_SUITE_P(IngestService, RejectedContentType,
                         ::testing::Values("", "text/plain", "text/json",
                                           "application/x-www-form-urlencoded",
                                           "multipart/form-data; boundary=x", "application/xml",
                                           "application/jsonl", "json"));

class AcceptedContentType : public IngestServiceTest,
                            public ::testing::WithParamInterface<std::string> {};

TEST_P(AcceptedContentType, IsPublished) {
    const IngestResponse response = Post(EventKind::kAnalytics, Analytics(), GetParam());
    EXPECT_EQ(response.status, 202) << response.body.dump();
    EXPECT_EQ(sink_.publish_calls, 1);
}

INSTANTIATE_TEST_SUITE_P(IngestService, AcceptedContentType,
                         ::testing::Values("application/json", "application/json; charset=utf-8",
                                           "application/json;charset=UTF-8", "Application/JSON",
                                           "application/vnd.api+json",
                                           "application/cloudevents+json; charset=utf-8"));

TEST(IsJsonContentType, AcceptsJsonAndStructuredSyntaxSuffixesOnly) {
    EXPECT_TRUE(IsJsonContentType("application/json"));
    EXPECT_TRUE(IsJsonContentType("application/json; charset=utf-8"));
    EXPECT_TRUE(IsJsonContentType("application/json ; charset=utf-8"));
    EXPECT_TRUE(IsJsonContentType("application/vnd.api+json"));
    EXPECT_FALSE(IsJsonContentType("text/plain"));
    EXPECT_FALSE(IsJsonContentType("application/json-patch"));
    EXPECT_FALSE(IsJsonContentType("text/vnd.x+json"));
    EXPECT_FALSE(IsJsonContentType(""));
}

// --- Malformed JSON ---------------------------------------------------------------------------

TEST_F(IngestServiceTest, AnswersInvalidJsonWith400NamingTheByte) {
    const std::string body = R"({"user_id": "u", "event_type": })";  // '}' is byte 31
    const IngestResponse response = service_.Ingest(EventKind::kAnalytics, "application/json", body, caller_);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body["error"]["code"], "invalid_json");
    ASSERT_THAT(response.body["error"]["details"], SizeIs(1));
    const json& detail = response.body["error"]["details"][0];
    EXPECT_EQ(detail["index"], 0);
    EXPECT_EQ(detail["field"], "(body)");
    EXPECT_EQ(detail["byte"], body.find('}') + 1);
    EXPECT_FALSE(detail["reason"].get<std::string>().empty());
    EXPECT_EQ(sink_.publish_calls, 0);
}

TEST_F(IngestServiceTest, AnswersAnEmptyBodyWith400InvalidJson) {
    const IngestResponse response = service_.Ingest(EventKind::kChemical, "application/json", "", caller_);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body["error"]["code"], "invalid_json");
    EXPECT_EQ(sink_.publish_calls, 0);
}

TEST_F(IngestServiceTest, AnswersInvalidUtf8With400InvalidJson) {
    const std::string body = "{\"user_id\": \"\xff\xfe\", \"event_type\": \"x\"}";
    const IngestResponse response = service_.Ingest(EventKind::kAnalytics, "application/json", body, caller_);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body["error"]["code"], "invalid_json");
    EXPECT_EQ(sink_.publish_calls, 0);
}

// nlohmann reports a number no double can hold (1e999999) as out_of_range, not parse_error;
// the service once let it escape and the HTTP layer answered 500.
TEST_F(IngestServiceTest, AnswersANumberOutOfRangeWith400NamingTheField) {
    const std::string body = R"({"user_id":"a","event_type":"b","metadata":{"x":1e999999}})";
    const IngestResponse response =
        service_.Ingest(EventKind::kAnalytics, "application/json", body, caller_);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body["error"]["code"], "invalid_json");
    ASSERT_THAT(response.body["error"]["details"], SizeIs(1));
    const json& detail = response.body["error"]["details"][0];
    EXPECT_EQ(detail["index"], 0);
    EXPECT_EQ(detail["field"], "metadata.x");
    EXPECT_EQ(detail["byte"],
              body.find("1e999999") + 8);  // its last character, as for syntax errors
    EXPECT_THAT(detail["reason"].get<std::string>(), HasSubstr("1e999999"));
    EXPECT_EQ(sink_.publish_calls, 0);
}

TEST_F(IngestServiceTest, NamesTheEventAndFieldOfANumberOutOfRangeInABatch) {
    const std::string body =
        R"({"events": [{"molecule_id": "m0", "researcher": "r", "data": {}},)"
        R"( {"molecule_id": "m1", "researcher": "r", "data": {"measurements": {"t": [1, -2E+400]}}}]})";
    const IngestResponse response =
        service_.Ingest(EventKind::kChemical, "application/json", body, caller_);
    EXPECT_EQ(response.status, 400);
    ASSERT_THAT(response.body["error"]["details"], SizeIs(1));
    const json& detail = response.body["error"]["details"][0];
    EXPECT_EQ(detail["index"], 1);
    EXPECT_EQ(detail["field"], "data.measurements.t[1]");
    EXPECT_EQ(sink_.publish_calls, 0);
}

TEST_F(IngestServiceTest, AnswersATopLevelNumberOutOfRangeWith400ForTheBody) {
    const IngestResponse response =
        service_.Ingest(EventKind::kAnalytics, "application/json", "-1e400", caller_);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body["error"]["code"], "invalid_json");
    EXPECT_EQ(response.body["error"]["details"][0]["field"], "(body)");
}

// Kafka refuses messages over message.max.bytes (1,000,000 by default): such an event was
// handed to the sink, which answered 503 with Retry-After, and the client retried for ever.
TEST_F(IngestServiceTest, AnswersAnEventTooLargeForKafkaWith400NamingItAndPublishesNothing) {
    json big = Analytics("user-2");
    big["attachment"] = std::string(1'000'000, 'x');  // unknown fields have no size limit
    const json body = {{"events", {Analytics(), big}}};
    const IngestResponse response = Post(EventKind::kAnalytics, body);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body["error"]["code"], "validation_failed");
    ASSERT_THAT(response.body["error"]["details"], SizeIs(1));
    const json& detail = response.body["error"]["details"][0];
    EXPECT_EQ(detail["index"], 1);
    EXPECT_EQ(detail["field"], "(event)");
    EXPECT_THAT(detail["reason"].get<std::string>(), HasSubstr("1000000"));
    EXPECT_EQ(sink_.publish_calls, 0);

    big["attachment"] = std::string(900'000, 'x');
    EXPECT_EQ(Post(EventKind::kAnalytics, big).status, 202);
}

// Found by tests/fuzz (ingest): a NUL in the member with the empty name was reported with the
// empty field, a 400 naming nothing.
TEST_F(IngestServiceTest, NamesTheMemberWithTheEmptyNameWhenItHoldsNul) {
    const std::string body = R"({"user_id": "u", "event_type": "t", "": "a\u0000b"})";
    const IngestResponse response =
        service_.Ingest(EventKind::kAnalytics, "application/json", body, caller_);
    EXPECT_EQ(response.status, 400);
    ASSERT_THAT(response.body["error"]["details"], SizeIs(1));
    EXPECT_EQ(response.body["error"]["details"][0]["field"], "\"\"");
    EXPECT_THAT(response.body["error"]["details"][0]["reason"].get<std::string>(),
                HasSubstr("U+0000"));
    EXPECT_EQ(sink_.publish_calls, 0);
}

// --- Validation failures ----------------------------------------------------------------------

TEST_F(IngestServiceTest, AnswersAnInvalidEventWith400DetailsAndPublishesNothing) {
    json event = Analytics();
    event.erase("user_id");
    const IngestResponse response = Post(EventKind::kAnalytics, event);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body["error"]["code"], "validation_failed");
    EXPECT_THAT(response.body["error"]["message"].get<std::string>(), HasSubstr("user_id"));
    ASSERT_THAT(response.body["error"]["details"], SizeIs(1));
    const json& detail = response.body["error"]["details"][0];
    EXPECT_EQ(detail["index"], 0);
    EXPECT_EQ(detail["field"], "user_id");
    EXPECT_FALSE(detail["reason"].get<std::string>().empty());
    EXPECT_EQ(sink_.publish_calls, 0);
    EXPECT_THAT(sink_.sent, IsEmpty());
}

TEST_F(IngestServiceTest, RejectsTheWholeBatchWhenOneEventIsInvalid) {
    json bad = Chemical("MOL-2");
    bad["data"]["smiles"] = "C1CC";
    const IngestResponse response =
        Post(EventKind::kChemical, {{"events", json::array({Chemical("MOL-1"), bad, Chemical("MOL-3")})}});
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body["error"]["code"], "validation_failed");
    ASSERT_THAT(response.body["error"]["details"], SizeIs(1));
    EXPECT_EQ(response.body["error"]["details"][0]["index"], 1);
    EXPECT_EQ(response.body["error"]["details"][0]["field"], "data.smiles");
    EXPECT_EQ(sink_.publish_calls, 0);
}

TEST_F(IngestServiceTest, ListsEveryProblemInTheDetails) {
    json bad_type = Analytics();
    bad_type["event_type"] = "has spaces";
    json no_user = Analytics();
    no_user.erase("user_id");
    const IngestResponse response =
        Post(EventKind::kAnalytics, {{"events", json::array({bad_type, Analytics(), no_user})}});
    EXPECT_EQ(response.status, 400);
    const json& details = response.body["error"]["details"];
    ASSERT_THAT(details, SizeIs(2));
    EXPECT_EQ(details[0]["index"], 0);
    EXPECT_EQ(details[0]["field"], "event_type");
    EXPECT_EQ(details[1]["index"], 2);
    EXPECT_EQ(details[1]["field"], "user_id");
    EXPECT_EQ(sink_.publish_calls, 0);
}

TEST_F(IngestServiceTest, AnswersANonObjectBodyWith400) {
    const IngestResponse response = Post(EventKind::kAnalytics, json::array({Analytics()}));
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body["error"]["code"], "validation_failed");
    EXPECT_EQ(sink_.publish_calls, 0);
}

TEST_F(IngestServiceTest, ChecksValidationBeforeKafkaAvailability) {
    sink_.unavailable = "no broker reachable";
    json event = Analytics();
    event.erase("event_type");
    EXPECT_EQ(Post(EventKind::kAnalytics, event).status, 400);
}

// --- Kafka unavailable / overloaded ----------------------------------------------------------

TEST_F(IngestServiceTest, Answers503WithRetryAfterWhenTheSinkIsUnavailable) {
    sink_.unavailable = "no broker reachable";
    const IngestResponse response = Post(EventKind::kAnalytics, Analytics());
    EXPECT_EQ(response.status, 503);
    EXPECT_GT(response.retry_after_seconds, 0);
    EXPECT_EQ(response.body["error"]["code"], "kafka_unavailable");
    EXPECT_THAT(response.body["error"]["message"].get<std::string>(),
                HasSubstr("no broker reachable"));
    EXPECT_EQ(sink_.publish_calls, 0);
}

TEST_F(IngestServiceTest, Answers503WithRetryAfterWhenDeliveryFails) {
    sink_.result = {PublishStatus::kUnavailable, "delivery timed out"};
    const IngestResponse response =
        Post(EventKind::kChemical, {{"events", json::array({Chemical("A"), Chemical("B")})}});
    EXPECT_EQ(response.status, 503);
    EXPECT_GT(response.retry_after_seconds, 0);
    EXPECT_EQ(response.body["error"]["code"], "kafka_unavailable");
    EXPECT_THAT(response.body["error"]["message"].get<std::string>(),
                HasSubstr("delivery timed out"));
    EXPECT_FALSE(response.body.contains("accepted"));
}

TEST_F(IngestServiceTest, Answers503WithRetryAfterWhenTheProducerQueueIsFull) {
    sink_.result = {PublishStatus::kOverloaded, "local queue full"};
    const IngestResponse response = Post(EventKind::kAnalytics, Analytics());
    EXPECT_EQ(response.status, 503);
    EXPECT_GT(response.retry_after_seconds, 0);
    EXPECT_EQ(response.body["error"]["code"], "overloaded");
    EXPECT_FALSE(response.body.contains("event_ids"));
}

// --- Accepted ---------------------------------------------------------------------------------

TEST_F(IngestServiceTest, Answers202AndPublishesOneAnalyticsEventKeyedByUserId) {
    const common::SystemTime before = common::NowUtc();
    const IngestResponse response = Post(EventKind::kAnalytics, Analytics("alice"));
    const common::SystemTime after = common::NowUtc();
    ASSERT_EQ(response.status, 202) << response.body.dump();
    EXPECT_EQ(response.retry_after_seconds, 0);
    EXPECT_EQ(response.body["message"], "Event published");
    EXPECT_EQ(response.body["accepted"], 1);
    ASSERT_THAT(response.body["event_ids"], SizeIs(1));

    ASSERT_EQ(sink_.publish_calls, 1);
    ASSERT_THAT(sink_.sent, SizeIs(1));
    EXPECT_EQ(sink_.sent[0].topic, "analytics.events");
    EXPECT_EQ(sink_.sent[0].key, "alice");

    const common::Envelope envelope = DecodeSent(0);
    EXPECT_EQ(envelope.event_id, response.body["event_ids"][0]);
    EXPECT_EQ(envelope.kind, EventKind::kAnalytics);
    EXPECT_EQ(envelope.schema_version, 1);
    const auto received = common::ParseRfc3339(envelope.received_at);
    ASSERT_TRUE(received.has_value()) << envelope.received_at;
    EXPECT_GE(*received, before);
    EXPECT_LE(*received, after);
    EXPECT_EQ(envelope.payload["user_id"], "alice");
    EXPECT_EQ(envelope.payload["event_type"], "page_view");
    EXPECT_EQ(envelope.payload["metadata"]["page"], "/dashboard");
    EXPECT_EQ(envelope.payload["event_id"], envelope.event_id);
    EXPECT_EQ(envelope.payload["timestamp"], envelope.received_at);  // defaulted
}

TEST_F(IngestServiceTest, PublishesABatchInOneCallOnTheResearchTopicKeyedByMoleculeId) {
    const IngestResponse response = Post(
        EventKind::kChemical,
        {{"events", json::array({Chemical("MOL-1"), Chemical("MOL-2"), Chemical("MOL-3")})}});
    ASSERT_EQ(response.status, 202) << response.body.dump();
    EXPECT_EQ(response.body["message"], "Event published");
    EXPECT_EQ(response.body["accepted"], 3);
    ASSERT_THAT(response.body["event_ids"], SizeIs(3));
    EXPECT_EQ(sink_.publish_calls, 1);
    ASSERT_THAT(sink_.sent, SizeIs(3));
    for (size_t i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(sink_.sent[i].topic, "research.records");
        EXPECT_EQ(sink_.sent[i].key, "MOL-" + std::to_string(i + 1));
        const common::Envelope envelope = DecodeSent(i);
        EXPECT_EQ(envelope.kind, EventKind::kChemical);
        EXPECT_EQ(envelope.schema_version, 1);
        EXPECT_EQ(envelope.event_id, response.body["event_ids"][i]);
        EXPECT_EQ(envelope.payload["molecule_id"], "MOL-" + std::to_string(i + 1));
        EXPECT_EQ(envelope.payload["data"]["smiles"], "CC(=O)Oc1ccccc1C(=O)O");
        EXPECT_TRUE(common::ParseRfc3339(envelope.received_at).has_value());
    }
    EXPECT_NE(response.body["event_ids"][0], response.body["event_ids"][1]);
}

TEST_F(IngestServiceTest, PreservesEventIdsGivenByTheClient) {
    json first = Analytics("a");
    first["event_id"] = "client-id-1";
    json second = Analytics("b");
    second["event_id"] = "client-id-2";
    const IngestResponse response =
        Post(EventKind::kAnalytics, {{"events", json::array({first, second, Analytics("c")})}});
    ASSERT_EQ(response.status, 202) << response.body.dump();
    EXPECT_EQ(response.body["event_ids"][0], "client-id-1");
    EXPECT_EQ(response.body["event_ids"][1], "client-id-2");
    EXPECT_NE(response.body["event_ids"][2], "");
    EXPECT_EQ(DecodeSent(0).event_id, "client-id-1");
    EXPECT_EQ(DecodeSent(1).event_id, "client-id-2");
    EXPECT_EQ(DecodeSent(1).payload["event_id"], "client-id-2");
}

TEST_F(IngestServiceTest, PublishesTheNormalizedTimestampAndUnknownFields) {
    json event = Analytics();
    event["timestamp"] = "2026-01-31T14:30:00+02:00";
    event["campaign"] = "spring";
    ASSERT_EQ(Post(EventKind::kAnalytics, event).status, 202);
    const common::Envelope envelope = DecodeSent(0);
    EXPECT_EQ(envelope.payload["timestamp"], "2026-01-31T12:30:00.000000Z");
    EXPECT_EQ(envelope.payload["campaign"], "spring");
}

TEST_F(IngestServiceTest, CountsAcceptedAndRejectedEventsPerType) {
    ASSERT_EQ(Post(EventKind::kAnalytics, {{"events", json::array({Analytics(), Analytics()})}}).status,
              202);
    json bad = Chemical();
    bad.erase("researcher");
    ASSERT_EQ(Post(EventKind::kChemical, bad).status, 400);
    const std::string text = metrics_.Render();
    EXPECT_THAT(text, HasSubstr("tributary_publisher_events_accepted_total{type=\"user_analytics\"} 2\n"));
    EXPECT_THAT(text,
                HasSubstr("tributary_publisher_events_rejected_total{type=\"chemical_research\"} 1\n"));
}

// --- Robustness -------------------------------------------------------------------------------

// The body is attacker-controlled; 200,000 nested arrays fit in 400 KB, far below the 8 MiB
// body limit. The service must answer (202 or 400), not crash the process. Runs in a child
// process so a crash fails only this test.
TEST(IngestServiceDeathTest, SurvivesADeeplyNestedBody) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    constexpr size_t kDepth = 200000;
    const std::string body = R"({"user_id":"u","event_type":"t","metadata":{"deep":)" +
                             std::string(kDepth, '[') + std::string(kDepth, ']') + "}}";
    EXPECT_EXIT(
        {
            FakeEventSink sink;
            common::MetricsRegistry metrics;
            IngestService service(sink, common::ValidationLimits{}, metrics);
            const IngestResponse response =
                service.Ingest(EventKind::kAnalytics, "application/json", body, {"t", {}});
            std::exit(response.status == 202 || response.status == 400 ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace tributary::publisher
