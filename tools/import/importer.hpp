#pragma once

#include "tools/import/arguments.hpp"
#include "tools/import/checkpoint.hpp"
#include "tools/import/sender.hpp"
#include "tools/import/stop_signal.hpp"

#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace tributary::tools::import {

struct ImportResult {
    enum class Outcome { kComplete, kInterrupted, kFailed };
    Outcome outcome = Outcome::kComplete;
    std::string message;        // kFailed: why; otherwise notes such as "already imported"
    int64_t sent = 0;           // events posted in this run
    int64_t accepted = 0;       // acknowledged by the publisher in this run
    int64_t rejected = 0;       // written to the rejects file in this run
    int64_t total_accepted = 0; // over every run of this import (from the checkpoint)
    int64_t total_rejected = 0;
    int64_t retries = 0;        // requests repeated after 429/503/transport errors
    double elapsed_seconds = 0;
    bool resumed = false;
    Position resumed_at;
    Position done;              // the checkpoint's position at the end
};

// Makes the connection of one in-flight slot (tests substitute their own).
using TransportFactory = std::function<std::unique_ptr<Transport>()>;

// Runs one import as `options` say: reads FILE from the checkpoint's position (unless
// --restart), maps each record, sends batches with `options.concurrency` requests in flight,
// writes refused records to the rejects file and the acknowledged position to the checkpoint
// (at most every 250 ms and at the end), draws the progress on `progress_out`. Returns when
// the file is done, `stop` was requested (then it waits for the requests in flight) or the
// publisher cannot be used. Throws nothing for bad input or servers (see ImportResult); only
// std::bad_alloc and the like escape.
ImportResult RunImport(const Options& options, StopSignal& stop, const TransportFactory& transports,
                       std::ostream& progress_out, bool terminal);

// The summary printed at the end: one line for people, one "key=value" line for scripts.
std::string FormatSummary(const Options& options, const ImportResult& result);

}  // namespace tributary::tools::import
