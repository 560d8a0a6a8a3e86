#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace tributary::tools::import {

// A stop request shared by the reader, the senders and the main loop. Thread-safe.
class StopSignal {
public:
    void Request();
    bool Requested() const { return requested_.load(std::memory_order_relaxed); }
    // Sleeps up to `delay`; false when a stop was requested (before or meanwhile).
    bool SleepFor(std::chrono::milliseconds delay);

private:
    std::atomic<bool> requested_{false};
    std::mutex mutex_;
    std::condition_variable changed_;
};

// Turns the first SIGINT or SIGTERM into StopSignal::Request (the import then finishes the
// requests in flight, writes the checkpoint and exits); a second one ends the process at once
// with status 130. Construct it in main() before any other thread: it blocks both signals in
// the calling thread, so threads created later inherit the mask and only its own thread takes
// them with sigtimedwait.
class SignalWatcher {
public:
    explicit SignalWatcher(StopSignal& stop);
    ~SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

    // The signal received (SIGINT, SIGTERM), 0 when none.
    int Received() const { return received_.load(); }

private:
    StopSignal& stop_;
    std::atomic<int> received_{0};
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace tributary::tools::import
