#include "query/analytics_queries.hpp"
#include "query/day_segment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <stdexcept>

namespace tributary::query {
namespace {

constexpr int64_t kDay = 1772323200LL * 1000000;  // 2026-03-01T00:00:00Z
constexpr int64_t kDayUs = 86400LL * 1000000;

struct Decoded {
    uint32_t user;
    int64_t time;
    std::string type;
    std::array<std::optional<std::string>, kSegmentDimensions> dims;
    bool operator==(const Decoded&) const = default;
};

std::vector<Decoded> DecodeAll(const EncodedSegment& segment) {
    std::vector<Decoded> out;
    TimelineReader timeline(segment.timeline, kDay, segment.dictionary.event_types.size());
    DimensionReader dimensions(segment.dimensions, segment.dictionary);
    while (!timeline.Done()) {
        Decoded d;
        uint32_t type = 0;
        timeline.Next(d.user, d.time, type);
        d.type = segment.dictionary.event_types.at(type);
        EXPECT_FALSE(dimensions.Done());
        std::array<int32_t, kSegmentDimensions> codes{};
        dimensions.Next(codes);
        for (size_t i = 0; i < kSegmentDimensions; ++i) {
            if (codes[i] >= 0) d.dims[i] = segment.dictionary.dimensions[i].at(static_cast<size_t>(codes[i]));
        }
        out.push_back(d);
    }
    EXPECT_TRUE(dimensions.Done());
    return out;
}

TEST(DaySegment, RoundTripsEveryFieldOfRandomDays) {
    std::mt19937_64 rng(42);
    const std::vector<std::string> types = {"page_view", "click", "purchase", "ünïcode"};
    const std::vector<std::string> devices = {"mobile", "desktop"};
    const std::vector<std::string> countries = {"DE", "US", "JP"};
    for (int round = 0; round < 50; ++round) {
        std::vector<Decoded> expected(rng() % 2000);
        for (auto& e : expected) {
            e.user = static_cast<uint32_t>(rng() % (round % 2 ? 50 : 4000000000ULL));
            // Day edges, ties and arbitrary microseconds.
            const uint64_t pick = rng() % 10;
            e.time = kDay + (pick == 0 ? 0 : pick == 1 ? kDayUs - 1 : static_cast<int64_t>(rng() % 1000) * (round % 3 ? 1 : 86400000));
            e.type = types[rng() % types.size()];
            if (rng() % 4) e.dims[0] = devices[rng() % devices.size()];
            if (rng() % 3) e.dims[3] = countries[rng() % countries.size()];
        }
        std::sort(expected.begin(), expected.end(), [](const Decoded& a, const Decoded& b) {
            return a.user != b.user ? a.user < b.user : a.time < b.time;
        });
        std::vector<SegmentEvent> events;
        for (const auto& e : expected) {
            SegmentEvent s{e.user, e.time, e.type, {}};
            for (size_t i = 0; i < kSegmentDimensions; ++i) {
                if (e.dims[i]) s.dimensions[i] = *e.dims[i];
            }
            events.push_back(s);
        }
        const EncodedSegment segment = EncodeSegment(kDay, events);
        EXPECT_EQ(segment.events, static_cast<int64_t>(events.size()));
        // The dictionary survives its JSON form.
        const auto dictionary = SegmentDictionary::FromJson(segment.dictionary.ToJson());
        ASSERT_TRUE(dictionary);
        EXPECT_EQ(dictionary->event_types, segment.dictionary.event_types);
        EXPECT_EQ(dictionary->dimensions, segment.dictionary.dimensions);
        ASSERT_EQ(DecodeAll(segment), expected) << "round " << round;
    }
}

// Segment event names (spaces, commas, quotes, Unicode) keep their codes through the
// dictionary's JSON form, so funnels over segments find them.
TEST(DaySegment, KeepsFreeFormEventNamesThroughTheDictionary) {
    const std::vector<std::string> names = {"Order Completed", "Viewed, then added",
                                            "it's \"done\"", "Commande validée ✓", "注文完了"};
    std::vector<SegmentEvent> events;
    for (size_t i = 0; i < names.size(); ++i) {
        events.push_back({1, kDay + static_cast<int64_t>(i), names[i], {}});
    }
    const EncodedSegment segment = EncodeSegment(kDay, events);
    const auto dictionary = SegmentDictionary::FromJson(segment.dictionary.ToJson());
    ASSERT_TRUE(dictionary);
    EXPECT_EQ(dictionary->event_types, names);
    std::vector<std::string> decoded;
    for (const auto& d : DecodeAll(segment)) decoded.push_back(d.type);
    EXPECT_EQ(decoded, names);
}

TEST(DaySegment, RefusesUnsortedOrOutOfDayEvents) {
    EXPECT_THROW(EncodeSegment(kDay, {{2, kDay, "a", {}}, {1, kDay, "a", {}}}), std::invalid_argument);
    EXPECT_THROW(EncodeSegment(kDay, {{1, kDay + 5, "a", {}}, {1, kDay + 4, "a", {}}}), std::invalid_argument);
    EXPECT_THROW(EncodeSegment(kDay, {{1, kDay + kDayUs, "a", {}}}), std::invalid_argument);
    EXPECT_THROW(EncodeSegment(kDay, {{1, kDay - 1, "a", {}}}), std::invalid_argument);
}

TEST(DaySegment, CorruptColumnsThrowInsteadOfDecodingGarbage) {
    const EncodedSegment segment = EncodeSegment(kDay, {{7, kDay + 1000, "a", {}}, {9, kDay + 2000, "b", {}}});
    // Truncated anywhere: every prefix either ends on an event boundary or throws.
    for (size_t cut = 1; cut < segment.timeline.size(); ++cut) {
        TimelineReader reader(std::string_view(segment.timeline).substr(0, cut), kDay, 2);
        uint32_t user = 0;
        int64_t time = 0;
        uint32_t type = 0;
        const auto read_all = [&] {
            while (!reader.Done()) reader.Next(user, time, type);
        };
        if (cut != 4) {
            EXPECT_THROW(read_all(), std::runtime_error) << cut;
        }
    }
    // A type code outside the dictionary.
    TimelineReader short_dictionary(segment.timeline, kDay, 1);
    uint32_t user = 0;
    int64_t time = 0;
    uint32_t type = 0;
    short_dictionary.Next(user, time, type);
    EXPECT_THROW(short_dictionary.Next(user, time, type), std::runtime_error);
    // A time past the end of the day.
    std::string late;
    late += '\x01';
    late += "\xff\xff\xff\xff\xff\x03";  // > 86,400,000,000 us
    late += '\x00';
    TimelineReader past(late, kDay, 1);
    EXPECT_THROW(past.Next(user, time, type), std::runtime_error);
    EXPECT_FALSE(SegmentDictionary::FromJson("{\"format\":2}"));
    EXPECT_FALSE(SegmentDictionary::FromJson("not json"));
}

TEST(DaySegment, ParsesPostgresIsoTimes) {
    EXPECT_EQ(ParsePgUtcMicros("2026-03-01 00:00:00+00"), kDay);
    EXPECT_EQ(ParsePgUtcMicros("2026-03-01 23:59:59.999999+00"), kDay + kDayUs - 1);
    EXPECT_EQ(ParsePgUtcMicros("2026-03-01 00:00:01.5+00"), kDay + 1500000);
    EXPECT_FALSE(ParsePgUtcMicros("2026-03-01 00:00:00+01"));
    EXPECT_FALSE(ParsePgUtcMicros("2026-03-01T00:00:00Z"));
}

// The aggregator over many users, fed day by day, agrees with one Depth() per user over the
// whole history.
TEST(FunnelAggregator, AgreesWithPerUserDepthAcrossSources) {
    std::mt19937 rng(99);
    for (int round = 0; round < 300; ++round) {
        const int types = 1 + static_cast<int>(rng() % 3);
        std::vector<int> steps(1 + rng() % 4);
        for (auto& s : steps) s = static_cast<int>(rng() % static_cast<unsigned>(types));
        const int64_t within = static_cast<int64_t>(rng() % 30);
        const FunnelCounter counter(steps, within);
        std::map<uint32_t, std::vector<FunnelCounter::Event>> histories;
        for (int i = 0, n = static_cast<int>(rng() % 200); i < n; ++i) {
            histories[rng() % 20].push_back({static_cast<int64_t>(rng() % 100), static_cast<int>(rng() % static_cast<unsigned>(types))});
        }
        FunnelAggregator aggregator(counter);
        // Sources: [0, 25), [25, 60), [60, 100), each in (user, time) order.
        for (const auto& [from, to] : std::vector<std::pair<int64_t, int64_t>>{{0, 25}, {25, 60}, {60, 100}}) {
            for (auto& [user, events] : histories) {
                std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.time_us < b.time_us; });
                for (const auto& e : events) {
                    if (e.time_us >= from && e.time_us < to) aggregator.Add(user, e.time_us, e.type);
                }
            }
            aggregator.EndSource();
        }
        std::vector<int64_t> expected(steps.size(), 0);
        for (const auto& [user, events] : histories) {
            for (int k = 0; k < counter.Depth(events); ++k) ++expected[static_cast<size_t>(k)];
        }
        ASSERT_EQ(aggregator.UsersReaching(), expected) << "round " << round;
    }
}

}  // namespace
}  // namespace tributary::query
