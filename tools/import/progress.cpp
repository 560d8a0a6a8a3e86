#include "tools/import/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tributary::tools::import {
namespace {

std::string Fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

std::string Clock(double seconds) {
    if (seconds < 0 || !std::isfinite(seconds)) return "--:--";
    const auto total = static_cast<int64_t>(std::llround(seconds));
    char buffer[32];
    if (total >= 3600) {
        std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                      static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
    } else {
        std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(total / 60),
                      static_cast<long long>(total % 60));
    }
    return buffer;
}

double Percent(const ProgressSnapshot& s) {
    if (s.total_bytes <= 0) return 100.0;
    return std::clamp(100.0 * static_cast<double>(s.done_bytes) / static_cast<double>(s.total_bytes), 0.0, 100.0);
}

int64_t Rate(const ProgressSnapshot& s) {
    if (s.elapsed_seconds <= 0) return 0;
    return static_cast<int64_t>(static_cast<double>(s.events) / s.elapsed_seconds);
}

int TerminalWidth() {
    winsize size{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return size.ws_col;
    return 80;
}

}  // namespace

std::string FormatBytes(int64_t bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double value = static_cast<double>(bytes);
    size_t unit = 0;
    while (value >= 1000 && unit + 1 < std::size(units)) {
        value /= 1000;
        ++unit;
    }
    return unit == 0 ? std::to_string(bytes) + " B" : Fixed(value, 1) + " " + units[unit];
}

double EtaSeconds(const ProgressSnapshot& s) {
    const double done = static_cast<double>(s.done_bytes - s.start_bytes);
    if (done <= 0 || s.elapsed_seconds <= 0) return -1;
    const double rate = done / s.elapsed_seconds;
    return static_cast<double>(std::max<int64_t>(0, s.total_bytes - s.done_bytes)) / rate;
}

std::string FormatProgressLine(const ProgressSnapshot& s) {
    const double eta = EtaSeconds(s);
    return "progress: " + Fixed(Percent(s), 1) + "% (" + FormatBytes(s.done_bytes) + " of " +
           FormatBytes(s.total_bytes) + "), " + std::to_string(s.events) + " events, " +
           std::to_string(Rate(s)) + " events/s, ETA " +
           (eta < 0 ? std::string("unknown") : Clock(eta));
}

std::string FormatProgressBar(const ProgressSnapshot& s, int width) {
    const std::string head = Fixed(Percent(s), 1) + "% ";
    std::string tail(" ");
    tail.append(FormatBytes(s.done_bytes)).append(" / ").append(FormatBytes(s.total_bytes));
    tail.append("  ").append(std::to_string(s.events)).append(" events  ");
    tail.append(std::to_string(Rate(s))).append(" events/s  ETA ").append(Clock(EtaSeconds(s)));
    const int room = width - static_cast<int>(head.size() + tail.size()) - 3;
    if (room < 5) return head + tail.substr(1);
    const int filled = static_cast<int>(std::floor(Percent(s) / 100.0 * room));
    return head + "[" + std::string(static_cast<size_t>(filled), '#') +
           std::string(static_cast<size_t>(room - filled), '.') + "]" + tail;
}

ProgressReporter::ProgressReporter(ProgressMode mode, std::ostream& out, bool terminal,
                                   std::chrono::seconds plain_interval)
    : bar_(mode == ProgressMode::kBar || (mode == ProgressMode::kAuto && terminal)),
      plain_(mode == ProgressMode::kPlain || (mode == ProgressMode::kAuto && !terminal)),
      out_(out),
      plain_interval_(plain_interval),
      last_plain_(std::chrono::steady_clock::now()) {}

void ProgressReporter::Update(const ProgressSnapshot& snapshot) {
    if (bar_) {
        out_ << "\r" << FormatProgressBar(snapshot, TerminalWidth() - 1) << "\x1b[K" << std::flush;
        drawn_ = true;
    } else if (plain_) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_plain_ >= plain_interval_) {
            last_plain_ = now;
            out_ << "tributary-import: " << FormatProgressLine(snapshot) << std::endl;
        }
    }
}

void ProgressReporter::Finish(const ProgressSnapshot& snapshot) {
    if (bar_) {
        out_ << "\r" << FormatProgressBar(snapshot, TerminalWidth() - 1) << "\x1b[K\n" << std::flush;
    }
    drawn_ = false;
}

}  // namespace tributary::tools::import
