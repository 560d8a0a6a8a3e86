// Tenants and API keys on the real PostgreSQL: the real tributary-admin binary, the key store
// the services authenticate through (PgKeyLookup), and the query API's admin routes served
// in-process with a small authorize function over the same store.
#include "common/auth/api_key.hpp"
#include "common/http/server.hpp"
#include "common/http_util.hpp"
#include "storage/key_repository.hpp"
#include "query/admin_routes.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <set>
#include <thread>

namespace tributary::itest {
namespace {

using common::auth::Scope;
using Json = nlohmann::json;
using storage::PgKeyLookup;

constexpr const char* kOperatorUser = "itest-operator";
constexpr const char* kCliActor = "cli:itest-operator";

std::string Quote(const std::string& text) {
    std::string quoted = "'";
    for (const char c : text) {
        if (c == '\'') {
            quoted += "'\\''";
        } else {
            quoted += c;
        }
    }
    return quoted + "'";
}

struct CliResult {
    int exit_code = -1;
    std::string output;  // stdout, plus stderr unless only stdout was asked for
};

// Runs the real tributary-admin with DATABASE_URL=`database_url`.
CliResult AdminAt(const std::string& database_url, const std::vector<std::string>& args,
                  bool stdout_only = false) {
    std::string command = "DATABASE_URL=" + Quote(database_url) + " USER=" + kOperatorUser + " " +
                          Quote(Infra::Get().Binary("tools/admin/tributary-admin"));
    for (const auto& arg : args) command += " " + Quote(arg);
    command = "(" + command + (stdout_only ? " 2>/dev/null)" : ") 2>&1");
    std::string output = Run(command + "; echo \"__exit=$?\"");
    CliResult result;
    const size_t marker = output.rfind("__exit=");
    if (marker == std::string::npos) return result;
    result.exit_code = std::stoi(output.substr(marker + 7));
    result.output = output.substr(0, marker);
    return result;
}

CliResult Admin(const TestDatabase& db, const std::vector<std::string>& args,
                bool stdout_only = false) {
    return AdminAt(db.Url(), args, stdout_only);
}

// Runs a command with --json that must succeed; returns its JSON object.
Json AdminJson(const TestDatabase& db, std::vector<std::string> args) {
    args.push_back("--json");
    const CliResult result = Admin(db, args, true);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    Json json = Json::parse(result.output, nullptr, false);
    EXPECT_TRUE(json.is_object()) << result.output;
    return json;
}

std::string Text(const TestDatabase& db, const std::string& sql) {
    pqxx::connection connection(db.Url());
    pqxx::nontransaction txn(connection);
    const auto rows = txn.exec(sql);
    return rows.empty() || rows[0][0].is_null() ? "" : rows[0][0].c_str();
}

std::string Literal(const std::string& text) {
    std::string quoted = "'";
    for (const char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    return quoted + "'";
}

// How many rows of `table` contain `needle` anywhere in their text form.
int64_t RowsContaining(const TestDatabase& db, const std::string& table,
                       const std::string& needle) {
    return db.Scalar("SELECT count(*) FROM " + table + " t WHERE strpos(t::text, " +
                     Literal(needle) + ") > 0");
}

int64_t AuditRows(const TestDatabase& db, const std::string& action, const std::string& key_id,
                  const std::string& actor) {
    return db.Scalar("SELECT count(*) FROM key_audit WHERE action = " + Literal(action) +
                     " AND key_id = " + Literal(key_id) + " AND actor = " + Literal(actor));
}

TEST(TributaryAdmin, CreatesAndListsTenantsAndRefusesInvalidNames) {
    TestDatabase db;
    const CliResult created = Admin(db, {"tenant", "create", "acme"});
    ASSERT_EQ(created.exit_code, 0) << created.output;
    EXPECT_NE(created.output.find("acme"), std::string::npos);
    EXPECT_EQ(AdminJson(db, {"tenant", "create", "beta-2"})["id"], "beta-2");

    const CliResult listed = Admin(db, {"tenant", "list"});
    ASSERT_EQ(listed.exit_code, 0);
    for (const char* tenant : {"acme", "beta-2", "default"}) {
        EXPECT_NE(listed.output.find(tenant), std::string::npos) << listed.output;
    }
    std::set<std::string> ids;
    const Json tenants = AdminJson(db, {"tenant", "list"});
    for (const auto& tenant : tenants["tenants"]) {
        ids.insert(tenant["id"].get<std::string>());
    }
    EXPECT_EQ(ids, (std::set<std::string>{"acme", "beta-2", "default"}));

    const CliResult again = Admin(db, {"tenant", "create", "acme"});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.output.find("exists"), std::string::npos) << again.output;
    for (const std::string& bad :
         std::vector<std::string>{"Acme", "bad name", "_x", "a/b", std::string(64, 'a')}) {
        const CliResult refused = Admin(db, {"tenant", "create", bad});
        EXPECT_EQ(refused.exit_code, 1) << bad;
        EXPECT_NE(refused.output.find("invalid tenant name"), std::string::npos) << refused.output;
        EXPECT_EQ(std::count(refused.output.begin(), refused.output.end(), '\n'), 1)
            << refused.output;
    }
    EXPECT_EQ(db.Scalar("SELECT count(*) FROM tenants"), 3);
    EXPECT_EQ(db.Scalar("SELECT count(*) FROM key_audit WHERE action = 'tenant.create' AND "
                        "actor = 'cli:itest-operator' AND tenant_id IN ('acme', 'beta-2')"),
              2);
    // A usage error: exit 2 with the usage text.
    const CliResult usage = Admin(db, {"tenant"});
    EXPECT_EQ(usage.exit_code, 2);
    EXPECT_NE(usage.output.find("usage: tributary-admin"), std::string::npos);
}

TEST(TributaryAdmin, PrintsANewKeyOnceAndStoresOnlyItsHash) {
    TestDatabase db;
    ASSERT_EQ(Admin(db, {"tenant", "create", "acme"}).exit_code, 0);
    const CliResult created = Admin(db, {"key", "create", "--tenant", "acme", "--scopes",
                                         "ingest,query", "--name", "ci bot", "--rate", "25",
                                         "--burst", "50", "--expires", "+30d"});
    ASSERT_EQ(created.exit_code, 0) << created.output;
    EXPECT_NE(created.output.find("will not be shown again"), std::string::npos);
    const size_t key_at = created.output.find("trb_");
    ASSERT_NE(key_at, std::string::npos) << created.output;
    const std::string key = created.output.substr(key_at, common::auth::kKeyLength);
    EXPECT_TRUE(common::auth::IsWellFormedApiKey(key)) << key;
    const size_t id_at = created.output.find("key_");
    ASSERT_NE(id_at, std::string::npos);
    const std::string key_id = created.output.substr(id_at, 20);
    const std::string hash = common::auth::HashApiKey(key);

    // Only the hash and the last four characters are stored; the plaintext (or its random
    // part) is nowhere, neither in the keys nor in the audit trail.
    EXPECT_EQ(Text(db, "SELECT key_hash FROM api_keys WHERE key_id = " + Literal(key_id)), hash);
    EXPECT_EQ(Text(db, "SELECT last_four FROM api_keys WHERE key_id = " + Literal(key_id)),
              key.substr(key.size() - 4));
    const std::string secret = key.substr(common::auth::kKeyPrefix.size());
    for (const std::string& needle : {key, secret, secret.substr(0, 20), secret.substr(20)}) {
        EXPECT_EQ(RowsContaining(db, "api_keys", needle), 0);
        EXPECT_EQ(RowsContaining(db, "key_audit", needle), 0);
    }
    EXPECT_EQ(RowsContaining(db, "key_audit", hash), 0);
    EXPECT_EQ(AuditRows(db, "key.create", key_id, kCliActor), 1);
    EXPECT_EQ(Text(db, "SELECT details->>'name' FROM key_audit WHERE key_id = " + Literal(key_id)),
              "ci bot");

    // Lists show the last four, never the key or its hash.
    const CliResult listed = Admin(db, {"key", "list", "--tenant", "acme"});
    ASSERT_EQ(listed.exit_code, 0);
    EXPECT_NE(listed.output.find(key_id), std::string::npos);
    EXPECT_NE(listed.output.find("****" + key.substr(key.size() - 4)), std::string::npos);
    EXPECT_NE(listed.output.find("ci bot"), std::string::npos);
    EXPECT_EQ(listed.output.find(secret.substr(0, 8)), std::string::npos);
    EXPECT_EQ(listed.output.find(hash.substr(0, 16)), std::string::npos);
    const Json list = AdminJson(db, {"key", "list", "--tenant", "acme"});
    ASSERT_EQ(list["keys"].size(), 1u);
    EXPECT_EQ(list["keys"][0]["last_four"], key.substr(key.size() - 4));
    EXPECT_FALSE(list["keys"][0].contains("key"));
    EXPECT_EQ(list.dump().find(hash), std::string::npos);
    EXPECT_EQ(Admin(db, {"key", "list", "--tenant", "nope"}).exit_code, 1);

    // The services find it by its hash, with the tenant, scopes and limits.
    PgKeyLookup lookup(db.Url());
    const auto record = lookup.FindByHash(hash);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->key_id, key_id);
    EXPECT_EQ(record->tenant_id, "acme");
    EXPECT_EQ(record->scopes, (common::auth::ScopeSet{Scope::kIngest, Scope::kQuery}));
    EXPECT_FALSE(record->revoked);
    EXPECT_EQ(record->rate_limit, 25.0);
    EXPECT_EQ(record->burst, 50.0);
    ASSERT_TRUE(record->expires_at.has_value());
    const auto days = std::chrono::duration_cast<std::chrono::hours>(
        *record->expires_at - std::chrono::system_clock::now());
    EXPECT_GE(days.count(), 30 * 24 - 1);
    EXPECT_LE(days.count(), 30 * 24);
    EXPECT_FALSE(lookup.FindByHash(common::auth::HashApiKey(common::auth::GenerateApiKey())));
    lookup.TouchLastUsed({key_id});
    EXPECT_EQ(db.Scalar("SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL"), 1);
}

TEST(TributaryAdmin, RevokesAndRotatesWithAGracePeriod) {
    TestDatabase db;
    ASSERT_EQ(Admin(db, {"tenant", "create", "acme"}).exit_code, 0);
    PgKeyLookup lookup(db.Url());

    const Json doomed = AdminJson(db, {"key", "create", "--tenant", "acme", "--scopes", "query"});
    const std::string doomed_id = doomed["id"];
    const Json revoked = AdminJson(db, {"key", "revoke", doomed_id});
    EXPECT_TRUE(revoked["revoked_at"].is_string());
    const auto found =
        lookup.FindByHash(common::auth::HashApiKey(doomed["key"].get<std::string>()));
    ASSERT_TRUE(found.has_value());
    EXPECT_TRUE(found->revoked);
    EXPECT_EQ(AuditRows(db, "key.revoke", doomed_id, kCliActor), 1);
    EXPECT_EQ(Admin(db, {"key", "revoke", doomed_id}).exit_code, 0);  // already revoked: fine
    EXPECT_EQ(AuditRows(db, "key.revoke", doomed_id, kCliActor), 1);
    EXPECT_EQ(Admin(db, {"key", "rotate", doomed_id, "--grace", "60"}).exit_code, 1);
    EXPECT_EQ(Admin(db, {"key", "revoke", "key_doesnotexist"}).exit_code, 1);

    const Json old_key = AdminJson(db, {"key", "create", "--tenant", "acme", "--scopes",
                                        "ingest", "--name", "pipeline", "--rate", "10"});
    const std::string old_id = old_key["id"];
    const Json rotated = AdminJson(db, {"key", "rotate", old_id, "--grace", "2"});
    const std::string new_key = rotated["key"];
    EXPECT_TRUE(common::auth::IsWellFormedApiKey(new_key));
    EXPECT_NE(rotated["id"], old_id);
    EXPECT_EQ(rotated["tenant"], "acme");
    EXPECT_EQ(rotated["scopes"], Json::array({"ingest"}));
    EXPECT_EQ(rotated["name"], "pipeline");
    EXPECT_EQ(rotated["rate_limit"], 10.0);
    EXPECT_EQ(rotated["rotated_from"], old_id);
    EXPECT_EQ(rotated["previous"]["id"], old_id);
    // The old key expires two seconds after the rotation (both times are the transaction's).
    const auto rotated_at = *common::ParseRfc3339(rotated["created_at"].get<std::string>());
    const auto old_expiry =
        *common::ParseRfc3339(rotated["previous"]["expires_at"].get<std::string>());
    EXPECT_EQ(old_expiry - rotated_at, std::chrono::seconds(2));
    const int64_t remaining_ms = db.Scalar(
        "SELECT (extract(epoch from expires_at - now()) * 1000)::bigint FROM api_keys WHERE "
        "key_id = " + Literal(old_id));
    EXPECT_GT(remaining_ms, 0);
    EXPECT_LE(remaining_ms, 2000);

    // Both keys are found during the grace period; the old one then carries its expiry.
    const auto old_record =
        lookup.FindByHash(common::auth::HashApiKey(old_key["key"].get<std::string>()));
    const auto new_record = lookup.FindByHash(common::auth::HashApiKey(new_key));
    ASSERT_TRUE(old_record && new_record);
    EXPECT_FALSE(old_record->revoked);
    EXPECT_FALSE(new_record->revoked);
    EXPECT_EQ(new_record->tenant_id, "acme");
    EXPECT_EQ(new_record->rate_limit, 10.0);
    EXPECT_FALSE(new_record->expires_at.has_value());
    ASSERT_TRUE(old_record->expires_at.has_value());
    EXPECT_EQ(std::chrono::time_point_cast<std::chrono::microseconds>(*old_record->expires_at),
              old_expiry);
    EXPECT_EQ(AuditRows(db, "key.rotate", old_id, kCliActor), 1);
    EXPECT_EQ(Text(db, "SELECT details->>'new_key_id' FROM key_audit WHERE action = 'key.rotate'"),
              rotated["id"].get<std::string>());

    // Grace 0: the key stops now; an expired key is not rotated again.
    const Json rotated_again = AdminJson(db, {"key", "rotate", rotated["id"], "--grace", "0"});
    EXPECT_EQ(rotated_again["previous"]["expires_at"], rotated_again["created_at"]);
    EXPECT_EQ(Admin(db, {"key", "rotate", rotated["id"], "--grace", "0"}).exit_code, 1);
    EXPECT_EQ(Admin(db, {"key", "rotate", old_id, "--grace", "31d"}).exit_code, 1);

    // Every change has its audit row with the actor, newest first.
    const Json audit = AdminJson(db, {"audit", "--tenant", "acme"});
    ASSERT_EQ(audit["entries"].size(), 6u);
    EXPECT_EQ(audit["entries"][0]["action"], "key.rotate");
    for (const auto& entry : audit["entries"]) {
        EXPECT_EQ(entry["actor"], kCliActor);
        EXPECT_EQ(entry["tenant"], "acme");
    }
    // The tenant, two creations, one revocation (the repeated one changed nothing), two rotations.
    EXPECT_EQ(db.Scalar("SELECT count(*) FROM key_audit"), 6);
}

TEST(TributaryAdmin, GrantsTheOperatorScope) {
    TestDatabase db;
    const Json key = AdminJson(db, {"key", "create", "--tenant", "default", "--scopes",
                                    "operator,query"});
    EXPECT_EQ(key["scopes"], Json::array({"query", "operator"}));
    PgKeyLookup lookup(db.Url());
    const auto record = lookup.FindByHash(common::auth::HashApiKey(key["key"].get<std::string>()));
    ASSERT_TRUE(record.has_value());
    EXPECT_TRUE(record->scopes.Has(Scope::kOperator));
    EXPECT_EQ(record->tenant_id, "default");
}

TEST(TributaryAdmin, AnUnreachableDatabaseFailsQuicklyWithOneLine) {
    const auto started = std::chrono::steady_clock::now();
    const CliResult result =
        AdminAt("postgresql://postgres@127.0.0.1:1/nothing", {"tenant", "list"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(PgKeyLookup, ReportsAnUnreachableStoreAsUnavailableQuickly) {
    // 10.255.255.1 drops packets (or the route is refused at once): either way the connect
    // timeout of 2 s bounds the wait, and the next call within a second fails without waiting.
    for (const char* url : {"postgresql://postgres@127.0.0.1:1/nothing",
                            "postgresql://postgres@10.255.255.1:5432/nothing"}) {
        PgKeyLookup lookup(url);
        const auto started = std::chrono::steady_clock::now();
        EXPECT_THROW(lookup.FindByHash(std::string(64, 'a')), common::auth::KeyStoreUnavailable);
        EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4)) << url;
        const auto again = std::chrono::steady_clock::now();
        EXPECT_THROW(lookup.TouchLastUsed({"key_x"}), common::auth::KeyStoreUnavailable);
        EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::milliseconds(200)) << url;
    }
}

TEST(PgKeyLookup, IsUnavailableWhilePostgresIsDownAndFindsKeysAgainAfterItsRestart) {
    PrivateServer postgres("postgres");
    const CliResult created = AdminAt(postgres.Endpoint(),
                                      {"key", "create", "--tenant", "default", "--scopes", "query",
                                       "--json"},
                                      true);
    ASSERT_EQ(created.exit_code, 0) << created.output;
    const std::string hash =
        common::auth::HashApiKey(Json::parse(created.output)["key"].get<std::string>());
    PgKeyLookup lookup(postgres.Endpoint());
    ASSERT_TRUE(lookup.FindByHash(hash).has_value());

    postgres.Stop();
    const auto started = std::chrono::steady_clock::now();
    EXPECT_THROW(lookup.FindByHash(hash), common::auth::KeyStoreUnavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));

