#include "common/request_encoder.hpp"

#include "common/chem/descriptors.hpp"
#include "common/envelope.hpp"
#include "common/ids.hpp"
#include "common/json_dom.hpp"

#include <simdjson.h>

#include <chrono>
#include <mutex>
#include <new>
#include <optional>

// Why the DOM API and not On-Demand: the envelope's payload must list keys in nlohmann's sorted
// order, with the last of duplicate keys winning, and validation looks fields up by name in the
// rules' order, not the document's. Both need to revisit members, which the DOM's tape allows
// for free and On-Demand's forward-only stream does not (it would mean writing each member into
// a buffer and moving it into place, at every level). The DOM parser also validates the whole
// document (UTF-8, unescaped control characters, structure) before anything is read, as
// nlohmann does; On-Demand validates what it visits.

namespace tributary::common {

namespace dom = simdjson::dom;
using dom::element_type;

namespace {

// A parser keeps ~15 bytes of buffers per byte of the largest document it parsed (most of them
// never touched); those grown past kRetainedCapacity are freed after their request, and at most
// kRetainedParsers wait for the next requests.
constexpr size_t kInitialCapacity = 64 * 1024;
constexpr size_t kRetainedCapacity = 1 << 20;
constexpr size_t kRetainedParsers = 16;

// simdjson's array size saturates at this value (24 bits on the tape); count beyond it.
constexpr size_t kSaturatedArraySize = 0xFFFFFF;

// What a request needs, kept for the next one: the parser's buffers, the field stack and the
// envelope being written.
struct Workspace {
    dom::parser parser;
    JsonFieldStack fields;
    JsonBuffer envelope;
    JsonBuffer scratch;  // exact serialized sizes, when the cheap bound does not decide
    JsonBuffer tail;     // the envelope's fields after the payload
};

}  // namespace

class RequestEncoder::ParserPool {
public:
    ParserPool() { free_.reserve(kRetainedParsers); }  // Release() never allocates

    std::unique_ptr<Workspace> Acquire() {
        {
            std::lock_guard lock(mutex_);
            if (!free_.empty()) {
                std::unique_ptr<Workspace> workspace = std::move(free_.back());
                free_.pop_back();
                return workspace;
            }
        }
        auto workspace = std::make_unique<Workspace>();
        // The depth limit is the validation's: simdjson refuses anything deeper than
        // kMaxJsonDepth (arrays at 65 levels, objects already at 64), and the reference path
        // then answers with its own message.
        if (workspace->parser.allocate(kInitialCapacity, kMaxJsonDepth) != simdjson::SUCCESS) {
            throw std::bad_alloc();
        }
        return workspace;
    }

