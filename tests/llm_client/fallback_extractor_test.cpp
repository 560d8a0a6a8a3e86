#include "llm_client/fallback_extractor.hpp"
#include "llm_client/properties_schema.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tributary::llm {
namespace {

struct NotesCase {
    const char* label;
    const char* notes;
    const char* state;
    std::optional<std::string> color;
    std::optional<double> mp_min;
    std::optional<double> mp_max;
    std::optional<double> bp_min;
    std::optional<double> bp_max;
    std::vector<std::pair<std::string, std::string>> solubility;  // must all be present
    std::vector<std::string> hazards;                             // exactly these
};

std::ostream& operator<<(std::ostream& out, const NotesCase& test_case) {
    return out << test_case.label;
}

std::optional<double> Number(const nlohmann::json& value) {
    if (value.is_null()) return std::nullopt;
    return value.get<double>();
}

const std::vector<NotesCase>& Cases() {
    static const std::vector<NotesCase> kCases = {
        {"aspirin_basic",
         "White crystalline powder, mp 135 °C. Soluble in ethanol and ether, slightly soluble in "
         "water. Irritant.",
         "solid",
         "white",
         135.0,
         135.0,
         std::nullopt,
         std::nullopt,
         {{"ethanol", "soluble"}, {"diethyl ether", "soluble"}, {"water", "slightly soluble"}},
         {"irritant"}},
        {"range_with_en_dash_and_literature_value",
         "Recrystallised from EtOH to give colourless needles, m.p. 135–137 °C (lit. 136 °C).",
         "solid",
         "colorless",
         135.0,
         137.0,
         std::nullopt,
         std::nullopt,
         {},
         {}},
        {"pale_yellow_oil_with_boiling_point",
         "Pale yellow oil; bp 78.4°C. Highly flammable liquid and vapour.",
         "liquid",
         "pale yellow",
         std::nullopt,
         std::nullopt,
         78.4,
         78.4,
         {},
         {"flammable"}},
        {"melting_point_in_kelvin",
         "Melting point: 408 K. Off-white solid, insoluble in hexane.",
         "solid",
         "off-white",
         134.9,
         134.9,
         std::nullopt,
         std::nullopt,
         {{"hexane", "insoluble"}},
         {}},
        {"boiling_point_in_fahrenheit_and_miscibility",
         "Clear colorless liquid that boils at 173 °F; miscible with water in all proportions.",
         "liquid",
         "colorless",
         std::nullopt,
         std::nullopt,
         78.3,
         78.3,
         {{"water", "miscible"}},
         {}},
        {"decomposition_and_ghs_code",
         "Decomposes at 250 °C without melting. Yellow powder. Toxic if swallowed (H301).",
         "solid",
         "yellow",
         250.0,
         250.0,
         std::nullopt,
         std::nullopt,
         {},
         {"toxic", "H301"}},
        {"gas_below_zero",
         "Colourless gas with a pungent odour, bp -33.3 °C. Corrosive; causes severe burns.",
         "gas",
         "colorless",
         std::nullopt,
         std::nullopt,
         -33.3,
         -33.3,
         {},
         {"corrosive"}},
        {"lower_bound_only",
         "mp >300 °C. Dark red prisms from DMF.",
         "solid",
         "dark red",
         300.0,
         std::nullopt,
         std::nullopt,
         std::nullopt,
         {},
         {}},
        {"negated_hazards",
         "Non-flammable, non-toxic white solid, m.p. 801 °C, very soluble in water.",
         "solid",
         "white",
         801.0,
         801.0,
         std::nullopt,
         std::nullopt,
         {{"water", "soluble"}},
         {}},
        {"carrier_gas_is_not_the_compound",
         "Sample stored under nitrogen gas. Brown viscous oil. b.p. 120-125 °C at 10 mmHg. "
         "Water-reactive.",
         "liquid",
         "brown",
         std::nullopt,
         std::nullopt,
         120.0,
         125.0,
         {},
         {"water-reactive"}},
        {"solvent_abbreviations_and_but_clause",
         "Melting range 98.5 to 99.0 °C; soluble in DCM, EtOAc and MeOH but insoluble in water.",
         "solid",
         std::nullopt,
         98.5,
         99.0,
         std::nullopt,
         std::nullopt,
         {{"dichloromethane", "soluble"},
          {"ethyl acetate", "soluble"},
          {"methanol", "soluble"},
          {"water", "insoluble"}},
         {}},
        {"pyrophoric_metal",
         "Grey metallic powder. Pyrophoric! Reacts violently with water.",
         "solid",
         "grey",
         std::nullopt,
         std::nullopt,
         std::nullopt,
         std::nullopt,
         {},
         {"pyrophoric", "water-reactive"}},
        {"typical_synthesis_entry",
         "The product was obtained as a white solid (2.3 g, 85%). mp 122-123 °C. Harmful if "
         "swallowed; suspected carcinogen.",
         "solid",
         "white",
         122.0,
         123.0,
         std::nullopt,
         std::nullopt,
         {},
         {"harmful", "carcinogenic"}},
        {"acetone_like_liquid",
         "Liquid at room temperature. bp 56 °C. Extremely flammable; eye irritant. Miscible with "
         "water, ethanol and ether.",
         "liquid",
         std::nullopt,
         std::nullopt,
         std::nullopt,
         56.0,
         56.0,
         {{"water", "miscible"}, {"ethanol", "miscible"}, {"diethyl ether", "miscible"}},
         {"flammable", "irritant"}},
        {"sparingly_and_freely_soluble",
         "Orange crystals, melting point 114-116 °C. Lachrymator, handle in fume hood. Sparingly "
         "soluble in cold water, freely soluble in chloroform.",
         "solid",
         "orange",
         114.0,
         116.0,
         std::nullopt,
         std::nullopt,
         {{"cold water", "slightly soluble"}, {"chloroform", "soluble"}},
         {"lachrymator"}},
        {"state_inferred_from_temperatures",
         "mp 0 °C, bp 100 °C",
         "liquid",
         std::nullopt,
         0.0,
         0.0,
         100.0,
         100.0,
         {},
         {}},
        {"nothing_to_extract",
         "Reaction monitored by TLC; yield 72% after column.",
         "unknown",
         std::nullopt,
         std::nullopt,
         std::nullopt,
         std::nullopt,
         std::nullopt,
         {},
         {}},
        {"melts_at_and_boils_at",
         "Sublimes slowly; melts at 5.5 °C and boils at 80.1 °C. Carcinogenic, flammable.",
         "liquid",
         std::nullopt,
         5.5,
         5.5,
         80.1,
         80.1,
         {},
         {"carcinogenic", "flammable"}},
        {"h_codes_and_compound_solvent",
         "Purple-black crystals; m.p. 113.7 °C; slightly soluble in water, soluble in ethanol and "
         "KI solution. Harmful (H312, H332).",
         "solid",
         "purple",
         113.7,
         113.7,
         std::nullopt,
         std::nullopt,
         {{"water", "slightly soluble"}, {"ethanol", "soluble"}, {"ki solution", "soluble"}},
         {"harmful", "H312", "H332"}},
        {"boiling_point_in_kelvin_and_water_soluble_prefix",
         "Colorless hygroscopic liquid, b.p. 351 K; water-soluble. Oxidizing agent.",
         "liquid",
         "colorless",
         std::nullopt,
         std::nullopt,
         77.9,
         77.9,
         {{"water", "soluble"}},
         {"oxidizer"}},
        {"degrees_celsius_spelled_out",
         "Melting point was found to be 68 degrees C. Tan flakes; stench.",
         "solid",
         "tan",
         68.0,
         68.0,
         std::nullopt,
         std::nullopt,
         {},
         {"stench"}},
    };
    return kCases;
}

class NotesExtraction : public ::testing::TestWithParam<NotesCase> {};

TEST_P(NotesExtraction, ExtractsTheStatedProperties) {
    const NotesCase& expected = GetParam();
    const nlohmann::json properties = ExtractFromNotes("Test compound", expected.notes);
    SCOPED_TRACE(properties.dump(2));

    EXPECT_TRUE(ValidateProperties(properties).empty());
    EXPECT_EQ(properties["physical_state"], expected.state);
    if (expected.color) {
        EXPECT_EQ(properties["color"], *expected.color);
    } else {
        EXPECT_TRUE(properties["color"].is_null());
    }
    EXPECT_EQ(Number(properties["melting_point_c"]["min"]), expected.mp_min);
    EXPECT_EQ(Number(properties["melting_point_c"]["max"]), expected.mp_max);
    EXPECT_EQ(Number(properties["boiling_point_c"]["min"]), expected.bp_min);
    EXPECT_EQ(Number(properties["boiling_point_c"]["max"]), expected.bp_max);
    for (const auto& [solvent, qualitative] : expected.solubility) {
        const nlohmann::json entry = {{"solvent", solvent}, {"qualitative", qualitative}};
        const auto& found = properties["solubility"];
        EXPECT_NE(std::find(found.begin(), found.end(), entry), found.end())
            << "missing " << entry.dump();
    }
    std::vector<std::string> hazards = properties["hazards"].get<std::vector<std::string>>();
    std::vector<std::string> expected_hazards = expected.hazards;
    std::sort(hazards.begin(), hazards.end());
    std::sort(expected_hazards.begin(), expected_hazards.end());
    EXPECT_EQ(hazards, expected_hazards);
}

INSTANTIATE_TEST_SUITE_P(RealisticLabNotes, NotesExtraction, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<NotesCase>& param_info) {
                             return std::string(param_info.param.label);
                         });

