#include "common/auth/scopes.hpp"

namespace tributary::common::auth {

std::string_view ScopeName(Scope scope) {
    switch (scope) {
        case Scope::kIngest: return "ingest";
        case Scope::kQuery: return "query";
        case Scope::kAdmin: return "admin";
        case Scope::kOperator: return "operator";
    }
    return "unknown";
}

std::vector<std::string> ScopeSet::Names() const {
    std::vector<std::string> names;
    for (const Scope scope : kAllScopes) {
        if (Has(scope)) names.emplace_back(ScopeName(scope));
    }
    return names;
}

std::string ScopeSet::ToString() const {
    std::string text;
    for (const auto& name : Names()) {
        if (!text.empty()) text += ',';
        text += name;
    }
    return text;
}

std::optional<Scope> ParseScope(std::string_view name) {
    for (const Scope scope : kAllScopes) {
        if (ScopeName(scope) == name) return scope;
    }
    return std::nullopt;
}

std::optional<ScopeSet> ParseScopeList(std::string_view list, std::string* error) {
    ScopeSet scopes;
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string_view::npos) end = list.size();
        std::string_view name = list.substr(start, end - start);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
        if (!name.empty()) {
            const auto scope = ParseScope(name);
            if (!scope) {
                if (error) {
                    *error = "unknown scope '" + std::string(name) +
                             "' (expected ingest, query, admin or operator)";
                }
                return std::nullopt;
            }
            scopes.Add(*scope);
        }
        start = end + 1;
    }
    if (scopes.Empty()) {
        if (error) *error = "no scope given (expected a list such as ingest,query)";
        return std::nullopt;
    }
    return scopes;
}

}  // namespace tributary::common::auth
