#include "tools/admin/arguments.hpp"

#include "common/auth/scopes.hpp"

#include <charconv>
#include <cmath>
#include <map>
#include <set>

namespace tributary::tools::admin {
namespace {

constexpr std::string_view kUsage =
    R"(usage: tributary-admin COMMAND [--json]

Manages tenants and API keys in the PostgreSQL database named by DATABASE_URL (applying the
schema migrations first).

Commands:
  tenant create NAME
  tenant list
  key create --tenant T --scopes ingest,query[,admin][,operator] [--name TEXT]
             [--rate N] [--burst N] [--expires RFC3339|+DURATION]
  key list --tenant T
  key revoke ID
  key rotate ID --grace SECONDS
  audit [--tenant T] [--limit N]

Options:
  --json       print one JSON object on stdout, for scripts
  --rate N     the key's limit: events/s on ingest, requests/s on queries (default: the
               service's)
  --burst N    the key's bucket size (default: derived from the rate)
  --expires    an RFC 3339 time (2030-01-31T00:00:00Z) or +DURATION from now: +30d, +12h,
               +15m, +3600s
  --grace      how long the old key keeps working after a rotation: seconds, or a DURATION
               such as 1h (0 stops it now; at most 30 days)
  --limit N    audit entries to show, newest first (default 50)

A new key is printed once and never again. The operator scope (every tenant's raw Kafka
messages and dead letters) can only be granted here.

Exit status: 0 done, 1 refused or failed (message on stderr), 2 usage error.
)";

// Options that take a value; everything else starting with "--" is --json, --help or unknown.
const std::set<std::string, std::less<>> kValueOptions = {
    "tenant", "scopes", "name", "rate", "burst", "expires", "grace", "limit"};

UsageError Usage(std::string message) { return {std::move(message)}; }

std::optional<double> ParsePositiveNumber(const std::string& text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
        value <= 0) {
        return std::nullopt;
    }
    return value;
}

struct Arguments {
    std::vector<std::string> positional;
    std::map<std::string, std::string, std::less<>> options;
    bool json = false;
    bool help = false;
};

std::variant<Arguments, UsageError> Split(const std::vector<std::string>& args) {
    Arguments result;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--json") {
            result.json = true;
        } else if (arg == "--help" || arg == "-h" || arg == "help") {
            result.help = true;
        } else if (arg.starts_with("--")) {
            const size_t eq = arg.find('=');
            const std::string name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
            if (!kValueOptions.contains(name)) return Usage("unknown option --" + name);
            std::string value;
            if (eq != std::string::npos) {
                value = arg.substr(eq + 1);
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                return Usage("--" + name + " needs a value");
            }
            if (!result.options.emplace(name, std::move(value)).second) {
                return Usage("--" + name + " is given twice");
            }
        } else {
            result.positional.push_back(arg);
        }
    }
    return result;
}

// Checks that the command has exactly `count` positional words and no option outside
// `allowed`; a usage error naming the first offender otherwise.
std::optional<UsageError> CheckShape(const Arguments& arguments, const std::string& command,
                                     size_t count,
                                     std::initializer_list<std::string_view> allowed) {
    if (arguments.positional.size() < count) {
        return Usage(command + ": missing argument");
    }
    if (arguments.positional.size() > count) {
        return Usage(command + ": unexpected argument '" + arguments.positional[count] + "'");
    }
    for (const auto& [name, value] : arguments.options) {
        bool ok = false;
        for (const auto option : allowed) ok = ok || option == name;
        if (!ok) return Usage(command + " does not take --" + name);
    }
    return std::nullopt;
}

const std::string* Option(const Arguments& arguments, std::string_view name) {
    const auto it = arguments.options.find(name);
    return it == arguments.options.end() ? nullptr : &it->second;
}

}  // namespace

std::string_view UsageText() { return kUsage; }

std::optional<std::chrono::seconds> ParseDuration(std::string_view text) {
    if (text.empty()) return std::nullopt;
    int64_t unit = 1;
    switch (text.back()) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: unit = 0; break;
    }
    const std::string_view digits = unit == 0 ? text : text.substr(0, text.size() - 1);
    if (unit == 0) unit = 1;
    if (digits.empty() || digits.size() > 12) return std::nullopt;
    int64_t count = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (ec != std::errc() || end != digits.data() + digits.size() || count < 0) return std::nullopt;
    constexpr int64_t kMaxSeconds = int64_t{100} * 366 * 86400;
    if (count > kMaxSeconds / unit) return std::nullopt;
    return std::chrono::seconds(count * unit);
}

std::optional<common::SystemTime> ParseExpires(std::string_view text, common::SystemTime now) {
    if (text.starts_with('+')) {
        const auto duration = ParseDuration(text.substr(1));
        if (!duration) return std::nullopt;
        return now + *duration;
    }
    return common::ParseRfc3339(text);
}

