#include "llm_client/fallback_extractor.hpp"

#include "llm_client/prompt.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace tributary::llm {
namespace {

constexpr size_t kMaxNotes = 20000;
constexpr double kRoomTemperatureC = 25.0;

// Lower-cases ASCII and folds the Unicode spellings lab notes use (degree signs, ℃, dashes,
// minus sign) into ASCII so that the patterns below stay simple.
std::string Normalize(std::string_view text) {
    static const std::array<std::pair<std::string_view, std::string_view>, 10> kReplacements = {{
        {"\xE2\x84\x83", " degc"},  // ℃
        {"\xE2\x84\x89", " degf"},  // ℉
        {"\xC2\xB0", " deg"},       // °
        {"\xC2\xBA", " deg"},       // º (ordinal indicator, often typed for °)
        {"\xCB\x9A", " deg"},       // ˚
        {"\xE2\x80\x93", "-"},      // en dash
        {"\xE2\x80\x94", "-"},      // em dash
        {"\xE2\x88\x92", "-"},      // minus sign
        {"\xE2\x89\x88", "~"},      // ≈
        {"\xC2\xA0", " "},          // no-break space
    }};
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        bool replaced = false;
        for (const auto& [from, to] : kReplacements) {
            if (text.substr(i, from.size()) == from) {
                out += to;
                i += from.size();
                replaced = true;
                break;
            }
        }
        if (replaced) continue;
        char c = text[i++];
        // Runs of blanks become one space (the patterns allow only a few); line breaks stay, as
        // they end a solubility clause.
        if (c == '\t' || c == '\r' || c == '\v' || c == '\f') c = ' ';
        if (c == ' ' && !out.empty() && (out.back() == ' ' || out.back() == '\n')) continue;
        if (c == '\n' && !out.empty() && out.back() == ' ') out.pop_back();
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
}

double Round1(double value) { return std::round(value * 10.0) / 10.0; }

// std::regex is slow (a scan costs ~0.1 ms per pattern on a short note), so each pattern only
// runs when one of its literal keywords occurs in the text at all.
bool ContainsAny(const std::string& text, std::initializer_list<std::string_view> keywords) {
    for (const auto keyword : keywords) {
        if (text.find(keyword) != std::string::npos) return true;
    }
    return false;
}

std::optional<double> ToCelsius(double value, const std::string& unit) {
    double celsius = value;
    const bool fahrenheit =
        unit.find("fahrenheit") != std::string::npos || (!unit.empty() && unit.back() == 'f');
    const bool kelvin =
        unit.find("kelvin") != std::string::npos || (!unit.empty() && unit.back() == 'k');
    if (fahrenheit) {
        celsius = (value - 32.0) * 5.0 / 9.0;
    } else if (kelvin) {
        if (value < 0) return std::nullopt;
        celsius = value - 273.15;
    }
    celsius = Round1(celsius);
    if (celsius < -273.1 || celsius > 6000.0) return std::nullopt;
    return celsius;
}

struct Range {
    std::optional<double> min;
    std::optional<double> max;
    bool Found() const { return min || max; }
};

nlohmann::json RangeJson(const Range& range) {
    return {{"min", range.min ? nlohmann::json(*range.min) : nlohmann::json(nullptr)},
            {"max", range.max ? nlohmann::json(*range.max) : nlohmann::json(nullptr)}};
}

// "<keyword> [filler] [>|<] number [(-|to|and) number] [unit]"
// "<keyword> [filler] [>|<] number [(-|to|and) number] [unit]". Every repetition is bounded:
// libstdc++'s regex engine recurses per repetition, and an unbounded loop over hostile notes
// ("mp of of of ...") would overflow the stack.
const std::string& TemperatureTail() {
    static const std::string kTail =
        R"((?:\s{0,3}(?::|=|~|of|is|was|were|at|about|approx\.?|approximately|ca\.?|around|near|)"
        R"(between|observed|measured|found|determined|recorded|reported|lit\.?|to be|range|)"
        R"(\(|,)){0,6}\s{0,3})"
        R"((>=|<=|>|<|above|below|over|greater than|less than|up to)?\s{0,3})"
        R"((-?\d{1,6}(?:\.\d{1,4})?))"
        R"((?:\s{0,3}(?:-|to|and|\.\.)\s{0,3}(-?\d{1,6}(?:\.\d{1,4})?))?)"
        R"(\s{0,3}(deg\s?c(?:elsius)?\b|deg\s?f(?:ahrenheit)?\b|deg\s?k\b|degrees?\s?c(?:elsius)?\b|)"
        R"(degrees?\s?f(?:ahrenheit)?\b|degrees?\b|deg\b|celsius\b|fahrenheit\b|kelvin\b|k\b|c\b|f\b)?)";
    return kTail;
}

std::optional<Range> FindTemperature(const std::string& text, const std::regex& pattern) {
    std::smatch match;
    auto begin = text.cbegin();
    while (std::regex_search(begin, text.cend(), match, pattern)) {
        const std::string bound = match[1].str();
        const std::string unit = match[4].str();
        // strtod, unlike stod, does not throw on absurdly long digit runs (it saturates).
        const double first = std::strtod(match[2].str().c_str(), nullptr);
        std::optional<double> low = ToCelsius(first, unit);
        std::optional<double> high = low;
        if (match[3].matched) high = ToCelsius(std::strtod(match[3].str().c_str(), nullptr), unit);
        if (low && high) {
            Range range;
            if (*low > *high) std::swap(low, high);
            if (bound == ">" || bound == ">=" || bound == "above" || bound == "over" ||
                bound == "greater than") {
                range.min = low;
            } else if (bound == "<" || bound == "<=" || bound == "below" || bound == "less than" ||
                       bound == "up to") {
                range.max = high;
            } else {
                range.min = low;
                range.max = high;
            }
            return range;
        }
        begin = match[0].second;
    }
    return std::nullopt;
}

const std::regex& MeltingPattern() {
    static const std::regex kPattern(
        R"((?:\bm\.?\s?p\.?(?![a-z])|\bmpt\b|melting\s(?:point|pt\.?|range|temperature)|)"
        R"(\bmelts?\sat|\bmelted\sat|\bmelting\sat|\bfusion\spoint))" +
            TemperatureTail(),
        std::regex::ECMAScript | std::regex::optimize);
    return kPattern;
}

const std::regex& BoilingPattern() {
    static const std::regex kPattern(
        R"((?:\bb\.?\s?p\.?(?![a-z])|\bbpt\b|boiling\s(?:point|pt\.?|range|temperature)|)"
        R"(\bboils\sat|\bboiled\sat|\bboiling\sat|\bdistill?s\sat|\bdistill?ed\sat))" +
            TemperatureTail(),
        std::regex::ECMAScript | std::regex::optimize);
    return kPattern;
}

const std::regex& DecompositionPattern() {
    static const std::regex kPattern(
        R"((?:\bdecomposes|\bdecomposition(?:\stemperature)?|\bdec\.?(?![a-z])))" +
            TemperatureTail(),
        std::regex::ECMAScript | std::regex::optimize);
    return kPattern;
}

// ---- solubility ----

struct SolubilityEntry {
    std::string solvent;
    std::string qualitative;
};

std::string QualitativeFor(const std::string& phrase) {
    if (phrase.find("immiscible") != std::string::npos || phrase.find("not ") == 0 ||
        phrase.find("insoluble") != std::string::npos) {
        return "insoluble";
    }
    if (phrase.find("miscible") != std::string::npos) return "miscible";
    if (phrase.find("slightly") != std::string::npos || phrase.find("sparingly") == 0 ||
        phrase.find("poorly") == 0 || phrase.find("partially") == 0 || phrase.find("partly") == 0 ||
        phrase.find("moderately") == 0) {
        return "slightly soluble";
    }
    return "soluble";
}

std::string CanonicalSolvent(std::string solvent) {
    static const std::array<std::pair<std::string_view, std::string_view>, 16> kAliases = {{
        {"h2o", "water"},
        {"etoh", "ethanol"},
        {"meoh", "methanol"},
        {"dcm", "dichloromethane"},
        {"ch2cl2", "dichloromethane"},
        {"etoac", "ethyl acetate"},
        {"et2o", "diethyl ether"},
        {"chcl3", "chloroform"},
        {"dmso", "DMSO"},
        {"dmf", "DMF"},
        {"thf", "THF"},
        {"mecn", "acetonitrile"},
        {"acn", "acetonitrile"},
        {"ipa", "isopropanol"},
        {"alcohol", "ethanol"},
        {"ether", "diethyl ether"},
    }};
    for (const auto& [alias, canonical] : kAliases) {
        if (solvent == alias) return std::string(canonical);
    }
    return solvent;
}

std::string Trim(std::string text) {
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
    text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
    return text;
}

// "water at 20 deg c" -> "water"; "most organic solvents" -> "organic solvents".
std::optional<std::string> CleanSolvent(std::string item) {
    for (const std::string_view cut :
         {" at ", " when ", " on ", " upon ", " above ", " below ", " in ", " if ", " to give",
          " forming", " giving", " but", " whereas", " while", " (", " -"}) {
        if (const size_t pos = item.find(cut); pos != std::string::npos) item.resize(pos);
    }
    item = Trim(item);
    for (const std::string_view prefix : {"all proportions with ", "the ", "most ", "many ",
                                          "common ", "both ", "either ", "neither ", "a "}) {
        if (item.rfind(prefix, 0) == 0) item = Trim(item.substr(prefix.size()));
    }
    if (item.empty() || item.size() > 40) return std::nullopt;
    if (!std::isalnum(static_cast<unsigned char>(item.front()))) return std::nullopt;
    int words = 1;
    for (const char c : item) {
        if (c == ' ') ++words;
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-' || c == '\'' ||
              c == ',')) {
            return std::nullopt;
        }
    }
    if (words > 3) return std::nullopt;
    static constexpr std::array<std::string_view, 6> kNotSolvents = {"it",          "them", "all",
                                                                     "proportions", "this", "that"};
    for (const auto word : kNotSolvents) {
        if (item == word) return std::nullopt;
    }
    return CanonicalSolvent(item);
}

