#include "common/chem/descriptors.hpp"

#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/Lipinski.h>
#include <GraphMol/Descriptors/MolDescriptors.h>
#include <GraphMol/Descriptors/MolSurf.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <RDGeneral/RDLog.h>

#include <cmath>
#include <memory>
#include <mutex>

namespace tributary::common::chem {
namespace {

// RDKit logs every parse failure to stderr; we report errors ourselves, so silence its loggers
// once per process.
void SilenceRdkitLogs() {
    static std::once_flag once;
    std::call_once(once, [] { boost::logging::disable_logs("rdApp.*"); });
}

struct Parsed {
    std::unique_ptr<RDKit::ROMol> mol;
    std::string error;
};

Parsed Parse(const std::string& smiles) {
    SilenceRdkitLogs();
    Parsed parsed;
    if (smiles.empty()) {
        parsed.error = "SMILES is empty";
        return parsed;
    }
    try {
        parsed.mol.reset(RDKit::SmilesToMol(smiles));
        if (!parsed.mol) {
            parsed.error = "SMILES syntax error: the string is not a parsable structure";
        } else if (parsed.mol->getNumAtoms() == 0) {
            parsed.error = "SMILES contains no atoms";
            parsed.mol.reset();
        }
    } catch (const RDKit::MolSanitizeException& e) {
        parsed.error = std::string("chemically invalid structure: ") + e.what();
    } catch (const std::exception& e) {
        parsed.error = std::string("SMILES could not be parsed: ") + e.what();
    }
    return parsed;
}

}  // namespace

double Round(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

nlohmann::json ToJson(const Descriptors& d) {
    return {{"canonical_smiles", d.canonical_smiles},
            {"formula", d.formula},
            {"mw", d.mw},
            {"exact_mw", d.exact_mw},
            {"logp", d.logp},
            {"mr", d.mr},
            {"tpsa", d.tpsa},
            {"hbd", d.hbd},
            {"hba", d.hba},
            {"lipinski_hbd", d.lipinski_hbd},
            {"lipinski_hba", d.lipinski_hba},
            {"rotatable_bonds", d.rotatable_bonds},
            {"rings", d.rings},
            {"heavy_atoms", d.heavy_atoms}};
}

std::string ValidateSmiles(const std::string& smiles) { return Parse(smiles).error; }

StructureResult AnalyzeSmiles(const std::string& smiles) {
    Parsed parsed = Parse(smiles);
    StructureResult result;
    if (!parsed.mol) {
        result.error = parsed.error;
        return result;
    }
    try {
        const RDKit::ROMol& mol = *parsed.mol;
        Descriptors d;
        d.canonical_smiles = RDKit::MolToSmiles(mol);
        d.formula = RDKit::Descriptors::calcMolFormula(mol);
        // Rounded to the precision the underlying data supports, so stored and served values
        // read like a handbook's (aspirin: 180.159, 180.0423) rather than 180.15899999999996.
        d.mw = Round(RDKit::Descriptors::calcAMW(mol), 3);
        d.exact_mw = Round(RDKit::Descriptors::calcExactMW(mol), 4);
        double logp = 0, mr = 0;
        RDKit::Descriptors::calcCrippenDescriptors(mol, logp, mr);
        d.logp = Round(logp, 4);
        d.mr = Round(mr, 4);
        d.tpsa = Round(RDKit::Descriptors::calcTPSA(mol), 2);
        d.hbd = static_cast<int>(RDKit::Descriptors::calcNumHBD(mol));
        d.hba = static_cast<int>(RDKit::Descriptors::calcNumHBA(mol));
        d.lipinski_hbd = static_cast<int>(RDKit::Descriptors::calcLipinskiHBD(mol));
        d.lipinski_hba = static_cast<int>(RDKit::Descriptors::calcLipinskiHBA(mol));
        d.rotatable_bonds = static_cast<int>(RDKit::Descriptors::calcNumRotatableBonds(mol));
        d.rings = static_cast<int>(RDKit::Descriptors::calcNumRings(mol));
        d.heavy_atoms = static_cast<int>(RDKit::Descriptors::calcNumHeavyAtoms(mol));
        result.descriptors = std::move(d);
    } catch (const std::exception& e) {
        result.error = std::string("descriptor calculation failed: ") + e.what();
    }
    return result;
}

}  // namespace tributary::common::chem
