#include "console/replay.hpp"

#include "common/logging.hpp"
#include "common/time_util.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <cmath>

namespace tributary::console {
namespace {

using nlohmann::json;

const auto& Log() {
    static const auto log = common::GetLogger("console.replay");
    return log;
}

bool Fail(ParseError* error, std::string field, std::string reason) {
    if (error) *error = {std::move(field), std::move(reason)};
    return false;
}

// Messages sent between two progress updates of the audit row.
constexpr size_t kChunk = 100;

}  // namespace

TokenBucket::TokenBucket(double rate_per_s, double burst, Clock::time_point now)
    : rate_(rate_per_s), burst_(std::max(1.0, burst)), tokens_(std::max(1.0, burst)), last_(now) {}

std::chrono::nanoseconds TokenBucket::Reserve(Clock::time_point now) {
    if (now > last_) {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
        last_ = now;
    }
    // The token is taken even when it is not there yet: the debt is the wait, so callers that
    // reserve back to back are spaced 1/rate apart.
    tokens_ -= 1;
    if (tokens_ >= 0) return std::chrono::nanoseconds(0);
    return std::chrono::nanoseconds(static_cast<int64_t>(std::ceil(-tokens_ / rate_ * 1e9)));
}

std::optional<int64_t> ParseTimeMs(const std::string& text) {
    const auto time = common::ParseRfc3339(text);
    if (!time) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(time->time_since_epoch()).count();
}

std::optional<ReplayRequest> ParseReplayRequest(const std::string& body,
                                                const std::vector<std::string>& dead_letter_topics,
                                                ParseError* error) {
    const json parsed = json::parse(body, nullptr, false);
    if (!parsed.is_object()) {
        Fail(error, "body", "must be a JSON object");
        return std::nullopt;
    }
    ReplayRequest request;
    const auto topic = parsed.find("topic");
    if (topic == parsed.end() || !topic->is_string()) {
        Fail(error, "topic", "is required: the dead-letter topic to replay from");
        return std::nullopt;
    }
    request.topic = topic->get<std::string>();
    if (std::find(dead_letter_topics.begin(), dead_letter_topics.end(), request.topic) ==
        dead_letter_topics.end()) {
        Fail(error, "topic", "is not a dead-letter topic of this deployment");
        return std::nullopt;
    }
    const auto messages = parsed.find("messages");
    const auto filter = parsed.find("filter");
    const bool has_messages = messages != parsed.end() && !messages->is_null();
    const bool has_filter = filter != parsed.end() && !filter->is_null();
    if (has_messages == has_filter) {
        Fail(error, has_messages ? "filter" : "messages",
             "give either messages (a selection) or filter (everything matching), not both");
        return std::nullopt;
    }
    if (has_messages) {
        if (!messages->is_array() || messages->empty() || messages->size() > kMaxReplaySelection) {
            Fail(error, "messages",
                 "must be an array of 1 to " + std::to_string(kMaxReplaySelection) +
                     " {partition, offset} objects");
            return std::nullopt;
        }
        for (size_t i = 0; i < messages->size(); ++i) {
            const json& item = (*messages)[i];
            const std::string field = "messages[" + std::to_string(i) + "]";
            if (!item.is_object() || !item.contains("partition") || !item.contains("offset") ||
                !item["partition"].is_number_integer() || !item["offset"].is_number_integer() ||
                item["partition"].get<int64_t>() < 0 ||
                item["partition"].get<int64_t>() > INT32_MAX || item["offset"].get<int64_t>() < 0) {
                Fail(error, field, "must be {partition, offset} with non-negative integers");
                return std::nullopt;
            }
            request.messages.emplace_back(item["partition"].get<int32_t>(),
                                          item["offset"].get<int64_t>());
        }
    } else {
        if (!filter->is_object()) {
            Fail(error, "filter", "must be an object {stage, reason, from, to} (all optional)");
            return std::nullopt;
        }
        DeadLetterFilter f;
        for (const char* name : {"stage", "reason"}) {
            if (const auto it = filter->find(name); it != filter->end() && !it->is_null()) {
                if (!it->is_string()) {
                    Fail(error, std::string("filter.") + name, "must be a string");
                    return std::nullopt;
                }
                (std::string(name) == "stage" ? f.stage : f.reason) = it->get<std::string>();
            }
        }
        for (const char* name : {"from", "to"}) {
            if (const auto it = filter->find(name); it != filter->end() && !it->is_null()) {
                const auto ms =
                    it->is_string() ? ParseTimeMs(it->get<std::string>()) : std::nullopt;
                if (!ms) {
                    Fail(error, std::string("filter.") + name, "must be an RFC 3339 time");
                    return std::nullopt;
                }
                (std::string(name) == "from" ? f.from_ms : f.to_ms) = *ms;
            }
        }
        request.filter = f;
    }
    if (const auto it = parsed.find("dry_run"); it != parsed.end() && !it->is_null()) {
        if (!it->is_boolean()) {
            Fail(error, "dry_run", "must be true or false");
            return std::nullopt;
        }
        request.dry_run = it->get<bool>();
    }
    if (const auto it = parsed.find("rate_per_s"); it != parsed.end() && !it->is_null()) {
        if (!it->is_number() || it->get<double>() <= 0 || it->get<double>() > kMaxReplayRate ||
            !std::isfinite(it->get<double>())) {
            Fail(error, "rate_per_s",
                 "must be a number above 0 and at most " +
                     std::to_string(static_cast<int>(kMaxReplayRate)));
            return std::nullopt;
        }
        request.rate_per_s = it->get<double>();
    }
    request.audit = {{"topic", request.topic}, {"rate_per_s", request.rate_per_s}};
    if (has_messages) {
        request.audit["messages"] = *messages;
    } else {
        request.audit["filter"] = *filter;
    }
    return request;
}

ReplayDecision Decide(const DeadLetter& letter, int replay_max,
                      const std::vector<std::string>& source_topics) {
    if (std::find(source_topics.begin(), source_topics.end(), letter.original_topic) ==
            source_topics.end() ||
        letter.stage == "enrich") {
        return ReplayDecision::kNotReplayable;
    }
    if (letter.replay_count >= replay_max) return ReplayDecision::kSkipLoop;
    return ReplayDecision::kSend;
}

std::vector<common::kafka::Producer::Header> ReplayHeaders(const DeadLetter& letter) {
    return {{kReplayCountHeader, std::to_string(letter.replay_count + 1)},
            {kReplayedFromHeader, letter.message.topic + "/" +
                                      std::to_string(letter.message.partition) + "/" +
                                      std::to_string(letter.message.offset)}};
}

ReplayRunner::ReplayRunner(common::kafka::Producer& producer, std::string database_url,
                           size_t max_running)
    : producer_(producer), database_url_(std::move(database_url)), max_running_(max_running) {}

ReplayRunner::~ReplayRunner() {
    stop_.store(true);
    std::vector<Job> jobs;
    {
        std::lock_guard lock(mutex_);
        jobs.swap(jobs_);
    }
    for (auto& job : jobs) {
        if (job.thread.joinable()) job.thread.join();
    }
}

bool ReplayRunner::Start(std::string replay_id, ReplayPlan plan, double rate_per_s) {
    std::lock_guard lock(mutex_);
    // Join the threads of replays that have finished (joining one that is done returns at once).
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        if (it->done->load()) {
            it->thread.join();
            it = jobs_.erase(it);
        } else {
            ++it;
        }
    }
    if (running_ >= max_running_) return false;
    ++running_;
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread thread(
        [this, done, id = std::move(replay_id), plan = std::move(plan), rate_per_s]() mutable {
            Run(std::move(id), std::move(plan), rate_per_s);
            std::lock_guard finished(mutex_);
            --running_;
            done->store(true);
        });
    jobs_.push_back({std::move(thread), std::move(done)});
    return true;
}

