#pragma once

#include "common/time_util.hpp"
#include "storage/key_repository.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tributary::tools::admin {

enum class CommandKind {
    kHelp,
    kTenantCreate,
    kTenantList,
    kKeyCreate,
    kKeyList,
    kKeyRevoke,
    kKeyRotate,
    kAudit,
};

// One tributary-admin invocation, parsed and checked for shape (not against the database).
struct Command {
    CommandKind kind = CommandKind::kHelp;
    bool json = false;                        // --json: one JSON object on stdout
    std::string tenant;                       // tenant create NAME; key create/list --tenant
    std::optional<std::string> audit_tenant;  // audit --tenant (none: every tenant)
    std::string key_id;                       // key revoke/rotate ID
    storage::KeySpec spec;             // key create
    std::chrono::seconds grace{0};            // key rotate --grace
    int limit = 50;                           // audit --limit
};

// The command line cannot be understood: exit status 2, with the usage text.
struct UsageError {
    std::string message;
};

// Parses the arguments after the program name. Options may come anywhere, as "--name value"
// or "--name=value"; "--help" anywhere asks for the usage text. `now` anchors a relative
// --expires. Pure.
std::variant<Command, UsageError> ParseCommandLine(const std::vector<std::string>& args,
                                                   common::SystemTime now);

// A duration: digits and a unit s, m, h or d ("3600s", "15m", "12h", "30d"); plain digits are
// seconds. From 0 to 100 years; nullopt for anything else.
std::optional<std::chrono::seconds> ParseDuration(std::string_view text);

// --expires: an RFC 3339 date-time, or "+" and a duration counted from `now` ("+30d").
std::optional<common::SystemTime> ParseExpires(std::string_view text, common::SystemTime now);

// The text `tributary-admin --help` prints.
std::string_view UsageText();

}  // namespace tributary::tools::admin
