#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tributary::common::auth {

// API keys: "trb_" + 43 base62 characters drawn from the OS's CSPRNG (43 x log2(62) = 256 bits
// of entropy). The plaintext is shown once; only its SHA-256 and its last four characters are
// stored.
inline constexpr std::string_view kKeyPrefix = "trb_";
inline constexpr size_t kKeyRandomChars = 43;
inline constexpr size_t kKeyLength = kKeyPrefix.size() + kKeyRandomChars;

// A fresh key. Throws std::runtime_error when the CSPRNG fails (never silently weak).
std::string GenerateApiKey();
// A fresh public key identifier, "key_" + 16 base62 characters (not a secret: shown in lists,
// logs and audit records).
std::string GenerateKeyId();
// True when `text` has the shape of a key: the prefix, then exactly kKeyRandomChars base62
// characters. Checked before any lookup, so junk never reaches the store.
bool IsWellFormedApiKey(std::string_view text);
// Lowercase hex SHA-256 of the key (64 characters): what the store keeps and is looked up by.
std::string HashApiKey(std::string_view key);
// The last four characters, kept for display ("…a1B2").
std::string KeyLastFour(std::string_view key);
// Compares two strings in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The credential a request carries in its Authorization header.
struct Credential {
    enum class Kind {
        kNone,       // no Authorization header
        kMalformed,  // a header that is not "Bearer <token>" or "Basic <base64(user:password)>"
        kKey,        // `key` holds the presented token (not yet checked for shape)
    };
    Kind kind = Kind::kNone;
    std::string key;
    std::string problem;  // for kMalformed: what is wrong, safe to show the client
};

// Reads "Bearer <key>" or "Basic base64(<key>:)" (the key as user name, password ignored:
// what analytics SDKs send). Scheme names are case-insensitive. Never throws.
Credential ParseAuthorization(std::string_view header);

}  // namespace tributary::common::auth
