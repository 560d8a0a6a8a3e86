#pragma once

// What every fuzz target uses to state a property: a violation prints what was expected and
// aborts, so that libFuzzer saves the input as a crash reproducer.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tributary::fuzz {

[[noreturn]] inline void Fail(std::string_view what, std::string_view detail = {}) {
    std::fprintf(stderr, "\n==== fuzz property violated: %.*s\n%.*s\n",
                 static_cast<int>(what.size()), what.data(), static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

inline void Check(bool ok, std::string_view what, std::string_view detail = {}) {
    if (!ok) Fail(what, detail);
}

// The input as text (the bytes as given, NULs and invalid UTF-8 included).
inline std::string_view AsText(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// What a response carrying `body` would send: SetJson's serialization (invalid UTF-8
// replaced), which must never throw.
inline std::string DumpLikeResponse(const nlohmann::json& body) {
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tributary::fuzz
