#include "tools/import/progress.hpp"
#include "tools/import/sender.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <deque>
#include <set>

namespace tributary::tools::import {
namespace {

using namespace std::chrono_literals;

// Answers like the publisher: events whose "bad" member is true make the batch a 400 naming
// their indexes; queued answers (429, 503, transport errors) come first.
class FakePublisher final : public Transport {
public:
    explicit FakePublisher(bool segment = false) : segment_(segment) {}
    std::deque<HttpAnswer> scripted;
    std::vector<std::vector<std::string>> requests;  // the ids of each request
    std::set<std::string> stored;
    bool name_indexes = true;

    HttpAnswer Post(const std::string&, const std::string& body) override {
        const auto json = nlohmann::json::parse(body);
        const auto& events = json.at(segment_ ? "batch" : "events");
        std::vector<std::string> ids;
        for (const auto& e : events) ids.push_back(e.at("id"));
        requests.push_back(ids);
        if (!scripted.empty()) {
            HttpAnswer answer = scripted.front();
            scripted.pop_front();
            return answer;
        }
        nlohmann::json problems = nlohmann::json::array();
        for (size_t i = 0; i < events.size(); ++i) {
            if (events[i].value("bad", false)) {
                if (segment_) {
                    problems.push_back({{"index", i}, {"code", "invalid"}, {"field", "userId"}, {"message", "is required"}});
                } else {
                    problems.push_back({{"index", i}, {"field", "user_id"}, {"reason", "is required"}});
                }
            }
        }
        if (!problems.empty()) {
            if (!name_indexes) return {400, R"J({"error":{"code":"invalid_json","message":"nope","details":[{"index":0,"field":"(body)","reason":"x"}]}})J", "", ""};
            const nlohmann::json answer =
                segment_ ? nlohmann::json{{"success", false}, {"code", "validation_failed"}, {"message", "bad"}, {"errors", problems}}
                         : nlohmann::json{{"error", {{"code", "validation_failed"}, {"message", "bad"}, {"details", problems}}}};
            return {400, answer.dump(), "", ""};
        }
        for (const auto& id : ids) stored.insert(id);
        return {segment_ ? 200 : 202, "{}", "", ""};
    }

private:
    bool segment_;
};

std::vector<OutgoingEvent> Events(int count, std::set<int> bad) {
    std::vector<OutgoingEvent> events;
    for (int i = 0; i < count; ++i) {
        nlohmann::json e = {{"id", "e" + std::to_string(i)}};
        if (bad.contains(i)) e["bad"] = true;
        events.push_back({i + 1, i + 1, e.dump(), "raw" + std::to_string(i)});
    }
    return events;
}

struct Sleeps {
    std::vector<std::chrono::milliseconds> delays;
    Sleeper Fn() {
        return [this](std::chrono::milliseconds d) {
            delays.push_back(d);
            return true;
        };
    }
};

TEST(BatchSender, A400TakesOutTheNamedEventsAndResendsTheRest) {
    for (const bool segment : {false, true}) {
        FakePublisher publisher(segment);
        Sleeps sleeps;
        BatchSender sender(publisher, segment ? Kind::kSegment : Kind::kAnalytics, "/p", {}, sleeps.Fn());
        const SendResult result = sender.Send(Events(10, {2, 7}));
        EXPECT_EQ(result.status, SendResult::Status::kDone);
        EXPECT_EQ(result.accepted, 8);
        ASSERT_EQ(result.rejections.size(), 2u);
        EXPECT_EQ(result.rejections[0].line, 3);
        EXPECT_EQ(result.rejections[1].line, 8);
        EXPECT_EQ(result.rejections[0].raw, "raw2");
        EXPECT_NE(result.rejections[0].reason.find("is required"), std::string::npos);
        EXPECT_EQ(publisher.stored.size(), 8u);
        EXPECT_FALSE(publisher.stored.contains("e2"));
        EXPECT_EQ(publisher.requests.size(), 2u);  // the batch, then the rest at once
    }
}

TEST(BatchSender, A400WithoutIndexesIsBisectedToTheBadEvent) {
    FakePublisher publisher;
    publisher.name_indexes = false;
    Sleeps sleeps;
    BatchSender sender(publisher, Kind::kAnalytics, "/p", {}, sleeps.Fn());
    const SendResult result = sender.Send(Events(16, {5}));
    EXPECT_EQ(result.accepted, 15);
    ASSERT_EQ(result.rejections.size(), 1u);
    EXPECT_EQ(result.rejections[0].number, 6);
    EXPECT_EQ(publisher.stored.size(), 15u);
}

TEST(BatchSender, RetryAfterIsHonouredAndTransportErrorsBackOff) {
    FakePublisher publisher;
    publisher.scripted = {{429, "{}", "2", ""}, {503, "{}", "1", ""}, {0, "", "", "Connection"}, {502, "", "", ""}};
    Sleeps sleeps;
    SenderPolicy policy;
    policy.backoff_initial = 100ms;
    policy.backoff_max = 1000ms;
    BatchSender sender(publisher, Kind::kAnalytics, "/p", policy, sleeps.Fn());
    const SendResult result = sender.Send(Events(3, {}));
    EXPECT_EQ(result.status, SendResult::Status::kDone);
    EXPECT_EQ(result.accepted, 3);
    EXPECT_EQ(result.retries, 4);
    ASSERT_EQ(sleeps.delays.size(), 4u);
    EXPECT_EQ(sleeps.delays[0], 2000ms);
    EXPECT_EQ(sleeps.delays[1], 1000ms);
    EXPECT_LE(sleeps.delays[2], 100ms);
    EXPECT_LE(sleeps.delays[3], 200ms);
    // Every attempt resent the same events (same ids: idempotent).
    for (const auto& request : publisher.requests) EXPECT_EQ(request, publisher.requests.front());
}

TEST(BatchSender, GivesUpAfterTheRetriesAndOnAuthErrors) {
    FakePublisher down;
    for (int i = 0; i < 5; ++i) down.scripted.push_back({0, "", "", "Connection"});
    Sleeps sleeps;
    SenderPolicy policy;
    policy.retries = 3;
    BatchSender sender(down, Kind::kAnalytics, "/p", policy, sleeps.Fn());
    const SendResult result = sender.Send(Events(2, {}));
    EXPECT_EQ(result.status, SendResult::Status::kFatal);
    EXPECT_NE(result.message.find("3 times"), std::string::npos);
    EXPECT_EQ(down.requests.size(), 3u);

    FakePublisher refusing;
    refusing.scripted = {{401, R"({"error":{"code":"unauthorized","message":"unknown key"}})", "", ""}};
    BatchSender auth(refusing, Kind::kAnalytics, "/p", {}, sleeps.Fn());
    const SendResult refused = auth.Send(Events(2, {}));
    EXPECT_EQ(refused.status, SendResult::Status::kFatal);
    EXPECT_NE(refused.message.find("unknown key"), std::string::npos);
}

TEST(BatchSender, StopsWhileWaitingWhenAsked) {
    FakePublisher publisher;
    publisher.scripted = {{429, "{}", "30", ""}};
    BatchSender sender(publisher, Kind::kAnalytics, "/p", {}, [](std::chrono::milliseconds) { return false; });
    EXPECT_EQ(sender.Send(Events(2, {})).status, SendResult::Status::kStopped);
    EXPECT_TRUE(publisher.stored.empty());
}

TEST(BatchBody, WrapsEventsForEachRoute) {
    const std::string a = R"({"x":1})", b = R"({"y":2})";
    EXPECT_EQ(BatchBody(Kind::kAnalytics, {&a, &b}), R"({"events":[{"x":1},{"y":2}]})");
    EXPECT_EQ(BatchBody(Kind::kSegment, {&a}), R"({"batch":[{"x":1}]})");
    EXPECT_EQ(RoutePath({"http://h:1", "/base"}, Kind::kSegment), "/base/v1/batch");
    EXPECT_EQ(RoutePath({"http://h:1", ""}, Kind::kChemical), "/api/v1/events/chemical");
}

TEST(Progress, BarAndLineShowDoneTotalRateAndEta) {
    ProgressSnapshot s;
    s.done_bytes = 500'000'000;
    s.total_bytes = 1'000'000'000;
    s.events = 200'000;
    s.elapsed_seconds = 10;
    const std::string bar = FormatProgressBar(s, 100);
    EXPECT_NE(bar.find("50.0%"), std::string::npos);
    EXPECT_NE(bar.find("500.0 MB / 1.0 GB"), std::string::npos);
    EXPECT_NE(bar.find("20000 events/s"), std::string::npos);
    EXPECT_NE(bar.find("ETA 0:10"), std::string::npos);
    EXPECT_LE(bar.size(), 100u);
    EXPECT_DOUBLE_EQ(EtaSeconds(s), 10.0);
    EXPECT_NE(FormatProgressLine(s).find("ETA 0:10"), std::string::npos);
    s.start_bytes = 500'000'000;  // resumed there: no rate known yet
    EXPECT_LT(EtaSeconds(s), 0);
}

}  // namespace
}  // namespace tributary::tools::import
