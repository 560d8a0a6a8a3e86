#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace tributary::common::chem {

// RDKit descriptors of one structure. Names follow the contract's `descriptors` keys.
struct Descriptors {
    std::string canonical_smiles;
    std::string formula;
    double mw = 0;        // average molecular weight
    double exact_mw = 0;  // monoisotopic
    double logp = 0;      // Crippen
    double mr = 0;        // Crippen molar refractivity
    double tpsa = 0;
    int hbd = 0;
    int hba = 0;
    int lipinski_hbd = 0;
    int lipinski_hba = 0;
    int rotatable_bonds = 0;
    int rings = 0;
    int heavy_atoms = 0;
};

nlohmann::json ToJson(const Descriptors& descriptors);

// Rounds half away from zero to `decimals` places.
double Round(double value, int decimals);

// Result of parsing a SMILES string: descriptors, or why the structure is not acceptable.
struct StructureResult {
    std::optional<Descriptors> descriptors;
    std::string error;  // set when descriptors is empty
};

// Parses and sanitizes `smiles` with RDKit and computes the descriptors. Never throws for bad
// input: syntax errors (RDKit returns null) and chemistry errors (valence, kekulization) come
// back as `error`. Thread-safe: RDKit's parser keeps no shared mutable state we rely on.
StructureResult AnalyzeSmiles(const std::string& smiles);

// Parses only (no descriptors); cheaper, for request validation. Empty string when valid.
std::string ValidateSmiles(const std::string& smiles);

}  // namespace tributary::common::chem
