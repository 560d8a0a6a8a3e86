#include "llm_client/properties_schema.hpp"

#include <array>
#include <cmath>

namespace tributary::llm {
namespace {

constexpr std::array<std::string_view, 4> kStates = {"solid", "liquid", "gas", "unknown"};
constexpr std::array<std::string_view, 4> kQualitative = {"soluble", "slightly soluble",
                                                          "insoluble", "miscible"};
constexpr size_t kMaxShortString = 200;
constexpr size_t kMaxSummary = 2000;
constexpr size_t kMaxListItems = 50;
constexpr double kAbsoluteZeroC = -273.15;
constexpr double kMaxTemperatureC = 10000.0;

nlohmann::json RangeSchema(std::string_view description) {
    return {{"type", "object"},
            {"description", description},
            {"properties",
             {{"min", {{"type", {"number", "null"}}}}, {"max", {{"type", {"number", "null"}}}}}},
            {"required", {"min", "max"}},
            {"additionalProperties", false}};
}

template <size_t N>
bool OneOf(const std::string& value, const std::array<std::string_view, N>& allowed) {
    for (const auto candidate : allowed) {
        if (value == candidate) return true;
    }
    return false;
}

void CheckRange(const nlohmann::json& properties, const char* key,
                std::vector<std::string>& problems) {
    const std::string path = std::string("$.") + key;
    if (!properties.contains(key)) return;
    const nlohmann::json& range = properties.at(key);
    if (!range.is_object()) {
        problems.push_back(path + " must be an object {min, max}");
        return;
    }
    for (const auto& [name, value] : range.items()) {
        if (name != "min" && name != "max")
            problems.push_back(path + "." + name + " is not allowed");
    }
    std::array<double, 2> bounds{};
    std::array<bool, 2> present{};
    for (size_t i = 0; i < 2; ++i) {
        const char* bound = i == 0 ? "min" : "max";
        if (!range.contains(bound)) {
            problems.push_back(path + "." + bound + " is required (use null when unknown)");
            continue;
        }
        const nlohmann::json& value = range.at(bound);
        if (value.is_null()) continue;
        if (!value.is_number()) {
            problems.push_back(path + "." + bound + " must be a number or null");
            continue;
        }
        const double number = value.get<double>();
        if (!std::isfinite(number) || number < kAbsoluteZeroC || number > kMaxTemperatureC) {
            problems.push_back(path + "." + bound + " is not a plausible temperature in °C");
            continue;
        }
        bounds[i] = number;
        present[i] = true;
    }
    if (present[0] && present[1] && bounds[0] > bounds[1]) {
        problems.push_back(path + ".min is greater than max");
    }
}

void CheckStringList(const nlohmann::json& list, const std::string& path,
                     std::vector<std::string>& problems) {
    if (!list.is_array()) {
        problems.push_back(path + " must be an array");
        return;
    }
    if (list.size() > kMaxListItems) problems.push_back(path + " has too many items");
    for (size_t i = 0; i < list.size(); ++i) {
        const auto& item = list[i];
        if (!item.is_string() || item.get_ref<const std::string&>().empty() ||
            item.get_ref<const std::string&>().size() > kMaxShortString) {
            problems.push_back(path + "[" + std::to_string(i) + "] must be a non-empty string");
        }
    }
}

}  // namespace

const nlohmann::json& PropertiesJsonSchema() {
    static const nlohmann::json kSchema = {
        {"type", "object"},
        {"properties",
         {{"physical_state",
           {{"type", "string"},
            {"enum", {"solid", "liquid", "gas", "unknown"}},
            {"description", "State at 25 °C and 1 atm"}}},
          {"color", {{"type", {"string", "null"}}, {"description", "Colour as observed, or null"}}},
          {"melting_point_c", RangeSchema("Melting point range in °C; null bounds when unknown")},
          {"boiling_point_c", RangeSchema("Boiling point range in °C; null bounds when unknown")},
          {"solubility",
           {{"type", "array"},
            {"items",
             {{"type", "object"},
              {"properties",
               {{"solvent", {{"type", "string"}}},
                {"qualitative",
                 {{"type", "string"},
                  {"enum", {"soluble", "slightly soluble", "insoluble", "miscible"}}}}}},
              {"required", {"solvent", "qualitative"}},
              {"additionalProperties", false}}}}},
          {"hazards", {{"type", "array"}, {"items", {{"type", "string"}}}}},
          {"summary", {{"type", "string"}, {"description", "One or two sentences"}}},
          {"confidence", {{"type", "number"}, {"description", "Confidence between 0 and 1"}}}}},
        {"required",
         {"physical_state", "color", "melting_point_c", "boiling_point_c", "solubility", "hazards",
          "summary", "confidence"}},
        {"additionalProperties", false}};
    return kSchema;
}

std::vector<std::string> ValidateProperties(const nlohmann::json& properties) {
    std::vector<std::string> problems;
    if (!properties.is_object()) {
        problems.emplace_back("$ must be a JSON object");
        return problems;
    }
    const nlohmann::json& schema = PropertiesJsonSchema();
    for (const auto& key : schema.at("required")) {
        if (!properties.contains(key.get<std::string>())) {
            problems.push_back("$." + key.get<std::string>() + " is required");
        }
    }
    for (const auto& [key, value] : properties.items()) {
        if (!schema.at("properties").contains(key))
            problems.push_back("$." + key + " is not allowed");
    }

    if (const auto it = properties.find("physical_state"); it != properties.end()) {
        if (!it->is_string() || !OneOf(it->get<std::string>(), kStates)) {
            problems.emplace_back("$.physical_state must be one of solid, liquid, gas, unknown");
        }
    }
    if (const auto it = properties.find("color"); it != properties.end()) {
        if (!it->is_null() && (!it->is_string() || it->get_ref<const std::string&>().empty() ||
                               it->get_ref<const std::string&>().size() > kMaxShortString)) {
            problems.emplace_back("$.color must be a non-empty string or null");
        }
    }
    CheckRange(properties, "melting_point_c", problems);
    CheckRange(properties, "boiling_point_c", problems);

    if (const auto it = properties.find("solubility"); it != properties.end()) {
        if (!it->is_array()) {
            problems.emplace_back("$.solubility must be an array");
        } else {
            if (it->size() > kMaxListItems)
                problems.emplace_back("$.solubility has too many items");
            for (size_t i = 0; i < it->size(); ++i) {
                const auto& entry = (*it)[i];
                const std::string path = "$.solubility[" + std::to_string(i) + "]";
                if (!entry.is_object()) {
                    problems.push_back(path + " must be an object {solvent, qualitative}");
                    continue;
                }
                for (const auto& [key, value] : entry.items()) {
                    if (key != "solvent" && key != "qualitative") {
                        problems.push_back(path + "." + key + " is not allowed");
                    }
                }
                const auto solvent = entry.find("solvent");
                if (solvent == entry.end() || !solvent->is_string() ||
                    solvent->get_ref<const std::string&>().empty() ||
                    solvent->get_ref<const std::string&>().size() > kMaxShortString) {
                    problems.push_back(path + ".solvent must be a non-empty string");
                }
                const auto qualitative = entry.find("qualitative");
                if (qualitative == entry.end() || !qualitative->is_string() ||
                    !OneOf(qualitative->get<std::string>(), kQualitative)) {
                    problems.push_back(path +
                                       ".qualitative must be one of soluble, slightly soluble, "
                                       "insoluble, miscible");
                }
            }
        }
    }
    if (const auto it = properties.find("hazards"); it != properties.end()) {
        CheckStringList(*it, "$.hazards", problems);
    }
    if (const auto it = properties.find("summary"); it != properties.end()) {
        if (!it->is_string() || it->get_ref<const std::string&>().size() > kMaxSummary) {
            problems.emplace_back("$.summary must be a string of at most 2000 characters");
        }
    }
    if (const auto it = properties.find("confidence"); it != properties.end()) {
        if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0.0 ||
            it->get<double>() > 1.0) {
            problems.emplace_back("$.confidence must be a number between 0 and 1");
        }
    }
    return problems;
}

}  // namespace tributary::llm
