#pragma once

#include <string>

namespace tributary::common {

// Random RFC 4122 version-4 UUID in canonical lowercase form. Thread-safe (thread-local RNG).
std::string NewUuid();

}  // namespace tributary::common
