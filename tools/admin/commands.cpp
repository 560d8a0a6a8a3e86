#include "tools/admin/commands.hpp"

#include "common/auth/key_store.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <vector>

namespace tributary::tools::admin {
namespace {


using Json = nlohmann::json;

// "2026-01-31T12:00:00Z": the stored microseconds matter to no one reading a table.
std::string ShortTime(const std::optional<storage::SystemTime>& time, const char* absent = "-") {
    if (!time) return absent;
    const std::string text = common::FormatRfc3339(*time);
    const size_t dot = text.find('.');
    return dot == std::string::npos ? text : text.substr(0, dot) + "Z";
}

// Prints rows under a header, each column as wide as its widest cell.
void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
        }
        out << line << "\n";
    }
}

// The command-line option a repository problem's field came from.
std::string Describe(const storage::KeyProblem& problem) {
    static const std::map<std::string, std::string> kOptions = {
        {"scopes", "--scopes"},   {"name", "--name"},       {"rate_limit", "--rate"},
        {"burst", "--burst"},     {"expires_at", "--expires"}, {"grace_seconds", "--grace"}};
    const auto it = kOptions.find(problem.field);
    if (problem.kind == storage::KeyProblem::Kind::kInvalid && it != kOptions.end()) {
        return it->second + " " + problem.message;
    }
    return problem.message;
}

// The value of a KeyResult, or nullptr after reporting its problem on `err`.
template <typename T>
const T* Unwrap(const storage::KeyResult<T>& result, std::ostream& err) {
    if (const auto* problem = std::get_if<storage::KeyProblem>(&result)) {
        err << "tributary-admin: " << Describe(*problem) << "\n";
        return nullptr;
    }
    return &std::get<T>(result);
}
// The result must outlive the pointer.
template <typename T>
const T* Unwrap(const storage::KeyResult<T>&& result, std::ostream& err) = delete;

void PrintNewKey(std::ostream& out, const storage::NewKey& key) {
    out << "  tenant:  " << key.info.tenant_id << "\n"
        << "  scopes:  " << key.info.scopes.ToString() << "\n";
    if (key.info.name) out << "  name:    " << *key.info.name << "\n";
    if (key.info.rate_limit) out << "  rate:    " << *key.info.rate_limit << "/s\n";
    if (key.info.burst) out << "  burst:   " << *key.info.burst << "\n";
    out << "  expires: " << ShortTime(key.info.expires_at, "never") << "\n"
        << "  key:     " << key.plaintext << "\n"
        << "This key will not be shown again: store it now (only its hash is kept).\n";
}

int TenantCreate(const Command& command, storage::KeyRepository& keys, const std::string& actor,
                 std::ostream& out, std::ostream& err) {
    const auto result = keys.CreateTenant(command.tenant, actor);
    const auto* tenant = Unwrap(result, err);
    if (tenant == nullptr) return 1;
    if (command.json) {
        out << storage::TenantJson(*tenant).dump() << "\n";
    } else {
        out << "Created tenant " << tenant->tenant_id << "\n";
    }
    return 0;
}

int TenantList(const Command& command, storage::KeyRepository& keys, std::ostream& out) {
    const auto tenants = keys.ListTenants();
    if (command.json) {
        Json body = {{"tenants", Json::array()}};
        for (const auto& tenant : tenants) body["tenants"].push_back(storage::TenantJson(tenant));
        out << body.dump() << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows = {{"TENANT", "CREATED"}};
    for (const auto& tenant : tenants) {
        rows.push_back({tenant.tenant_id, ShortTime(tenant.created_at)});
    }
    PrintTable(out, rows);
    return 0;
}

int KeyCreate(const Command& command, storage::KeyRepository& keys, const std::string& actor,
              std::ostream& out, std::ostream& err) {
    const auto result = keys.CreateKey(command.tenant, command.spec, actor);
    const auto* key = Unwrap(result, err);
    if (key == nullptr) return 1;
    if (command.json) {
        out << storage::NewKeyJson(*key).dump() << "\n";
        return 0;
    }
    out << "Created key " << key->info.key_id << "\n";
    PrintNewKey(out, *key);
    return 0;
}

int KeyList(const Command& command, storage::KeyRepository& keys, std::ostream& out,
            std::ostream& err) {
    const auto result = keys.ListKeys(command.tenant);
    const auto* listed = Unwrap(result, err);
    if (listed == nullptr) return 1;
    if (command.json) {
        Json body = {{"keys", Json::array()}};
        for (const auto& key : *listed) body["keys"].push_back(storage::KeyInfoJson(key));
        out << body.dump() << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"ID", "NAME", "SCOPES", "KEY", "CREATED", "EXPIRES", "REVOKED", "LAST USED"}};
    for (const auto& key : *listed) {
        rows.push_back({key.key_id, key.name.value_or("-"), key.scopes.ToString(),
                        "****" + key.last_four, ShortTime(key.created_at),
                        ShortTime(key.expires_at, "never"), ShortTime(key.revoked_at),
                        ShortTime(key.last_used_at, "never")});
    }
    PrintTable(out, rows);
    return 0;
}

