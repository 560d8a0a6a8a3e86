#include "common/auth/api_key.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <stdexcept>

namespace tributary::common::auth {
namespace {

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool IsBase62(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// `count` uniformly random base62 characters: bytes >= 248 are rejected so that every
// character is equally likely (248 = 4 x 62).
std::string RandomBase62(size_t count) {
    std::string out;
    out.reserve(count);
    std::array<unsigned char, 64> buffer{};
    while (out.size() < count) {
        if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
            throw std::runtime_error("the system's random number generator failed");
        }
        for (const unsigned char byte : buffer) {
            if (byte >= 248) continue;
            out += kBase62[byte % 62];
            if (out.size() == count) break;
        }
    }
    return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

std::string_view Trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Standard base64 with padding (RFC 4648 section 4), as HTTP Basic uses it.
std::optional<std::string> DecodeBase64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0 || text.size() > 4096) return std::nullopt;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool padding = c == '=' && i >= text.size() - 2;
        if (!IsBase62(c) && c != '+' && c != '/' && !padding) return std::nullopt;
        if (padding && i == text.size() - 2 && text.back() != '=') return std::nullopt;
    }
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    size_t length = static_cast<size_t>(n);
    if (text.back() == '=') --length;
    if (text[text.size() - 2] == '=') --length;
    out.resize(length);
    return out;
}

Credential Malformed(std::string problem) {
    return {Credential::Kind::kMalformed, {}, std::move(problem)};
}

}  // namespace

std::string GenerateApiKey() { return std::string(kKeyPrefix) + RandomBase62(kKeyRandomChars); }

std::string GenerateKeyId() { return "key_" + RandomBase62(16); }

bool IsWellFormedApiKey(std::string_view text) {
    if (text.size() != kKeyLength || !text.starts_with(kKeyPrefix)) return false;
    for (const char c : text.substr(kKeyPrefix.size())) {
        if (!IsBase62(c)) return false;
    }
    return true;
}

std::string HashApiKey(std::string_view key) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest.data());
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(digest.size() * 2);
    for (const unsigned char byte : digest) {
        out += kHex[byte >> 4];
        out += kHex[byte & 15];
    }
    return out;
}

std::string KeyLastFour(std::string_view key) {
    return std::string(key.size() <= 4 ? key : key.substr(key.size() - 4));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff == 0;
}

Credential ParseAuthorization(std::string_view header) {
    header = Trim(header);
    if (header.empty()) return {};
    const size_t space = header.find(' ');
    if (space == std::string_view::npos) {
        return Malformed("Authorization must be 'Bearer <key>' or 'Basic <base64>'");
    }
    const std::string_view scheme = header.substr(0, space);
    const std::string_view value = Trim(header.substr(space + 1));
    if (value.empty()) return Malformed("Authorization has a scheme but no credential");
    if (EqualsIgnoreCase(scheme, "Bearer")) {
        return {Credential::Kind::kKey, std::string(value), {}};
    }
    if (EqualsIgnoreCase(scheme, "Basic")) {
        const auto decoded = DecodeBase64(value);
        if (!decoded) return Malformed("Basic credential is not valid base64");
        // user:password with the key as user name; the password (usually empty) is ignored.
        const size_t colon = decoded->find(':');
        std::string user = decoded->substr(0, colon);
        if (user.empty()) return Malformed("Basic credential has no user name (send the key as user name)");
        return {Credential::Kind::kKey, std::move(user), {}};
    }
    return Malformed("unsupported Authorization scheme (use Bearer or Basic)");
}

}  // namespace tributary::common::auth
