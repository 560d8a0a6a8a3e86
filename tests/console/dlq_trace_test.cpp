#include "console/trace.hpp"

#include <gtest/gtest.h>

namespace tributary::console {
namespace {

TEST(TraceSteps, EachStepTookTheTimeSinceThePreviousKnownOne) {
    const double t0 = 1'700'000'000'000.0;
    const auto steps = TraceStepsJson({{"accepted", t0, {}},
                                       {"produced", t0 + 2.5, {}},
                                       {"stored", t0 + 40, {}},
                                       {"enrichment", std::nullopt, {}},
                                       {"enrichment", t0 + 1040, {{"attempt", 2}}}});
    ASSERT_EQ(steps.size(), 5u);
    EXPECT_EQ(steps[0]["step"], "accepted");
    EXPECT_TRUE(steps[0]["took_ms"].is_null());
    EXPECT_EQ(steps[0]["at"], "2023-11-14T22:13:20.000000Z");
    EXPECT_DOUBLE_EQ(steps[1]["took_ms"].get<double>(), 2.5);
    EXPECT_DOUBLE_EQ(steps[2]["took_ms"].get<double>(), 37.5);
    EXPECT_TRUE(steps[3]["at"].is_null());
    EXPECT_TRUE(steps[3]["took_ms"].is_null());
    EXPECT_DOUBLE_EQ(steps[4]["took_ms"].get<double>(), 1000);
    EXPECT_EQ(steps[4]["detail"]["attempt"], 2);
}

TEST(TraceSteps, AKafkaTimestampWithinTheMillisecondOfAcceptanceTookZeroNotLess) {
    const double t0 = 1'700'000'000'000.4;
    const auto steps = TraceStepsJson(
        {{"accepted", t0, {}}, {"produced", 1'700'000'000'000.0, {}}, {"stored", t0 - 5, {}}});
    EXPECT_EQ(steps[1]["took_ms"].get<double>(), 0);
    EXPECT_LT(steps[2]["took_ms"].get<double>(), -1);  // real skew stays visible
}

}  // namespace
}  // namespace tributary::console