    // The connection that broke is replaced by a fresh one once the server is back.
    postgres.Start();
    EXPECT_TRUE(WaitFor(
        [&] {
            try {
                return lookup.FindByHash(hash).has_value();
            } catch (const common::auth::KeyStoreUnavailable&) {
                return false;
            }
        },
        20s, 200ms));
    lookup.TouchLastUsed({"key_x"});
}

// The admin routes on an in-process server. `authorize` checks bearer keys against the store,
// as the services' authenticator does (without its cache): 401 without a valid key, 403
// without the scope.
class AdminRoutes : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(Admin(db_, {"tenant", "create", "alpha"}).exit_code, 0);
        ASSERT_EQ(Admin(db_, {"tenant", "create", "beta"}).exit_code, 0);
        alpha_admin_ = AdminJson(db_, {"key", "create", "--tenant", "alpha", "--scopes", "admin"});
        beta_admin_ = AdminJson(db_, {"key", "create", "--tenant", "beta", "--scopes", "admin"});
        lookup_ = std::make_shared<PgKeyLookup>(db_.Url());
        repository_ = std::make_unique<storage::KeyRepository>(db_.Url());
        query::RegisterAdminRoutes(server_, *repository_, Authorizer(lookup_));
        port_ = server_.Bind("127.0.0.1", 0);
        ASSERT_GT(port_, 0);
        thread_ = std::thread([this] { server_.Run(); });
    }

    void TearDown() override {
        server_.Stop();
        if (thread_.joinable()) thread_.join();
    }

    static common::auth::Authorize Authorizer(std::shared_ptr<PgKeyLookup> lookup) {
        return [lookup](const httplib::Request& request, httplib::Response& response,
                        Scope scope) -> std::optional<common::auth::Principal> {
            const auto credential =
                common::auth::ParseAuthorization(request.get_header_value("Authorization"));
            std::optional<common::auth::KeyRecord> record;
            if (credential.kind == common::auth::Credential::Kind::kKey &&
                common::auth::IsWellFormedApiKey(credential.key)) {
                record = lookup->FindByHash(common::auth::HashApiKey(credential.key));
            }
            if (!record || record->revoked ||
                (record->expires_at && *record->expires_at <= std::chrono::system_clock::now())) {
                response.set_header("WWW-Authenticate", "Bearer");
                common::SetError(response, 401, "unauthorized", "a valid API key is required");
                return std::nullopt;
            }
            if (!record->scopes.Has(scope)) {
                common::SetError(response, 403, "forbidden", "the key lacks a scope");
                return std::nullopt;
            }
            common::auth::Principal principal;
            principal.tenant_id = record->tenant_id;
            principal.key_id = record->key_id;
            principal.scopes = record->scopes;
            return principal;
        };
    }

    HttpResult Call(const std::string& method, const std::string& path, const Json& admin,
                    const std::string& body = "") {
        httplib::Client client("127.0.0.1", port_);
        httplib::Headers headers;
        if (!admin.is_null()) {
            headers.emplace("Authorization", "Bearer " + admin["key"].get<std::string>());
        }
        httplib::Result result = method == "GET"      ? client.Get(path, headers)
                                 : method == "DELETE" ? client.Delete(path, headers)
                                                      : client.Post(path, headers, body,
                                                                    "application/json");
        HttpResult out;
        if (!result) return out;
        out.status = result->status;
        out.body = result->body;
        for (const auto& [name, value] : result->headers) out.headers[name] = value;
        return out;
    }

    std::set<std::string> ListedIds(const Json& admin) {
        const HttpResult listed = Call("GET", "/api/v1/admin/keys", admin);
        EXPECT_EQ(listed.status, 200) << listed.body;
        std::set<std::string> ids;
        const Json body = listed.Json();
        for (const auto& key : body["keys"]) {
            EXPECT_FALSE(key.contains("key"));
            ids.insert(key["id"].get<std::string>());
        }
        return ids;
    }

    // The field names of a 400 answer's details.
    static std::vector<std::string> Fields(const HttpResult& result) {
        std::vector<std::string> fields;
        const Json body = result.Json();
        for (const auto& detail : body["error"]["details"]) {
            fields.push_back(detail["field"].get<std::string>());
        }
        return fields;
    }

    TestDatabase db_;
    Json alpha_admin_;
    Json beta_admin_;
    std::shared_ptr<PgKeyLookup> lookup_;
    std::unique_ptr<storage::KeyRepository> repository_;
    common::MetricsRegistry metrics_;
    common::http::Server server_{{}, metrics_, "query"};
    int port_ = 0;
    std::thread thread_;
};

