#include "subscriber/redis/retry_queue.hpp"

namespace tributary::subscriber::redis {
namespace {

// KEYS: due, leased, task.  ARGV: id, due_ms, payload.
constexpr const char* kScheduleIfAbsent = R"lua(
if redis.call('ZSCORE', KEYS[2], ARGV[1]) or redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
)lua";

// KEYS: due, leased.  ARGV: now_ms, max, lease_until_ms, task key prefix.
constexpr const char* kClaim = R"lua(
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[3], id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('GET', ARGV[4] .. id) or ''
end
return out
)lua";

// KEYS: due, leased, task.  ARGV: id, payload, due_ms.
constexpr const char* kReschedule = R"lua(
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
)lua";

// KEYS: due, leased, task.  ARGV: id.
constexpr const char* kComplete = R"lua(
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
)lua";

// KEYS: due, leased.  ARGV: now_ms.
constexpr const char* kReap = R"lua(
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], ARGV[1], id)
end
return #ids
)lua";

}  // namespace

RetryQueue::RetryQueue(common::redis::RedisClient& client, std::string prefix)
    : due_key_(prefix + ":due"),
      leased_key_(prefix + ":leased"),
      task_prefix_(prefix + ":task:"),
      client_(client) {}

bool RetryQueue::ScheduleIfAbsent(const std::string& id, const std::string& payload, int64_t due_ms) {
    return client_.Eval(kScheduleIfAbsent, {due_key_, leased_key_, task_prefix_ + id},
                        {id, std::to_string(due_ms), payload})
               .integer == 1;
}

std::vector<RetryQueue::Task> RetryQueue::Claim(int64_t now_ms, int max, int64_t lease_until_ms) {
    const common::redis::Reply reply = client_.Eval(kClaim, {due_key_, leased_key_},
                                     {std::to_string(now_ms), std::to_string(max),
                                      std::to_string(lease_until_ms), task_prefix_});
    std::vector<Task> tasks;
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        tasks.push_back({reply.elements[i].text, reply.elements[i + 1].text});
    }
    return tasks;
}

void RetryQueue::Complete(const std::string& id) {
    client_.Eval(kComplete, {due_key_, leased_key_, task_prefix_ + id}, {id});
}

void RetryQueue::Reschedule(const std::string& id, const std::string& payload, int64_t due_ms) {
    client_.Eval(kReschedule, {due_key_, leased_key_, task_prefix_ + id},
                 {id, payload, std::to_string(due_ms)});
}

int64_t RetryQueue::ReapExpiredLeases(int64_t now_ms) {
    return client_.Eval(kReap, {due_key_, leased_key_}, {std::to_string(now_ms)}).integer;
}

int64_t RetryQueue::DueCount() { return client_.Command({"ZCARD", due_key_}).integer; }

int64_t RetryQueue::LeasedCount() { return client_.Command({"ZCARD", leased_key_}).integer; }

}  // namespace tributary::subscriber::redis
