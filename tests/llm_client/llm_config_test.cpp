#include "llm_client/llm_config.hpp"

#include <gtest/gtest.h>

namespace tributary::llm {
namespace {

TEST(LlmConfigFromEnv, UsesTheDocumentedDefaults) {
    common::EnvReader env(std::map<std::string, std::string>{});
    const LlmConfig config = LlmConfig::FromEnv(env);
    EXPECT_NO_THROW(env.ThrowIfInvalid());
    EXPECT_EQ(config.base_url, "http://127.0.0.1:8090/v1");
    EXPECT_EQ(config.model, "mock-chem-1");
    EXPECT_EQ(config.requests_per_minute, 60);
    EXPECT_EQ(config.tokens_per_minute, 100000);
    EXPECT_EQ(config.max_inflight, 4);
    EXPECT_TRUE(config.api_key.empty());
    EXPECT_TRUE(config.json_schema);
}

TEST(LlmConfigFromEnv, ReadsEveryVariable) {
    common::EnvReader env(
        std::map<std::string, std::string>{{"LLM_BASE_URL", "https://api.openai.com/v1/"},
                                           {"LLM_API_KEY", "sk-secret"},
                                           {"LLM_MODEL", "gpt-4o-mini"},
                                           {"LLM_RPM", "500"},
                                           {"LLM_TPM", "200000"},
                                           {"LLM_MAX_INFLIGHT", "8"},
                                           {"LLM_TIMEOUT_MS", "20000"},
                                           {"LLM_JSON_SCHEMA", "false"}});
    const LlmConfig config = LlmConfig::FromEnv(env);
    EXPECT_NO_THROW(env.ThrowIfInvalid());
    EXPECT_EQ(config.base_url, "https://api.openai.com/v1");
    EXPECT_EQ(config.api_key, "sk-secret");
    EXPECT_EQ(config.model, "gpt-4o-mini");
    EXPECT_EQ(config.requests_per_minute, 500);
    EXPECT_EQ(config.tokens_per_minute, 200000);
    EXPECT_EQ(config.max_inflight, 8);
    EXPECT_EQ(config.request_timeout, std::chrono::milliseconds(20000));
    EXPECT_FALSE(config.json_schema);
}

TEST(LlmConfigFromEnv, ReportsEveryBadValueAtOnce) {
    common::EnvReader env(std::map<std::string, std::string>{{"LLM_BASE_URL", "ftp://x"},
                                                             {"LLM_RPM", "0"},
                                                             {"LLM_TPM", "lots"},
                                                             {"LLM_MAX_INFLIGHT", "-1"}});
    LlmConfig::FromEnv(env);
    try {
        env.ThrowIfInvalid();
        FAIL() << "expected ConfigError";
    } catch (const common::ConfigError& error) {
        const std::string text = error.what();
        for (const char* name : {"LLM_BASE_URL", "LLM_RPM", "LLM_TPM", "LLM_MAX_INFLIGHT"}) {
            EXPECT_NE(text.find(name), std::string::npos) << name << " missing from: " << text;
        }
    }
}

TEST(LlmConfigFromEnv, RejectsATokenBudgetSmallerThanOneRequest) {
    common::EnvReader env(
        std::map<std::string, std::string>{{"LLM_TPM", "100"}, {"LLM_MAX_TOKENS", "600"}});
    LlmConfig::FromEnv(env);
    EXPECT_THROW(env.ThrowIfInvalid(), common::ConfigError);
}

TEST(LlmConfigFromEnv, NeverPrintsTheApiKey) {
    LlmConfig config;
    config.api_key = "sk-very-secret";
    EXPECT_EQ(config.Describe().find("sk-very-secret"), std::string::npos);
    EXPECT_NE(config.Describe().find("api_key=set"), std::string::npos);
}

}  // namespace
}  // namespace tributary::llm
