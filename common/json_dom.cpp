#include "common/json_dom.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tributary::common {
namespace {

namespace dom = simdjson::dom;
using dom::element_type;

// Objects this small are sorted by insertion (stable, no allocation); larger ones, which an
// attacker can make as large as the body, by std::stable_sort: O(n log n) like nlohmann's map.
constexpr size_t kInsertionSortMax = 16;

// True when one of the 8 bytes of `word` needs an escape in a JSON string: below 0x20, `"` or
// `\`. Exact for the word as a whole (the classic "has byte less than / equal to" bit tricks),
// which is all the caller needs to decide whether to look at the bytes one by one.
inline bool NeedsEscape(uint64_t word) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHigh = 0x8080808080808080ULL;
    const uint64_t control = (word - kOnes * 0x20) & ~word;
    const uint64_t quote = word ^ (kOnes * '"');
    const uint64_t backslash = word ^ (kOnes * '\\');
    const uint64_t quotes = (quote - kOnes) & ~quote;
    const uint64_t backslashes = (backslash - kOnes) & ~backslash;
    return ((control | quotes | backslashes) & kHigh) != 0;
}

// What dump() writes for a byte that needs an escape: 0 for none, else the letter of a short
// escape (\b \f \n \r \t \" \\) or 'u' for \u00XX.
constexpr std::array<char, 256> kEscapes = [] {
    std::array<char, 256> table{};
    for (int c = 0; c < 0x20; ++c) table[static_cast<size_t>(c)] = 'u';
    table['\b'] = 'b';
    table['\f'] = 'f';
    table['\n'] = 'n';
    table['\r'] = 'r';
    table['\t'] = 't';
    table['"'] = '"';
    table['\\'] = '\\';
    return table;
}();

// Writes `c` (which needs an escape) at `out`; returns the end.
inline char* WriteEscape(char* out, unsigned char c) {
    const char escape = kEscapes[c];
    *out++ = '\\';
    *out++ = escape;
    if (escape == 'u') {
        static constexpr char kHex[] = "0123456789abcdef";
        *out++ = '0';
        *out++ = '0';
        *out++ = kHex[c >> 4];
        *out++ = kHex[c & 0xF];
    }
    return out;
}

template <typename Integer>
void AppendInteger(JsonBuffer& out, Integer value) {
    char* at = out.Reserve(24);
    out.Commit(std::to_chars(at, at + 24, value).ptr);
}

void AppendDouble(JsonBuffer& out, double value) {
    // nlohmann's serializer: non-finite numbers (which simdjson never yields) as null, the rest
    // with the library's Grisu2 shortest round-trip form, into a buffer of its size (64).
    if (!std::isfinite(value)) {
        out.Append(std::string_view("null"));
        return;
    }
    char* at = out.Reserve(64);
    out.Commit(nlohmann::detail::to_chars(at, at + 64, value));
}

}  // namespace

std::string_view JsonTypeName(dom::element value) {
    switch (value.type()) {
        case element_type::ARRAY: return "array";
        case element_type::OBJECT: return "object";
        case element_type::INT64:
        case element_type::UINT64:
        case element_type::DOUBLE: return "number";
        case element_type::STRING: return "string";
        case element_type::BOOL: return "boolean";
        case element_type::NULL_VALUE: return "null";
    }
    return "discarded";
}

void JsonBuffer::Grow(size_t needed) {
    const size_t capacity = std::max(needed, 2 * capacity_);
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ > 0) std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    capacity_ = capacity;
}

JsonFieldStack::Range JsonFieldStack::Push(dom::object object) {
    const size_t begin = fields_.size();
    const size_t count = object.size();  // exact below simdjson's saturation (2^24 - 1)
    if (count <= kInsertionSortMax) {
        fields_.resize(begin + count);
        JsonField* const first = fields_.data() + begin;
        size_t size = 0;
        for (const dom::key_value_pair member : object) first[size++] = {member.key, member.value};
        // Insertion sort by swaps: stable, so equal keys stay in document order (and GCC does
        // not turn the shifts into memmove calls).
        for (size_t i = 1; i < size; ++i) {
            for (size_t j = i; j > 0 && JsonKeyLess(first[j].key, first[j - 1].key); --j) {
                std::swap(first[j], first[j - 1]);
            }
        }
        // Of equal keys the last one wins.
        size_t kept = 0;
        for (size_t i = 0; i < size; ++i) {
            if (i + 1 < size && JsonKeyEquals(first[i + 1].key, first[i].key)) continue;
            first[kept++] = first[i];
        }
        fields_.resize(begin + kept);
        return {begin, fields_.size()};
    }
    // Large objects (an attacker can make one as large as the body): O(n log n), like
    // nlohmann's map. Stable, so that the last of equal keys can be kept.
    fields_.reserve(begin + count);
    for (const dom::key_value_pair member : object) fields_.push_back({member.key, member.value});
    const auto first = fields_.begin() + static_cast<std::ptrdiff_t>(begin);
    std::stable_sort(first, fields_.end(), [](const JsonField& a, const JsonField& b) {
        return JsonKeyLess(a.key, b.key);
    });
    auto kept = first;
    for (auto it = first; it < fields_.end(); ++it) {
        if (it + 1 < fields_.end() && JsonKeyEquals((it + 1)->key, it->key)) continue;
        *kept++ = *it;
    }
    fields_.erase(kept, fields_.end());
    return {begin, fields_.size()};
}