std::vector<SolubilityEntry> FindSolubility(const std::string& text) {
    static const std::regex kKeyword(
        R"(\b(very soluble|freely soluble|readily soluble|highly soluble|easily soluble|)"
        R"(sparingly soluble|slightly soluble|poorly soluble|partially soluble|partly soluble|)"
        R"(moderately soluble|practically insoluble|insoluble|not soluble|immiscible|not miscible|)"
        R"(miscible|soluble|dissolves readily|dissolves)\s{1,3}(?:in|with)\s{1,3})",
        std::regex::ECMAScript | std::regex::optimize);
    static const std::regex kPrefixed(
        R"(\b(water|alcohol|ethanol|fat|oil|lipid)[- ](soluble|insoluble|miscible)\b)",
        std::regex::ECMAScript | std::regex::optimize);
    static const std::regex kSeparator(R"(\s{0,3}(?:,|\band\b|\bor\b|&|/|\bnor\b)\s{0,3})",
                                       std::regex::ECMAScript | std::regex::optimize);

    if (!ContainsAny(text, {"solub", "miscib", "dissolv"})) return {};
    struct Hit {
        size_t position;
        size_t end;
        std::string phrase;
    };
    std::vector<Hit> hits;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kKeyword);
         it != std::sregex_iterator(); ++it) {
        hits.push_back({static_cast<size_t>(it->position(0)),
                        static_cast<size_t>(it->position(0) + it->length(0)), (*it)[1].str()});
    }

    std::vector<SolubilityEntry> entries;
    auto add = [&entries](std::string solvent, std::string qualitative) {
        for (const auto& entry : entries) {
            if (entry.solvent == solvent) return;
        }
        entries.push_back({std::move(solvent), std::move(qualitative)});
    };
    for (size_t i = 0; i < hits.size(); ++i) {
        size_t stop = i + 1 < hits.size() ? hits[i + 1].position : text.size();
        const size_t punctuation = text.find_first_of(".;:()[]\n!?", hits[i].end);
        stop = std::min(stop, punctuation == std::string::npos ? text.size() : punctuation);
        // A clause such as "..., insoluble in hexane" may begin with a comma before the next hit.
        std::string segment = text.substr(hits[i].end, stop - hits[i].end);
        const std::string qualitative = QualitativeFor(hits[i].phrase);
        for (auto part = std::sregex_token_iterator(segment.begin(), segment.end(), kSeparator, -1);
             part != std::sregex_token_iterator(); ++part) {
            if (auto solvent = CleanSolvent(part->str())) add(std::move(*solvent), qualitative);
        }
    }
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kPrefixed);
         it != std::sregex_iterator(); ++it) {
        add(CanonicalSolvent((*it)[1].str()), QualitativeFor((*it)[2].str()));
    }
    return entries;
}

