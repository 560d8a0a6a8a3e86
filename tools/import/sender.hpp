#pragma once

#include "tools/import/arguments.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tributary::tools::import {

struct HttpAnswer {
    int status = 0;               // 0: no answer (connection refused, reset, timeout)
    std::string body;
    std::string retry_after;      // the Retry-After header, when present
    std::string transport_error;  // why there was no answer
};

// Posts one JSON body to the publisher over one keep-alive connection. Implementations are
// used by one thread at a time.
class Transport {
public:
    virtual ~Transport() = default;
    virtual HttpAnswer Post(const std::string& path, const std::string& body) = 0;
};

// cpp-httplib's client: keep-alive, the key as a Bearer token (native routes) or as the HTTP
// Basic user name (the Segment route, like Segment's SDKs).
std::unique_ptr<Transport> MakeHttpTransport(const PublisherUrl& url, const std::string& key,
                                             Kind kind);

// The route of a kind under the publisher's base path.
std::string RoutePath(const PublisherUrl& url, Kind kind);

// The request body for already-serialized events: {"events":[…]} or {"batch":[…]}.
std::string BatchBody(Kind kind, const std::vector<const std::string*>& events);

struct OutgoingEvent {
    int64_t number = 0;  // line or SDF record number
    int64_t line = 0;    // line where the record starts
    std::string json;
    std::string raw;     // the record's text, for the rejects file
};

struct Rejection {
    int64_t number = 0;
    int64_t line = 0;
    std::string field;
    std::string reason;
    std::string raw;
};

struct SendResult {
    enum class Status { kDone, kStopped, kFatal };
    Status status = Status::kDone;
    int64_t accepted = 0;
    std::vector<Rejection> rejections;
    std::string message;  // kFatal: why the import cannot go on
    int64_t retries = 0;  // requests repeated (429/503/transport errors)
};

// Per-index problems of a 400 answer in either shape, native
// {"error":{"details":[{"index","field","reason"}]}} or Segment's
// {"errors":[{"index","field","message"}]}; problems of the whole body are left out.
struct IndexedProblem {
    size_t index = 0;
    std::string field;
    std::string reason;
};
std::vector<IndexedProblem> ProblemsOf400(const std::string& body);
// The answer's message (error.message or message), for errors without indexes.
std::string MessageOf(const std::string& body);

// Sleeps up to `delay`; returns false when the import is asked to stop meanwhile.
using Sleeper = std::function<bool(std::chrono::milliseconds delay)>;

struct SenderPolicy {
    int retries = 10;  // attempts per request for transport errors and 5xx
    std::chrono::milliseconds backoff_initial{200};
    std::chrono::milliseconds backoff_max{10000};
    std::chrono::seconds max_retry_after{60};
};

// Sends one batch until every event is accepted or refused: a 400 refuses the whole request,
// so the events it names are taken out (as rejections with the publisher's reasons) and the
// rest is sent again; a 400 or 413 naming no event splits the batch in halves until the bad
// ones stand alone. 429/503 wait for Retry-After; transport errors and other 5xx are retried
// with capped exponential backoff, `policy.retries` attempts in all; 401/403 and other 4xx
// are fatal. Not thread-safe: one per worker.
class BatchSender {
public:
    BatchSender(Transport& transport, Kind kind, std::string path, SenderPolicy policy,
                Sleeper sleep);

    SendResult Send(const std::vector<OutgoingEvent>& events);

private:
    enum class Step { kAnswered, kStopped, kFatal };
    Step PostWithRetries(const std::vector<const OutgoingEvent*>& group, HttpAnswer& answer,
                         SendResult& result);

    Transport& transport_;
    Kind kind_;
    std::string path_;
    SenderPolicy policy_;
    Sleeper sleep_;
};

}  // namespace tributary::tools::import
