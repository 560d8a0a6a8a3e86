#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace tributary::llm {

// Confidence the rule-based extraction reports (LLM results are expected to be higher).
inline constexpr double kFallbackConfidence = 0.3;
inline constexpr double kFallbackNothingFoundConfidence = 0.1;

// Rule-based extraction of physical properties from free-text lab notes, producing the same
// record as the LLM (see properties_schema.hpp; always passes ValidateProperties):
//  - melting/boiling points and ranges ("mp 135 °C", "m.p. 135-137 °C", "melting point: 408 K",
//    "bp 78.4°C", "boils at 173 °F", "decomposes at 250 °C", "mp >300 °C"), converted to °C
//    and rounded to 0.1;
//  - solubility ("soluble in water and ethanol", "slightly soluble in ether",
//    "insoluble in hexane", "miscible with water", "water-soluble");
//  - the first colour word ("white", "colourless", "pale yellow", "off-white", ...);
//  - the physical state from words (powder/crystals → solid, liquid/oil → liquid, gas → gas),
//    else inferred from the melting/boiling points at 25 °C;
//  - hazard words (flammable, toxic, corrosive, irritant, ...; negations such as
//    "non-flammable" are skipped) and GHS H-codes.
// `summary` says what was found; `confidence` is kFallbackConfidence, or
// kFallbackNothingFoundConfidence when nothing was. Pure and thread-safe; never throws
// (except std::bad_alloc). Notes longer than 20,000 bytes are read up to that point.
nlohmann::json ExtractFromNotes(std::string_view name, std::string_view notes);

}  // namespace tributary::llm
