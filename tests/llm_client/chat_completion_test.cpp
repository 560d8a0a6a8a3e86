#include "llm_client/chat_completion.hpp"

#include <gtest/gtest.h>

#include "common/envelope.hpp"
#include "tests/llm_client/test_support.hpp"

namespace tributary::llm {
namespace {

using testing::CompletionBody;
using testing::ValidProperties;

TEST(ChatRequestBody, AsksForStrictJsonSchemaOutput) {
    const auto body = nlohmann::json::parse(BuildChatRequestBody(
        "gpt-x", nlohmann::json::array({{{"role", "user"}, {"content", "hi"}}}), 500,
        ResponseFormatMode::kJsonSchema));
    EXPECT_EQ(body["model"], "gpt-x");
    EXPECT_EQ(body["max_tokens"], 500);
    EXPECT_EQ(body["temperature"], 0);
    EXPECT_EQ(body["response_format"]["type"], "json_schema");
    EXPECT_EQ(body["response_format"]["json_schema"]["strict"], true);
    EXPECT_EQ(body["response_format"]["json_schema"]["name"], "chemical_properties");
    EXPECT_EQ(body["response_format"]["json_schema"]["schema"]["additionalProperties"], false);
}

TEST(ChatRequestBody, FallsBackToJsonObjectMode) {
    const auto body = nlohmann::json::parse(
        BuildChatRequestBody("m", nlohmann::json::array(), 100, ResponseFormatMode::kJsonObject));
    EXPECT_EQ(body["response_format"], nlohmann::json({{"type", "json_object"}}));
}

TEST(ChatCompletionParsing, AcceptsAValidRecordAndReadsUsageAndModel) {
    const ParsedCompletion parsed = ParseChatCompletion(testing::OkBody());
    ASSERT_EQ(parsed.status, CompletionStatus::kOk) << parsed.detail;
    EXPECT_EQ(parsed.properties, ValidProperties());
    EXPECT_EQ(parsed.model, "gpt-test-2024");
    EXPECT_EQ(parsed.prompt_tokens, 321);
    EXPECT_EQ(parsed.completion_tokens, 89);
}

TEST(ChatCompletionParsing, ToleratesOneMarkdownFenceAroundTheWholeObject) {
    const ParsedCompletion parsed =
        ParseChatCompletion(CompletionBody("```json\n" + ValidProperties().dump(2) + "\n```"));
    EXPECT_EQ(parsed.status, CompletionStatus::kOk) << parsed.detail;
}

TEST(ChatCompletionParsing, TreatsFinishReasonLengthAsTruncatedEvenIfTheJsonLooksComplete) {
    const ParsedCompletion parsed =
        ParseChatCompletion(CompletionBody(ValidProperties().dump(), "length"));
    EXPECT_EQ(parsed.status, CompletionStatus::kTruncated);
    EXPECT_TRUE(parsed.properties.is_null());
}

TEST(ChatCompletionParsing, TreatsNullOrEmptyContentAsNoContent) {
    EXPECT_EQ(ParseChatCompletion(CompletionBody(nullptr)).status, CompletionStatus::kNoContent);
    EXPECT_EQ(ParseChatCompletion(CompletionBody("  ")).status, CompletionStatus::kNoContent);
}

TEST(ChatCompletionParsing, TreatsARefusalAsAFailure) {
    const ParsedCompletion parsed =
        ParseChatCompletion(CompletionBody(nullptr, "stop", "I can't help with that."));
    EXPECT_EQ(parsed.status, CompletionStatus::kRefused);
    EXPECT_NE(parsed.detail.find("can't help"), std::string::npos);
    EXPECT_EQ(
        ParseChatCompletion(CompletionBody(ValidProperties().dump(), "content_filter")).status,
        CompletionStatus::kRefused);
}

TEST(ChatCompletionParsing, RejectsContentThatIsNotAJsonObject) {
    EXPECT_EQ(ParseChatCompletion(CompletionBody("The compound is a white solid.")).status,
              CompletionStatus::kInvalidJson);
    EXPECT_EQ(ParseChatCompletion(CompletionBody(R"({"physical_state": "solid", )")).status,
              CompletionStatus::kInvalidJson);
    EXPECT_EQ(ParseChatCompletion(CompletionBody("[1, 2]")).status, CompletionStatus::kInvalidJson);
    EXPECT_EQ(
        ParseChatCompletion(CompletionBody("Sure!\n```json\n" + ValidProperties().dump() + "\n```"))
            .status,
        CompletionStatus::kInvalidJson);
}

TEST(ChatCompletionParsing, RejectsJsonThatViolatesTheSchema) {
    nlohmann::json wrong_state = ValidProperties();
    wrong_state["physical_state"] = "plasma";
    nlohmann::json missing = ValidProperties();
    missing.erase("summary");
    nlohmann::json extra = ValidProperties();
    extra["smiles"] = "CCO";
    for (const auto& properties : {wrong_state, missing, extra}) {
        const ParsedCompletion parsed = ParseChatCompletion(CompletionBody(properties.dump()));
        EXPECT_EQ(parsed.status, CompletionStatus::kSchemaViolation) << properties.dump();
        EXPECT_NE(parsed.detail.find("$."), std::string::npos) << parsed.detail;
    }
}

TEST(ChatCompletionParsing, RejectsBodiesThatAreNotChatCompletions) {
    EXPECT_EQ(ParseChatCompletion("not json").status, CompletionStatus::kMalformedResponse);
    EXPECT_EQ(ParseChatCompletion(R"({"choices": []})").status,
              CompletionStatus::kMalformedResponse);
    EXPECT_EQ(ParseChatCompletion(R"({"choices": [{"finish_reason": "stop"}]})").status,
              CompletionStatus::kMalformedResponse);
    EXPECT_EQ(ParseChatCompletion(R"({"choices": [{"message": {"content": [{"type": "text"}]}}]})")
                  .status,
              CompletionStatus::kMalformedResponse);
}

TEST(ApiErrorParsing, ReadsOpenAisNestedShape) {
    const ApiError error = ParseApiError(
        R"({"error": {"message": "Rate limit reached", "type": "requests", "param": null,
            "code": "rate_limit_exceeded"}})");
    EXPECT_EQ(error.message, "Rate limit reached");
    EXPECT_EQ(error.type, "requests");
    EXPECT_EQ(error.code, "rate_limit_exceeded");
    EXPECT_TRUE(error.param.empty());
    EXPECT_EQ(error.Describe(), "requests/rate_limit_exceeded: Rate limit reached");
}