TEST_F(AdminRoutes, RefuseRequestsWithoutAnAdminKey) {
    EXPECT_EQ(Call("GET", "/api/v1/admin/keys", Json()).status, 401);
    EXPECT_EQ(Call("POST", "/api/v1/admin/keys", Json(), R"({"scopes": ["query"]})").status, 401);
    const Json ingest =
        AdminJson(db_, {"key", "create", "--tenant", "alpha", "--scopes", "ingest"});
    EXPECT_EQ(Call("GET", "/api/v1/admin/keys", ingest).status, 403);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM api_keys"), 3);
}

TEST_F(AdminRoutes, CreateKeysInTheCallersTenantOnly) {
    const HttpResult created =
        Call("POST", "/api/v1/admin/keys", alpha_admin_,
             R"({"scopes": ["ingest", "query"], "name": "web", "rate_limit": 5, "burst": 10,
                 "expires_at": "2099-01-01T00:00:00Z"})");
    ASSERT_EQ(created.status, 201) << created.body;
    const Json key = created.Json();
    EXPECT_TRUE(common::auth::IsWellFormedApiKey(key["key"].get<std::string>()));
    EXPECT_EQ(key["tenant"], "alpha");
    EXPECT_EQ(key["scopes"], Json::array({"ingest", "query"}));
    EXPECT_EQ(key["expires_at"], "2099-01-01T00:00:00.000000Z");
    const auto record =
        lookup_->FindByHash(common::auth::HashApiKey(key["key"].get<std::string>()));
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->tenant_id, "alpha");
    EXPECT_EQ(record->rate_limit, 5.0);
    EXPECT_EQ(RowsContaining(db_, "api_keys", key["key"].get<std::string>()), 0);
    EXPECT_EQ(
        AuditRows(db_, "key.create", key["id"], "key:" + alpha_admin_["id"].get<std::string>()), 1);

    const HttpResult beta_created =
        Call("POST", "/api/v1/admin/keys", beta_admin_, R"({"scopes": ["query"]})");
    ASSERT_EQ(beta_created.status, 201);
    const std::string beta_key = beta_created.Json()["id"];
    // A tenant in the body is refused, never used.
    const HttpResult smuggled = Call("POST", "/api/v1/admin/keys", beta_admin_,
                                     R"({"scopes": ["query"], "tenant_id": "alpha"})");
    EXPECT_EQ(smuggled.status, 400);
    EXPECT_EQ(Fields(smuggled), std::vector<std::string>{"tenant_id"});

    EXPECT_EQ(ListedIds(alpha_admin_),
              (std::set<std::string>{alpha_admin_["id"], key["id"].get<std::string>()}));
    EXPECT_EQ(ListedIds(beta_admin_), (std::set<std::string>{beta_admin_["id"], beta_key}));

    const HttpResult own = Call("GET", "/api/v1/admin/keys/" + key["id"].get<std::string>(),
                                alpha_admin_);
    EXPECT_EQ(own.status, 200);
    EXPECT_EQ(own.Json()["name"], "web");
    EXPECT_FALSE(own.Json().contains("key"));
}