void ReplayRunner::Run(std::string replay_id, ReplayPlan plan, double rate_per_s) {
    size_t sent = 0;
    std::string failure;
    // Bursts of at most one second's worth, at least one message.
    TokenBucket bucket(rate_per_s, std::max(1.0, std::floor(rate_per_s)),
                       TokenBucket::Clock::now());
    const auto update = [&](const char* state) {
        try {
            pqxx::connection connection(database_url_);
            pqxx::work txn(connection);
            if (std::string(state) == "running") {
                txn.exec_params("UPDATE console_replays SET sent = $2 WHERE replay_id = $1",
                                replay_id, static_cast<int64_t>(sent));
            } else {
                txn.exec_params(
                    "UPDATE console_replays SET sent = $2, state = $3, finished_at = now(),"
                    " error = NULLIF($4, '') WHERE replay_id = $1",
                    replay_id, static_cast<int64_t>(sent), std::string(state), failure);
            }
            txn.commit();
        } catch (const std::exception& e) {
            Log()->warn("replay {}: cannot update its audit row: {}", replay_id, e.what());
        }
    };
    for (size_t begin = 0; begin < plan.send.size() && failure.empty(); begin += kChunk) {
        const size_t end = std::min(plan.send.size(), begin + kChunk);
        auto tracker = std::make_shared<common::kafka::DeliveryTracker>(end - begin);
        for (size_t i = begin; i < end; ++i) {
            const auto wait = bucket.Reserve(TokenBucket::Clock::now());
            if (wait.count() > 0) std::this_thread::sleep_for(wait);
            if (stop_.load()) {
                tracker->Abandon(end - i, "stopped");
                failure = "stopped: the console shut down";
                break;
            }
            const DeadLetter& letter = plan.send[i];
            std::string error;
            common::kafka::ProduceStatus status = common::kafka::ProduceStatus::kFailed;
            // A full local queue drains by itself (the poll thread): wait a little and retry.
            for (int tries = 0;; ++tries) {
                status =
                    producer_.Produce(letter.original_topic, letter.message.key.value_or(""),
                                      letter.message.value, ReplayHeaders(letter), tracker, &error);
                if (status != common::kafka::ProduceStatus::kQueueFull || tries >= 100) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            if (status != common::kafka::ProduceStatus::kQueued) {
                tracker->Abandon(end - i, error);
                failure = "produce failed: " + error;
                break;
            }
        }
        tracker->Wait(std::chrono::seconds(60));
        const size_t failed = tracker->FailedCount();
        sent += (end - begin) - std::min(failed, end - begin);
        if (failed > 0 && failure.empty()) failure = "delivery failed: " + tracker->FirstError();
        update("running");
    }
    update(failure.empty() ? "done" : "failed");
    Log()->info("replay {}: {} of {} sent{}", replay_id, sent, plan.send.size(),
                failure.empty() ? "" : " (" + failure + ")");
}

}  // namespace tributary::console
