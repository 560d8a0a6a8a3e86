#include "common/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

extern char** environ;

namespace tributary::common {
namespace {

std::string Join(const std::vector<std::string>& lines) {
    std::string out = "invalid configuration:";
    for (const auto& line : lines) out += "\n  - " + line;
    return out;
}

std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

ConfigError::ConfigError(const std::vector<std::string>& problems)
    : std::runtime_error(Join(problems)), problems_(problems) {}

EnvReader::EnvReader() = default;

EnvReader::EnvReader(std::map<std::string, std::string> values) : values_(std::move(values)) {}

std::optional<std::string> EnvReader::Lookup(const std::string& name) const {
    if (values_) {
        auto it = values_->find(name);
        if (it == values_->end() || it->second.empty()) return std::nullopt;
        return it->second;
    }
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
}

std::string EnvReader::String(const std::string& name, const std::string& fallback) {
    return Lookup(name).value_or(fallback);
}

std::string EnvReader::RequiredString(const std::string& name) {
    auto value = Lookup(name);
    if (!value) {
        problems_.push_back(name + " is required but not set");
        return {};
    }
    return *value;
}

int64_t EnvReader::Int(const std::string& name, int64_t fallback, int64_t min, int64_t max) {
    auto value = Lookup(name);
    if (!value) return fallback;
    errno = 0;
    char* end = nullptr;
    const long long parsed = std::strtoll(value->c_str(), &end, 10);
    if (errno != 0 || end == value->c_str() || *end != '\0') {
        problems_.push_back(name + "='" + *value + "' is not an integer (expected " +
                            std::to_string(min) + ".." + std::to_string(max) + ")");
        return fallback;
    }
    if (parsed < min || parsed > max) {
        problems_.push_back(name + "=" + *value + " is out of range (expected " +
                            std::to_string(min) + ".." + std::to_string(max) + ")");
        return fallback;
    }
    return parsed;
}

double EnvReader::Double(const std::string& name, double fallback, double min, double max) {
    auto value = Lookup(name);
    if (!value) return fallback;
    errno = 0;
    char* end = nullptr;
    const double parsed = std::strtod(value->c_str(), &end);
    if (errno != 0 || end == value->c_str() || *end != '\0' || !std::isfinite(parsed)) {
        problems_.push_back(name + "='" + *value + "' is not a finite number");
        return fallback;
    }
    if (parsed < min || parsed > max) {
        problems_.push_back(name + "=" + *value + " is out of range (expected " +
                            std::to_string(min) + ".." + std::to_string(max) + ")");
        return fallback;
    }
    return parsed;
}

bool EnvReader::Bool(const std::string& name, bool fallback) {
    auto value = Lookup(name);
    if (!value) return fallback;
    const std::string lower = Lower(*value);
    if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") return true;
    if (lower == "0" || lower == "false" || lower == "no" || lower == "off") return false;
    problems_.push_back(name + "='" + *value + "' is not a boolean (expected true or false)");
    return fallback;
}

std::string EnvReader::Choice(const std::string& name, const std::string& fallback,
                              const std::vector<std::string>& allowed) {
    auto value = Lookup(name);
    if (!value) return fallback;
    const std::string lower = Lower(*value);
    for (const auto& option : allowed) {
        if (Lower(option) == lower) return option;
    }
    std::string expected;
    for (const auto& option : allowed) expected += (expected.empty() ? "" : "|") + option;
    problems_.push_back(name + "='" + *value + "' is not one of " + expected);
    return fallback;
}

void EnvReader::ThrowIfInvalid() const {
    if (!problems_.empty()) throw ConfigError(problems_);
}

LogConfig ReadLogConfig(EnvReader& env) {
    LogConfig config;
    const std::string level =
        env.Choice("LOG_LEVEL", "info", {"trace", "debug", "info", "warn", "error"});
    config.level = spdlog::level::from_str(level);
    config.format = env.Choice("LOG_FORMAT", "text", {"json", "text"}) == "json" ? LogFormat::kJson
                                                                                  : LogFormat::kText;
    return config;
}

namespace {

// Hides the value of a `password=` query parameter (libpq accepts it there too).
std::string RedactQueryPassword(std::string url) {
    const auto query = url.find('?');
    if (query == std::string::npos) return url;
    for (size_t pos = url.find("password=", query); pos != std::string::npos;
         pos = url.find("password=", pos + 1)) {
        const char before = url[pos - 1];
        if (before != '?' && before != '&') continue;
        const size_t value = pos + 9;
        const size_t end = url.find('&', value);
        url.replace(value, (end == std::string::npos ? url.size() : end) - value, "***");
    }
    return url;
}

}  // namespace

std::string RedactUrl(const std::string& url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return RedactQueryPassword(url);
    const auto at = url.find('@', scheme_end + 3);
    const auto colon = url.find(':', scheme_end + 3);
    if (at == std::string::npos || colon == std::string::npos || colon > at) {
        return RedactQueryPassword(url);
    }
    return RedactQueryPassword(url.substr(0, colon + 1) + "***" + url.substr(at));
}

}  // namespace tributary::common
