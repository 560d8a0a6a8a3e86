#pragma once

// Replaying dead letters to their original topics: the request (pure parsing), the plan (which
// messages go, which are skipped by loop protection), a token bucket for the rate, and the
// background runner that sends and keeps the console_replays audit row up to date.

#include "common/auth/principal.hpp"
#include "common/kafka/producer.hpp"
#include "console/dead_letters.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tributary::console {

// A token bucket on an explicit clock, for pure tests: Reserve() takes one token and says how
// long to wait before using it (zero while tokens last). Not thread-safe.
class TokenBucket {
  public:
    using Clock = std::chrono::steady_clock;
    TokenBucket(double rate_per_s, double burst, Clock::time_point now);
    std::chrono::nanoseconds Reserve(Clock::time_point now);

  private:
    double rate_;
    double burst_;
    double tokens_;
    Clock::time_point last_;
};

inline constexpr double kDefaultReplayRate = 50;
inline constexpr double kMaxReplayRate = 1000;
inline constexpr size_t kMaxReplaySelection = 1000;   // explicit messages per request
inline constexpr size_t kMaxReplayMessages = 100000;  // messages one replay may send

struct ReplayRequest {
    std::string topic;  // a dead-letter topic (with the deployment's prefix)
    std::vector<std::pair<int32_t, int64_t>> messages;  // explicit selection, or
    std::optional<DeadLetterFilter> filter;             // everything matching
    bool dry_run = false;
    double rate_per_s = kDefaultReplayRate;
    nlohmann::json audit;  // what the audit row's filter column records
};

struct ParseError {
    std::string field;
    std::string reason;
};

// Parses the POST /dead-letters/replay body; `dead_letter_topics` are the allowed topics.
// On failure returns nullopt with `error` naming the field.
std::optional<ReplayRequest> ParseReplayRequest(const std::string& body,
                                                const std::vector<std::string>& dead_letter_topics,
                                                ParseError* error);

// Parses an RFC 3339 time parameter into epoch milliseconds.
std::optional<int64_t> ParseTimeMs(const std::string& text);

// What a replay does with one dead letter.
enum class ReplayDecision { kSend, kSkipLoop, kNotReplayable };
// kSkipLoop when replay_count >= replay_max; kNotReplayable when its original topic is not
// one of `source_topics` (e.g. an enrichment failure, whose value is a retry task: re-enrich
// the record instead) — so a forged header can never send a message anywhere else.
ReplayDecision Decide(const DeadLetter& letter, int replay_max,
                      const std::vector<std::string>& source_topics);

// The headers a replayed message carries.
std::vector<common::kafka::Producer::Header> ReplayHeaders(const DeadLetter& letter);

// One replay's messages, decided.
struct ReplayPlan {
    std::vector<DeadLetter> send;
    size_t skipped_loop = 0;
    size_t not_replayable = 0;
    std::vector<DeadLetter> skipped;  // the first few skipped, for the dry run's answer
};

// Runs real replays in background threads (at most `max_running` at once), sending with the
// shared idempotent producer at each replay's rate and recording progress in console_replays.
// Thread-safe. The destructor stops the running replays (their rows say "failed: stopped")
// and joins their threads.
class ReplayRunner {
  public:
    ReplayRunner(common::kafka::Producer& producer, std::string database_url,
                 size_t max_running = 4);
    ~ReplayRunner();
    ReplayRunner(const ReplayRunner&) = delete;
    ReplayRunner& operator=(const ReplayRunner&) = delete;

    // Starts sending `plan.send` for the replay whose audit row `replay_id` exists already;
    // false when `max_running` replays are running.
    bool Start(std::string replay_id, ReplayPlan plan, double rate_per_s);

  private:
    void Run(std::string replay_id, ReplayPlan plan, double rate_per_s);

    common::kafka::Producer& producer_;
    std::string database_url_;
    size_t max_running_;
    std::atomic<bool> stop_{false};
    struct Job {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::mutex mutex_;
    size_t running_ = 0;
    std::vector<Job> jobs_;  // finished ones are joined by the next Start()
};

}  // namespace tributary::console