    void Release(std::unique_ptr<Workspace> workspace) {
        if (workspace->parser.capacity() > kRetainedCapacity ||
            workspace->fields.Capacity() > kRetainedCapacity / sizeof(JsonField) ||
            workspace->envelope.Capacity() > kRetainedCapacity ||
            workspace->scratch.Capacity() > kRetainedCapacity ||
            workspace->tail.Capacity() > kRetainedCapacity) {
            return;
        }
        workspace->fields.Clear();
        std::lock_guard lock(mutex_);
        if (free_.size() < kRetainedParsers) free_.push_back(std::move(workspace));
    }

private:
    std::mutex mutex_;
    std::vector<std::unique_ptr<Workspace>> free_;
};

namespace {

using Range = JsonFieldStack::Range;

// A field path such as `context.page.url`, joined only when a problem is reported.
struct Path {
    Path(const char* path) : head(path) {}  // NOLINT: literals convert implicitly
    Path(std::string_view prefix, std::string_view name) : head(prefix), tail(name) {}
    std::string Text() const { return std::string(head) + std::string(tail); }
    std::string_view head;
    std::string_view tail;
};

bool IsEventTypeChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

bool IsNumber(dom::element value) {
    const element_type type = value.type();
    return type == element_type::INT64 || type == element_type::UINT64 ||
           type == element_type::DOUBLE;
}

size_t ArraySize(dom::array array) {
    size_t size = array.size();
    if (size < kSaturatedArraySize) return size;
    size = 0;
    for ([[maybe_unused]] const dom::element item : array) ++size;
    return size;
}

void AppendDigits(char* out, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

// FormatRfc3339's bytes for years 1900-9999, the only ones validation lets through, without
// snprintf: 2026-01-31T12:00:00.000000Z.
void AppendTimestamp(JsonBuffer& out, SystemTime time) {
    const auto days = std::chrono::floor<std::chrono::days>(time);
    const std::chrono::year_month_day ymd{days};
    const int64_t micros_in_day = (time - days).count();
    const int64_t seconds_in_day = micros_in_day / 1000000;
    char text[27] = {'0', '0', '0', '0', '-', '0', '0', '-', '0', '0', 'T', '0', '0', ':',
                     '0', '0', ':', '0', '0', '.', '0', '0', '0', '0', '0', '0', 'Z'};
    AppendDigits(text, static_cast<int>(ymd.year()), 4);
    AppendDigits(text + 5, static_cast<unsigned>(ymd.month()), 2);
    AppendDigits(text + 8, static_cast<unsigned>(ymd.day()), 2);
    AppendDigits(text + 11, seconds_in_day / 3600, 2);
    AppendDigits(text + 14, seconds_in_day / 60 % 60, 2);
    AppendDigits(text + 17, seconds_in_day % 60, 2);
    AppendDigits(text + 20, micros_in_day % 1000000, 6);
    out.Append(std::string_view(text, sizeof(text)));
}

// The rules of event_model.cpp's EventValidator over the parsed document, in the same order
// with the same fields and reasons. Objects are looked at through the field stack, i.e. as
// nlohmann's maps (sorted, last duplicate wins).
class EventRules {
public:
    EventRules(size_t index, Workspace& workspace, const ValidationLimits& limits,
               std::vector<FieldError>& errors)
        : index_(index), fields_(workspace.fields), scratch_(workspace.scratch), limits_(limits),
          errors_(errors) {}

    void Fail(std::string field, std::string reason) {
        errors_.push_back({index_, std::move(field), std::move(reason)});
    }
    const ValidationLimits& Limits() const { return limits_; }
    JsonFieldStack& Fields() { return fields_; }

    // A string of min..max code points; nullopt (after recording why) when invalid or, for
    // optional fields, absent.
    std::optional<std::string_view> String(Range object, std::string_view key, const Path& path,
                                           bool required, size_t min_chars, size_t max_chars) {
        const JsonField* field = fields_.Find(object, key);
        if (field == nullptr || field->value.is_null()) {
            if (required) Fail(path.Text(), "is required");
            return std::nullopt;
        }
        if (field->value.type() != element_type::STRING) {
            Fail(path.Text(), "must be a string, got " + std::string(JsonTypeName(field->value)));
            return std::nullopt;
        }
        const std::string_view text = JsonAs<std::string_view>(field->value);
        // A code point is 1-4 bytes: when the bytes fit and the minimum is at most one
        // character, only emptiness needs to be known, not the exact count.
        const size_t length =
            (min_chars <= 1 && text.size() <= max_chars) ? text.size() : Utf8Length(text);
        if (length < min_chars) {
            Fail(path.Text(), min_chars == 1 ? "must not be empty"
                                             : "must be at least " + std::to_string(min_chars) +
                                                   " characters");
            return std::nullopt;
        }
        if (length > max_chars) {
            Fail(path.Text(), "must be at most " + std::to_string(max_chars) + " characters (got " +
                                  std::to_string(length) + ")");
            return std::nullopt;
        }
        return text;
    }

    std::optional<dom::object> Object(Range parent, std::string_view key, const Path& path,
                                      bool required, size_t max_bytes) {
        const JsonField* field = fields_.Find(parent, key);
        if (field == nullptr || field->value.is_null()) {
            if (required) Fail(path.Text(), "is required");
            return std::nullopt;
        }
        const dom::element value = field->value;  // serializing below may move the stack
        if (value.type() != element_type::OBJECT) {
            Fail(path.Text(), "must be an object, got " + std::string(JsonTypeName(value)));
            return std::nullopt;
        }
        // The exact size needs a serialization; skip it when even the upper bound fits.
        if (max_bytes > 0 && JsonSizeBound(value, max_bytes) > max_bytes &&
            SerializedSize(value) > max_bytes) {
            Fail(path.Text(),
                 "must be at most " + std::to_string(max_bytes) + " bytes when serialized");
            return std::nullopt;
        }
        return JsonAs<dom::object>(value);
    }

    // Names every place of `value` holding U+0000, as EventValidator::ReportNul does.
    void ReportNul(dom::element value, const std::string& path) {
        switch (value.type()) {
            case element_type::STRING:
                if (JsonAs<std::string_view>(value).find('\0') != std::string_view::npos) {
                    Fail(path, "must not contain the NUL character (U+0000)");
                }
                return;
            case element_type::OBJECT: {
                const Range members = fields_.Push(JsonAs<dom::object>(value));
                for (size_t i = members.begin; i < members.end; ++i) {
                    const JsonField field = fields_[i];
                    const std::string key(field.key);
                    if (key.find('\0') != std::string::npos) {
                        Fail(path.empty() ? "(key)" : path, "keys must not contain U+0000");
                    }
                    ReportNul(field.value, path.empty() ? key : path + "." + key);
                }
                fields_.Pop(members);
                return;
            }
            case element_type::ARRAY: {
                size_t i = 0;
                for (const dom::element item : JsonAs<dom::array>(value)) {
                    ReportNul(item, path + "[" + std::to_string(i++) + "]");
                }
                return;
            }
            default: return;
        }
    }

private:
    size_t SerializedSize(dom::element value) {
        scratch_.Clear();
        AppendJsonValue(scratch_, value, fields_);
        return scratch_.Size();
    }

    size_t index_;
    JsonFieldStack& fields_;
    JsonBuffer& scratch_;
    const ValidationLimits& limits_;
    std::vector<FieldError>& errors_;
};

void CheckContext(EventRules& rules, Range event) {
    const auto context =
        rules.Object(event, "context", "context", false, rules.Limits().max_metadata_bytes);
    if (!context) return;
    JsonFieldStack& fields = rules.Fields();
    const Range members = fields.Push(*context);
    if (const auto page = rules.Object(members, "page", "context.page", false, 0)) {
        const Range page_members = fields.Push(*page);
        for (const char* key : {"url", "path", "referrer", "title"}) {
            rules.String(page_members, key, {"context.page.", key}, false, 0, 2048);
        }
        fields.Pop(page_members);
    }
    if (const auto device = rules.Object(members, "device", "context.device", false, 0)) {
        const Range device_members = fields.Push(*device);
        for (const char* key : {"type", "os", "browser"}) {
            rules.String(device_members, key, {"context.device.", key}, false, 0, 128);
        }
        fields.Pop(device_members);
    }
    rules.String(members, "ip", "context.ip", false, 0, 64);
    rules.String(members, "user_agent", "context.user_agent", false, 0, 1024);
    rules.String(members, "locale", "context.locale", false, 0, 64);
    rules.String(members, "country", "context.country", false, 0, 64);
    fields.Pop(members);
}

// The Kafka key (user_id) when valid.
std::optional<std::string_view> CheckAnalytics(EventRules& rules, Range event) {
    const auto user_id = rules.String(event, "user_id", "user_id", true, 1, 128);
    if (rules.Limits().free_form_event_names) {
        if (const auto type = rules.String(event, "event_type", "event_type", true, 1,
                                           kMaxEventNameChars)) {
            if (const std::string problem = EventNameProblem(*type); !problem.empty()) {
                rules.Fail("event_type", problem);
            }
        }
    } else if (const auto type = rules.String(event, "event_type", "event_type", true, 1, 64)) {
        for (const char c : *type) {
            if (!IsEventTypeChar(c)) {
                rules.Fail("event_type", "may contain only letters, digits and _ . : -");
                break;
            }
        }
    }
    rules.Object(event, "metadata", "metadata", false, rules.Limits().max_metadata_bytes);
    rules.String(event, "session_id", "session_id", false, 1, 128);
    CheckContext(rules, event);
    return user_id;
}

// The Kafka key (molecule_id) when valid.
std::optional<std::string_view> CheckChemical(EventRules& rules, Range event) {
    const auto molecule_id = rules.String(event, "molecule_id", "molecule_id", true, 1, 128);
    rules.String(event, "researcher", "researcher", true, 1, 128);
    rules.String(event, "experiment_id", "experiment_id", false, 1, 128);
    if (const auto data = rules.Object(event, "data", "data", true, 256 * 1024)) {
        JsonFieldStack& fields = rules.Fields();
        const Range members = fields.Push(*data);
        if (const auto smiles = rules.String(members, "smiles", "data.smiles", false, 1,
                                             rules.Limits().max_smiles_chars)) {
            if (smiles->find_first_of(" \t\r\n") != std::string_view::npos) {
                // RDKit would read up to the blank and take the rest as a name.
                rules.Fail("data.smiles", "must not contain whitespace");
            } else if (std::string error = chem::ValidateSmiles(std::string(*smiles));
                       !error.empty()) {
                rules.Fail("data.smiles", std::move(error));
            }
        }
        rules.String(members, "name", "data.name", false, 0, 512);
        rules.String(members, "formula", "data.formula", false, 0, 256);
        rules.String(members, "notes", "data.notes", false, 0, rules.Limits().max_notes_chars);
        if (const auto measurements = rules.Object(members, "measurements", "data.measurements",
                                                   false, rules.Limits().max_metadata_bytes)) {
            const Range values = fields.Push(*measurements);
            for (size_t i = values.begin; i < values.end; ++i) {
                const JsonField field = fields[i];
                if (!IsNumber(field.value)) {
                    rules.Fail("data.measurements." + std::string(field.key),
                               "must be a number, got " + std::string(JsonTypeName(field.value)));
                }
            }
            fields.Pop(values);
        }
        fields.Pop(members);
    }
    return molecule_id;
}

// event_id and timestamp, as EventValidator::CommonFields checks them.
struct CommonFields {
    std::optional<std::string_view> event_id;  // given and valid
    bool assign_id = false;                    // absent or null: a new id is due
    std::optional<SystemTime> timestamp;       // given and valid
};

CommonFields CheckCommonFields(EventRules& rules, Range event) {
    CommonFields common;
    common.event_id = rules.String(event, "event_id", "event_id", false, 1, 128);
    if (!common.event_id) {
        const JsonField* given = rules.Fields().Find(event, "event_id");
        common.assign_id = given == nullptr || given->value.is_null();
    }
    if (const auto text = rules.String(event, "timestamp", "timestamp", false, 1, 64)) {
        const auto parsed = ParseRfc3339(*text);
        if (!parsed) {
            rules.Fail("timestamp", "must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z");
        } else {
            const auto year = static_cast<int>(
                std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(*parsed)}.year());
            if (year < 1900 || year > 9999) {
                rules.Fail("timestamp", "year must be between 1900 and 9999");
            } else {
                common.timestamp = *parsed;
            }
        }
    }
    return common;
}

// Walks one request: validates each event and, while the request has no error, writes its
// envelope.
class RequestWriter {
public:
    RequestWriter(Workspace& workspace, EventKind kind, const ValidationLimits& limits,
                  bool has_backslash, std::string_view received_text, std::string_view tail,
                  const EventIdSource& new_event_id, EncodedRequest& result)
        : workspace_(workspace), fields_(workspace.fields), kind_(kind), limits_(limits),
          has_backslash_(has_backslash), received_text_(received_text), tail_(tail),
          new_event_id_(new_event_id), result_(result) {}

