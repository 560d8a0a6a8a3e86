#include "console/search.hpp"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <array>

namespace tributary::console {

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64Url(std::string_view bytes) {
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (const unsigned char c : bytes) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(buffer >> bits) & 0x3F];
        }
    }
    if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
    return out;
}

std::optional<std::string> FromBase64Url(std::string_view text) {
    std::array<int, 256> table{};
    table.fill(-1);
    for (size_t i = 0; i < kAlphabet.size(); ++i) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (const unsigned char c : text) {
        if (c == '=') break;
        const int value = table[c];
        if (value < 0) return std::nullopt;
        buffer = (buffer << 6) | static_cast<uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    return out;
}

}  // namespace

std::string EncodeCursor(const SearchCursor& cursor) {
    nlohmann::json next = nlohmann::json::object();
    for (const auto& [partition, offset] : cursor.next) next[std::to_string(partition)] = offset;
    return Base64Url(nlohmann::json{{"v", 1}, {"topic", cursor.topic}, {"tenant", cursor.tenant_id}, {"next", next}}.dump());
}

std::optional<SearchCursor> DecodeCursor(const std::string& text, std::string* error) {
    *error = "cursor is not one this console handed out";
    if (text.size() > 65536) return std::nullopt;
    const auto bytes = FromBase64Url(text);
    if (!bytes) return std::nullopt;
    const auto json = nlohmann::json::parse(*bytes, nullptr, false);
    if (json.is_discarded() || !json.is_object() || json.value("v", 0) != 1 ||
        !json.contains("topic") || !json["topic"].is_string() || !json.contains("tenant") ||
        !json["tenant"].is_string() || !json.contains("next") || !json["next"].is_object()) {
        return std::nullopt;
    }
    SearchCursor cursor;
    cursor.topic = json["topic"].get<std::string>();
    cursor.tenant_id = json["tenant"].get<std::string>();
    for (const auto& [partition, offset] : json["next"].items()) {
        if (!offset.is_number_integer() || offset.get<int64_t>() < 0) return std::nullopt;
        int partition_number = -1;
        try {
            size_t used = 0;
            partition_number = std::stoi(partition, &used);
            if (used != partition.size() || partition_number < 0) return std::nullopt;
        } catch (const std::exception&) {
            return std::nullopt;
        }
        cursor.next[partition_number] = offset.get<int64_t>();
    }
    error->clear();
    return cursor;
}

std::optional<MessageFilter> MakeFilter(const std::string& q, const std::string& field,
                                        const std::optional<std::string>& value, std::string* error) {
    MessageFilter filter;
    if (q.size() > 1024) {
        *error = "q: at most 1024 characters";
        return std::nullopt;
    }
    filter.text = q;
    if (!field.empty()) {
        if (field.size() > 256 || field.front() == '.' || field.back() == '.' ||
            field.find("..") != std::string::npos ||
            field.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
                std::string::npos) {
            *error = "field: a dot path of [A-Za-z0-9_-] names such as payload.event_type";
            return std::nullopt;
        }
        if (!value) {
            *error = "value: required with field";
            return std::nullopt;
        }
        filter.field_pointer = "/" + field;
        for (auto& c : filter.field_pointer) {
            if (c == '.') c = '/';
        }
        filter.value = value;
    } else if (value) {
        *error = "field: required with value";
        return std::nullopt;
    }
    return filter;
}

bool MessageFilter::Matches(const KafkaMessage& message) const {
    if (!text.empty() && message.value.find(text) == std::string::npos &&
        (!message.key || message.key->find(text) == std::string::npos)) {
        return false;
    }
    if (field_pointer.empty()) return true;
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element document;
    if (parser.parse(message.value).get(document) != simdjson::SUCCESS) return false;
    simdjson::dom::element found;
    if (document.at_pointer(field_pointer).get(found) != simdjson::SUCCESS) return false;
    if (found.is_string()) return std::string_view(found.get_string().value_unsafe()) == *value;
    return simdjson::minify(found) == *value;
}

SearchResult RunSearch(KafkaInspector& kafka, const common::auth::Principal& principal,
                       const TopicInfo& topic, std::optional<int32_t> partition,
                       const std::optional<SearchCursor>& cursor, const MessageFilter& filter,
                       const SearchBudget& budget,
                       const std::function<bool(const KafkaMessage&)>& on_match,
                       const std::function<bool(const SearchProgress&)>& on_progress) {
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + budget.max_time;
    std::vector<PartitionRange> ranges;
    for (const auto& info : topic.partitions) {
        if (partition && info.partition != *partition) continue;
        PartitionRange range{info.partition, info.low, info.high};
        if (cursor) {
            const auto it = cursor->next.find(info.partition);
            // A partition the cursor does not name was finished when it was made.
            range.next = it == cursor->next.end() ? info.high : std::max(info.low, it->second);
        }
        ranges.push_back(range);
    }
    SearchResult result;
    auto& progress = result.progress;
    auto last_progress = started;
    bool client_left = false;
    auto consumer = kafka.NewConsumer();
    const auto visit = [&](KafkaMessage& message) {
        ++progress.scanned;
        if (MaySee(principal, message) && filter.Matches(message)) {
            ++progress.matched;
            if (!on_match(message)) {
                client_left = true;
                return false;
            }
            if (static_cast<size_t>(progress.matched) >= budget.max_matches) return false;
        }
        if (progress.scanned >= budget.max_messages) return false;
        if ((progress.scanned & 1023) == 0) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) return false;
            if (now - last_progress >= std::chrono::milliseconds(250)) {
                last_progress = now;
                progress.elapsed_ms =
                    std::chrono::duration_cast<std::chrono::milliseconds>(now - started).count();
                if (!on_progress(progress)) {
                    client_left = true;
                    return false;
                }
            }
        }
        return true;
    };
    ReadRanges(*consumer, topic.name, ranges, deadline, visit);
    progress.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
    consumer->close();
    SearchCursor next{topic.name, principal.tenant_id, {}};
    for (const auto& range : ranges) {
        if (range.next < range.stop) next.next[range.partition] = range.next;
    }
    result.exhausted = next.next.empty() && !client_left;
    if (!next.next.empty()) result.cursor = EncodeCursor(next);
    return result;
}

}  // namespace tributary::console
