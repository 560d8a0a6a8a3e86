#include "common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

namespace tributary::common {
namespace {

std::mutex g_mutex;
LogConfig g_config;
std::shared_ptr<spdlog::sinks::sink> g_sink;

// Emits the message payload JSON-escaped, so a message with quotes or newlines still yields one
// valid JSON object per line.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const std::string escaped =
            JsonEscape(std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(escaped.data(), escaped.data() + escaped.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JsonMessageFlag>();
    }
};

std::unique_ptr<spdlog::formatter> MakeFormatter(LogFormat format) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    if (format == LogFormat::kJson) {
        formatter->add_flag<JsonMessageFlag>('*').set_pattern(
            R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","thread":%t,"msg":"%*"})");
    } else {
        formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v");
    }
    return formatter;
}

std::shared_ptr<spdlog::sinks::sink> SinkLocked() {
    if (!g_sink) {
        g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        g_sink->set_formatter(MakeFormatter(g_config.format));
    }
    return g_sink;
}

}  // namespace

void InitLogging(const LogConfig& config) {
    std::lock_guard lock(g_mutex);
    g_config = config;
    SinkLocked()->set_formatter(MakeFormatter(config.format));
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
        logger->set_level(config.level);
    });
}

std::shared_ptr<spdlog::logger> GetLogger(const std::string& name) {
    if (auto existing = spdlog::get(name)) return existing;
    std::lock_guard lock(g_mutex);
    if (auto existing = spdlog::get(name)) return existing;
    auto logger = std::make_shared<spdlog::logger>(name, SinkLocked());
    logger->set_level(g_config.level);
    logger->flush_on(spdlog::level::warn);
    spdlog::register_logger(logger);
    return logger;
}

std::string JsonEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (const char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    static constexpr char kHex[] = "0123456789abcdef";
                    out += "\\u00";
                    out += kHex[(c >> 4) & 0xF];
                    out += kHex[c & 0xF];
                } else {
                    out += c;
                }
        }
    }
    return out;
}

}  // namespace tributary::common
