#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tributary::llm {

// The physical-property record an LLM (or the rule-based fallback) fills in for a molecule:
//
//   physical_state   "solid" | "liquid" | "gas" | "unknown"
//   color            string | null
//   melting_point_c  {"min": number|null, "max": number|null}   (°C)
//   boiling_point_c  {"min": number|null, "max": number|null}   (°C)
//   solubility       [{"solvent": string, "qualitative": "soluble" | "slightly soluble" |
//                                                        "insoluble" | "miscible"}]
//   hazards          [string]
//   summary          string
//   confidence       number in [0, 1]
//
// Every key is required and no other keys are allowed (OpenAI "strict" structured output).

// JSON Schema of the record, in the subset OpenAI's strict json_schema mode accepts (every
// property required, additionalProperties false, nullability via type unions). Thread-safe.
const nlohmann::json& PropertiesJsonSchema();

// Name under which the schema is sent in response_format.json_schema.name.
inline constexpr std::string_view kPropertiesSchemaName = "chemical_properties";

// Checks a record against the schema plus the rules JSON Schema cannot say (min <= max,
// temperatures above absolute zero, bounded string sizes). Returns one human-readable problem
// per violation, each naming the JSON path; empty means valid. Pure, never throws.
std::vector<std::string> ValidateProperties(const nlohmann::json& properties);

}  // namespace tributary::llm