int KeyRevoke(const Command& command, storage::KeyRepository& keys, const std::string& actor,
              std::ostream& out, std::ostream& err) {
    const auto result = keys.RevokeKey(std::nullopt, command.key_id, actor);
    const auto* key = Unwrap(result, err);
    if (key == nullptr) return 1;
    if (command.json) {
        out << storage::KeyInfoJson(*key).dump() << "\n";
    } else {
        out << "Revoked key " << key->key_id << " of tenant " << key->tenant_id << " at "
            << ShortTime(key->revoked_at) << "\n";
    }
    return 0;
}

int KeyRotate(const Command& command, storage::KeyRepository& keys, const std::string& actor,
              std::ostream& out, std::ostream& err) {
    const auto result = keys.RotateKey(std::nullopt, command.key_id, command.grace, actor);
    const auto* rotated = Unwrap(result, err);
    if (rotated == nullptr) return 1;
    if (command.json) {
        Json body = storage::NewKeyJson(rotated->replacement);
        body["previous"] = {{"id", rotated->previous.key_id},
                            {"expires_at", storage::KeyInfoJson(rotated->previous)["expires_at"]}};
        out << body.dump() << "\n";
        return 0;
    }
    out << "Rotated key " << rotated->previous.key_id << " into "
        << rotated->replacement.info.key_id << "\n"
        << "  the old key stops working at " << ShortTime(rotated->previous.expires_at) << "\n";
    PrintNewKey(out, rotated->replacement);
    return 0;
}

int Audit(const Command& command, storage::KeyRepository& keys, std::ostream& out) {
    const auto entries = keys.Audit(command.audit_tenant, command.limit);
    if (command.json) {
        Json body = {{"entries", Json::array()}};
        for (const auto& entry : entries) body["entries"].push_back(storage::AuditEntryJson(entry));
        out << body.dump() << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"AT", "ACTOR", "ACTION", "TENANT", "KEY", "DETAILS"}};
    for (const auto& entry : entries) {
        rows.push_back({ShortTime(entry.at), entry.actor, entry.action, entry.tenant_id,
                        entry.key_id.value_or("-"), entry.details.dump()});
    }
    PrintTable(out, rows);
    return 0;
}

}  // namespace

std::string OneLine(std::string_view text) {
    std::string line(text);
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::replace(line.begin(), line.end(), '\r', ' ');
    std::replace(line.begin(), line.end(), '\t', ' ');
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line;
}

std::string CliActor() {
    if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') {
        return std::string("cli:") + user;
    }
    if (const passwd* entry = getpwuid(geteuid()); entry != nullptr && entry->pw_name != nullptr) {
        return std::string("cli:") + entry->pw_name;
    }
    return "cli:uid" + std::to_string(geteuid());
}

int RunCommand(const Command& command, storage::KeyRepository& keys, const std::string& actor,
               std::ostream& out, std::ostream& err) {
    try {
        switch (command.kind) {
            case CommandKind::kHelp: out << UsageText(); return 0;
            case CommandKind::kTenantCreate: return TenantCreate(command, keys, actor, out, err);
            case CommandKind::kTenantList: return TenantList(command, keys, out);
            case CommandKind::kKeyCreate: return KeyCreate(command, keys, actor, out, err);
            case CommandKind::kKeyList: return KeyList(command, keys, out, err);
            case CommandKind::kKeyRevoke: return KeyRevoke(command, keys, actor, out, err);
            case CommandKind::kKeyRotate: return KeyRotate(command, keys, actor, out, err);
            case CommandKind::kAudit: return Audit(command, keys, out);
        }
        err << "tributary-admin: unknown command\n";
        return 1;
    } catch (const common::auth::KeyStoreUnavailable& e) {
        err << "tributary-admin: the database cannot be reached: " << OneLine(e.what()) << "\n";
        return 1;
    } catch (const std::exception& e) {
        err << "tributary-admin: " << OneLine(e.what()) << "\n";
        return 1;
    }
}

}  // namespace tributary::tools::admin