// ---- colour, state, hazards ----

std::optional<std::string> FindColor(const std::string& text) {
    static const std::regex kColor(
        R"(\b((?:pale|light|dark|deep|bright|off|faint|intense|very pale)[- ])?)"
        R"((colou?rless|white|yellow(?:ish)?|orange|red(?:dish)?|pink(?:ish)?|purple|violet|)"
        R"(blue|green(?:ish)?|brown(?:ish)?|black|gr[ae]y(?:ish)?|beige|amber|cream|straw|)"
        R"(golden|crimson|scarlet|tan)\b)",
        std::regex::ECMAScript | std::regex::optimize);
    std::smatch match;
    if (!std::regex_search(text, match, kColor)) return std::nullopt;
    std::string color = match[0].str();
    if (const size_t pos = color.find("colour"); pos != std::string::npos) {
        color.replace(pos, 6, "color");
    }
    return color;
}

std::string PrecedingWord(const std::string& text, size_t position) {
    size_t end = position;
    while (end > 0 && text[end - 1] == ' ') --end;
    size_t start = end;
    while (start > 0 && std::isalnum(static_cast<unsigned char>(text[start - 1]))) --start;
    return text.substr(start, end - start);
}

std::optional<std::string> FindState(const std::string& text) {
    struct StatePattern {
        std::regex pattern;
        const char* state;
        std::initializer_list<std::string_view> keywords;
    };
    static const std::array<StatePattern, 3> kStates = {{
        {std::regex(R"(\b(?:solid(?![- ]phase| support| state)|powder|powdery|crystals?|)"
                    R"(crystalline|needles|plates|prisms|flakes|granules|precipitate|amorphous)\b)",
                    std::regex::ECMAScript | std::regex::optimize),
         "solid",
         {"solid", "powder", "crystal", "needles", "plates", "prisms", "flakes", "granules",
          "precipitate", "amorphous"}},
        {std::regex(R"(\b(?:liquid(?![- ](?:nitrogen|chromatography|liquid|phase|)"
                    R"(scintillation|ammonia|helium))|oil(?!\s?(?:bath|pump))|oily|syrup|)"
                    R"(viscous)\b)",
                    std::regex::ECMAScript | std::regex::optimize),
         "liquid",
         {"liquid", "oil", "syrup", "viscous"}},
        {std::regex(R"(\b(?:gas(?!\s?(?:chromatograph|evolution|evolved|cylinder|phase|inlet|)"
                    R"(line|flow|bubbler|outlet|-phase))|gaseous)\b)",
                    std::regex::ECMAScript | std::regex::optimize),
         "gas",
         {"gas"}},
    }};
    static constexpr std::array<std::string_view, 9> kCarrierWords = {
        "nitrogen", "argon", "inert", "carrier", "helium", "n2", "ar", "evolves", "evolved"};

    size_t best_position = std::string::npos;
    const char* best = nullptr;
    for (const auto& [pattern, state, keywords] : kStates) {
        if (!ContainsAny(text, keywords)) continue;
        for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern);
             it != std::sregex_iterator(); ++it) {
            const size_t position = static_cast<size_t>(it->position(0));
            if (std::string_view(state) == "gas") {
                const std::string before = PrecedingWord(text, position);
                if (std::find(kCarrierWords.begin(), kCarrierWords.end(), before) !=
                    kCarrierWords.end()) {
                    continue;
                }
            }
            if (position < best_position) {
                best_position = position;
                best = state;
            }
            break;
        }
    }
    if (best == nullptr) return std::nullopt;
    return std::string(best);
}

