#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace tributary::llm {

// How the structured answer is requested. json_schema (strict) is preferred; servers that
// reject it get json_object plus the schema spelled out in the system prompt.
enum class ResponseFormatMode { kJsonSchema, kJsonObject };

std::string_view ToString(ResponseFormatMode mode);

// The body of POST /chat/completions. Pure.
std::string BuildChatRequestBody(const std::string& model, const nlohmann::json& messages,
                                 int max_tokens, ResponseFormatMode mode);

// What a 200 response to /chat/completions held. Anything but kOk is a failure, never a result.
enum class CompletionStatus {
    kOk,                 // properties holds a record that passed ValidateProperties
    kTruncated,          // finish_reason "length": the JSON was cut off
    kRefused,            // message.refusal set, or finish_reason "content_filter"
    kNoContent,          // content null or empty
    kInvalidJson,        // content is not a JSON object
    kSchemaViolation,    // JSON object that does not match the property schema
    kMalformedResponse,  // the body is not a chat completion at all
};

std::string_view ToString(CompletionStatus status);

struct ParsedCompletion {
    CompletionStatus status = CompletionStatus::kMalformedResponse;
    nlohmann::json properties;  // set when kOk
    std::string detail;         // why it failed (for logs and EnrichmentOutcome::error)
    std::string model;          // the "model" the server reports
    std::string finish_reason;
    int64_t prompt_tokens = 0;  // from "usage", when present
    int64_t completion_tokens = 0;
};

// Strict parsing of a chat-completion body: first choice only; content must be one JSON object
// (a single surrounding ``` or ```json fence is tolerated, nothing else) matching the schema.
// Pure; never throws on bad input. Every text it returns is valid UTF-8 without NUL (it is
// stored in PostgreSQL).
ParsedCompletion ParseChatCompletion(std::string_view body);

// An error body in either shape servers use: OpenAI's {"error": {"message", "type", "code",
// "param"}} (or {"error": "text"}), or a flat {"message", "type", "code"} / {"detail": ...}
// (FastAPI-style servers). Non-JSON bodies become the message (truncated). Every field is
// valid UTF-8 without NUL (invalid bytes become U+FFFD). Never throws on bad input.
struct ApiError {
    std::string message;
    std::string type;
    std::string code;
    std::string param;

    std::string Describe() const;  // "type/code: message"
};

ApiError ParseApiError(std::string_view body);

// A 429 that no amount of waiting fixes: the account is out of credit.
bool IsInsufficientQuota(const ApiError& error);

// A 400/422 saying the server does not do response_format json_schema.
bool IsJsonSchemaUnsupported(int status, const ApiError& error);

}  // namespace tributary::llm
