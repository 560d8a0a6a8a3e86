// Every cursor the query API hands out is bound to the caller's tenant: another tenant's
// cursor, or one altered by a single character, is refused like a malformed one.
#include "query/params.hpp"
#include "query/query_service.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace tributary::query {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// One kind of cursor: how to encode a sample position for a tenant, and whether a text decodes
// for a tenant back to that position.
struct CursorKind {
    std::string name;
    std::function<std::string(const std::string& tenant)> encode;
    std::function<bool(const std::string& tenant, const std::string& text)> decodes;
};

std::vector<CursorKind> Kinds() {
    const SystemTime time = *common::ParseRfc3339("2026-01-02T03:04:05.678901Z");
    const RankCursor rank{17, "/checkout?step=2 \xc3\xa9"};
    const Cursor keyset{1767225600123456, 42};
    return {
        {"time", [=](const std::string& t) { return EncodeTimeCursor(t, time); },
         [=](const std::string& t, const std::string& text) {
             return DecodeTimeCursor(t, text) == time;
         }},
        {"rank", [=](const std::string& t) { return EncodeRankCursor(t, rank); },
         [=](const std::string& t, const std::string& text) {
             const auto decoded = DecodeRankCursor(t, text);
             return decoded && decoded->count == rank.count && decoded->value == rank.value;
         }},
        {"key", [](const std::string& t) { return EncodeKeyCursor(t, "molecule-7"); },
         [](const std::string& t, const std::string& text) {
             return DecodeKeyCursor(t, text) == "molecule-7";
         }},
        {"keyset", [=](const std::string& t) { return EncodeCursor(t, keyset); },
         [=](const std::string& t, const std::string& text) {
             const auto decoded = DecodeCursor(t, text);
             return decoded && decoded->time_us == keyset.time_us && decoded->id == keyset.id;
         }},
    };
}

TEST(TenantCursor, IsAcceptedForTheTenantItWasHandedTo) {
    for (const auto& kind : Kinds()) {
        for (const std::string tenant : {"default", "acme", "t\xc3\xa9nant with spaces"}) {
            EXPECT_TRUE(kind.decodes(tenant, kind.encode(tenant))) << kind.name << " " << tenant;
        }
    }
}

TEST(TenantCursor, IsRefusedForAnotherTenant) {
    for (const auto& kind : Kinds()) {
        const std::string text = kind.encode("tenant-a");
        EXPECT_FALSE(kind.decodes("tenant-b", text)) << kind.name;
        // Tenants that differ only at the edge between tenant and payload.
        EXPECT_FALSE(kind.decodes("tenant-", text)) << kind.name;
        EXPECT_FALSE(kind.decodes("tenant-aa", text)) << kind.name;
        EXPECT_FALSE(kind.decodes("", text)) << kind.name;
        EXPECT_NE(text, kind.encode("tenant-b")) << kind.name;
    }
}

TEST(TenantCursor, IsOpaqueBase64Url) {
    for (const auto& kind : Kinds()) {
        const std::string text = kind.encode("default");
        EXPECT_FALSE(text.empty());
        EXPECT_EQ(text.find_first_not_of(kAlphabet), std::string::npos) << kind.name << " " << text;
    }
}

TEST(TenantCursor, AnyOneCharacterChangedIsRefused) {
    for (const auto& kind : Kinds()) {
        const std::string text = kind.encode("tenant-a");
        for (size_t i = 0; i < text.size(); ++i) {
            for (const char c : kAlphabet) {
                if (c == text[i]) continue;
                std::string tampered = text;
                tampered[i] = c;
                EXPECT_FALSE(kind.decodes("tenant-a", tampered)) << kind.name << " " << tampered;
            }
        }
        EXPECT_FALSE(kind.decodes("tenant-a", text.substr(0, text.size() - 1))) << kind.name;
        EXPECT_FALSE(kind.decodes("tenant-a", text + "A")) << kind.name;
    }
}

TEST(TenantCursor, AnUntaggedPayloadIsRefused) {
    // The shapes cursors had before they were bound to a tenant.
    EXPECT_FALSE(DecodeTimeCursor("default", Base64UrlEncode("t:1767225600000000")));
    EXPECT_FALSE(DecodeRankCursor("default", Base64UrlEncode("r:3:view")));
    EXPECT_FALSE(DecodeKeyCursor("default", Base64UrlEncode("k:m1")));
    EXPECT_FALSE(DecodeCursor("default", "1767225600000000.42"));
    EXPECT_FALSE(DecodeTenantCursor("default", Base64UrlEncode("1234567")));  // shorter than a tag
}

TEST(TenantCursor, TheTagCoversThePayload) {
    const std::string text = EncodeTenantCursor("acme", "payload");
    EXPECT_EQ(DecodeTenantCursor("acme", text), "payload");
    EXPECT_EQ(DecodeTenantCursor("acme", EncodeTenantCursor("acme", "")), "");
    // The tag of one payload does not fit another.
    auto raw = *Base64UrlDecode(text);
    raw[0] = 'P';
    EXPECT_FALSE(DecodeTenantCursor("acme", Base64UrlEncode(raw)));
}

}  // namespace
}  // namespace tributary::query
