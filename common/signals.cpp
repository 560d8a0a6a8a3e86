#include "common/signals.hpp"

#include <pthread.h>
#include <signal.h>

namespace tributary::common {

ShutdownSignals::ShutdownSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // SIGPIPE from a peer closing a socket must not kill the process.
    signal(SIGPIPE, SIG_IGN);
    waiter_ = std::thread([this, set] {
        int received = 0;
        while (!requested_.load()) {
            if (sigwait(&set, &received) == 0 && (received == SIGTERM || received == SIGINT)) {
                Trigger();
            }
        }
    });
}

ShutdownSignals::~ShutdownSignals() {
    if (!requested_.load()) {
        Trigger();
    }
    // Wake the sigwait thread with a signal only it receives (all threads block SIGTERM).
    pthread_kill(waiter_.native_handle(), SIGTERM);
    waiter_.join();
}

void ShutdownSignals::Wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return requested_.load(); });
}

bool ShutdownSignals::WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return requested_.load(); });
}

void ShutdownSignals::Trigger() {
    {
        std::lock_guard lock(mutex_);
        requested_.store(true);
    }
    changed_.notify_all();
}

}  // namespace tributary::common
