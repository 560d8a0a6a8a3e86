#include "llm_client/chat_completion.hpp"

#include "llm_client/prompt.hpp"
#include "llm_client/properties_schema.hpp"

#include <algorithm>
#include <cctype>

namespace tributary::llm {
namespace {

constexpr size_t kMaxDetail = 300;

std::string Lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view TrimView(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

// "```json\n{...}\n```" -> "{...}". Only a fence around the whole content is removed.
std::string_view StripCodeFence(std::string_view content) {
    content = TrimView(content);
    if (content.size() < 6 || content.substr(0, 3) != "```" ||
        content.substr(content.size() - 3) != "```") {
        return content;
    }
    std::string_view inner = content.substr(3, content.size() - 6);
    const size_t newline = inner.find('\n');
    if (newline == std::string_view::npos) return content;
    const std::string_view language = TrimView(inner.substr(0, newline));
    if (!language.empty() && Lower(language) != "json") return content;
    return TrimView(inner.substr(newline + 1));
}

// At most `max_bytes` of `text` as storable text (see StorableText).
std::string Excerpt(std::string_view text, size_t max_bytes) {
    return TruncateUtf8(StorableText(text.substr(0, max_bytes)), max_bytes);
}

// A server's string as storable text: JSON strings may hold \u0000.
std::string StringField(const nlohmann::json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return {};
    if (it->is_string()) return StorableText(it->get_ref<const std::string&>());
    return it->dump();
}

int64_t IntField(const nlohmann::json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number_integer()) return 0;
    return std::max<int64_t>(0, it->get<int64_t>());
}

std::string Join(const std::vector<std::string>& parts, size_t max_parts) {
    std::string out;
    for (size_t i = 0; i < parts.size() && i < max_parts; ++i) {
        if (i > 0) out += "; ";
        out += parts[i];
    }
    if (parts.size() > max_parts) out += "; ...";
    return out;
}

}  // namespace

std::string_view ToString(ResponseFormatMode mode) {
    switch (mode) {
        case ResponseFormatMode::kJsonSchema:
            return "json_schema";
        case ResponseFormatMode::kJsonObject:
            return "json_object";
    }
    return "json_object";
}

std::string_view ToString(CompletionStatus status) {
    switch (status) {
        case CompletionStatus::kOk:
            return "ok";
        case CompletionStatus::kTruncated:
            return "truncated";
        case CompletionStatus::kRefused:
            return "refused";
        case CompletionStatus::kNoContent:
            return "no_content";
        case CompletionStatus::kInvalidJson:
            return "invalid_json";
        case CompletionStatus::kSchemaViolation:
            return "schema_violation";
        case CompletionStatus::kMalformedResponse:
            return "malformed_response";
    }
    return "malformed_response";
}

std::string BuildChatRequestBody(const std::string& model, const nlohmann::json& messages,
                                 int max_tokens, ResponseFormatMode mode) {
    nlohmann::json body = {{"model", model},
                           {"messages", messages},
                           {"temperature", 0},
                           {"max_tokens", max_tokens},
                           {"n", 1}};
    switch (mode) {
        case ResponseFormatMode::kJsonSchema:
            body["response_format"] = {{"type", "json_schema"},
                                       {"json_schema",
                                        {{"name", kPropertiesSchemaName},
                                         {"strict", true},
                                         {"schema", PropertiesJsonSchema()}}}};
            break;
        case ResponseFormatMode::kJsonObject:
            body["response_format"] = {{"type", "json_object"}};
            break;
    }
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ParsedCompletion ParseChatCompletion(std::string_view body) {
    ParsedCompletion parsed;
    const nlohmann::json root = nlohmann::json::parse(body, nullptr, false);
    if (root.is_discarded() || !root.is_object()) {
        parsed.detail = "response body is not a JSON object";
        return parsed;
    }
    parsed.model = StringField(root, "model");
    if (const auto usage = root.find("usage"); usage != root.end() && usage->is_object()) {
        parsed.prompt_tokens = IntField(*usage, "prompt_tokens");
        parsed.completion_tokens = IntField(*usage, "completion_tokens");
    }
    const auto choices = root.find("choices");
    if (choices == root.end() || !choices->is_array() || choices->empty() ||
        !(*choices)[0].is_object()) {
        parsed.detail = "response has no choices";
        return parsed;
    }
    const nlohmann::json& choice = (*choices)[0];
    parsed.finish_reason = StringField(choice, "finish_reason");
    const auto message = choice.find("message");
    if (message == choice.end() || !message->is_object()) {
        parsed.detail = "first choice has no message";
        return parsed;
    }
    if (const auto refusal = message->find("refusal");
        refusal != message->end() && !refusal->is_null()) {
        parsed.status = CompletionStatus::kRefused;
        parsed.detail = "model refused: " + Excerpt(StringField(*message, "refusal"), kMaxDetail);
        return parsed;
    }
    if (parsed.finish_reason == "content_filter") {
        parsed.status = CompletionStatus::kRefused;
        parsed.detail = "output withheld by the content filter";
        return parsed;
    }
    if (parsed.finish_reason == "length") {
        parsed.status = CompletionStatus::kTruncated;
        parsed.detail = "output truncated at max_tokens (finish_reason=length)";
        return parsed;
    }
    const auto content = message->find("content");
    if (content == message->end() || content->is_null() ||
        (content->is_string() && TrimView(content->get_ref<const std::string&>()).empty())) {
        parsed.status = CompletionStatus::kNoContent;
        parsed.detail = "message content is empty";
        return parsed;
    }
    if (!content->is_string()) {
        parsed.detail = "message content is not a string";
        return parsed;
    }
    const std::string_view text = StripCodeFence(content->get_ref<const std::string&>());
    nlohmann::json properties = nlohmann::json::parse(text, nullptr, false);
    if (properties.is_discarded() || !properties.is_object()) {
        parsed.status = CompletionStatus::kInvalidJson;
        parsed.detail = "content is not a JSON object: " + Excerpt(text, 80);
        return parsed;
    }
    if (const auto problems = ValidateProperties(properties); !problems.empty()) {
        parsed.status = CompletionStatus::kSchemaViolation;
        parsed.detail = "content does not match the schema: " + Join(problems, 5);
        return parsed;
    }
    parsed.status = CompletionStatus::kOk;
    parsed.properties = std::move(properties);
    return parsed;
}

std::string ApiError::Describe() const {
    std::string out;
    if (!type.empty()) out += type;
    if (!code.empty() && code != type) out += (out.empty() ? "" : "/") + code;
    if (!out.empty()) out += ": ";
    out += message.empty() ? std::string("(no message)") : message;
    return out;
}

ApiError ParseApiError(std::string_view body) {
    ApiError error;
    const nlohmann::json root = nlohmann::json::parse(body, nullptr, false);
    if (root.is_discarded() || !root.is_object()) {
        error.message = Excerpt(TrimView(body), kMaxDetail);
        return error;
    }
    const nlohmann::json* source = &root;
    if (const auto nested = root.find("error"); nested != root.end()) {
        if (nested->is_object()) {
            source = &*nested;
        } else if (nested->is_string()) {
            error.message = Excerpt(nested->get_ref<const std::string&>(), kMaxDetail);
        }
    }
    if (error.message.empty()) error.message = Excerpt(StringField(*source, "message"), kMaxDetail);
    if (error.message.empty()) {
        // FastAPI: {"detail": "text"} or {"detail": [{"msg": ...}, ...]}
        if (const auto detail = source->find("detail"); detail != source->end()) {
            error.message = Excerpt(
                detail->is_string() ? detail->get<std::string>() : detail->dump(), kMaxDetail);
        }
    }
    error.type = StringField(*source, "type");
    error.code = StringField(*source, "code");
    error.param = StringField(*source, "param");
    return error;
}

bool IsInsufficientQuota(const ApiError& error) {
    return error.code == "insufficient_quota" || error.type == "insufficient_quota";
}

bool IsJsonSchemaUnsupported(int status, const ApiError& error) {
    if (status != 400 && status != 422) return false;
    if (error.param == "response_format") return true;
    const std::string text = Lower(error.message + " " + error.code);
    return text.find("json_schema") != std::string::npos ||
           text.find("response_format") != std::string::npos;
}

}  // namespace tributary::llm