TEST_F(AdminRoutes, AnotherTenantsKeyIsNotFoundLikeAMissingOne) {
    const std::string beta_id = beta_admin_["id"];
    const HttpResult missing = Call("GET", "/api/v1/admin/keys/key_0000000000000000", alpha_admin_);
    EXPECT_EQ(missing.status, 404);
    const auto same_as_missing = [&](const HttpResult& result) {
        EXPECT_EQ(result.status, 404) << result.body;
        Json error = result.Json()["error"];
        EXPECT_EQ(error["code"], missing.Json()["error"]["code"]);
        EXPECT_EQ(error["message"], "no key " + beta_id);
    };
    same_as_missing(Call("GET", "/api/v1/admin/keys/" + beta_id, alpha_admin_));
    same_as_missing(Call("DELETE", "/api/v1/admin/keys/" + beta_id, alpha_admin_));
    same_as_missing(Call("POST", "/api/v1/admin/keys/" + beta_id + "/rotate", alpha_admin_,
                         R"({"grace_seconds": 0})"));
    // Nothing happened to it.
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM api_keys WHERE key_id = " + Literal(beta_id) +
                         " AND revoked_at IS NULL AND expires_at IS NULL"),
              1);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM api_keys WHERE rotated_from IS NOT NULL"), 0);
    EXPECT_EQ(Call("GET", "/api/v1/admin/keys/" + beta_id, beta_admin_).status, 200);
}

