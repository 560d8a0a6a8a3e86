#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::common::auth {

// What a key may do. `kOperator` is the platform scope (every tenant's raw Kafka messages and
// dead letters); only tributary-admin grants it, never a tenant's admin key.
enum class Scope : uint8_t { kIngest = 1, kQuery = 2, kAdmin = 4, kOperator = 8 };

std::string_view ScopeName(Scope scope);

// A set of scopes as a bit mask. Cheap to copy.
class ScopeSet {
public:
    constexpr ScopeSet() = default;
    constexpr explicit ScopeSet(uint8_t bits) : bits_(bits) {}
    constexpr ScopeSet(std::initializer_list<Scope> scopes) {
        for (const Scope scope : scopes) bits_ |= static_cast<uint8_t>(scope);
    }
    constexpr bool Has(Scope scope) const { return (bits_ & static_cast<uint8_t>(scope)) != 0; }
    constexpr void Add(Scope scope) { bits_ |= static_cast<uint8_t>(scope); }
    constexpr bool Empty() const { return bits_ == 0; }
    constexpr uint8_t Bits() const { return bits_; }
    // Names in the fixed order ingest, query, admin, operator.
    std::vector<std::string> Names() const;
    // "ingest,query"
    std::string ToString() const;
    friend constexpr bool operator==(ScopeSet a, ScopeSet b) { return a.bits_ == b.bits_; }

private:
    uint8_t bits_ = 0;
};

inline constexpr Scope kAllScopes[] = {Scope::kIngest, Scope::kQuery, Scope::kAdmin,
                                       Scope::kOperator};

// Parses one scope name ("ingest"); nullopt when unknown.
std::optional<Scope> ParseScope(std::string_view name);
// Parses a comma-separated list ("ingest,query"); nullopt and `error` naming the bad entry when
// a name is unknown or the list is empty. Spaces around names are ignored; repeats are allowed.
std::optional<ScopeSet> ParseScopeList(std::string_view list, std::string* error);

}  // namespace tributary::common::auth
