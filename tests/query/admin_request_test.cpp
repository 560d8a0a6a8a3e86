// The pure parts of key management: the HTTP admin bodies (query/admin_routes) and
// the key store's validation and helpers (storage/key_repository).
#include "query/admin_routes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

namespace tributary::query {
namespace {

using common::auth::Scope;
using namespace std::chrono_literals;

const common::SystemTime kNow = *common::ParseRfc3339("2026-03-01T12:00:00Z");

AdminRequestError CreateRefused(const std::string& body) {
    auto parsed = ParseCreateKeyBody(body, kNow);
    if (!std::holds_alternative<AdminRequestError>(parsed)) {
        ADD_FAILURE() << "accepted: " << body;
        return {};
    }
    return std::get<AdminRequestError>(parsed);
}

std::vector<std::string> Fields(const AdminRequestError& error) {
    std::vector<std::string> fields;
    for (const auto& detail : error.details) fields.push_back(detail.value("field", ""));
    return fields;
}

TEST(ParseCreateKeyBody, ReadsEveryField) {
    const auto parsed = ParseCreateKeyBody(
        R"({"scopes": ["ingest", "query"], "name": "ci", "rate_limit": 50, "burst": 100.5,
            "expires_at": "2030-01-31T00:00:00Z"})",
        kNow);
    ASSERT_TRUE(std::holds_alternative<storage::KeySpec>(parsed));
    const auto& spec = std::get<storage::KeySpec>(parsed);
    EXPECT_EQ(spec.scopes, (common::auth::ScopeSet{Scope::kIngest, Scope::kQuery}));
    EXPECT_EQ(spec.name, "ci");
    EXPECT_EQ(spec.rate_limit, 50.0);
    EXPECT_EQ(spec.burst, 100.5);
    EXPECT_EQ(spec.expires_at, common::ParseRfc3339("2030-01-31T00:00:00Z"));
}

TEST(ParseCreateKeyBody, NullIsTheSameAsAbsent) {
    const auto parsed = ParseCreateKeyBody(
        R"({"scopes": ["admin"], "name": null, "rate_limit": null, "expires_at": null})", kNow);
    ASSERT_TRUE(std::holds_alternative<storage::KeySpec>(parsed));
    const auto& spec = std::get<storage::KeySpec>(parsed);
    EXPECT_FALSE(spec.name || spec.rate_limit || spec.burst || spec.expires_at);
}

TEST(ParseCreateKeyBody, NotJsonIsInvalidJson) {
    for (const char* body : {"{", "scopes=ingest", "{\"scopes\": [\"ingest\"]} trailing",
                             "{\"name\": \"\xff\", \"scopes\": [\"query\"]}"}) {
        const auto error = CreateRefused(body);
        EXPECT_EQ(error.status, 400) << body;
        EXPECT_EQ(error.code, "invalid_json") << body;
        EXPECT_EQ(Fields(error), std::vector<std::string>{"body"}) << body;
    }
}

TEST(ParseCreateKeyBody, NamesEveryBadField) {
    const auto error = CreateRefused(
        R"({"scopes": "ingest", "name": 5, "rate_limit": -1, "burst": "10",
            "expires_at": "tomorrow", "colour": "blue", "tenant_id": "other"})");
    EXPECT_EQ(error.status, 400);
    EXPECT_EQ(error.code, "validation_failed");
    const auto fields = Fields(error);
    for (const char* field :
         {"scopes", "name", "rate_limit", "burst", "expires_at", "colour", "tenant_id"}) {
        EXPECT_NE(std::find(fields.begin(), fields.end(), field), fields.end()) << field;
    }
    EXPECT_NE(error.message.find("rate_limit must be a number greater than 0"), std::string::npos);
}

TEST(ParseCreateKeyBody, RefusesBadScopes) {
    EXPECT_EQ(Fields(CreateRefused("{}")), std::vector<std::string>{"scopes"});
    EXPECT_EQ(Fields(CreateRefused("")), std::vector<std::string>{"scopes"});
    EXPECT_EQ(Fields(CreateRefused(R"({"scopes": []})")), std::vector<std::string>{"scopes"});
    EXPECT_EQ(Fields(CreateRefused(R"({"scopes": ["query", "everything"]})")),
              std::vector<std::string>{"scopes[1]"});
    EXPECT_EQ(Fields(CreateRefused(R"({"scopes": [7]})")), std::vector<std::string>{"scopes[0]"});
    EXPECT_EQ(Fields(CreateRefused("[1, 2]")), std::vector<std::string>{"body"});
}

TEST(ParseCreateKeyBody, TheOperatorScopeIsForbiddenOverHttp) {
    const auto error = CreateRefused(R"({"scopes": ["query", "operator"], "rate_limit": -1})");
    EXPECT_EQ(error.status, 403);
    EXPECT_NE(error.message.find("operator"), std::string::npos);
}

TEST(ParseCreateKeyBody, RefusesAPastExpiryAndOddNumbers) {
    EXPECT_EQ(
        Fields(CreateRefused(R"({"scopes": ["query"], "expires_at": "2026-03-01T11:59:59Z"})")),
        std::vector<std::string>{"expires_at"});
    EXPECT_EQ(Fields(CreateRefused(R"({"scopes": ["query"], "rate_limit": 0})")),
              std::vector<std::string>{"rate_limit"});
    EXPECT_EQ(Fields(CreateRefused(R"({"scopes": ["query"], "rate_limit": true})")),
              std::vector<std::string>{"rate_limit"});
    EXPECT_EQ(Fields(CreateRefused(R"({"scopes": ["query"], "name": ")" +
                                   std::string(201, 'n') + "\"}")),
              std::vector<std::string>{"name"});
}

