#pragma once

// A simdjson DOM read the way nlohmann::json holds the same text, so that code walking the
// simdjson document sees the objects nlohmann would build and writes the bytes its dump() would:
//   - an object is nlohmann's std::map: keys in byte order, and of duplicate keys the last one
//     wins (nlohmann's parser assigns each member in turn);
//   - integers stay integers (int64, or uint64 above INT64_MAX), other numbers are doubles
//     written by nlohmann's own Grisu2 formatting (detail::to_chars), so `1E2` becomes `100.0`;
//   - strings are written as dump() writes them: UTF-8 kept, `"` `\` and control characters
//     escaped (\b \f \n \r \t, others \u00XX).
// Only for documents simdjson accepted: the input is then valid UTF-8 and every number finite.
// Internal to the one-pass ingest path (common/request_encoder.cpp); includes
// simdjson.h, so keep it out of widely included headers.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::common {

// nlohmann's type_name() of the value the same text would parse to.
std::string_view JsonTypeName(simdjson::dom::element value);

// The value as the type the caller checked it has (element::type()). Copies out of the
// simdjson_result, which a range-for over `get_array().value_unsafe()` would outlive.
template <typename T>
T JsonAs(simdjson::dom::element value) {
    const simdjson::simdjson_result<T> result = value.get<T>();
    return result.value_unsafe();
}

struct JsonField {
    std::string_view key;
    simdjson::dom::element value;
};

// a == b for keys, without a call to memcmp for the usual lengths (up to 16 bytes: two
// overlapping loads of 8, or of 4, cover them).
inline bool JsonKeyEquals(std::string_view a, std::string_view b) {
    const size_t size = a.size();
    if (size != b.size()) return false;
    const auto load = [](const char* at, auto word) {
        std::memcpy(&word, at, sizeof(word));
        return word;
    };
    if (size >= 8 && size <= 16) {
        const size_t tail = size - 8;
        return ((load(a.data(), uint64_t{}) ^ load(b.data(), uint64_t{})) |
                (load(a.data() + tail, uint64_t{}) ^ load(b.data() + tail, uint64_t{}))) == 0;
    }
    if (size >= 4 && size < 8) {
        const size_t tail = size - 4;
        return ((load(a.data(), uint32_t{}) ^ load(b.data(), uint32_t{})) |
                (load(a.data() + tail, uint32_t{}) ^ load(b.data() + tail, uint32_t{}))) == 0;
    }
    return a == b;
}

// a < b in std::string's byte order (nlohmann's map): the first bytes decide most comparisons
// without a call to memcmp.
inline bool JsonKeyLess(std::string_view a, std::string_view b) {
    if (!a.empty() && !b.empty() && a[0] != b[0]) {
        return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]);
    }
    return a < b;
}

// The members of objects in nlohmann's order, kept as a stack so that the members of a nested
// object can be taken while an outer object's are in use. Ranges are indices, not pointers:
// pushing may move the storage. Not thread-safe; reused across requests to keep its capacity.
class JsonFieldStack {
public:
    struct Range {
        size_t begin = 0;
        size_t end = 0;
        size_t size() const { return end - begin; }
    };

    // Pushes the members of `object` sorted by key, duplicates reduced to the last one.
    Range Push(simdjson::dom::object object);
    // Drops `range` and everything pushed after it.
    void Pop(Range range) { fields_.resize(range.begin); }
    void Clear() { fields_.clear(); }
    size_t Capacity() const { return fields_.capacity(); }  // in fields

    const JsonField& operator[](size_t i) const { return fields_[i]; }
    // The member named `key` in `range`, or nullptr.
    const JsonField* Find(Range range, std::string_view key) const {
        // Objects of a handful of members: a scan comparing lengths first beats a binary search.
        if (range.size() > kScanMax) return FindSorted(range, key);
        for (size_t i = range.begin; i < range.end; ++i) {
            if (JsonKeyEquals(fields_[i].key, key)) return &fields_[i];
        }
        return nullptr;
    }

private:
    static constexpr size_t kScanMax = 16;
    const JsonField* FindSorted(Range range, std::string_view key) const;

    std::vector<JsonField> fields_;
};

// Where JSON text is written: a byte buffer whose writers reserve the worst case once and then
// store without checks (std::string's appends check capacity byte by byte). Keeps its capacity
// across Clear(). Not thread-safe.
class JsonBuffer {
public:
    JsonBuffer() { Grow(1024); }
    void Clear() { size_ = 0; }
    size_t Size() const { return size_; }
    size_t Capacity() const { return capacity_; }
    std::string_view View() const { return {data_.get(), size_}; }

    // Room for `n` more bytes: where they go. Commit() what was written.
    char* Reserve(size_t n) {
        if (capacity_ - size_ < n) Grow(size_ + n);
        return data_.get() + size_;
    }
    void Commit(const char* end) { size_ = static_cast<size_t>(end - data_.get()); }

    void Append(char c) {
        *Reserve(1) = c;
        ++size_;
    }
    void Append(std::string_view text) {
        std::memcpy(Reserve(text.size()), text.data(), text.size());
        size_ += text.size();
    }

private:
    void Grow(size_t needed);

    std::unique_ptr<char[]> data_;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

// Appends `text` as a JSON string literal, escaped as dump() does. `text` must be valid UTF-8.
// `may_need_escapes` false promises that `text` holds no `"`, `\` or control character, so it
// is copied as it is: true of every string of a document whose text has no backslash (inside a
// JSON string those characters can only come from an escape sequence).
inline void AppendJsonString(JsonBuffer& out, std::string_view text, bool may_need_escapes = true);

// Appends the bytes nlohmann's dump() writes for the value; `may_need_escapes` as above, for
// every string and key in it. Recursive: the depth is bounded by the parser's
// (common::kMaxJsonDepth).
void AppendJsonValue(JsonBuffer& out, simdjson::dom::element value, JsonFieldStack& stack,
                     bool may_need_escapes = true);

// An upper bound of the value's serialized size, computed as event_model.cpp's bound for
// nlohmann values is (strings and keys 6 bytes per byte, numbers 25), without looking at the
// bytes; stops counting once past `limit`.
size_t JsonSizeBound(simdjson::dom::element value, size_t limit);

// Whether a string or key anywhere in the value (as nlohmann holds it) contains U+0000.
bool JsonContainsNul(simdjson::dom::element value, JsonFieldStack& stack);

// The escaping writer behind AppendJsonString.
void AppendEscapedJsonString(JsonBuffer& out, std::string_view text);

inline void AppendJsonString(JsonBuffer& out, std::string_view text, bool may_need_escapes) {
    if (may_need_escapes) {
        AppendEscapedJsonString(out, text);
        return;
    }
    char* at = out.Reserve(text.size() + 2);
    *at++ = '"';
    std::memcpy(at, text.data(), text.size());
    at += text.size();
    *at++ = '"';
    out.Commit(at);
}

}  // namespace tributary::common
