#include "common/redis/redis_client.hpp"

#include <openssl/sha.h>

#include <hiredis/hiredis.h>

#include <charconv>
#include <memory>

namespace tributary::common::redis {
namespace {

struct ReplyDeleter {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};

Reply Copy(const redisReply& raw) {
    Reply reply;
    switch (raw.type) {
        case REDIS_REPLY_STRING:
            reply.type = Reply::Type::kString;
            reply.text.assign(raw.str, raw.len);
            break;
        case REDIS_REPLY_STATUS:
            reply.type = Reply::Type::kStatus;
            reply.text.assign(raw.str, raw.len);
            break;
        case REDIS_REPLY_INTEGER:
            reply.type = Reply::Type::kInteger;
            reply.integer = raw.integer;
            break;
        case REDIS_REPLY_ARRAY:
            reply.type = Reply::Type::kArray;
            for (size_t i = 0; i < raw.elements; ++i) reply.elements.push_back(Copy(*raw.element[i]));
            break;
        default:
            reply.type = Reply::Type::kNil;
    }
    return reply;
}

timeval ToTimeval(std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    return tv;
}

}  // namespace

std::optional<RedisEndpoint> ParseRedisUrl(const std::string& url, std::string* error) {
    const std::string scheme = "redis://";
    if (!url.starts_with(scheme)) {
        if (error) *error = "must start with redis://";
        return std::nullopt;
    }
    RedisEndpoint endpoint;
    std::string rest = url.substr(scheme.size());
    if (const auto at = rest.rfind('@'); at != std::string::npos) {
        std::string credentials = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const auto colon = credentials.find(':');
        endpoint.password = colon == std::string::npos ? credentials : credentials.substr(colon + 1);
    }
    std::string host_port = rest;
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
        host_port = rest.substr(0, slash);
        const std::string db = rest.substr(slash + 1);
        if (!db.empty()) {
            const auto [ptr, ec] = std::from_chars(db.data(), db.data() + db.size(), endpoint.db);
            if (ec != std::errc() || ptr != db.data() + db.size() || endpoint.db < 0) {
                if (error) *error = "database number '" + db + "' is not a non-negative integer";
                return std::nullopt;
            }
        }
    }
    if (const auto colon = host_port.rfind(':'); colon != std::string::npos) {
        const std::string port = host_port.substr(colon + 1);
        host_port = host_port.substr(0, colon);
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
        if (ec != std::errc() || ptr != port.data() + port.size() || endpoint.port < 1 ||
            endpoint.port > 65535) {
            if (error) *error = "port '" + port + "' is not a TCP port";
            return std::nullopt;
        }
    }
    if (!host_port.empty()) endpoint.host = host_port;
    return endpoint;
}

RedisClient::RedisClient(RedisEndpoint endpoint, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {}

RedisClient::~RedisClient() { Disconnect(); }

void RedisClient::Disconnect() {
    if (context_ != nullptr) {
        redisFree(context_);
        context_ = nullptr;
    }
}

void RedisClient::Connect() {
    context_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, ToTimeval(timeout_));
    if (context_ == nullptr) throw RedisError("cannot allocate a Redis context", true);
    if (context_->err != 0) {
        const std::string message = context_->errstr;
        Disconnect();
        throw RedisError("cannot connect to Redis at " + endpoint_.host + ":" +
                             std::to_string(endpoint_.port) + ": " + message,
                         true);
    }
    redisSetTimeout(context_, ToTimeval(timeout_));
    if (!endpoint_.password.empty()) Command({"AUTH", endpoint_.password});
    if (endpoint_.db != 0) Command({"SELECT", std::to_string(endpoint_.db)});
}

Reply RedisClient::Command(const std::vector<std::string>& args) {
    if (context_ == nullptr) Connect();
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (!reply) {
        const std::string message = context_->errstr;
        Disconnect();  // the connection state is unknown after an I/O error
        throw RedisError("Redis " + args.front() + " failed: " + message, true);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        const std::string message(reply->str, reply->len);
        // LOADING / MASTERDOWN / BUSY are transient server states.
        const bool transient = message.starts_with("LOADING") || message.starts_with("MASTERDOWN") ||
                               message.starts_with("BUSY") || message.starts_with("TRYAGAIN");
        throw RedisError("Redis " + args.front() + " error: " + message, transient);
    }
    return Copy(*reply);
}

Reply RedisClient::Eval(const std::string& script, const std::vector<std::string>& keys,
                        const std::vector<std::string>& args) {
    std::vector<std::string> command = {"EVAL", script, std::to_string(keys.size())};
    command.insert(command.end(), keys.begin(), keys.end());
    command.insert(command.end(), args.begin(), args.end());
    return Command(command);
}

Script::Script(std::string script_text) : text(std::move(script_text)) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    for (const unsigned char byte : digest) {
        sha1 += kHex[byte >> 4];
        sha1 += kHex[byte & 15];
    }
}

Reply RedisClient::EvalCached(const Script& script, const std::vector<std::string>& keys,
                              const std::vector<std::string>& args) {
    std::vector<std::string> command = {"EVALSHA", script.sha1, std::to_string(keys.size())};
    command.insert(command.end(), keys.begin(), keys.end());
    command.insert(command.end(), args.begin(), args.end());
    try {
        return Command(command);
    } catch (const RedisError& e) {
        // The server does not know the script yet (first use, or after a restart or SCRIPT
        // FLUSH): EVAL runs and caches it.
        if (std::string_view(e.what()).find("NOSCRIPT") == std::string_view::npos) throw;
    }
    return Eval(script.text, keys, args);
}

}  // namespace tributary::common::redis