TEST(ApiErrorParsing, ReadsTheFlatShape) {
    const ApiError error =
        ParseApiError(R"({"message": "model not found", "type": "NotFoundError", "code": 404})");
    EXPECT_EQ(error.message, "model not found");
    EXPECT_EQ(error.type, "NotFoundError");
    EXPECT_EQ(error.code, "404");
}

TEST(ApiErrorParsing, ReadsFastApiDetailAndPlainStrings) {
    EXPECT_EQ(ParseApiError(R"({"detail": "Not authenticated"})").message, "Not authenticated");
    EXPECT_EQ(ParseApiError(R"({"error": "backend down"})").message, "backend down");
    EXPECT_EQ(ParseApiError("<html>502 Bad Gateway</html>").message,
              "<html>502 Bad Gateway</html>");
    EXPECT_NE(
        ParseApiError(R"({"detail": [{"msg": "field required"}]})").message.find("field required"),
        std::string::npos);
}

TEST(ApiErrorParsing, RecognisesInsufficientQuotaByCodeOrType) {
    EXPECT_TRUE(IsInsufficientQuota(ParseApiError(
        R"({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
            "code": "insufficient_quota"}})")));
    EXPECT_TRUE(IsInsufficientQuota(ParseApiError(R"({"type": "insufficient_quota"})")));
    EXPECT_FALSE(IsInsufficientQuota(
        ParseApiError(R"({"error": {"type": "requests", "code": "rate_limit_exceeded"}})")));
}

TEST(ApiErrorParsing, RecognisesAServerThatDoesNotSupportJsonSchema) {
    const ApiError openai = ParseApiError(
        R"({"error": {"message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.", "type": "invalid_request_error", "param": "response_format"}})");
    EXPECT_TRUE(IsJsonSchemaUnsupported(400, openai));
    EXPECT_TRUE(
        IsJsonSchemaUnsupported(422, ParseApiError(R"({"detail": "json_schema unsupported"})")));
    EXPECT_FALSE(IsJsonSchemaUnsupported(500, openai));
    EXPECT_FALSE(
        IsJsonSchemaUnsupported(400, ParseApiError(R"({"error": {"message": "bad model"}})")));
}

// Found by tests/fuzz (llm_response): what the parsers return goes into logs, jsonb provenance
// and event_processing_status.last_error, and PostgreSQL refuses NUL and invalid UTF-8.
TEST(ApiErrorParsing, ReturnsStorableTextForBinaryOrLatin1Bodies) {
    const ApiError error =
        ParseApiError(std::string("<html>Service indisponible \xe9t\xe9 \0 x", 34));
    EXPECT_EQ(error.message, "<html>Service indisponible \xEF\xBF\xBDt\xEF\xBF\xBD \xEF\xBF\xBD x");
    EXPECT_TRUE(common::IsValidUtf8(error.Describe()));
}

TEST(ApiErrorParsing, ReplacesNulEscapesInJsonStrings) {
    const ApiError error = ParseApiError(
        R"({"error": {"message": "up\u0000stream", "type": "t\u0000", "code": "c"}})");
    EXPECT_EQ(error.message, "up\xEF\xBF\xBDstream");
    EXPECT_EQ(error.type, "t\xEF\xBF\xBD");
    EXPECT_EQ(ParseApiError(R"({"error": "a\u0000"})").message, "a\xEF\xBF\xBD");
}

TEST(ChatCompletionParsing, ReturnsStorableTextForNulEscapes) {
    const ParsedCompletion parsed = ParseChatCompletion(
        R"({"model": "m\u0000", "choices": [{"message": {"content": "\u0000 not json"},)"
        R"( "finish_reason": "stop"}]})");
    EXPECT_EQ(parsed.status, CompletionStatus::kInvalidJson);
    EXPECT_EQ(parsed.model, "m\xEF\xBF\xBD");
    EXPECT_EQ(parsed.detail.find('\0'), std::string::npos);
    const ParsedCompletion refused = ParseChatCompletion(
        R"({"choices": [{"message": {"content": null, "refusal": "no\u0000"}}]})");
    EXPECT_EQ(refused.status, CompletionStatus::kRefused);
    EXPECT_EQ(refused.detail.find('\0'), std::string::npos);
}

}  // namespace
}  // namespace tributary::llm
