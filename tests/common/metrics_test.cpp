#include "common/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tributary::common {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

size_t Occurrences(const std::string& text, const std::string& needle) {
    size_t count = 0;
    for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
        ++count;
    }
    return count;
}

TEST(Counter, StartsAtZeroAndAddsIncrements) {
    Counter counter;
    EXPECT_DOUBLE_EQ(counter.Value(), 0.0);
    counter.Inc();
    counter.Inc(2.5);
    EXPECT_DOUBLE_EQ(counter.Value(), 3.5);
}

TEST(Counter, CountsEveryIncrementFromManyThreads) {
    Counter counter;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&counter] {
            for (int i = 0; i < 10000; ++i) counter.Inc();
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_DOUBLE_EQ(counter.Value(), 40000.0);
}

TEST(Gauge, SetsIncrementsAndDecrements) {
    Gauge gauge;
    gauge.Set(10);
    gauge.Inc(5);
    gauge.Dec(2);
    gauge.Dec();
    EXPECT_DOUBLE_EQ(gauge.Value(), 12.0);
    gauge.Set(-3);
    EXPECT_DOUBLE_EQ(gauge.Value(), -3.0);
}

TEST(Histogram, CountsCumulativelyWithBoundsInclusive) {
    Histogram histogram({1, 2, 5});
    for (const double value : {0.5, 1.0, 3.0, 10.0, 2.0}) histogram.Observe(value);
    EXPECT_EQ(histogram.CumulativeCount(0), 2u);  // 0.5, 1.0 (le is inclusive)
    EXPECT_EQ(histogram.CumulativeCount(1), 3u);  // + 2.0
    EXPECT_EQ(histogram.CumulativeCount(2), 4u);  // + 3.0
    EXPECT_EQ(histogram.CumulativeCount(3), 5u);  // +Inf: + 10.0
    EXPECT_EQ(histogram.Count(), 5u);
    EXPECT_DOUBLE_EQ(histogram.Sum(), 16.5);
}

TEST(Histogram, StartsEmpty) {
    Histogram histogram({1});
    EXPECT_EQ(histogram.CumulativeCount(0), 0u);
    EXPECT_EQ(histogram.CumulativeCount(1), 0u);
    EXPECT_EQ(histogram.Count(), 0u);
    EXPECT_DOUBLE_EQ(histogram.Sum(), 0.0);
}

TEST(LatencyBuckets, AreAscendingFromHalfAMillisecondToTenSeconds) {
    const auto buckets = LatencyBuckets();
    ASSERT_FALSE(buckets.empty());
    EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
    EXPECT_EQ(std::adjacent_find(buckets.begin(), buckets.end()), buckets.end());
    EXPECT_DOUBLE_EQ(buckets.front(), 0.0005);
    EXPECT_DOUBLE_EQ(buckets.back(), 10.0);
}

TEST(MetricsRegistry, ReturnsTheSameSeriesForTheSameNameAndLabels) {
    MetricsRegistry registry;
    Counter& a = registry.GetCounter("requests_total", "Requests", {{"route", "/a"}});
    Counter& again = registry.GetCounter("requests_total", "Requests", {{"route", "/a"}});
    Counter& b = registry.GetCounter("requests_total", "Requests", {{"route", "/b"}});
    EXPECT_EQ(&a, &again);
    EXPECT_NE(&a, &b);
}

TEST(MetricsRegistry, RefusesOneNameRegisteredWithTwoTypes) {
    MetricsRegistry registry;
    registry.GetCounter("things", "Things");
    EXPECT_THROW(registry.GetGauge("things", "Things"), std::logic_error);
}

TEST(MetricsRegistry, RendersACounterWithHelpTypeAndValue) {
    MetricsRegistry registry;
    registry.GetCounter("tributary_events_total", "Events accepted", {{"type", "user_analytics"}})
        .Inc(3);
    EXPECT_EQ(registry.Render(),
              "# HELP tributary_events_total Events accepted\n"
              "# TYPE tributary_events_total counter\n"
              "tributary_events_total{type=\"user_analytics\"} 3\n");
}

TEST(MetricsRegistry, RendersAGaugeWithoutLabels) {
    MetricsRegistry registry;
    registry.GetGauge("queue_depth", "Queued messages").Set(7);
    EXPECT_EQ(registry.Render(),
              "# HELP queue_depth Queued messages\n"
              "# TYPE queue_depth gauge\n"
              "queue_depth 7\n");
}