bool Negated(const std::string& text, size_t position) {
    const std::string before =
        text.substr(position >= 6 ? position - 6 : 0, position >= 6 ? 6 : position);
    return before.size() >= 4 &&
           (before.compare(before.size() - 4, 4, "non-") == 0 ||
            before.compare(before.size() - 4, 4, "not ") == 0 ||
            before.compare(before.size() - 4, 4, "non ") == 0 ||
            (before.size() >= 3 && before.compare(before.size() - 3, 3, "no ") == 0));
}

std::vector<std::string> FindHazards(const std::string& text) {
    struct HazardPattern {
        std::regex pattern;
        const char* hazard;
        std::initializer_list<std::string_view> keywords;
    };
    static const std::array<HazardPattern, 17> kHazards = {{
        {std::regex(R"(\b(?:in)?flammable\b)"), "flammable", {"flammable"}},
        {std::regex(R"(\b(?:toxic|poisonous|poison|fatal if (?:swallowed|inhaled)))"),
         "toxic",
         {"toxic", "poison", "fatal"}},
        {std::regex(R"(\b(?:corrosive|causes (?:severe )?(?:skin )?burns))"),
         "corrosive",
         {"corrosive", "burns"}},
        {std::regex(R"(\b(?:irritant|irritating|irritation|irritates)\b)"), "irritant", {"irrita"}},
        {std::regex(R"(\bharmful\b)"), "harmful", {"harmful"}},
        {std::regex(R"(\b(?:oxidi[sz]er|oxidi[sz]ing agent|strong oxidant)\b)"),
         "oxidizer",
         {"oxidi", "oxidant"}},
        {std::regex(R"(\b(?:explosive|explodes|shock[- ]sensitive)\b)"),
         "explosive",
         {"explo", "shock"}},
        {std::regex(R"(\bcarcinogen(?:ic)?\b)"), "carcinogenic", {"carcinogen"}},
        {std::regex(R"(\bmutagen(?:ic)?\b)"), "mutagenic", {"mutagen"}},
        {std::regex(R"(\b(?:teratogen(?:ic)?|reproductive toxi))"),
         "reproductive toxicity",
         {"teratogen", "reproductive"}},
        {std::regex(R"(\b(?:lachrymat(?:or|ory)|lacrimat(?:or|ory))\b)"),
         "lachrymator",
         {"lachrymat", "lacrimat"}},
        {std::regex(R"(\bpyrophoric\b)"), "pyrophoric", {"pyrophoric"}},
        {std::regex(R"(\b(?:water[- ]reactive|reacts violently with water))"),
         "water-reactive",
         {"reactive", "violently"}},
        {std::regex(R"(\bsensiti[sz](?:er|ation|ing)\b)"), "sensitizer", {"sensiti"}},
        {std::regex(R"(\bair[- ]sensitive\b)"), "air-sensitive", {"sensitive"}},
        {std::regex(R"(\b(?:stench|malodorous|foul[- ]smelling)\b)"),
         "stench",
         {"stench", "malodor", "smelling"}},
        {std::regex(
             R"(\b(?:toxic to aquatic|aquatic toxicity|environmental hazard|marine pollutant))"),
         "environmental hazard",
         {"aquatic", "environmental", "pollutant"}},
    }};
    static const std::regex kHCode(R"(\bh([2-4]\d\d)\b)");

    std::vector<std::pair<size_t, std::string>> found;
    for (const auto& [pattern, hazard, keywords] : kHazards) {
        if (!ContainsAny(text, keywords)) continue;
        for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern);
             it != std::sregex_iterator(); ++it) {
            const size_t position = static_cast<size_t>(it->position(0));
            if (Negated(text, position)) continue;
            found.emplace_back(position, hazard);
            break;
        }
    }
    for (auto it = ContainsAny(text, {"h2", "h3", "h4"})
                       ? std::sregex_iterator(text.begin(), text.end(), kHCode)
                       : std::sregex_iterator();
         it != std::sregex_iterator(); ++it) {
        found.emplace_back(static_cast<size_t>(it->position(0)), "H" + (*it)[1].str());
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> hazards;
    for (auto& [position, hazard] : found) {
        if (std::find(hazards.begin(), hazards.end(), hazard) == hazards.end()) {
            hazards.push_back(std::move(hazard));
        }
    }
    return hazards;
}

