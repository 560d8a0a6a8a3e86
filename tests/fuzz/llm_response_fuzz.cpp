// What an OpenAI-compatible server sends back → the LLM client's response parsing.
//
// Input: one selector byte, then the bytes.
//   0 mod 3  a 2xx body → ParseChatCompletion
//   1 mod 3  an error body → ParseApiError, IsInsufficientQuota, IsJsonSchemaUnsupported
//   2 mod 3  response headers, one "name: value" a line → ParseRateLimitHeaders,
//            ParseRetryAfter, ParseDuration, ParseHttpDate
//
// Properties: nothing throws; every text the parsers return is valid UTF-8 without NUL (it is
// logged, kept in the record's provenance (jsonb) and in event_processing_status.last_error,
// and PostgreSQL refuses anything else); a kOk completion carries properties that pass
// ValidateProperties; durations are not negative and dates and durations round-trip through
// their formatters.

#include <exception>
#include <string>

#include "common/envelope.hpp"
#include "llm_client/chat_completion.hpp"
#include "llm_client/properties_schema.hpp"
#include "llm_client/rate_limit_headers.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace tributary::fuzz {
namespace {

using namespace tributary::llm;

void CheckText(const std::string& text, std::string_view what) {
    Check(common::IsValidUtf8(text) && text.find('\0') == std::string::npos, what, text);
}

void Completion(std::string_view body) {
    const ParsedCompletion parsed = ParseChatCompletion(body);
    CheckText(parsed.detail, "a completion's detail is storable text");
    CheckText(parsed.model, "a completion's model is storable text");
    CheckText(parsed.finish_reason, "a completion's finish_reason is storable text");
    Check(parsed.prompt_tokens >= 0 && parsed.completion_tokens >= 0, "token counts >= 0");
    if (parsed.status == CompletionStatus::kOk) {
        Check(parsed.detail.empty(), "kOk has no detail", parsed.detail);
        Check(ValidateProperties(parsed.properties).empty(), "kOk properties are valid");
        // Stored as jsonb: must serialize strictly.
        (void)parsed.properties.dump();
    } else {
        Check(!parsed.detail.empty(), "a failed completion says why");
    }
}

void Error(std::string_view body) {
    const ApiError error = ParseApiError(body);
    CheckText(error.message, "an API error's message is storable text");
    CheckText(error.type, "an API error's type is storable text");
    CheckText(error.code, "an API error's code is storable text");
    CheckText(error.param, "an API error's param is storable text");
    CheckText(error.Describe(), "Describe() is storable text");
    (void)IsInsufficientQuota(error);
    for (const int status : {400, 422, 429}) (void)IsJsonSchemaUnsupported(status, error);
}

void Headers(std::string_view text) {
    HeaderMap headers;
    while (!text.empty()) {
        const size_t newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        const size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string_view value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            headers[std::string(line.substr(0, colon))] = std::string(value);
        }
        if (newline == std::string_view::npos) break;
        text.remove_prefix(newline + 1);
    }
    const RateLimitHeaders limits = ParseRateLimitHeaders(headers);
    for (const auto& count : {limits.limit_requests, limits.limit_tokens, limits.remaining_requests,
                              limits.remaining_tokens}) {
        Check(!count || *count >= 0, "rate-limit counts are not negative");
    }
    for (const auto& reset : {limits.reset_requests, limits.reset_tokens}) {
        Check(!reset || reset->count() >= 0, "rate-limit resets are not negative");
    }
    const WallTime now{std::chrono::seconds(1'790'000'000)};
    if (const auto wait = ParseRetryAfter(headers, now)) {
        Check(wait->count() >= 0, "Retry-After is not negative");
    }
    for (const auto& [name, value] : headers) {
        if (const auto duration = ParseDuration(value)) {
            Check(duration->count() >= 0, "durations are not negative", value);
            Check(ParseDuration(FormatDuration(*duration)) == duration,
                  "durations round-trip through FormatDuration", value);
        }
        if (const auto date = ParseHttpDate(value)) {
            Check(ParseHttpDate(FormatHttpDate(*date)) == date,
                  "HTTP dates round-trip through FormatHttpDate", value);
        }
    }
}

}  // namespace
}  // namespace tributary::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tributary::fuzz;
    if (size == 0) return 0;
    const std::string_view bytes = AsText(data + 1, size - 1);
    try {
        switch (data[0] % 3) {
            case 0:
                Completion(bytes);
                break;
            case 1:
                Error(bytes);
                break;
            default:
                Headers(bytes);
                break;
        }
    } catch (const std::exception& e) {
        Fail("an LLM response parser threw", e.what());
    }
    return 0;
}