TEST(MetricsRegistry, WritesHelpAndTypeOncePerFamily) {
    MetricsRegistry registry;
    registry.GetCounter("http_requests_total", "HTTP requests", {{"code", "202"}}).Inc();
    registry.GetCounter("http_requests_total", "HTTP requests", {{"code", "400"}}).Inc(2);
    const std::string text = registry.Render();
    EXPECT_EQ(Occurrences(text, "# HELP http_requests_total"), 1u);
    EXPECT_EQ(Occurrences(text, "# TYPE http_requests_total counter"), 1u);
    EXPECT_THAT(text, HasSubstr("http_requests_total{code=\"202\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("http_requests_total{code=\"400\"} 2\n"));
}

TEST(MetricsRegistry, RendersSeveralLabelsInOrder) {
    MetricsRegistry registry;
    registry.GetCounter("r_total", "R", {{"service", "publisher"}, {"route", "/x"}, {"status", "202"}})
        .Inc();
    EXPECT_THAT(registry.Render(),
                HasSubstr("r_total{service=\"publisher\",route=\"/x\",status=\"202\"} 1\n"));
}

TEST(MetricsRegistry, EscapesBackslashQuoteAndNewlineInLabelValues) {
    MetricsRegistry registry;
    registry.GetCounter("odd_total", "Odd", {{"path", "C:\\dir \"quoted\"\nnext"}}).Inc();
    EXPECT_THAT(registry.Render(),
                HasSubstr("odd_total{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 1\n"));
}

TEST(MetricsRegistry, RendersAHistogramWithCumulativeBucketsInfSumAndCount) {
    MetricsRegistry registry;
    Histogram& histogram = registry.GetHistogram("publish_seconds", "Publish latency",
                                                 {0.25, 1, 2.5}, {{"type", "chemical_research"}});
    for (const double value : {0.125, 0.25, 0.5, 3.0}) histogram.Observe(value);
    EXPECT_EQ(registry.Render(),
              "# HELP publish_seconds Publish latency\n"
              "# TYPE publish_seconds histogram\n"
              "publish_seconds_bucket{type=\"chemical_research\",le=\"0.25\"} 2\n"
              "publish_seconds_bucket{type=\"chemical_research\",le=\"1\"} 3\n"
              "publish_seconds_bucket{type=\"chemical_research\",le=\"2.5\"} 3\n"
              "publish_seconds_bucket{type=\"chemical_research\",le=\"+Inf\"} 4\n"
              "publish_seconds_sum{type=\"chemical_research\"} 3.875\n"
              "publish_seconds_count{type=\"chemical_research\"} 4\n");
}

TEST(MetricsRegistry, RendersAnUnlabelledHistogramWithOnlyTheLeLabel) {
    MetricsRegistry registry;
    registry.GetHistogram("h", "H", {1}).Observe(0.5);
    const std::string text = registry.Render();
    EXPECT_THAT(text, HasSubstr("h_bucket{le=\"1\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("h_bucket{le=\"+Inf\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("h_sum 0.5\n"));
    EXPECT_THAT(text, HasSubstr("h_count 1\n"));
}

TEST(MetricsRegistry, EvaluatesCallbackGaugesAtScrapeTime) {
    MetricsRegistry registry;
    double depth = 1;
    registry.AddCallbackGauge("retry_queue_depth", "Retry queue depth", [&depth] { return depth; },
                              {{"queue", "enrichment"}});
    EXPECT_THAT(registry.Render(), HasSubstr("retry_queue_depth{queue=\"enrichment\"} 1\n"));
    depth = 42;
    const std::string text = registry.Render();
    EXPECT_THAT(text, HasSubstr("# TYPE retry_queue_depth gauge\n"));
    EXPECT_THAT(text, HasSubstr("retry_queue_depth{queue=\"enrichment\"} 42\n"));
    EXPECT_THAT(text, Not(HasSubstr("} 1\n")));
}

TEST(MetricsRegistry, RendersNothingWhenEmpty) {
    MetricsRegistry registry;
    EXPECT_EQ(registry.Render(), "");
}

}  // namespace
}  // namespace tributary::common