TEST_F(AdminRoutes, RevokeAndRotateOwnKeys) {
    const Json victim = AdminJson(db_, {"key", "create", "--tenant", "alpha", "--scopes", "query"});
    const HttpResult revoked =
        Call("DELETE", "/api/v1/admin/keys/" + victim["id"].get<std::string>(), alpha_admin_);
    ASSERT_EQ(revoked.status, 200) << revoked.body;
    EXPECT_TRUE(revoked.Json()["revoked_at"].is_string());
    EXPECT_TRUE(lookup_->FindByHash(common::auth::HashApiKey(victim["key"].get<std::string>()))
                    ->revoked);
    const std::string actor = "key:" + alpha_admin_["id"].get<std::string>();
    EXPECT_EQ(AuditRows(db_, "key.revoke", victim["id"], actor), 1);
    EXPECT_EQ(Call("POST", "/api/v1/admin/keys/" + victim["id"].get<std::string>() + "/rotate",
                   alpha_admin_, "{}")
                  .status,
              409);

    const Json old_key =
        AdminJson(db_, {"key", "create", "--tenant", "alpha", "--scopes", "ingest"});
    const std::string old_id = old_key["id"];
    const HttpResult rotated = Call("POST", "/api/v1/admin/keys/" + old_id + "/rotate",
                                    alpha_admin_, R"({"grace_seconds": 2})");
    ASSERT_EQ(rotated.status, 201) << rotated.body;
    const Json fresh = rotated.Json();
    EXPECT_TRUE(common::auth::IsWellFormedApiKey(fresh["key"].get<std::string>()));
    EXPECT_EQ(fresh["tenant"], "alpha");
    EXPECT_EQ(fresh["previous"]["id"], old_id);
    EXPECT_EQ(*common::ParseRfc3339(fresh["previous"]["expires_at"].get<std::string>()) -
                  *common::ParseRfc3339(fresh["created_at"].get<std::string>()),
              std::chrono::seconds(2));
    EXPECT_TRUE(lookup_->FindByHash(common::auth::HashApiKey(fresh["key"].get<std::string>())));
    EXPECT_TRUE(lookup_->FindByHash(common::auth::HashApiKey(old_key["key"].get<std::string>()))
                    ->expires_at.has_value());
    EXPECT_EQ(AuditRows(db_, "key.rotate", old_id, actor), 1);

    // An admin may rotate its own admin key; with grace 0 the old one stops now.
    const HttpResult self = Call("POST",
                                 "/api/v1/admin/keys/" + alpha_admin_["id"].get<std::string>() +
                                     "/rotate",
                                 alpha_admin_, "");
    ASSERT_EQ(self.status, 201) << self.body;
    EXPECT_EQ(Call("GET", "/api/v1/admin/keys", alpha_admin_).status, 401);
    EXPECT_EQ(Call("GET", "/api/v1/admin/keys", self.Json()).status, 200);

    // The audit trail of the caller's tenant only.
    const HttpResult audit = Call("GET", "/api/v1/admin/audit?limit=50", self.Json());
    ASSERT_EQ(audit.status, 200);
    const Json entries = audit.Json()["entries"];
    EXPECT_GE(entries.size(), 5u);
    for (const auto& entry : entries) EXPECT_EQ(entry["tenant"], "alpha");
    EXPECT_EQ(entries[0]["action"], "key.rotate");
    EXPECT_EQ(entries[0]["actor"], actor);
    EXPECT_EQ(Call("GET", "/api/v1/admin/audit?limit=1", self.Json()).Json()["entries"].size(), 1u);
    const HttpResult bad_limit = Call("GET", "/api/v1/admin/audit?limit=0", self.Json());
    EXPECT_EQ(bad_limit.status, 400);
    EXPECT_EQ(bad_limit.Json()["error"]["code"], "invalid_parameter");
}

