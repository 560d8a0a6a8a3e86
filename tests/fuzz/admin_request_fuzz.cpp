// Admin request bodies → query::ParseCreateKeyBody and ParseRotateBody (POST
// /api/v1/admin/keys and /api/v1/admin/keys/{id}/rotate).
//
// Input: one selector byte (even: create, odd: rotate), then the body.
//
// Properties: never throws; a refusal is a 400 (403 for the operator scope) with a code and
// details naming a field; an accepted key spec passes storage::ValidateKeySpec (what the key store
// checks again before writing) and an accepted grace is within 0..kMaxRotationGrace.

#include <exception>
#include <variant>

#include "storage/key_repository.hpp"
#include "query/admin_routes.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace tributary::fuzz {
namespace {

void CheckError(const query::AdminRequestError& error) {
    Check(error.status == 400 || error.status == 403, "admin bodies are refused with 400 or 403",
          std::to_string(error.status));
    Check(!error.code.empty() && !error.message.empty(), "an error has a code and a message");
    Check(error.details.is_array() && !error.details.empty(), "an error lists its problems");
    for (const auto& detail : error.details) {
        // The name may be empty: {"": 1} is refused as the unknown field "".
        Check(detail.contains("field") && detail["field"].is_string() &&
                  detail.contains("reason") && detail["reason"].is_string(),
              "every problem names a field and a reason", DumpLikeResponse(error.details));
    }
    (void)DumpLikeResponse(error.details);
}

}  // namespace
}  // namespace tributary::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tributary;
    using namespace tributary::fuzz;
    if (size == 0) return 0;
    const std::string_view body = AsText(data + 1, size - 1);
    const common::SystemTime now{std::chrono::seconds(1'790'000'000)};
    try {
        if (data[0] % 2 == 0) {
            const auto parsed = query::ParseCreateKeyBody(body, now);
            if (const auto* error = std::get_if<query::AdminRequestError>(&parsed)) {
                CheckError(*error);
            } else {
                const auto& spec = std::get<storage::KeySpec>(parsed);
                const auto problem = storage::ValidateKeySpec(spec, now);
                Check(!problem, "an accepted key spec passes ValidateKeySpec",
                      problem ? problem->field + " " + problem->message : "");
            }
        } else {
            const auto parsed = query::ParseRotateBody(body);
            if (const auto* error = std::get_if<query::AdminRequestError>(&parsed)) {
                CheckError(*error);
            } else {
                const auto grace = std::get<std::chrono::seconds>(parsed);
                Check(grace.count() >= 0 && grace <= storage::kMaxRotationGrace,
                      "an accepted grace is within its bounds");
            }
        }
    } catch (const std::exception& e) {
        Fail("an admin body parser threw", e.what());
    }
    return 0;
}
