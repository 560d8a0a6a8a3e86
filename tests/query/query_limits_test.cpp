#include "query/query_limits.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace tributary::query {
namespace {

using Outcome = ConcurrencyLimiter::Outcome;
using Vars = std::map<std::string, std::string>;

TEST(ConcurrencyLimiter, AdmitsAKeyUpToItsCapAndRefusesTheNextAtOnce) {
    ConcurrencyLimiter limiter(2, 10);
    auto first = limiter.TryAdmit("key_a");
    auto second = limiter.TryAdmit("key_a");
    auto third = limiter.TryAdmit("key_a");
    EXPECT_EQ(first.outcome, Outcome::kAdmitted);
    EXPECT_EQ(second.outcome, Outcome::kAdmitted);
    EXPECT_EQ(third.outcome, Outcome::kKeyAtCap);
    EXPECT_TRUE(first.permit.Held());
    EXPECT_FALSE(third.permit.Held());
    EXPECT_EQ(limiter.Running("key_a"), 2u);
    EXPECT_EQ(limiter.Running(), 2u);
}

TEST(ConcurrencyLimiter, AnotherKeyHasItsOwnCap) {
    ConcurrencyLimiter limiter(1, 10);
    auto a = limiter.TryAdmit("key_a");
    EXPECT_EQ(limiter.TryAdmit("key_a").outcome, Outcome::kKeyAtCap);
    auto b = limiter.TryAdmit("key_b");
    EXPECT_EQ(b.outcome, Outcome::kAdmitted);
    EXPECT_EQ(limiter.Running("key_a"), 1u);
    EXPECT_EQ(limiter.Running("key_b"), 1u);
}

TEST(ConcurrencyLimiter, ReleasingAPermitAdmitsTheNextQueryOfTheKey) {
    ConcurrencyLimiter limiter(1, 10);
    {
        auto a = limiter.TryAdmit("key_a");
        ASSERT_EQ(a.outcome, Outcome::kAdmitted);
        EXPECT_EQ(limiter.TryAdmit("key_a").outcome, Outcome::kKeyAtCap);
    }
    EXPECT_EQ(limiter.Running("key_a"), 0u);
    EXPECT_EQ(limiter.Running(), 0u);
    EXPECT_EQ(limiter.TryAdmit("key_a").outcome, Outcome::kAdmitted);
}

TEST(ConcurrencyLimiter, TheProcessCapRefusesKeysUnderTheirOwnCap) {
    ConcurrencyLimiter limiter(2, 3);
    auto a1 = limiter.TryAdmit("key_a");
    auto a2 = limiter.TryAdmit("key_a");
    auto b1 = limiter.TryAdmit("key_b");
    EXPECT_EQ(limiter.TryAdmit("key_b").outcome, Outcome::kProcessAtCap);
    EXPECT_EQ(limiter.TryAdmit("key_c").outcome, Outcome::kProcessAtCap);
    EXPECT_EQ(limiter.Running(), 3u);
}

TEST(ConcurrencyLimiter, AKeyAtItsCapIsToldSoEvenWhenTheProcessIsFull) {
    ConcurrencyLimiter limiter(2, 2);
    auto a1 = limiter.TryAdmit("key_a");
    auto a2 = limiter.TryAdmit("key_a");
    EXPECT_EQ(limiter.TryAdmit("key_a").outcome, Outcome::kKeyAtCap);
    EXPECT_EQ(limiter.TryAdmit("key_b").outcome, Outcome::kProcessAtCap);
}

TEST(ConcurrencyLimiter, RefusalsTakeNoPlace) {
    ConcurrencyLimiter limiter(1, 1);
    auto a = limiter.TryAdmit("key_a");
    for (int i = 0; i < 100; ++i) {
        EXPECT_FALSE(limiter.TryAdmit("key_a").permit.Held());
        EXPECT_FALSE(limiter.TryAdmit("key_" + std::to_string(i)).permit.Held());
    }
    EXPECT_EQ(limiter.Running(), 1u);
    a = {};
    EXPECT_EQ(limiter.Running(), 0u);
    EXPECT_EQ(limiter.TryAdmit("key_b").outcome, Outcome::kAdmitted);
}

TEST(ConcurrencyLimiter, AMovedPermitIsReleasedOnce) {
    ConcurrencyLimiter limiter(2, 2);
    auto a = limiter.TryAdmit("key_a");
    ConcurrencyLimiter::Permit moved = std::move(a.permit);
    // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from state is what is checked
    EXPECT_FALSE(a.permit.Held());
    EXPECT_TRUE(moved.Held());
    EXPECT_EQ(limiter.Running("key_a"), 1u);
    ConcurrencyLimiter::Permit other = limiter.TryAdmit("key_b").permit;
    other = std::move(moved);  // releases key_b's place, takes key_a's
    EXPECT_EQ(limiter.Running("key_b"), 0u);
    EXPECT_EQ(limiter.Running("key_a"), 1u);
    other = {};
    EXPECT_EQ(limiter.Running(), 0u);
}

TEST(ConcurrencyLimiter, CapsBelowOneAreOne) {
    ConcurrencyLimiter limiter(0, 0);
    EXPECT_EQ(limiter.PerKeyCap(), 1u);
    EXPECT_EQ(limiter.TotalCap(), 1u);
    auto a = limiter.TryAdmit("key_a");
    EXPECT_EQ(a.outcome, Outcome::kAdmitted);
}

TEST(ConcurrencyLimiter, ConcurrentAdmissionsNeverExceedTheCaps) {
    ConcurrencyLimiter limiter(3, 5);
    std::atomic<int> over_key{0};
    std::atomic<int> over_total{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            const std::string key = "key_" + std::to_string(t % 3);
            for (int i = 0; i < 2000; ++i) {
                auto admission = limiter.TryAdmit(key);
                if (!admission.permit.Held()) continue;
                if (limiter.Running(key) > 3) ++over_key;
                if (limiter.Running() > 5) ++over_total;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(over_key.load(), 0);
    EXPECT_EQ(over_total.load(), 0);
    EXPECT_EQ(limiter.Running(), 0u);
}

TEST(ReadQueryLimits, DefaultsToFiveSecondsFourPerKeyAndThePoolSize) {
    common::EnvReader env(Vars{});
    const QueryLimits limits = ReadQueryLimits(env, 12);
    EXPECT_NO_THROW(env.ThrowIfInvalid());
    EXPECT_EQ(limits.timeout, std::chrono::milliseconds(5000));
    EXPECT_EQ(limits.max_concurrent_per_key, 4u);
    EXPECT_EQ(limits.max_concurrent, 12u);
}

TEST(ReadQueryLimits, ReadsEachSetting) {
    common::EnvReader env(Vars{{"QUERY_TIMEOUT_MS", "1500"},
                               {"QUERY_MAX_CONCURRENT_PER_KEY", "2"},
                               {"QUERY_MAX_CONCURRENT", "20"}});
    const QueryLimits limits = ReadQueryLimits(env, 8);
    EXPECT_NO_THROW(env.ThrowIfInvalid());
    EXPECT_EQ(limits.timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(limits.max_concurrent_per_key, 2u);
    EXPECT_EQ(limits.max_concurrent, 20u);
}

TEST(ReadQueryLimits, TheFormerStatementTimeoutNameStillWorksWhenTheNewOneIsUnset) {
    common::EnvReader old_only(Vars{{"QUERY_STATEMENT_TIMEOUT_MS", "30000"}});
    EXPECT_EQ(ReadQueryLimits(old_only, 8).timeout, std::chrono::milliseconds(30000));
    common::EnvReader both(
        Vars{{"QUERY_STATEMENT_TIMEOUT_MS", "30000"}, {"QUERY_TIMEOUT_MS", "2000"}});
    EXPECT_EQ(ReadQueryLimits(both, 8).timeout, std::chrono::milliseconds(2000));
}

TEST(ReadQueryLimits, BadValuesAreReportedNamingTheVariable) {
    struct Case {
        std::string name;
        std::string value;
        std::string says;
    };
    for (const Case& c :
         {Case{"QUERY_TIMEOUT_MS", "5s", "QUERY_TIMEOUT_MS='5s' is not an integer"},
          Case{"QUERY_TIMEOUT_MS", "0",
               "QUERY_TIMEOUT_MS=0 is out of range (expected 100..600000)"},
          Case{"QUERY_TIMEOUT_MS", "600001", "out of range"},
          Case{"QUERY_STATEMENT_TIMEOUT_MS", "-1", "QUERY_STATEMENT_TIMEOUT_MS=-1 is out of range"},
          Case{"QUERY_MAX_CONCURRENT_PER_KEY", "0",
               "QUERY_MAX_CONCURRENT_PER_KEY=0 is out of range (expected 1..1024)"},
          Case{"QUERY_MAX_CONCURRENT_PER_KEY", "many", "is not an integer"},
          Case{"QUERY_MAX_CONCURRENT", "0",
               "QUERY_MAX_CONCURRENT=0 is out of range (expected 1..4096)"}}) {
        SCOPED_TRACE(c.name + "=" + c.value);
        common::EnvReader env(Vars{{c.name, c.value}});
        ReadQueryLimits(env, 8);
        try {
            env.ThrowIfInvalid();
            ADD_FAILURE() << "accepted";
        } catch (const common::ConfigError& e) {
            ASSERT_EQ(e.Problems().size(), 1u);
            EXPECT_NE(e.Problems()[0].find(c.says), std::string::npos) << e.Problems()[0];
        }
    }
}

}  // namespace
}  // namespace tributary::query
