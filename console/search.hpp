#pragma once

// The budgeted message search: a filter (text and/or a JSON field's value) applied to a
// topic's messages until a budget of messages or seconds is spent, resumable with an opaque
// cursor bound to the topic and the caller's tenant.

#include "common/auth/principal.hpp"
#include "console/kafka_inspector.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tributary::console {

struct SearchCursor {
    std::string topic;
    std::string tenant_id;
    std::map<int32_t, int64_t> next;  // partition -> next offset to scan
};

// base64url(JSON). DecodeCursor refuses anything it did not make (error says why).
std::string EncodeCursor(const SearchCursor& cursor);
std::optional<SearchCursor> DecodeCursor(const std::string& text, std::string* error);

// What a message must contain. Empty text and no field: everything matches.
struct MessageFilter {
    std::string text;           // substring of the value or the key (case-sensitive)
    std::string field_pointer;  // JSON pointer ("/payload/event_type") from field=a.b
    std::optional<std::string> value;  // the field's value (strings unquoted, numbers as text)
    bool Matches(const KafkaMessage& message) const;
};

// Builds a filter from q, field (dot path, 1..256 chars of [A-Za-z0-9_.-]) and value; nullopt
// with `error` naming the parameter when invalid (value without field and the reverse).
std::optional<MessageFilter> MakeFilter(const std::string& q, const std::string& field,
                                        const std::optional<std::string>& value, std::string* error);

struct SearchBudget {
    int64_t max_messages = 100000;
    std::chrono::milliseconds max_time{5000};
    size_t max_matches = 100;
};

struct SearchProgress {
    int64_t scanned = 0;
    int64_t matched = 0;
    int64_t elapsed_ms = 0;
};

struct SearchResult {
    SearchProgress progress;
    bool exhausted = false;  // every partition scanned to the high watermark of the start
    std::string cursor;      // where to continue ("" when exhausted)
};

// Runs a search. `on_match` gets each visible match (false stops); `on_progress` is called
// about every 250 ms (false stops: the client left). Throws KafkaError.
SearchResult RunSearch(KafkaInspector& kafka, const common::auth::Principal& principal,
                       const TopicInfo& topic, std::optional<int32_t> partition,
                       const std::optional<SearchCursor>& cursor, const MessageFilter& filter,
                       const SearchBudget& budget,
                       const std::function<bool(const KafkaMessage&)>& on_match,
                       const std::function<bool(const SearchProgress&)>& on_progress);

}  // namespace tributary::console