TEST_F(AdminRoutes, TheOperatorScopeIsNotGrantedOverHttp) {
    const HttpResult refused =
        Call("POST", "/api/v1/admin/keys", alpha_admin_, R"({"scopes": ["query", "operator"]})");
    EXPECT_EQ(refused.status, 403);
    EXPECT_NE(refused.Json()["error"]["message"].get<std::string>().find("operator"),
              std::string::npos);
    // Rotating would copy the scope.
    const Json operator_key =
        AdminJson(db_, {"key", "create", "--tenant", "alpha", "--scopes", "operator"});
    const HttpResult rotate = Call(
        "POST", "/api/v1/admin/keys/" + operator_key["id"].get<std::string>() + "/rotate",
        alpha_admin_, "{}");
    EXPECT_EQ(rotate.status, 403);
    EXPECT_NE(rotate.body.find("operator"), std::string::npos);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM api_keys WHERE 'operator' = ANY(scopes)"), 1);
}

TEST_F(AdminRoutes, InvalidBodiesAnswer400NamingTheField) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{not json", "body"},
        {R"({"scopes": "ingest"})", "scopes"},
        {R"({"scopes": ["ingest", "everything"]})", "scopes[1]"},
        {R"({"scopes": ["ingest"], "rate_limit": -5})", "rate_limit"},
        {R"({"scopes": ["ingest"], "burst": 0})", "burst"},
        {R"({"scopes": ["ingest"], "expires_at": "next tuesday"})", "expires_at"},
        {R"({"scopes": ["ingest"], "expires_at": "2001-01-01T00:00:00Z"})", "expires_at"},
        {R"({"scopes": ["ingest"], "name": ["x"]})", "name"},
    };
    for (const auto& [body, field] : cases) {
        const HttpResult result = Call("POST", "/api/v1/admin/keys", alpha_admin_, body);
        EXPECT_EQ(result.status, 400) << body << " -> " << result.body;
        EXPECT_EQ(Fields(result), std::vector<std::string>{field}) << body;
    }
    const std::string key_path = "/api/v1/admin/keys/" + alpha_admin_["id"].get<std::string>();
    for (const auto& [body, field] :
         std::vector<std::pair<std::string, std::string>>{
             {R"({"grace_seconds": 2592001})", "grace_seconds"},
             {R"({"grace_seconds": -1})", "grace_seconds"},
             {R"({"grace_seconds": "soon"})", "grace_seconds"},
             {"[]", "body"}}) {
        const HttpResult result = Call("POST", key_path + "/rotate", alpha_admin_, body);
        EXPECT_EQ(result.status, 400) << body << " -> " << result.body;
        EXPECT_EQ(Fields(result), std::vector<std::string>{field}) << body;
    }
    // Nothing was created or changed.
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM api_keys"), 2);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM api_keys WHERE expires_at IS NOT NULL"), 0);
}

