#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace tributary::common {

enum class LogFormat { kText, kJson };

struct LogConfig {
    spdlog::level::level_enum level = spdlog::level::info;
    LogFormat format = LogFormat::kText;
};

// Installs the process-wide sink and pattern. Call once from main() before any logging.
// Thread-safe afterwards: spdlog loggers are thread-safe (the _mt sinks are used).
void InitLogging(const LogConfig& config);

// Returns the named per-module logger ("publisher", "kafka", "pg", ...), creating it on first
// use with the sink and level installed by InitLogging. Cheap to call; cache the result on hot
// paths.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& name);

// Escapes a string for embedding into a JSON log line (used by the json pattern).
std::string JsonEscape(std::string_view text);

}  // namespace tributary::common
