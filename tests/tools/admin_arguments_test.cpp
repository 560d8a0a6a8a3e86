#include "tools/admin/arguments.hpp"

#include <gtest/gtest.h>

namespace tributary::tools::admin {
namespace {

using common::auth::Scope;
using namespace std::chrono_literals;

const common::SystemTime kNow = *common::ParseRfc3339("2026-03-01T12:00:00Z");

std::variant<Command, UsageError> Parse(std::vector<std::string> args) {
    return ParseCommandLine(args, kNow);
}

Command Ok(std::vector<std::string> args) {
    auto parsed = Parse(args);
    if (auto* error = std::get_if<UsageError>(&parsed)) {
        ADD_FAILURE() << "usage error: " << error->message;
        return {};
    }
    return std::get<Command>(parsed);
}

std::string Refused(std::vector<std::string> args) {
    auto parsed = Parse(args);
    if (!std::holds_alternative<UsageError>(parsed)) {
        ADD_FAILURE() << "accepted";
        return {};
    }
    return std::get<UsageError>(parsed).message;
}

TEST(ParseDuration, TakesSecondsMinutesHoursAndDays) {
    EXPECT_EQ(ParseDuration("3600s"), 3600s);
    EXPECT_EQ(ParseDuration("15m"), 15min);
    EXPECT_EQ(ParseDuration("12h"), 12h);
    EXPECT_EQ(ParseDuration("30d"), 30 * 24h);
    EXPECT_EQ(ParseDuration("90"), 90s);
    EXPECT_EQ(ParseDuration("0"), 0s);
}

TEST(ParseDuration, RefusesAnythingElse) {
    for (const char* text : {"", "s", "d", "-5s", "1.5h", "5w", "5 d", "+5d", "1h30m", "h5",
                             "99999999999999d", "36601d"}) {
        EXPECT_EQ(ParseDuration(text), std::nullopt) << text;
    }
}

TEST(ParseExpires, CountsADurationFromNow) {
    EXPECT_EQ(ParseExpires("+30d", kNow), kNow + 30 * 24h);
    EXPECT_EQ(ParseExpires("+12h", kNow), kNow + 12h);
    EXPECT_EQ(ParseExpires("+3600s", kNow), kNow + 1h);
}

TEST(ParseExpires, TakesRfc3339TimesWithOffsets) {
    EXPECT_EQ(ParseExpires("2030-01-31T00:00:00Z", kNow),
              common::ParseRfc3339("2030-01-31T00:00:00Z"));
    EXPECT_EQ(ParseExpires("2030-01-31T02:00:00+02:00", kNow),
              common::ParseRfc3339("2030-01-31T00:00:00Z"));
}

TEST(ParseExpires, RefusesJunk) {
    for (const char* text : {"", "+", "30d", "tomorrow", "2030-02-30T00:00:00Z", "+-1d"}) {
        EXPECT_EQ(ParseExpires(text, kNow), std::nullopt) << text;
    }
}

TEST(ParseCommandLine, ReadsKeyCreateWithEveryOption) {
    const Command command = Ok({"key", "create", "--tenant", "acme", "--scopes=ingest, query",
                                "--name", "ci bot", "--rate", "250.5", "--burst=500",
                                "--expires", "+30d", "--json"});
    EXPECT_EQ(command.kind, CommandKind::kKeyCreate);
    EXPECT_EQ(command.tenant, "acme");
    EXPECT_TRUE(command.json);
    EXPECT_EQ(command.spec.scopes, (common::auth::ScopeSet{Scope::kIngest, Scope::kQuery}));
    EXPECT_EQ(command.spec.name, "ci bot");
    EXPECT_EQ(command.spec.rate_limit, 250.5);
    EXPECT_EQ(command.spec.burst, 500.0);
    EXPECT_EQ(command.spec.expires_at, kNow + 30 * 24h);
}

TEST(ParseCommandLine, GrantsTheOperatorScope) {
    const Command command = Ok({"key", "create", "--tenant", "default", "--scopes", "operator"});
    EXPECT_TRUE(command.spec.scopes.Has(Scope::kOperator));
    EXPECT_FALSE(command.spec.rate_limit.has_value());
    EXPECT_FALSE(command.spec.expires_at.has_value());
}

TEST(ParseCommandLine, ReadsTheOtherCommands) {
    EXPECT_EQ(Ok({"tenant", "create", "acme"}).tenant, "acme");
    EXPECT_EQ(Ok({"tenant", "list", "--json"}).kind, CommandKind::kTenantList);
    EXPECT_EQ(Ok({"key", "list", "--tenant", "acme"}).tenant, "acme");
    EXPECT_EQ(Ok({"key", "revoke", "key_abc"}).key_id, "key_abc");
    const Command rotate = Ok({"key", "rotate", "key_abc", "--grace", "3600"});
    EXPECT_EQ(rotate.kind, CommandKind::kKeyRotate);
    EXPECT_EQ(rotate.grace, 1h);
    EXPECT_EQ(Ok({"key", "rotate", "key_abc", "--grace=0"}).grace, 0s);
    EXPECT_EQ(Ok({"key", "rotate", "--grace", "2h", "key_abc"}).grace, 2h);
    const Command audit = Ok({"audit", "--tenant", "acme", "--limit", "5"});
    EXPECT_EQ(audit.audit_tenant, "acme");
    EXPECT_EQ(audit.limit, 5);
    EXPECT_EQ(Ok({"audit"}).audit_tenant, std::nullopt);
    EXPECT_EQ(Ok({"key", "list", "--help"}).kind, CommandKind::kHelp);
}

TEST(ParseCommandLine, RefusesMissingAndStrayArguments) {
    EXPECT_NE(Refused({}).find("no command"), std::string::npos);
    EXPECT_NE(Refused({"tenant"}).find("missing"), std::string::npos);
    EXPECT_NE(Refused({"tenant", "create"}).find("missing"), std::string::npos);
    EXPECT_NE(Refused({"tenant", "create", "a", "b"}).find("'b'"), std::string::npos);
    EXPECT_NE(Refused({"tenant", "drop", "a"}).find("tenant drop"), std::string::npos);
    EXPECT_NE(Refused({"frobnicate"}).find("frobnicate"), std::string::npos);
    EXPECT_NE(Refused({"key", "create", "--scopes", "query"}).find("--tenant"), std::string::npos);
    EXPECT_NE(Refused({"key", "create", "--tenant", "a"}).find("--scopes"), std::string::npos);
    EXPECT_NE(Refused({"key", "list"}).find("--tenant"), std::string::npos);
    EXPECT_NE(Refused({"key", "list", "--tenant", "a", "--rate", "5"}).find("--rate"),
              std::string::npos);
    EXPECT_NE(Refused({"key", "rotate", "key_abc"}).find("--grace"), std::string::npos);
    EXPECT_NE(Refused({"key", "revoke"}).find("missing"), std::string::npos);
    EXPECT_NE(Refused({"tenant", "list", "--bogus"}).find("--bogus"), std::string::npos);
    EXPECT_NE(Refused({"key", "list", "--tenant"}).find("needs a value"), std::string::npos);
    EXPECT_NE(Refused({"key", "list", "--tenant", "a", "--tenant", "b"}).find("twice"),
              std::string::npos);
}

TEST(ParseCommandLine, RefusesBadValues) {
    const std::vector<std::string> create = {"key", "create", "--tenant", "a", "--scopes"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = create;
        args.insert(args.end(), extra.begin(), extra.end());
        return Refused(args);
    };
    EXPECT_NE(with({"ingest,bogus"}).find("bogus"), std::string::npos);
    EXPECT_NE(with({""}).find("no scope"), std::string::npos);
    for (const char* rate : {"0", "-1", "abc", "1e999", "nan", "5x"}) {
        EXPECT_NE(with({"query", "--rate", rate}).find("--rate"), std::string::npos) << rate;
    }
    EXPECT_NE(with({"query", "--burst", "0"}).find("--burst"), std::string::npos);
    EXPECT_NE(with({"query", "--expires", "soon"}).find("--expires"), std::string::npos);
    EXPECT_NE(Refused({"key", "rotate", "k", "--grace", "-1"}).find("--grace"), std::string::npos);
    EXPECT_NE(Refused({"key", "rotate", "k", "--grace", "1.5"}).find("--grace"), std::string::npos);
    for (const char* limit : {"0", "10001", "x", "-3"}) {
        EXPECT_NE(Refused({"audit", "--limit", limit}).find("--limit"), std::string::npos)
            << limit;
    }
}

TEST(UsageText, ListsEveryCommand) {
    const std::string usage(UsageText());
    for (const char* command : {"tenant create NAME", "tenant list", "key create", "key list",
                                "key revoke ID", "key rotate ID --grace SECONDS", "audit"}) {
        EXPECT_NE(usage.find(command), std::string::npos) << command;
    }
}

}  // namespace
}  // namespace tributary::tools::admin