std::variant<Command, UsageError> ParseCommandLine(const std::vector<std::string>& args,
                                                   common::SystemTime now) {
    auto split = Split(args);
    if (auto* error = std::get_if<UsageError>(&split)) return *error;
    const Arguments& arguments = std::get<Arguments>(split);
    Command command;
    command.json = arguments.json;
    if (arguments.help) return command;  // kHelp
    const auto& words = arguments.positional;
    if (words.empty()) return Usage("no command given");
    const std::string group = words[0];
    const std::string verb = words.size() > 1 ? words[1] : "";
    const std::string name = group + " " + verb;

    if (group == "tenant" && verb == "create") {
        if (auto error = CheckShape(arguments, name, 3, {})) return *error;
        command.kind = CommandKind::kTenantCreate;
        command.tenant = words[2];
        return command;
    }
    if (group == "tenant" && verb == "list") {
        if (auto error = CheckShape(arguments, name, 2, {})) return *error;
        command.kind = CommandKind::kTenantList;
        return command;
    }
    if (group == "key" && verb == "create") {
        if (auto error = CheckShape(arguments, name, 2,
                                    {"tenant", "scopes", "name", "rate", "burst", "expires"})) {
            return *error;
        }
        command.kind = CommandKind::kKeyCreate;
        const std::string* tenant = Option(arguments, "tenant");
        if (tenant == nullptr) return Usage("key create needs --tenant");
        command.tenant = *tenant;
        const std::string* scopes = Option(arguments, "scopes");
        if (scopes == nullptr) return Usage("key create needs --scopes (such as ingest,query)");
        std::string scope_error;
        const auto parsed_scopes = common::auth::ParseScopeList(*scopes, &scope_error);
        if (!parsed_scopes) return Usage("--scopes: " + scope_error);
        command.spec.scopes = *parsed_scopes;
        if (const std::string* key_name = Option(arguments, "name")) command.spec.name = *key_name;
        for (const auto& [option, target] : {std::pair{"rate", &command.spec.rate_limit},
                                             std::pair{"burst", &command.spec.burst}}) {
            if (const std::string* text = Option(arguments, option)) {
                *target = ParsePositiveNumber(*text);
                if (!*target) {
                    return Usage(std::string("--") + option + " must be a number greater than 0");
                }
            }
        }
        if (const std::string* expires = Option(arguments, "expires")) {
            command.spec.expires_at = ParseExpires(*expires, now);
            if (!command.spec.expires_at) {
                return Usage("--expires must be an RFC 3339 time (2030-01-31T00:00:00Z) or "
                             "+DURATION (+30d, +12h, +15m, +3600s)");
            }
        }
        return command;
    }
    if (group == "key" && verb == "list") {
        if (auto error = CheckShape(arguments, name, 2, {"tenant"})) return *error;
        command.kind = CommandKind::kKeyList;
        const std::string* tenant = Option(arguments, "tenant");
        if (tenant == nullptr) return Usage("key list needs --tenant");
        command.tenant = *tenant;
        return command;
    }
    if (group == "key" && verb == "revoke") {
        if (auto error = CheckShape(arguments, name, 3, {})) return *error;
        command.kind = CommandKind::kKeyRevoke;
        command.key_id = words[2];
        return command;
    }
    if (group == "key" && verb == "rotate") {
        if (auto error = CheckShape(arguments, name, 3, {"grace"})) return *error;
        command.kind = CommandKind::kKeyRotate;
        command.key_id = words[2];
        // Required: forgetting it must not cut off the old key's clients by surprise.
        const std::string* grace = Option(arguments, "grace");
        if (grace == nullptr) {
            return Usage("key rotate needs --grace SECONDS (how long the old key keeps working; "
                         "0 stops it now)");
        }
        const auto duration = ParseDuration(*grace);
        if (!duration) return Usage("--grace must be seconds or a duration such as 1h");
        command.grace = *duration;
        return command;
    }
    if (group == "audit") {
        if (auto error = CheckShape(arguments, "audit", 1, {"tenant", "limit"})) return *error;
        command.kind = CommandKind::kAudit;
        if (const std::string* tenant = Option(arguments, "tenant")) command.audit_tenant = *tenant;
        if (const std::string* limit = Option(arguments, "limit")) {
            const auto [end, ec] =
                std::from_chars(limit->data(), limit->data() + limit->size(), command.limit);
            if (ec != std::errc() || end != limit->data() + limit->size() || command.limit < 1 ||
                command.limit > 10000) {
                return Usage("--limit must be an integer from 1 to 10000");
            }
        }
        return command;
    }
    if (group == "tenant" || group == "key") {
        return Usage(verb.empty() ? group + ": missing subcommand"
                                  : "unknown command '" + name + "'");
    }
    return Usage("unknown command '" + group + "'");
}

}  // namespace tributary::tools::admin
