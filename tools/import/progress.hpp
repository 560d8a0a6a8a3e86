#pragma once

#include "tools/import/arguments.hpp"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace tributary::tools::import {

struct ProgressSnapshot {
    int64_t done_bytes = 0;   // acknowledged position in the file
    int64_t start_bytes = 0;  // where this run started (resumed imports start later)
    int64_t total_bytes = 0;
    int64_t events = 0;       // accepted + rejected in this run
    double elapsed_seconds = 0;
};

// "  45.2% [#########...........] 452.1 MB / 1.0 GB  123456 events  98765 events/s  ETA 0:05"
// fitted to `width` columns (the bar takes what is left). Pure.
std::string FormatProgressBar(const ProgressSnapshot& snapshot, int width);
// "progress: 45.2% (452.1 MB of 1.0 GB), 123456 events, 98765 events/s, ETA 5s". Pure.
std::string FormatProgressLine(const ProgressSnapshot& snapshot);
// "1.5 KB", "452.1 MB". Pure.
std::string FormatBytes(int64_t bytes);
// Seconds remaining at this run's byte rate; negative when unknown. Pure.
double EtaSeconds(const ProgressSnapshot& snapshot);

// Draws the progress on stderr: a bar redrawn in place on a terminal, a plain line every
// `plain_interval` otherwise, nothing for kNone. Not thread-safe (the main thread only).
class ProgressReporter {
public:
    ProgressReporter(ProgressMode mode, std::ostream& out, bool terminal,
                     std::chrono::seconds plain_interval = std::chrono::seconds(5));
    void Update(const ProgressSnapshot& snapshot);
    // Clears the bar line (before the summary).
    void Finish(const ProgressSnapshot& snapshot);

private:
    bool bar_;
    bool plain_;
    std::ostream& out_;
    std::chrono::seconds plain_interval_;
    std::chrono::steady_clock::time_point last_plain_{};
    bool drawn_ = false;
};

}  // namespace tributary::tools::import