    void Body(dom::element root) {
        if (root.type() != element_type::OBJECT) {
            result_.request_events = 1;
            result_.errors.push_back(
                {0, "(body)", "must be a JSON object, got " + std::string(JsonTypeName(root))});
            return;
        }
        const Range body = fields_.Push(JsonAs<dom::object>(root));
        const JsonField* events = fields_.Find(body, "events");
        if (events == nullptr || events->value.type() != element_type::ARRAY) {
            result_.request_events = 1;
            Event(0, root, body);
            return;
        }
        const dom::array items = JsonAs<dom::array>(events->value);
        const size_t count = ArraySize(items);
        result_.request_events = count;
        if (count == 0) {
            result_.errors.push_back({0, "events", "must contain at least one event"});
            return;
        }
        if (count > limits_.max_batch_events) {
            result_.errors.push_back({0, "events",
                                      "must contain at most " +
                                          std::to_string(limits_.max_batch_events) +
                                          " events (got " + std::to_string(count) + ")"});
            return;
        }
        fields_.Pop(body);
        result_.events.reserve(count);
        size_t index = 0;
        for (const dom::element item : items) {
            if (item.type() != element_type::OBJECT) {
                result_.errors.push_back({index, "(event)",
                                          "must be a JSON object, got " +
                                              std::string(JsonTypeName(item))});
            } else {
                const Range members = fields_.Push(JsonAs<dom::object>(item));
                Event(index, item, members);
                fields_.Pop(members);
            }
            ++index;
        }
        if (!result_.errors.empty()) result_.events.clear();
    }

private:
    void Event(size_t index, dom::element event, Range members) {
        EventRules rules(index, workspace_, limits_, result_.errors);
        const std::optional<std::string_view> key = kind_ == EventKind::kAnalytics
                                                        ? CheckAnalytics(rules, members)
                                                        : CheckChemical(rules, members);
        // PostgreSQL text and jsonb cannot hold U+0000. Only an escape can put one in a parsed
        // string, so bodies without a backslash skip the walk.
        if (has_backslash_ && JsonContainsNul(event, fields_)) rules.ReportNul(event, "");
        const CommonFields common = CheckCommonFields(rules, members);
        // Once anything is wrong nothing will be published: keep validating, stop writing.
        if (!result_.errors.empty()) return;
        std::string assigned;
        if (common.assign_id) assigned = new_event_id_ ? new_event_id_() : NewUuid();
        const std::string_view event_id = common.event_id ? *common.event_id : assigned;
        // An assigned id (NewUuid, or a test's source) is not text of the document.
        WriteEnvelope(members, event_id, has_backslash_ || common.assign_id, common.timestamp);
        result_.events.push_back(
            {std::string(event_id), std::string(*key), std::string(workspace_.envelope.View())});
    }

