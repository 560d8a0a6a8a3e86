#pragma once

#include "common/event_model.hpp"
#include "common/time_util.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace tributary::common {

inline constexpr int kSchemaVersion = 1;
inline constexpr std::string_view kDefaultTenant = "default";

// The JSON envelope every Kafka message carries (see CONTRACT.md):
// {"event_id", "type", "schema_version", "tenant_id", "received_at", "payload": {...}}.
struct Envelope {
    std::string event_id;
    EventKind kind = EventKind::kAnalytics;
    int schema_version = kSchemaVersion;
    std::string tenant_id{kDefaultTenant};
    std::string received_at;  // RFC 3339
    nlohmann::json payload;
};

std::string EncodeEnvelope(const Envelope& envelope);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or values past
// U+10FFFF).
bool IsValidUtf8(std::string_view text);

struct DecodedEnvelope {
    std::optional<Envelope> envelope;
    std::string error;  // why the bytes are not a usable envelope (for the dead-letter reason)
};

// Parses and checks a message value. Never throws.
DecodedEnvelope DecodeEnvelope(std::string_view bytes);

}  // namespace tributary::common
