#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tributary::llm::testing {

// A record that passes ValidateProperties.
inline nlohmann::json ValidProperties() {
    return {{"physical_state", "solid"},
            {"color", "white"},
            {"melting_point_c", {{"min", 135.0}, {"max", 136.0}}},
            {"boiling_point_c", {{"min", nullptr}, {"max", nullptr}}},
            {"solubility", {{{"solvent", "ethanol"}, {"qualitative", "soluble"}}}},
            {"hazards", {"irritant"}},
            {"summary", "Aspirin is a white solid."},
            {"confidence", 0.9}};
}

// A chat-completion body whose first choice carries `content` (a JSON string value or null).
inline std::string CompletionBody(const nlohmann::json& content,
                                  const std::string& finish_reason = "stop",
                                  const nlohmann::json& refusal = nullptr) {
    return nlohmann::json{
        {"id", "chatcmpl-1"},
        {"object", "chat.completion"},
        {"model", "gpt-test-2024"},
        {"choices",
         {{{"index", 0},
           {"message", {{"role", "assistant"}, {"content", content}, {"refusal", refusal}}},
           {"finish_reason", finish_reason}}}},
        {"usage", {{"prompt_tokens", 321}, {"completion_tokens", 89}, {"total_tokens", 410}}}}
        .dump();
}

inline std::string OkBody() { return CompletionBody(ValidProperties().dump()); }

}  // namespace tributary::llm::testing
