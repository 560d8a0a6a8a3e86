#include "common/chem/descriptors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace tributary::common::chem {
namespace {

using ::testing::IsEmpty;
using ::testing::Not;

TEST(AnalyzeSmiles, ComputesTheAspirinDescriptors) {
    const StructureResult result = AnalyzeSmiles("CC(=O)Oc1ccccc1C(=O)O");
    ASSERT_TRUE(result.descriptors.has_value()) << result.error;
    EXPECT_THAT(result.error, IsEmpty());
    const Descriptors& d = *result.descriptors;
    EXPECT_EQ(d.formula, "C9H8O4");
    EXPECT_DOUBLE_EQ(d.mw, 180.159);
    EXPECT_DOUBLE_EQ(d.exact_mw, 180.0423);
    EXPECT_DOUBLE_EQ(d.logp, 1.3101);
    EXPECT_NEAR(d.tpsa, 63.6, 1e-9);
    EXPECT_EQ(d.hbd, 1);
    EXPECT_EQ(d.hba, 3);
    EXPECT_EQ(d.rotatable_bonds, 2);
    EXPECT_EQ(d.rings, 1);
    EXPECT_EQ(d.heavy_atoms, 13);
    EXPECT_EQ(d.canonical_smiles, "CC(=O)Oc1ccccc1C(=O)O");
    // Lipinski counts: N+O = 4 acceptors, NH+OH = 1 donor.
    EXPECT_EQ(d.lipinski_hba, 4);
    EXPECT_EQ(d.lipinski_hbd, 1);
    EXPECT_GT(d.mr, 40.0);
    EXPECT_LT(d.mr, 50.0);
}

TEST(AnalyzeSmiles, GivesTheSameCanonicalSmilesForEquivalentInputs) {
    const StructureResult a = AnalyzeSmiles("CC(=O)Oc1ccccc1C(=O)O");
    const StructureResult b = AnalyzeSmiles("OC(=O)c1ccccc1OC(C)=O");
    const StructureResult kekule = AnalyzeSmiles("CC(=O)OC1=CC=CC=C1C(=O)O");
    ASSERT_TRUE(a.descriptors && b.descriptors && kekule.descriptors);
    EXPECT_EQ(a.descriptors->canonical_smiles, b.descriptors->canonical_smiles);
    EXPECT_EQ(a.descriptors->canonical_smiles, kekule.descriptors->canonical_smiles);
}

TEST(AnalyzeSmiles, ComputesCaffeineSanityValues) {
    const StructureResult result = AnalyzeSmiles("CN1C=NC2=C1C(=O)N(C(=O)N2C)C");
    ASSERT_TRUE(result.descriptors.has_value()) << result.error;
    const Descriptors& d = *result.descriptors;
    EXPECT_EQ(d.formula, "C8H10N4O2");
    EXPECT_NEAR(d.mw, 194.19, 0.01);
    EXPECT_NEAR(d.exact_mw, 194.0804, 0.0001);
    EXPECT_EQ(d.hbd, 0);
    EXPECT_EQ(d.rings, 2);
    EXPECT_EQ(d.heavy_atoms, 14);
    EXPECT_EQ(d.rotatable_bonds, 0);
    EXPECT_LT(d.logp, 0.0);  // caffeine is hydrophilic
}

TEST(AnalyzeSmiles, ComputesEthanolSanityValues) {
    const StructureResult result = AnalyzeSmiles("CCO");
    ASSERT_TRUE(result.descriptors.has_value()) << result.error;
    const Descriptors& d = *result.descriptors;
    EXPECT_EQ(d.formula, "C2H6O");
    EXPECT_NEAR(d.mw, 46.07, 0.01);
    EXPECT_NEAR(d.exact_mw, 46.0419, 0.0001);
    EXPECT_EQ(d.hbd, 1);
    EXPECT_EQ(d.hba, 1);
    EXPECT_EQ(d.rings, 0);
    EXPECT_EQ(d.heavy_atoms, 3);
    EXPECT_EQ(d.rotatable_bonds, 0);
    EXPECT_NEAR(d.tpsa, 20.23, 0.005);
    EXPECT_EQ(d.canonical_smiles, "CCO");
}

TEST(AnalyzeSmiles, RoundsToTheDocumentedPrecision) {
    const StructureResult result = AnalyzeSmiles("CN1C=NC2=C1C(=O)N(C(=O)N2C)C");
    ASSERT_TRUE(result.descriptors.has_value());
    const Descriptors& d = *result.descriptors;
    EXPECT_DOUBLE_EQ(d.mw, Round(d.mw, 3));
    EXPECT_DOUBLE_EQ(d.exact_mw, Round(d.exact_mw, 4));
    EXPECT_DOUBLE_EQ(d.logp, Round(d.logp, 4));
    EXPECT_DOUBLE_EQ(d.tpsa, Round(d.tpsa, 2));
}

struct BadSmiles {
    std::string name;
    std::string smiles;
};

void PrintTo(const BadSmiles& c, std::ostream* os) { *os << c.name; }

class InvalidStructure : public ::testing::TestWithParam<BadSmiles> {};

TEST_P(InvalidStructure, ComesBackAsAnErrorWithoutThrowing) {
    StructureResult result;
    ASSERT_NO_THROW(result = AnalyzeSmiles(GetParam().smiles));
    EXPECT_FALSE(result.descriptors.has_value());
    EXPECT_THAT(result.error, Not(IsEmpty()));
    std::string validation;
    ASSERT_NO_THROW(validation = ValidateSmiles(GetParam().smiles));
    EXPECT_THAT(validation, Not(IsEmpty()));
}

INSTANTIATE_TEST_SUITE_P(
    AnalyzeSmiles, InvalidStructure,
    ::testing::Values(BadSmiles{"Empty", ""}, BadSmiles{"UnclosedRing", "C1CC"},
                      BadSmiles{"PentavalentCarbon", "C(C)(C)(C)(C)C"},
                      BadSmiles{"UnkekulizableRing", "c1cccc1"},
                      BadSmiles{"UnbalancedParenthesis", "CC(C"},
                      BadSmiles{"UnknownElement", "[Xx]"}, BadSmiles{"Prose", "aspirin please"}),
    [](const ::testing::TestParamInfo<BadSmiles>& param_info) { return param_info.param.name; });

TEST(ValidateSmiles, AcceptsValidStructures) {
    for (const char* smiles : {"CC(=O)Oc1ccccc1C(=O)O", "CCO", "c1ccccc1", "[Na+].[Cl-]", "O"}) {
        EXPECT_THAT(ValidateSmiles(smiles), IsEmpty()) << smiles;
    }
}

TEST(DescriptorsJson, UsesTheContractKeys) {
    const StructureResult result = AnalyzeSmiles("CCO");
    ASSERT_TRUE(result.descriptors.has_value());
    const nlohmann::json json = ToJson(*result.descriptors);
    for (const char* key : {"canonical_smiles", "formula", "mw", "exact_mw", "logp", "mr", "tpsa",
                            "hbd", "hba", "lipinski_hbd", "lipinski_hba", "rotatable_bonds", "rings",
                            "heavy_atoms"}) {
        EXPECT_TRUE(json.contains(key)) << key;
    }
    EXPECT_EQ(json.size(), 14u);
    EXPECT_EQ(json["formula"], "C2H6O");
    EXPECT_EQ(json["heavy_atoms"], 3);
}

TEST(Round, RoundsHalfAwayFromZero) {
    EXPECT_DOUBLE_EQ(Round(2.5, 0), 3.0);
    EXPECT_DOUBLE_EQ(Round(-2.5, 0), -3.0);
    EXPECT_DOUBLE_EQ(Round(180.15899999999996, 3), 180.159);
    EXPECT_DOUBLE_EQ(Round(1.23456, 2), 1.23);
}

}  // namespace
}  // namespace tributary::common::chem