const JsonField* JsonFieldStack::FindSorted(Range range, std::string_view key) const {
    const auto first = fields_.begin() + static_cast<std::ptrdiff_t>(range.begin);
    const auto last = fields_.begin() + static_cast<std::ptrdiff_t>(range.end);
    const auto it = std::lower_bound(first, last, key, [](const JsonField& f, std::string_view k) {
        return JsonKeyLess(f.key, k);
    });
    return it != last && JsonKeyEquals(it->key, key) ? &*it : nullptr;
}

void AppendEscapedJsonString(JsonBuffer& out, std::string_view text) {
    const char* in = text.data();
    const size_t size = text.size();
    // Worst case: every byte escaped as \u00XX, plus the quotes.
    char* at = out.Reserve(6 * size + 2);
    *at++ = '"';
    size_t i = 0;
    while (i < size) {
        if (i + 8 <= size) {
            uint64_t word;
            std::memcpy(&word, in + i, sizeof(word));
            if (!NeedsEscape(word)) {
                std::memcpy(at, &word, sizeof(word));
                at += 8;
                i += 8;
                continue;
            }
        }
        const size_t chunk_end = std::min(i + 8, size);
        for (; i < chunk_end; ++i) {
            const auto c = static_cast<unsigned char>(in[i]);
            if (kEscapes[c] == 0) {
                *at++ = static_cast<char>(c);
            } else {
                at = WriteEscape(at, c);
            }
        }
    }
    *at++ = '"';
    out.Commit(at);
}

void AppendJsonValue(JsonBuffer& out, dom::element value, JsonFieldStack& stack,
                     bool may_need_escapes) {
    switch (value.type()) {
        case element_type::OBJECT: {
            const JsonFieldStack::Range members = stack.Push(JsonAs<dom::object>(value));
            out.Append('{');
            for (size_t i = members.begin; i < members.end; ++i) {
                if (i != members.begin) out.Append(',');
                const JsonField member = stack[i];  // the stack may move while writing the value
                AppendJsonString(out, member.key, may_need_escapes);
                out.Append(':');
                AppendJsonValue(out, member.value, stack, may_need_escapes);
            }
            out.Append('}');
            stack.Pop(members);
            return;
        }
        case element_type::ARRAY: {
            out.Append('[');
            bool first = true;
            for (const dom::element item : JsonAs<dom::array>(value)) {
                if (!first) out.Append(',');
                first = false;
                AppendJsonValue(out, item, stack, may_need_escapes);
            }
            out.Append(']');
            return;
        }
        case element_type::STRING:
            AppendJsonString(out, JsonAs<std::string_view>(value), may_need_escapes);
            return;
        case element_type::INT64: AppendInteger(out, JsonAs<int64_t>(value)); return;
        case element_type::UINT64: AppendInteger(out, JsonAs<uint64_t>(value)); return;
        case element_type::DOUBLE: AppendDouble(out, JsonAs<double>(value)); return;
        case element_type::BOOL:
            out.Append(JsonAs<bool>(value) ? std::string_view("true") : std::string_view("false"));
            return;
        case element_type::NULL_VALUE: out.Append(std::string_view("null")); return;
    }
}

size_t JsonSizeBound(dom::element value, size_t limit) {
    switch (value.type()) {
        case element_type::STRING: return 2 + 6 * JsonAs<std::string_view>(value).size();
        case element_type::OBJECT: {
            // Duplicate keys counted too: more than nlohmann's map holds, still a bound.
            size_t total = 2;
            for (const dom::key_value_pair member : JsonAs<dom::object>(value)) {
                if (total > limit) break;
                total += 2 + 6 * member.key.size() + 2;
                const element_type type = member.value.type();
                if (type == element_type::STRING) {  // the usual member, without a call
                    total += 2 + 6 * JsonAs<std::string_view>(member.value).size();
                } else if (type == element_type::OBJECT || type == element_type::ARRAY) {
                    total += JsonSizeBound(member.value, limit);
                } else {
                    total += 25;
                }
            }
            return total;
        }
        case element_type::ARRAY: {
            size_t total = 2;
            for (const dom::element item : JsonAs<dom::array>(value)) {
                if (total > limit) break;
                total += 1 + JsonSizeBound(item, limit);
            }
            return total;
        }
        default: return 25;
    }
}

bool JsonContainsNul(dom::element value, JsonFieldStack& stack) {
    switch (value.type()) {
        case element_type::STRING:
            return JsonAs<std::string_view>(value).find('\0') != std::string_view::npos;
        case element_type::OBJECT: {
            // The members nlohmann keeps: a NUL only in an overwritten duplicate does not count.
            const JsonFieldStack::Range members = stack.Push(JsonAs<dom::object>(value));
            bool found = false;
            for (size_t i = members.begin; i < members.end && !found; ++i) {
                found = stack[i].key.find('\0') != std::string_view::npos ||
                        JsonContainsNul(stack[i].value, stack);
            }
            stack.Pop(members);
            return found;
        }
        case element_type::ARRAY:
            for (const dom::element item : JsonAs<dom::array>(value)) {
                if (JsonContainsNul(item, stack)) return true;
            }
            return false;
        default: return false;
    }
}

}  // namespace tributary::common
