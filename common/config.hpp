#pragma once

#include "common/logging.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tributary::common {

// Thrown when configuration is invalid. what() lists every problem found, one per line, each
// naming the variable, the value given and what is expected.
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(const std::vector<std::string>& problems);
    const std::vector<std::string>& Problems() const { return problems_; }

private:
    std::vector<std::string> problems_;
};

// Reads typed settings from the environment (or from an explicit map in tests), collecting
// every problem instead of stopping at the first, so an operator fixes them all in one go.
// Not thread-safe; used once at start-up.
class EnvReader {
public:
    // Reads the process environment.
    EnvReader();
    // Reads the given variables only (tests).
    explicit EnvReader(std::map<std::string, std::string> values);

    std::string String(const std::string& name, const std::string& fallback);
    // A required, non-empty string; records a problem when absent.
    std::string RequiredString(const std::string& name);
    int64_t Int(const std::string& name, int64_t fallback, int64_t min, int64_t max);
    double Double(const std::string& name, double fallback, double min, double max);
    bool Bool(const std::string& name, bool fallback);
    // One of `allowed` (case-insensitive); returns the allowed spelling.
    std::string Choice(const std::string& name, const std::string& fallback,
                       const std::vector<std::string>& allowed);
    // A TCP port 1..65535.
    int Port(const std::string& name, int fallback) {
        return static_cast<int>(Int(name, fallback, 1, 65535));
    }

    // Records a problem found by the caller's own cross-field checks.
    void AddProblem(const std::string& problem) { problems_.push_back(problem); }
    // Throws ConfigError if any problem was recorded.
    void ThrowIfInvalid() const;

private:
    std::optional<std::string> Lookup(const std::string& name) const;

    std::optional<std::map<std::string, std::string>> values_;
    std::vector<std::string> problems_;
};

// LOG_LEVEL (trace|debug|info|warn|error) and LOG_FORMAT (json|text).
LogConfig ReadLogConfig(EnvReader& env);

// Hides the password of a libpq URI or redis URL for logging: `postgresql://u:***@h/db`.
std::string RedactUrl(const std::string& url);

}  // namespace tributary::common