std::string FormatNumber(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.1f", value);
    std::string text(buffer);
    if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0)
        text.resize(text.size() - 2);
    return text;
}

std::string FormatRange(const Range& range) {
    if (range.min && range.max) {
        if (*range.min == *range.max) return FormatNumber(*range.min) + " °C";
        return FormatNumber(*range.min) + "–" + FormatNumber(*range.max) + " °C";
    }
    if (range.min) return "above " + FormatNumber(*range.min) + " °C";
    return "below " + FormatNumber(*range.max) + " °C";
}

std::string JoinSolvents(const std::vector<SolubilityEntry>& entries, const std::string& kind) {
    std::string out;
    for (const auto& entry : entries) {
        if (entry.qualitative != kind) continue;
        if (!out.empty()) out += ", ";
        out += entry.solvent;
    }
    return out;
}

}  // namespace

nlohmann::json ExtractFromNotes(std::string_view name, std::string_view notes) {
    const std::string text = Normalize(notes.substr(0, std::min(notes.size(), kMaxNotes)));

    Range melting;
    if (ContainsAny(text, {"mp", "m.p", "m. p", "m p", "melt", "fusion"})) {
        melting = FindTemperature(text, MeltingPattern()).value_or(Range{});
    }
    Range boiling;
    if (ContainsAny(text, {"bp", "b.p", "b. p", "b p", "boil", "distil"})) {
        boiling = FindTemperature(text, BoilingPattern()).value_or(Range{});
    }
    const std::optional<Range> decomposition =
        ContainsAny(text, {"dec"}) ? FindTemperature(text, DecompositionPattern()) : std::nullopt;
    // "decomposes at 250 °C" without a melting point: the usual "m.p. 250 °C (dec.)".
    if (!melting.Found() && decomposition) melting = *decomposition;
    const std::vector<SolubilityEntry> solubility = FindSolubility(text);
    const std::optional<std::string> color = FindColor(text);
    std::optional<std::string> state = FindState(text);
    bool state_inferred = false;
    if (!state) {
        const std::optional<double> mp = melting.max ? melting.max : melting.min;
        const std::optional<double> bp = boiling.min ? boiling.min : boiling.max;
        if (bp && *bp < kRoomTemperatureC) {
            state = "gas";
        } else if (mp && *mp > kRoomTemperatureC) {
            state = "solid";
        } else if (mp && *mp < kRoomTemperatureC) {
            state = "liquid";
        }
        state_inferred = state.has_value();
    }
    const std::vector<std::string> hazards = FindHazards(text);

    nlohmann::json solubility_json = nlohmann::json::array();
    for (const auto& entry : solubility) {
        solubility_json.push_back({{"solvent", entry.solvent}, {"qualitative", entry.qualitative}});
    }

    std::vector<std::string> facts;
    if (color || state) {
        std::string description = color.value_or("");
        if (state) description += (description.empty() ? "" : " ") + *state;
        if (state_inferred) description += " (inferred from the melting/boiling points)";
        facts.push_back(description);
    }
    if (melting.Found()) facts.push_back("melting point " + FormatRange(melting));
    if (decomposition) facts.push_back("decomposes at " + FormatRange(*decomposition));
    if (boiling.Found()) facts.push_back("boiling point " + FormatRange(boiling));
    for (const std::string kind : {"soluble", "slightly soluble", "miscible", "insoluble"}) {
        const std::string solvents = JoinSolvents(solubility, kind);
        if (!solvents.empty())
            facts.push_back(kind + (kind == "miscible" ? " with " : " in ") + solvents);
    }
    if (!hazards.empty()) {
        std::string list;
        for (const auto& hazard : hazards) list += (list.empty() ? "" : ", ") + hazard;
        facts.push_back("hazards: " + list);
    }

    // The name is the record's own text, not necessarily valid UTF-8: the summary must be.
    const std::string subject = name.empty() ? std::string("the compound") : StorableText(name);
    std::string summary;
    if (facts.empty()) {
        summary = "Rule-based extraction found no physical properties in the lab notes for " +
                  subject + ".";
    } else {
        summary = "Rule-based extraction from lab notes for " + subject + ": ";
        for (size_t i = 0; i < facts.size(); ++i) summary += (i == 0 ? "" : "; ") + facts[i];
        summary += ".";
    }
    summary = TruncateUtf8(summary, 1900);

    return {{"physical_state", state.value_or("unknown")},
            {"color", color ? nlohmann::json(*color) : nlohmann::json(nullptr)},
            {"melting_point_c", RangeJson(melting)},
            {"boiling_point_c", RangeJson(boiling)},
            {"solubility", std::move(solubility_json)},
            {"hazards", hazards},
            {"summary", summary},
            {"confidence", facts.empty() ? kFallbackNothingFoundConfidence : kFallbackConfidence}};
}

}  // namespace tributary::llm
