// Authorization header values → common::auth::ParseAuthorization, the first thing every
// request with a credential reaches (publisher and query API).
//
// Properties: never throws; no header is kNone only when it is blank; a malformed one says what
// is wrong; a Bearer key is the token as sent; a Basic credential yields its user name. The key
// shape check and hashing accept whatever the parser yields.

#include <exception>

#include "common/auth/api_key.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tributary::common::auth;
    using namespace tributary::fuzz;
    const std::string_view header = AsText(data, size);
    try {
        const Credential credential = ParseAuthorization(header);
        const bool blank = header.find_first_not_of(" \t") == std::string_view::npos;
        Check((credential.kind == Credential::Kind::kNone) == blank,
              "only a blank header carries no credential", header);
        switch (credential.kind) {
            case Credential::Kind::kNone:
                break;
            case Credential::Kind::kMalformed:
                Check(!credential.problem.empty() && credential.key.empty(),
                      "a malformed credential says why and yields no key", header);
                break;
            case Credential::Kind::kKey:
                Check(!credential.key.empty(), "a credential yields a non-empty key", header);
                Check(credential.key.size() <= header.size(), "the key comes from the header",
                      header);
                (void)IsWellFormedApiKey(credential.key);
                Check(HashApiKey(credential.key).size() == 64, "hashes are 64 hex digits");
                (void)KeyLastFour(credential.key);
                break;
        }
    } catch (const std::exception& e) {
        Fail("ParseAuthorization threw", e.what());
    }
    return 0;
}
