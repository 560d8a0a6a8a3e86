#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct redisContext;

namespace tributary::common::redis {

// A Redis failure. Connection problems and timeouts are retryable (the server may come back);
// an error reply to a command (wrong type, script error) is not.
class RedisError : public std::runtime_error {
public:
    RedisError(const std::string& message, bool retryable)
        : std::runtime_error(message), retryable_(retryable) {}
    bool IsRetryable() const { return retryable_; }

private:
    bool retryable_;
};

struct RedisEndpoint {
    std::string host = "127.0.0.1";
    int port = 6379;
    int db = 0;
    std::string password;
};

// Parses `redis://[:password@]host[:port][/db]`; nullopt (and `error`) when malformed.
std::optional<RedisEndpoint> ParseRedisUrl(const std::string& url, std::string* error);

// A reply, copied out of hiredis' structures.
struct Reply {
    enum class Type { kNil, kString, kInteger, kArray, kStatus };
    Type type = Type::kNil;
    std::string text;
    int64_t integer = 0;
    std::vector<Reply> elements;
    bool IsNil() const { return type == Type::kNil; }
};

// A Lua script with its SHA-1 (what EVALSHA names it by), computed once.
struct Script {
    explicit Script(std::string script_text);
    std::string text;
    std::string sha1;  // lowercase hex
};

// One connection to Redis, opened lazily and re-opened after a failure. Not thread-safe: one
// per thread. Every call blocks up to the timeout and throws RedisError.
class RedisClient {
public:
    RedisClient(RedisEndpoint endpoint, std::chrono::milliseconds timeout);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    Reply Command(const std::vector<std::string>& args);
    // Runs a Lua script (EVAL) with the given keys and arguments.
    Reply Eval(const std::string& script, const std::vector<std::string>& keys,
               const std::vector<std::string>& args);
    // The same through EVALSHA (the script's SHA-1 instead of its text on every call), loading
    // the script with EVAL when the server does not have it.
    Reply EvalCached(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args);

private:
    void Connect();
    void Disconnect();

    RedisEndpoint endpoint_;
    std::chrono::milliseconds timeout_;
    redisContext* context_ = nullptr;
};

}  // namespace tributary::common::redis