TEST(ParseRotateBody, DefaultsToNoGrace) {
    EXPECT_EQ(std::get<std::chrono::seconds>(ParseRotateBody("")), 0s);
    EXPECT_EQ(std::get<std::chrono::seconds>(ParseRotateBody("{}")), 0s);
    EXPECT_EQ(std::get<std::chrono::seconds>(ParseRotateBody(R"({"grace_seconds": 3600})")), 1h);
    EXPECT_EQ(std::get<std::chrono::seconds>(ParseRotateBody(R"({"grace_seconds": 2592000})")),
              storage::kMaxRotationGrace);
}

TEST(ParseRotateBody, RefusesGraceOutsideZeroToThirtyDays) {
    for (const char* body : {R"({"grace_seconds": -1})", R"({"grace_seconds": 2592001})",
                             R"({"grace_seconds": 1.5})", R"({"grace_seconds": "60"})",
                             R"({"grace_seconds": 18446744073709551615})", R"({"grace": 5})"}) {
        const auto parsed = ParseRotateBody(body);
        ASSERT_TRUE(std::holds_alternative<AdminRequestError>(parsed)) << body;
        const auto& error = std::get<AdminRequestError>(parsed);
        EXPECT_EQ(error.status, 400) << body;
        EXPECT_EQ(error.code, "validation_failed") << body;
    }
    EXPECT_EQ(std::get<AdminRequestError>(ParseRotateBody("nope")).code, "invalid_json");
}

TEST(IsValidTenantId, FollowsTheTableConstraint) {
    const std::vector<std::string> valid = {"default", "a", "acme-corp", "team_7", "0team",
                                            std::string(63, 'x')};
    for (const std::string& id : valid) {
        EXPECT_TRUE(storage::IsValidTenantId(id)) << id;
    }
    const std::vector<std::string> invalid = {
        "", "-acme", "_acme", "Acme", "acme corp", "acme/x", "\xc3\xa4", std::string(64, 'x')};
    for (const std::string& id : invalid) {
        EXPECT_FALSE(storage::IsValidTenantId(id)) << id;
    }
}

TEST(WithConnectTimeout, AddsItToEitherFormOnce) {
    EXPECT_EQ(storage::WithConnectTimeout("postgresql://u@h:5432/db", 2),
              "postgresql://u@h:5432/db?connect_timeout=2");
    EXPECT_EQ(storage::WithConnectTimeout("postgres://u@h/db?sslmode=disable", 2),
              "postgres://u@h/db?sslmode=disable&connect_timeout=2");
    EXPECT_EQ(storage::WithConnectTimeout("host=h dbname=db", 3), "host=h dbname=db connect_timeout=3");
    EXPECT_EQ(storage::WithConnectTimeout("", 2), "connect_timeout=2");
    EXPECT_EQ(storage::WithConnectTimeout("postgresql://h/db?connect_timeout=9", 2),
              "postgresql://h/db?connect_timeout=9");
}

TEST(ValidateKeySpec, NamesTheFirstProblem) {
    storage::KeySpec spec;
    EXPECT_EQ(storage::ValidateKeySpec(spec, kNow)->field, "scopes");
    spec.scopes.Add(Scope::kQuery);
    EXPECT_FALSE(storage::ValidateKeySpec(spec, kNow));
    spec.burst = std::numeric_limits<double>::infinity();
    EXPECT_EQ(storage::ValidateKeySpec(spec, kNow)->field, "burst");
    spec.burst.reset();
    spec.expires_at = kNow;
    EXPECT_EQ(storage::ValidateKeySpec(spec, kNow)->field, "expires_at");
    spec.expires_at.reset();
    spec.name = "tab\tbed";
    EXPECT_EQ(storage::ValidateKeySpec(spec, kNow)->field, "name");
    spec.name = "caf\xc3\xa9 \xf0\x9f\x94\x91";
    EXPECT_FALSE(storage::ValidateKeySpec(spec, kNow));
    spec.name = "overlong \xc0\xaf";
    EXPECT_EQ(storage::ValidateKeySpec(spec, kNow)->field, "name");
}

TEST(KeyInfoJson, ShowsTheLastFourButNoHash) {
    storage::KeyInfo key;
    key.key_id = "key_1";
    key.tenant_id = "acme";
    key.scopes = {Scope::kIngest};
    key.last_four = "wxyz";
    key.created_at = kNow;
    key.expires_at = kNow + 1h;
    const auto json = storage::KeyInfoJson(key);
    EXPECT_EQ(json["id"], "key_1");
    EXPECT_EQ(json["tenant"], "acme");
    EXPECT_EQ(json["scopes"], nlohmann::json::array({"ingest"}));
    EXPECT_EQ(json["last_four"], "wxyz");
    EXPECT_EQ(json["expires_at"], "2026-03-01T13:00:00.000000Z");
    EXPECT_TRUE(json["revoked_at"].is_null());
    EXPECT_FALSE(json.contains("key"));
    EXPECT_FALSE(json.contains("key_hash"));
    EXPECT_EQ(storage::NewKeyJson({key, "trb_x"})["key"], "trb_x");
}

}  // namespace
}  // namespace tributary::query
