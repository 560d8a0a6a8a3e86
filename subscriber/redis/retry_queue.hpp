#pragma once

#include "common/redis/redis_client.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace tributary::subscriber::redis {

// A delayed task queue with leases, on three Redis keys:
//   <prefix>:due     sorted set, task id -> due time (ms since epoch)
//   <prefix>:leased  sorted set, task id -> lease expiry (ms)
//   <prefix>:task:<id>  the task's payload
// Claim() moves due tasks to `leased` atomically (Lua), so two workers never take the same
// task; a worker that dies leaves its lease to expire, and ReapExpiredLeases() makes the task
// due again: delivery is at-least-once, and task handlers must be idempotent.
// Not thread-safe (it uses one RedisClient); every call throws RedisError.
class RetryQueue {
public:
    struct Task {
        std::string id;
        std::string payload;
    };

    RetryQueue(common::redis::RedisClient& client, std::string prefix);

    // Adds the task, due at `due_ms`, unless it is already queued or leased (then nothing
    // changes). Returns true if added.
    bool ScheduleIfAbsent(const std::string& id, const std::string& payload, int64_t due_ms);
    // Takes up to `max` tasks due at `now_ms`, leased until `lease_until_ms`.
    std::vector<Task> Claim(int64_t now_ms, int max, int64_t lease_until_ms);
    // Finished: removes the task.
    void Complete(const std::string& id);
    // Not finished: releases the lease and makes it due again at `due_ms` with `payload`.
    void Reschedule(const std::string& id, const std::string& payload, int64_t due_ms);
    // Makes tasks whose lease expired before `now_ms` due now; returns how many.
    int64_t ReapExpiredLeases(int64_t now_ms);
    int64_t DueCount();
    int64_t LeasedCount();

private:
    std::string due_key_;
    std::string leased_key_;
    std::string task_prefix_;
    common::redis::RedisClient& client_;
};

}  // namespace tributary::subscriber::redis