    // {"event_id":…,"payload":{…},"received_at":…,"schema_version":1,"tenant_id":…,
    // "type":…}, the payload being the event with event_id and timestamp set (inserted at
    // their sorted place when absent, replaced when present).
    void WriteEnvelope(Range members, std::string_view event_id, bool id_may_need_escapes,
                       const std::optional<SystemTime>& timestamp) {
        JsonBuffer& out = workspace_.envelope;
        out.Clear();
        out.Append(std::string_view("{\"event_id\":"));
        AppendJsonString(out, event_id, id_may_need_escapes);
        out.Append(std::string_view(",\"payload\":{"));
        bool id_written = false;
        bool timestamp_written = false;
        bool first = true;
        const auto separate = [&] {
            if (!first) out.Append(',');
            first = false;
        };
        const auto write_id = [&] {
            separate();
            out.Append(std::string_view("\"event_id\":"));
            AppendJsonString(out, event_id, id_may_need_escapes);
            id_written = true;
        };
        const auto write_timestamp = [&] {
            separate();
            out.Append(std::string_view("\"timestamp\":"));
            if (timestamp) {
                out.Append('"');
                AppendTimestamp(out, *timestamp);
                out.Append('"');
            } else {
                AppendJsonString(out, received_text_, false);
            }
            timestamp_written = true;
        };
        for (size_t i = members.begin; i < members.end; ++i) {
            const JsonField field = fields_[i];
            if (!id_written && !JsonKeyLess(field.key, "event_id")) {
                write_id();
                if (JsonKeyEquals(field.key, "event_id")) continue;
            }
            if (!timestamp_written && !JsonKeyLess(field.key, "timestamp")) {
                write_timestamp();
                if (JsonKeyEquals(field.key, "timestamp")) continue;
            }
            separate();
            AppendJsonString(out, field.key, has_backslash_);
            out.Append(':');
            AppendJsonValue(out, field.value, fields_, has_backslash_);
        }
        if (!id_written) write_id();
        if (!timestamp_written) write_timestamp();
        out.Append('}');
        out.Append(tail_);
    }

