#include "llm_client/properties_schema.hpp"
#include "tests/llm_client/test_support.hpp"

#include <gtest/gtest.h>

namespace tributary::llm {
namespace {

using testing::ValidProperties;

bool HasProblemAbout(const std::vector<std::string>& problems, const std::string& path) {
    for (const auto& problem : problems) {
        if (problem.find(path) != std::string::npos) return true;
    }
    return false;
}

TEST(PropertiesValidation, AcceptsACompleteRecord) {
    EXPECT_TRUE(ValidateProperties(ValidProperties()).empty());
}

TEST(PropertiesValidation, AcceptsNullsWhereTheSchemaAllowsThem) {
    nlohmann::json properties = ValidProperties();
    properties["color"] = nullptr;
    properties["melting_point_c"] = {{"min", nullptr}, {"max", nullptr}};
    properties["solubility"] = nlohmann::json::array();
    properties["hazards"] = nlohmann::json::array();
    properties["physical_state"] = "unknown";
    EXPECT_TRUE(ValidateProperties(properties).empty());
}

TEST(PropertiesValidation, NamesEachViolationByPath) {
    struct Case {
        const char* key;
        nlohmann::json value;
        const char* path;
    };
    const std::vector<Case> cases = {
        {"physical_state", "plasma", "$.physical_state"},
        {"color", 7, "$.color"},
        {"color", "", "$.color"},
        {"melting_point_c", {{"min", "135"}, {"max", nullptr}}, "$.melting_point_c.min"},
        {"melting_point_c", {{"min", 140}, {"max", 135}}, "$.melting_point_c.min"},
        {"melting_point_c", {{"min", -300}, {"max", nullptr}}, "$.melting_point_c.min"},
        {"boiling_point_c", {{"min", 1}}, "$.boiling_point_c.max"},
        {"boiling_point_c", 78.4, "$.boiling_point_c"},
        {"solubility", {{{"solvent", "water"}, {"qualitative", "very"}}}, "$.solubility[0]"},
        {"solubility", {{{"solvent", ""}, {"qualitative", "soluble"}}}, "$.solubility[0].solvent"},
        {"solubility",
         {{{"solvent", "water"}, {"qualitative", "soluble"}, {"g_per_l", 3}}},
         "$.solubility[0].g_per_l"},
        {"hazards", "flammable", "$.hazards"},
        {"hazards", {1}, "$.hazards[0]"},
        {"summary", nullptr, "$.summary"},
        {"confidence", 1.5, "$.confidence"},
        {"confidence", "high", "$.confidence"},
    };
    for (const auto& test_case : cases) {
        nlohmann::json properties = ValidProperties();
        properties[test_case.key] = test_case.value;
        const auto problems = ValidateProperties(properties);
        EXPECT_TRUE(HasProblemAbout(problems, test_case.path))
            << test_case.key << "=" << test_case.value.dump();
    }
}

TEST(PropertiesValidation, RejectsMissingAndUnknownKeys) {
    nlohmann::json properties = ValidProperties();
    properties.erase("hazards");
    properties["inchi"] = "InChI=1S/...";
    const auto problems = ValidateProperties(properties);
    EXPECT_TRUE(HasProblemAbout(problems, "$.hazards is required"));
    EXPECT_TRUE(HasProblemAbout(problems, "$.inchi is not allowed"));
    EXPECT_FALSE(ValidateProperties(nlohmann::json::array()).empty());
}

TEST(PropertiesSchema, RequiresEveryPropertyAsStrictModeDemands) {
    const nlohmann::json& schema = PropertiesJsonSchema();
    EXPECT_EQ(schema["required"].size(), schema["properties"].size());
    EXPECT_EQ(schema["additionalProperties"], false);
}

}  // namespace
}  // namespace tributary::llm
