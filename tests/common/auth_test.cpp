// API keys, Authorization parsing, the authenticator's cache and the token bucket: pure logic
// with a fake key store and a fake clock. The PostgreSQL store and the Redis buckets are
// tested on the real servers (tests/integration/tenancy_itest.cpp).
#include "common/auth/api_key.hpp"
#include "common/auth/authenticator.hpp"
#include "common/auth/rate_limiter.hpp"
#include "common/auth/scopes.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace tributary::common::auth {
namespace {

using namespace std::chrono_literals;

std::string Base64(const std::string& text) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 3 <= text.size(); i += 3) {
        const uint32_t v = (uint32_t(uint8_t(text[i])) << 16) | (uint32_t(uint8_t(text[i + 1])) << 8) |
                           uint8_t(text[i + 2]);
        for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
    }
    if (const size_t rest = text.size() - i; rest > 0) {
        uint32_t v = uint32_t(uint8_t(text[i])) << 16;
        if (rest == 2) v |= uint32_t(uint8_t(text[i + 1])) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// --- keys ----------------------------------------------------------------------------------

TEST(ApiKey, HasThePrefixAndFortyThreeBase62CharactersAndIsNeverRepeated) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string key = GenerateApiKey();
        ASSERT_EQ(key.size(), kKeyLength);
        ASSERT_TRUE(key.starts_with("trb_"));
        ASSERT_TRUE(IsWellFormedApiKey(key)) << key;
        seen.insert(key);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(ApiKey, UsesEveryBase62CharacterAboutEquallyOften) {
    std::map<char, int> counts;
    for (int i = 0; i < 2000; ++i) {
        for (const char c : GenerateApiKey().substr(4)) ++counts[c];
    }
    ASSERT_EQ(counts.size(), 62u);
    const double expected = 2000.0 * 43 / 62;  // ~1387
    for (const auto& [c, n] : counts) {
        EXPECT_NEAR(n, expected, expected * 0.2) << c;
    }
}

TEST(ApiKey, IdsAreDistinctAndPrefixed) {
    const std::string a = GenerateKeyId(), b = GenerateKeyId();
    EXPECT_TRUE(a.starts_with("key_"));
    EXPECT_EQ(a.size(), 20u);
    EXPECT_NE(a, b);
}

TEST(ApiKey, RefusesWhatIsNotShapedLikeAKey) {
    const std::string key = GenerateApiKey();
    EXPECT_FALSE(IsWellFormedApiKey(""));
    EXPECT_FALSE(IsWellFormedApiKey("trb_"));
    EXPECT_FALSE(IsWellFormedApiKey(key.substr(0, key.size() - 1)));
    EXPECT_FALSE(IsWellFormedApiKey(key + "x"));
    EXPECT_FALSE(IsWellFormedApiKey("xyz_" + key.substr(4)));
    std::string odd = key;
    odd[10] = '\xff';
    EXPECT_FALSE(IsWellFormedApiKey(odd));
    odd[10] = '-';
    EXPECT_FALSE(IsWellFormedApiKey(odd));
    odd[10] = '\0';
    EXPECT_FALSE(IsWellFormedApiKey(odd));
}

TEST(ApiKey, HashIsLowercaseHexSha256AndLastFourIsTheTail) {
    // SHA-256("abc"), FIPS 180-2 test vector.
    EXPECT_EQ(HashApiKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(KeyLastFour("trb_abcdWXYZ"), "WXYZ");
    EXPECT_EQ(KeyLastFour("ab"), "ab");
}

TEST(ApiKey, ConstantTimeEqualsComparesWholeStrings) {
    EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
    EXPECT_TRUE(ConstantTimeEquals("", ""));
}

// --- Authorization header --------------------------------------------------------------------

TEST(ParseAuthorization, ReadsBearerInAnyCase) {
    for (const std::string scheme : {"Bearer", "bearer", "BEARER"}) {
        const Credential c = ParseAuthorization(scheme + " trb_x");
        EXPECT_EQ(c.kind, Credential::Kind::kKey);
        EXPECT_EQ(c.key, "trb_x");
    }
}

TEST(ParseAuthorization, ReadsBasicWithTheKeyAsUserNameWithOrWithoutPassword) {
    for (const std::string userpass : {"trb_k:", "trb_k", "trb_k:ignored"}) {
        const Credential c = ParseAuthorization("Basic " + Base64(userpass));
        EXPECT_EQ(c.kind, Credential::Kind::kKey) << userpass << " " << c.problem;
        EXPECT_EQ(c.key, "trb_k");
    }
}

TEST(ParseAuthorization, NoHeaderIsNone) {
    EXPECT_EQ(ParseAuthorization("").kind, Credential::Kind::kNone);
    EXPECT_EQ(ParseAuthorization("   ").kind, Credential::Kind::kNone);
}

TEST(ParseAuthorization, MalformedHeadersAreMalformedNeverAKey) {
    for (const std::string& header : std::vector<std::string>{"Bearer", "Bearer ", "trb_abc", "Token trb_abc", "Basic", "Basic !!!!", "Basic abc",
          "Basic " + Base64(":password"), "Basic " + Base64(""), "Digest username=x",
          std::string("Basic \xff\xfe\xfd\xfc"), std::string("Bearer\x00x", 8)}) {
        const Credential c = ParseAuthorization(header);
        EXPECT_NE(c.kind, Credential::Kind::kKey) << header;
        if (c.kind == Credential::Kind::kMalformed) {
            EXPECT_FALSE(c.problem.empty());
        }
    }
}

// --- scopes ----------------------------------------------------------------------------------

TEST(Scopes, ParseListsAndRefuseUnknownNames) {
    std::string error;
    const auto scopes = ParseScopeList("ingest, query", &error);
    ASSERT_TRUE(scopes);
    EXPECT_TRUE(scopes->Has(Scope::kIngest));
    EXPECT_TRUE(scopes->Has(Scope::kQuery));
    EXPECT_FALSE(scopes->Has(Scope::kAdmin));
    EXPECT_EQ(scopes->ToString(), "ingest,query");
    EXPECT_FALSE(ParseScopeList("ingest,root", &error));
    EXPECT_NE(error.find("root"), std::string::npos);
    EXPECT_FALSE(ParseScopeList("", &error));
    EXPECT_FALSE(ParseScopeList(" , ", &error));
    EXPECT_EQ(ParseScopeList("operator,admin", nullptr)->Names(),
              (std::vector<std::string>{"admin", "operator"}));
}

// --- authenticator ---------------------------------------------------------------------------

class FakeKeyStore final : public KeyLookup {
public:
    std::optional<KeyRecord> FindByHash(const std::string& key_hash) override {
        std::lock_guard lock(mutex);
        ++lookups;
        if (down) throw KeyStoreUnavailable("connection refused");
        auto it = keys.find(key_hash);
        if (it == keys.end()) return std::nullopt;
        return it->second;
    }
    void TouchLastUsed(const std::vector<std::string>& key_ids) override {
        std::lock_guard lock(mutex);
        touched.insert(touched.end(), key_ids.begin(), key_ids.end());
    }
    std::mutex mutex;
    std::map<std::string, KeyRecord> keys;
    std::vector<std::string> touched;
    int lookups = 0;
    bool down = false;
};

class AuthenticatorTest : public ::testing::Test {
protected:
    AuthenticatorTest() {
        key_ = GenerateApiKey();
        store_.keys[HashApiKey(key_)] = KeyRecord{"key_1", "acme", {Scope::kIngest}, {}, false, 50.0, {}};
    }
    AuthResult Check(const std::string& header, Scope scope = Scope::kIngest) {
        return auth_->Authenticate(header, scope);
    }
    std::string Bearer() const { return "Bearer " + key_; }
    void Advance(std::chrono::milliseconds by) { now_ += by; }

    FakeKeyStore store_;
    MetricsRegistry metrics_;
    SystemTime now_ = std::chrono::system_clock::now();
    AuthSettings settings_ = [] {
        AuthSettings settings;
        settings.cache_ttl = 2000ms;
        settings.stale_if_error = 600s;
        settings.max_cache_entries = 100;
        settings.touch_interval = 3600s;
        return settings;
    }();
    std::string key_;
    std::unique_ptr<Authenticator> auth_ =
        std::make_unique<Authenticator>(&store_, settings_, metrics_, [this] { return now_; });
};

TEST_F(AuthenticatorTest, AValidKeyGivesItsTenantScopesAndLimit) {
    const AuthResult result = Check(Bearer());
    ASSERT_EQ(result.status, AuthStatus::kOk) << result.message;
    EXPECT_EQ(result.principal.tenant_id, "acme");
    EXPECT_EQ(result.principal.key_id, "key_1");
    EXPECT_FALSE(result.principal.anonymous);
    EXPECT_EQ(result.principal.rate_limit, 50.0);
}

TEST_F(AuthenticatorTest, AKeyWithoutTheScopeIsForbiddenAndTheMessageNamesTheScope) {
    const AuthResult result = Check(Bearer(), Scope::kQuery);
    EXPECT_EQ(result.status, AuthStatus::kForbidden);
    EXPECT_NE(result.message.find("'query'"), std::string::npos);
}

TEST_F(AuthenticatorTest, MissingMalformedAndUnknownCredentialsAreRefused) {
    EXPECT_EQ(Check("").status, AuthStatus::kMissing);
    EXPECT_EQ(Check("Bearer nonsense").status, AuthStatus::kMalformed);
    EXPECT_EQ(Check("Bearer " + key_.substr(0, 20)).status, AuthStatus::kMalformed);
    EXPECT_EQ(Check("Bearer " + GenerateApiKey()).status, AuthStatus::kUnknown);
    // Junk never reaches the store; a well-formed unknown key is looked up once, then cached.
    EXPECT_EQ(store_.lookups, 1);
}

TEST_F(AuthenticatorTest, ResultsAreCachedForTheTtlThenAskedAgain) {
    ASSERT_EQ(Check(Bearer()).status, AuthStatus::kOk);
    ASSERT_EQ(Check(Bearer()).status, AuthStatus::kOk);
    EXPECT_EQ(store_.lookups, 1);
    Advance(2001ms);
    ASSERT_EQ(Check(Bearer()).status, AuthStatus::kOk);
    EXPECT_EQ(store_.lookups, 2);
}

TEST_F(AuthenticatorTest, ARevokedKeyStopsWorkingOnceTheCacheEntryExpires) {
    ASSERT_EQ(Check(Bearer()).status, AuthStatus::kOk);
    store_.keys[HashApiKey(key_)].revoked = true;
    EXPECT_EQ(Check(Bearer()).status, AuthStatus::kOk);  // within the cache window
    Advance(2001ms);
    EXPECT_EQ(Check(Bearer()).status, AuthStatus::kRevoked);
}

TEST_F(AuthenticatorTest, ExpiryIsCheckedOnEveryRequestNotOnlyOnLookup) {
    store_.keys[HashApiKey(key_)].expires_at = now_ + 1000ms;
    ASSERT_EQ(Check(Bearer()).status, AuthStatus::kOk);
    Advance(1000ms);  // still cached, but expired now
    EXPECT_EQ(Check(Bearer()).status, AuthStatus::kExpired);
    EXPECT_EQ(store_.lookups, 1);
}

TEST_F(AuthenticatorTest, WhileTheStoreIsDownCachedKeysWorkAndUnknownOnesAreUnavailable) {
    ASSERT_EQ(Check(Bearer()).status, AuthStatus::kOk);
    store_.down = true;
    Advance(10s);  // past the TTL: the store is asked, fails, the stale entry serves
    EXPECT_EQ(Check(Bearer()).status, AuthStatus::kOk);
    EXPECT_EQ(Check("Bearer " + GenerateApiKey()).status, AuthStatus::kUnavailable);
    Advance(601s);  // too stale to trust
    EXPECT_EQ(Check(Bearer()).status, AuthStatus::kUnavailable);
    store_.down = false;
    EXPECT_EQ(Check(Bearer()).status, AuthStatus::kOk);
}

TEST_F(AuthenticatorTest, TheCacheStaysBoundedUnderAFloodOfDistinctKeys) {
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(Check("Bearer " + GenerateApiKey()).status, AuthStatus::kUnknown);
    }
    EXPECT_EQ(store_.lookups, 1000);
    EXPECT_LE(auth_->CachedEntries(), 100u);
    // The valid key still works after the flood (looked up again at worst).
    EXPECT_EQ(Check(Bearer()).status, AuthStatus::kOk);
}

TEST_F(AuthenticatorTest, UsedKeysAreTouchedInOneBatch) {
    ASSERT_EQ(Check(Bearer()).status, AuthStatus::kOk);
    ASSERT_EQ(Check(Bearer()).status, AuthStatus::kOk);
    auth_->FlushLastUsed();
    EXPECT_EQ(store_.touched, std::vector<std::string>{"key_1"});
    auth_->FlushLastUsed();  // nothing new
    EXPECT_EQ(store_.touched.size(), 1u);
}

TEST(AuthenticatorAnonymous, NoCredentialActsAsTheAnonymousTenantWithIngestAndQuery) {
    MetricsRegistry metrics;
    FakeKeyStore store;
    AuthSettings settings;
    settings.anonymous_tenant = "default";
    Authenticator auth(&store, settings, metrics);
    for (const Scope scope : {Scope::kIngest, Scope::kQuery}) {
        const AuthResult result = auth.Authenticate("", scope);
        ASSERT_EQ(result.status, AuthStatus::kOk);
        EXPECT_EQ(result.principal.tenant_id, "default");
        EXPECT_TRUE(result.principal.anonymous);
    }
    EXPECT_EQ(auth.Authenticate("", Scope::kAdmin).status, AuthStatus::kForbidden);
    // A credential that is presented is checked, never replaced by the anonymous tenant.
    EXPECT_EQ(auth.Authenticate("Bearer " + GenerateApiKey(), Scope::kIngest).status,
              AuthStatus::kUnknown);
    EXPECT_EQ(auth.Authenticate("Bearer junk", Scope::kIngest).status, AuthStatus::kMalformed);
}

TEST(AuthenticatorWithoutStore, KnowsNoKeys) {
    MetricsRegistry metrics;
    Authenticator auth(nullptr, {}, metrics);
    EXPECT_EQ(auth.Authenticate("Bearer " + GenerateApiKey(), Scope::kIngest).status,
              AuthStatus::kUnknown);
    EXPECT_EQ(auth.Authenticate("", Scope::kIngest).status, AuthStatus::kMissing);
}

// --- token bucket ----------------------------------------------------------------------------

TEST(TakeTokens, StartsFullRefillsAtTheRateAndNeverAboveTheBurst) {
    const RateLimit limit{10, 20};
    double tokens = 20, updated = 0;
    EXPECT_TRUE(TakeTokens(tokens, updated, 0, limit, 15).allowed);
    EXPECT_DOUBLE_EQ(tokens, 5);
    const RateDecision refused = TakeTokens(tokens, updated, 0, limit, 10);
    EXPECT_FALSE(refused.allowed);
    EXPECT_DOUBLE_EQ(tokens, 5);  // a refused request takes nothing
    EXPECT_EQ(refused.retry_after_s, 1);  // 5 missing at 10/s = 0.5 s, rounded up
    EXPECT_TRUE(TakeTokens(tokens, updated, 0.5, limit, 10).allowed);
    TakeTokens(tokens, updated, 100, limit, 0);
    EXPECT_DOUBLE_EQ(tokens, 20);
}

TEST(TakeTokens, RetryAfterIsWholeSecondsUntilTheRequestFits) {
    const RateLimit limit{100, 1000};
    double tokens = 0, updated = 0;
    const RateDecision d = TakeTokens(tokens, updated, 0, limit, 1000);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after_s, 10);
    EXPECT_EQ(d.reset_s, 10);
}

TEST(TakeTokens, AClockGoingBackwardsAddsNothing) {
    const RateLimit limit{10, 20};
    double tokens = 0, updated = 5;
    TakeTokens(tokens, updated, 4, limit, 0);
    EXPECT_DOUBLE_EQ(tokens, 0);
    EXPECT_DOUBLE_EQ(updated, 5);
}

TEST(RateLimiterWithoutRedis, DecidesLocallyPerBucket) {
    MetricsRegistry metrics;
    RateLimiter limiter(std::nullopt, metrics);
    const RateLimit limit{1, 3};
    EXPECT_TRUE(limiter.Charge("a", limit, 3).allowed);
    const RateDecision refused = limiter.Charge("a", limit, 1);
    EXPECT_FALSE(refused.allowed);
    EXPECT_FALSE(refused.shared);
    EXPECT_TRUE(limiter.Charge("b", limit, 3).allowed);  // another key's bucket is its own
}

}  // namespace
}  // namespace tributary::common::auth
