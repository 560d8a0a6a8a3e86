#include "storage/rollup_delta.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace tributary::storage {
namespace {

using Key = RollupDelta::Key;

constexpr int64_t kMinute = RollupDelta::kMinuteUs;
constexpr int64_t kHour = RollupDelta::kHourUs;
constexpr int64_t kDay = RollupDelta::kDayUs;
// 2026-11-22 00:00:00 UTC.
constexpr int64_t kMidnight = 1'795'305'600LL * 1'000'000;

InsertedEvent Event(int32_t user_no, std::string_view type, int64_t time_us) {
    InsertedEvent e;
    e.tenant_id = "t";
    e.user_no = user_no;
    e.event_type = type;
    e.time_us = time_us;
    return e;
}

TEST(RollupDeltaTest, TruncatesToTheStartOfTheUtcUnitAlsoBefore1970) {
    EXPECT_EQ(RollupDelta::Truncate(kMidnight + 5 * kHour + 7, kDay), kMidnight);
    EXPECT_EQ(RollupDelta::Truncate(kMidnight, kDay), kMidnight);
    EXPECT_EQ(RollupDelta::Truncate(kMidnight - 1, kDay), kMidnight - kDay);
    EXPECT_EQ(RollupDelta::Truncate(kMidnight + 61 * kMinute + 1, kHour), kMidnight + kHour);
    EXPECT_EQ(RollupDelta::Truncate(-1, kMinute), -kMinute);
    EXPECT_EQ(RollupDelta::Truncate(-kMinute, kMinute), -kMinute);
    EXPECT_EQ(RollupDelta::Truncate(-kMinute - 1, kMinute), -2 * kMinute);
}

TEST(RollupDeltaTest, BitTextNumbersBitsFromTheLeftLikeSetBit) {
    RollupDelta::Bitmap bits{};
    bits[0] = 0x80;     // bit 0
    bits[1] = 0x01;     // bit 15
    bits[1023] = 0x01;  // bit 8191
    const std::string text = RollupDelta::BitsText(bits);
    ASSERT_EQ(text.size(), 1u + 2048u);
    EXPECT_EQ(text.substr(0, 5), "x8001");
    EXPECT_EQ(text.substr(5, 4), "0000");
    EXPECT_EQ(text.substr(text.size() - 2), "01");
}

TEST(RollupDeltaTest, CountsEventsPerGrainAndDimensionValueSkippingMissingValues) {
    RollupDelta delta;
    InsertedEvent a = Event(1, "click", kMidnight + 10 * kHour + 30 * kMinute + 5);
    a.dimensions[0] = "/home";   // page
    a.dimensions[3] = "mobile";  // device
    InsertedEvent b = Event(2, "click", kMidnight + 10 * kHour + 30 * kMinute + 59'000'000);
    b.dimensions[0] = "/home";
    b.dimensions[6] = "";  // country present but empty: counted, like in SQL
    InsertedEvent c = Event(1, "view", kMidnight + 11 * kHour);
    for (const auto* e : {&a, &b, &c}) delta.Add(*e);

    const auto& counts = delta.EventCounts();
    const int64_t minute = kMidnight + 10 * kHour + 30 * kMinute;
    EXPECT_EQ(counts.at(Key{"t", "click", {}, minute, 0, 'm'}), 2);
    EXPECT_EQ(counts.at(Key{"t", "click", {}, kMidnight + 10 * kHour, 0, 'h'}), 2);
    EXPECT_EQ(counts.at(Key{"t", "click", {}, kMidnight, 0, 'd'}), 2);
    EXPECT_EQ(counts.at(Key{"t", "view", {}, kMidnight + 11 * kHour, 0, 'h'}), 1);
    EXPECT_EQ(counts.size(), 6u);  // 2 types x 3 grains, each in one bucket

    const auto& dims = delta.DimensionCounts();
    EXPECT_EQ(dims.at(Key{"t", "page", "/home", kMidnight + 10 * kHour, 0, 'h'}), 2);
    EXPECT_EQ(dims.at(Key{"t", "page", "/home", kMidnight, 0, 'd'}), 2);
    EXPECT_EQ(dims.at(Key{"t", "device", "mobile", kMidnight, 0, 'd'}), 1);
    EXPECT_EQ(dims.at(Key{"t", "country", "", kMidnight, 0, 'd'}), 1);
    EXPECT_EQ(dims.size(), 6u);  // page, device, country at hour and day
    EXPECT_TRUE(delta.Sessions().empty());
}

TEST(RollupDeltaTest, SetsOneBitPerUserInTheChunkOfItsNumber) {
    RollupDelta delta;
    InsertedEvent a = Event(8193, "click", kMidnight + kHour);  // chunk 1, bit 1
    a.dimensions[4] = "linux";                                  // os: day grain only
    delta.Add(a);
    delta.Add(Event(8193, "click", kMidnight + kHour + 5));  // same user again
    delta.Add(Event(0, "click", kMidnight + kHour));         // chunk 0, bit 0

    const auto& bits = delta.UserBits();
    const auto bit_set = [&](const Key& key, int bit) {
        const auto& b = bits.at(key);
        return (b[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8))) != 0;
    };
    const int64_t hour = kMidnight + kHour;
    EXPECT_TRUE(bit_set(Key{"t", "all", "", hour, 1, 'h'}, 1));
    EXPECT_TRUE(bit_set(Key{"t", "all", "", kMidnight, 1, 'd'}, 1));
    EXPECT_TRUE(bit_set(Key{"t", "event_type", "click", hour, 1, 'h'}, 1));
    EXPECT_TRUE(bit_set(Key{"t", "all", "", hour, 0, 'h'}, 0));
    EXPECT_TRUE(bit_set(Key{"t", "os", "linux", kMidnight, 1, 'd'}, 1));
    EXPECT_EQ(bits.count(Key{"t", "os", "linux", hour, 1, 'h'}), 0u);
    // all and event_type at two grains for two chunks, os at day grain for one.
    EXPECT_EQ(bits.size(), 9u);
    int set = 0;
    for (const auto& [key, b] : bits) {
        for (const uint8_t byte : b) set += __builtin_popcount(byte);
    }
    EXPECT_EQ(set, 9);  // one bit per (key, user): the repeat sets nothing new
}

