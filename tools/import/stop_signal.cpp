#include "tools/import/stop_signal.hpp"

#include <csignal>
#include <ctime>
#include <unistd.h>

namespace tributary::tools::import {

void StopSignal::Request() {
    {
        std::lock_guard lock(mutex_);
        requested_.store(true);
    }
    changed_.notify_all();
}

bool StopSignal::SleepFor(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, delay, [&] { return requested_.load(); });
    return !requested_.load();
}

SignalWatcher::SignalWatcher(StopSignal& stop) : stop_(stop) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([this, set] {
        const timespec tick{0, 200 * 1000 * 1000};
        while (!done_.load()) {
            const int signal = sigtimedwait(&set, nullptr, &tick);
            if (signal <= 0) continue;
            if (received_.exchange(signal) != 0) _exit(130);  // a second Ctrl-C: now
            stop_.Request();
        }
    });
}

SignalWatcher::~SignalWatcher() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
}

}  // namespace tributary::tools::import