TEST(FallbackExtraction, ReportsLowConfidenceAndASummaryOfWhatWasFound) {
    const nlohmann::json found = ExtractFromNotes("Aspirin", "White powder, mp 135 °C.");
    EXPECT_DOUBLE_EQ(found["confidence"].get<double>(), kFallbackConfidence);
    const std::string summary = found["summary"];
    EXPECT_NE(summary.find("Rule-based"), std::string::npos);
    EXPECT_NE(summary.find("Aspirin"), std::string::npos);
    EXPECT_NE(summary.find("135 °C"), std::string::npos);

    const nlohmann::json nothing = ExtractFromNotes("", "");
    EXPECT_DOUBLE_EQ(nothing["confidence"].get<double>(), kFallbackNothingFoundConfidence);
    EXPECT_TRUE(ValidateProperties(nothing).empty());
}

TEST(FallbackExtraction, SurvivesHostileInputOnAWorkerThreadStack) {
    std::vector<std::string> inputs;
    std::string repeated_filler = "mp";
    std::string repeated_list = "soluble in";
    std::string repeated_phrases;
    for (int i = 0; i < 5000; ++i) {
        repeated_filler += " of";
        repeated_list += " x and";
        repeated_phrases += "mp mp soluble in , , and ";
    }
    inputs.push_back(repeated_filler + " 135 c");
    inputs.push_back(repeated_list);
    inputs.push_back(repeated_phrases);
    inputs.push_back("soluble in" + std::string(20000, ' ') + "water");
    inputs.push_back("mp " + std::string(20000, '1') + " c");
    inputs.push_back("mp 1" + std::string(400, '0') + " K");
    inputs.push_back("soluble in " + std::string(20000, ','));
    inputs.push_back(
        std::string("\xff\xfe\x00\x01mp 10 \xC2\xB0"
                    "C",
                    14));
    inputs.push_back(
        "mp 99999 K, bp -500 \xC2\xB0"
        "C");
    // Worker threads run the extraction, so it must fit a default thread stack.
    std::thread worker([&inputs] {
        for (const auto& input : inputs) {
            EXPECT_TRUE(ValidateProperties(ExtractFromNotes("x", input)).empty())
                << input.substr(0, 40);
        }
    });
    worker.join();
}

// Found by tests/fuzz (lab_notes): a name that is not UTF-8 went into the summary, and
// serializing the record threw (nlohmann type_error 316) out of a function documented never to.
TEST(FallbackExtraction, NeverThrowsForANameThatIsNotUtf8) {
    nlohmann::json record;
    ASSERT_NO_THROW(record = ExtractFromNotes("Z\xff\xed\xa0\x80",
                                              "white powder, mp 135 \xC2\xB0"
                                              "C"));
    EXPECT_TRUE(ValidateProperties(record).empty());
    std::string dumped;
    ASSERT_NO_THROW(dumped = record.dump());
    EXPECT_NE(record["summary"].get<std::string>().find("Z\xEF\xBF\xBD"), std::string::npos);
}

}  // namespace
}  // namespace tributary::llm
