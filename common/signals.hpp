#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace tributary::common {

// Turns SIGTERM/SIGINT into a shutdown request that threads can wait on. Construct it first in
// main(), before any other thread starts: it blocks the signals in the calling thread, so every
// thread created afterwards inherits the mask and only the internal sigwait thread receives
// them. Thread-safe.
class ShutdownSignals {
public:
    ShutdownSignals();
    ~ShutdownSignals();
    ShutdownSignals(const ShutdownSignals&) = delete;
    ShutdownSignals& operator=(const ShutdownSignals&) = delete;

    bool Requested() const { return requested_.load(); }
    // Blocks until shutdown is requested.
    void Wait();
    // Blocks up to `timeout`; returns true if shutdown was requested.
    bool WaitFor(std::chrono::milliseconds timeout);
    // Requests shutdown from code (fatal error in a worker, tests).
    void Trigger();

private:
    std::atomic<bool> requested_{false};
    std::mutex mutex_;
    std::condition_variable changed_;
    std::thread waiter_;
};

}  // namespace tributary::common
