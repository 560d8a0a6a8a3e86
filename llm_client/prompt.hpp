#pragma once

#include "llm_client/enrichment_types.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::llm {

// Bump when the wording or the schema changes, so stored results say which prompt made them.
inline constexpr std::string_view kPromptVersion = "chem-props-v1";

// Limits on what goes into the prompt (bytes, cut at a UTF-8 boundary).
inline constexpr size_t kMaxPromptNotes = 6000;
inline constexpr size_t kMaxPromptName = 256;
inline constexpr size_t kMaxPromptSmiles = 1000;

// The chat messages for one request: a system message with the task and the schema (in words,
// so json_object mode works too) and a user message carrying the record. The notes are fenced
// and labelled as data so that instructions inside them are not followed. Pure.
nlohmann::json BuildMessages(const EnrichmentRequest& request);

// The fields of a user message made by BuildMessages, parsed back (the mock server uses this).
struct PromptFields {
    std::string name;
    std::string smiles;
    std::string notes;
};
std::optional<PromptFields> ParsePromptFields(std::string_view user_content);

// Rough token count of a text (~4 characters per token), as used for TPM budgeting.
int64_t EstimateTokens(std::string_view text);

// Estimated token cost of the messages plus the completion allowance.
int64_t EstimateRequestTokens(const nlohmann::json& messages, int max_tokens);

// Cuts `text` to at most `max_bytes` without splitting a UTF-8 sequence.
std::string TruncateUtf8(std::string_view text, size_t max_bytes);

// `text` as PostgreSQL text and strict JSON serialization accept it: every byte that does not
// belong to a well-formed UTF-8 sequence, and every NUL, becomes U+FFFD. For text taken from a
// server's response or a record (error messages, model names, molecule names) that ends up in
// logs, jsonb provenance and event_processing_status.last_error. Pure.
std::string StorableText(std::string_view text);

}  // namespace tributary::llm
