// Researchers' free-text lab notes → llm::ExtractFromNotes, the rule-based extraction that
// stands in for the LLM (regex scans over text anyone with an ingest key writes).
//
// Input: the molecule name up to the first '\n', the notes after it.
//
// Properties: never throws; the record always passes ValidateProperties and serializes
// strictly (it is stored as jsonb).

#include <exception>

#include "llm_client/fallback_extractor.hpp"
#include "llm_client/properties_schema.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tributary;
    using namespace tributary::fuzz;
    const std::string_view input = AsText(data, size);
    const size_t newline = input.find('\n');
    const std::string_view name = input.substr(0, newline);
    const std::string_view notes =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    try {
        const nlohmann::json record = llm::ExtractFromNotes(name, notes);
        const auto problems = llm::ValidateProperties(record);
        Check(problems.empty(), "the fallback record passes ValidateProperties",
              problems.empty() ? "" : problems.front() + "\n" + DumpLikeResponse(record));
        (void)record.dump();
    } catch (const std::exception& e) {
        Fail("ExtractFromNotes threw", e.what());
    }
    return 0;
}