TEST(AdminRoutesOutage, AnUnreachableStoreAnswers503WithRetryAfter) {
    storage::KeyRepository repository("postgresql://postgres@127.0.0.1:1/nothing");
    common::MetricsRegistry metrics;
    common::http::Server server({}, metrics, "query");
    query::RegisterAdminRoutes(server, repository,
                                           [](const httplib::Request&, httplib::Response&,
                                              Scope) -> std::optional<common::auth::Principal> {
                                               common::auth::Principal principal;
                                               principal.tenant_id = "alpha";
                                               principal.key_id = "key_fixed";
                                               principal.scopes = {Scope::kAdmin};
                                               return principal;
                                           });
    const int port = server.Bind("127.0.0.1", 0);
    ASSERT_GT(port, 0);
    std::thread thread([&] { server.Run(); });
    httplib::Client client("127.0.0.1", port);
    const auto check = [](const httplib::Result& result) {
        ASSERT_TRUE(result);
        EXPECT_EQ(result->status, 503);
        EXPECT_EQ(result->get_header_value("Retry-After"), "2");
    };
    check(client.Get("/api/v1/admin/keys"));
    check(client.Post("/api/v1/admin/keys", R"({"scopes": ["query"]})", "application/json"));
    check(client.Delete("/api/v1/admin/keys/key_x"));
    // Bad input is still answered as such, without the store.
    const auto bad = client.Post("/api/v1/admin/keys", "{", "application/json");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    server.Stop();
    thread.join();
}

}  // namespace
}  // namespace tributary::itest