TEST(RollupDeltaTest, SessionsKeepFirstLastAndCountPerUserAndSessionId) {
    RollupDelta delta;
    for (const int64_t t : {kMidnight + 50, kMidnight + 10, kMidnight + 30}) {
        InsertedEvent e = Event(7, "view", t);
        e.session_id = "s1";
        delta.Add(e);
    }
    InsertedEvent other = Event(8, "view", kMidnight);
    other.session_id = "s1";  // same id, other user: another session
    delta.Add(other);
    delta.Add(Event(7, "view", kMidnight + 99));  // no session id: not a session row

    const auto& sessions = delta.Sessions();
    ASSERT_EQ(sessions.size(), 2u);
    const auto& s = sessions.at(Key{"t", "s1", {}, 0, 7, 0});
    EXPECT_EQ(s.first_us, kMidnight + 10);
    EXPECT_EQ(s.last_us, kMidnight + 50);
    EXPECT_EQ(s.events, 3);
    EXPECT_EQ(sessions.at(Key{"t", "s1", {}, 0, 8, 0}).events, 1);
}

// The same numbers as grouping the events directly, on random events.
TEST(RollupDeltaTest, EqualsGroupingByBruteForceOnRandomEvents) {
    std::mt19937_64 rng(42);
    const std::vector<std::string> tenants = {"a", "b"};
    const std::vector<std::string> types = {"view", "click", "buy"};
    const std::vector<std::string> values = {"x", "y", "é"};
    RollupDelta delta;
    std::map<std::tuple<std::string, std::string, char, int64_t>, int64_t> counts;
    std::map<std::tuple<std::string, std::string, std::string, char, int64_t>, int64_t> dims;
    std::map<std::tuple<std::string, std::string, std::string, char, int64_t, int32_t>,
             std::set<int32_t>>
        users;
    for (int i = 0; i < 5000; ++i) {
        InsertedEvent e;
        e.tenant_id = tenants[rng() % 2];
        e.user_no = static_cast<int32_t>(rng() % 20000);
        e.event_type = types[rng() % 3];
        e.time_us =
            kMidnight + static_cast<int64_t>(rng() % static_cast<uint64_t>(3 * kDay)) - kDay;
        for (auto& d : e.dimensions) {
            if (rng() % 3 != 0) d = values[rng() % 3];
        }
        delta.Add(e);
        const std::string tenant(e.tenant_id), type(e.event_type);
        const std::vector<std::pair<char, int64_t>> grains = {
            {'m', kMinute}, {'h', kHour}, {'d', kDay}};
        for (const auto& [grain, unit] : grains) {
            // floor division, written independently of Truncate
            const int64_t bucket = e.time_us - ((e.time_us % unit) + unit) % unit;
            counts[{tenant, type, grain, bucket}] += 1;
            if (grain == 'm') continue;
            users[{tenant, "all", "", grain, bucket, e.user_no / 8192}].insert(e.user_no % 8192);
            users[{tenant, "event_type", type, grain, bucket, e.user_no / 8192}].insert(e.user_no %
                                                                                        8192);
            for (size_t d = 0; d < kRollupDimensions.size(); ++d) {
                if (!e.dimensions[d]) continue;
                const std::string dim(kRollupDimensions[d]), value(*e.dimensions[d]);
                dims[{tenant, dim, value, grain, bucket}] += 1;
                if (grain == 'd' && d >= 3) {
                    users[{tenant, dim, value, grain, bucket, e.user_no / 8192}].insert(e.user_no %
                                                                                        8192);
                }
            }
        }
    }
    ASSERT_EQ(delta.EventCounts().size(), counts.size());
    for (const auto& [k, n] : counts) {
        const auto& [tenant, type, grain, bucket] = k;
        EXPECT_EQ(delta.EventCounts().at(Key{tenant, type, {}, bucket, 0, grain}), n);
    }
    ASSERT_EQ(delta.DimensionCounts().size(), dims.size());
    for (const auto& [k, n] : dims) {
        const auto& [tenant, dim, value, grain, bucket] = k;
        EXPECT_EQ(delta.DimensionCounts().at(Key{tenant, dim, value, bucket, 0, grain}), n);
    }
    ASSERT_EQ(delta.UserBits().size(), users.size());
    for (const auto& [k, bits] : users) {
        const auto& [tenant, kind, value, grain, bucket, chunk] = k;
        const auto& b = delta.UserBits().at(Key{tenant, kind, value, bucket, chunk, grain});
        std::set<int32_t> got;
        for (int32_t bit = 0; bit < RollupDelta::kChunkBits; ++bit) {
            if (b[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8))) got.insert(bit);
        }
        EXPECT_EQ(got, bits);
    }
}

TEST(RollupDeltaTest, RefusesANegativeUserNumber) {
    RollupDelta delta;
    EXPECT_THROW(delta.Add(Event(-1, "view", kMidnight)), std::invalid_argument);
}

}  // namespace
}  // namespace tributary::storage