    Workspace& workspace_;
    JsonFieldStack& fields_;
    EventKind kind_;
    const ValidationLimits& limits_;
    // Without a backslash in the body no string in it holds U+0000, `"`, `\` or a control
    // character: strings are copied as they are and the NUL walk is skipped.
    bool has_backslash_;
    std::string_view received_text_;
    std::string_view tail_;
    const EventIdSource& new_event_id_;
    EncodedRequest& result_;
};

}  // namespace

RequestEncoder::RequestEncoder(ValidationLimits limits)
    : limits_(limits), pool_(std::make_unique<ParserPool>()) {}

RequestEncoder::~RequestEncoder() = default;

EncodedRequest RequestEncoder::Encode(EventKind kind, std::string_view body,
                                      SystemTime received_at, std::string_view tenant_id,
                                      const EventIdSource& new_event_id) const {
    EncodedRequest result;
    // EncodeEnvelope throws for a tenant id that is not UTF-8; the reference path keeps that.
    if (!IsValidUtf8(tenant_id)) return result;
    // nlohmann skips a UTF-8 byte-order mark at the start; simdjson would refuse it.
    if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
    if (body.empty()) return result;
    // A workspace for the duration of the call, back to the pool afterwards (also on exceptions).
    struct Lease {
        ParserPool& pool;
        std::unique_ptr<Workspace> workspace;
        ~Lease() { pool.Release(std::move(workspace)); }
    };
    const Lease lease{*pool_, pool_->Acquire()};
    Workspace& workspace = *lease.workspace;
    dom::element root;
    // Copies the body into the parser's padded buffer (kept between requests).
    if (workspace.parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) {
        return result;
    }
    result.parsed = true;
    std::string received_text;
    if (const int year = static_cast<int>(
            std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(received_at)}.year());
        year >= 1900 && year <= 9999) {
        JsonBuffer& text = workspace.scratch;  // FormatRfc3339's bytes without its snprintf
        text.Clear();
        AppendTimestamp(text, received_at);
        received_text = text.View();
    } else {
        received_text = FormatRfc3339(received_at);
    }
    // The envelope's fields after the payload, the same for every event of the request.
    JsonBuffer& tail = workspace.tail;
    tail.Clear();
    tail.Append(std::string_view(",\"received_at\":"));
    AppendJsonString(tail, received_text);
    tail.Append(",\"schema_version\":" + std::to_string(kSchemaVersion) + ",\"tenant_id\":");
    AppendJsonString(tail, tenant_id);
    tail.Append(std::string_view(",\"type\":\""));
    tail.Append(EventTypeName(kind));
    tail.Append(std::string_view("\"}"));
    const bool has_backslash = body.find('\\') != std::string_view::npos;
    RequestWriter writer(workspace, kind, limits_, has_backslash, received_text, tail.View(),
                         new_event_id, result);
    writer.Body(root);
    return result;
}

}  // namespace tributary::common
