#pragma once

#include "llm_client/clock.hpp"
#include "llm_client/transport.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tributary::llm {

// A transport for unit tests: records every request and answers from a script (a queue of
// canned responses, then a fallback handler). Optionally advances a ManualClock by a simulated
// latency per call. Thread-safe.
class FakeTransport final : public Transport {
  public:
    struct Request {
        std::string path;
        HeaderList headers;
        std::string body;
        Timeouts timeouts;

        // Value of the first header with this exact name, or "".
        std::string Header(const std::string& name) const;
    };
    using Handler = std::function<HttpResponse(const Request&)>;

    FakeTransport() = default;
    // `clock` (may be null) is advanced by `latency` (at most the read timeout) on every call.
    FakeTransport(std::shared_ptr<ManualClock> clock, std::chrono::milliseconds latency)
        : clock_(std::move(clock)), latency_(latency) {}

    // Queues one response; queued responses are used first, in order.
    void Enqueue(HttpResponse response);
    // Answers every call once the queue is empty (default: a transport error).
    void SetHandler(Handler handler);

    HttpResponse Post(const std::string& path, const HeaderList& headers, const std::string& body,
                      const Timeouts& timeouts) override;

    std::vector<Request> Requests() const;
    size_t CallCount() const;

    // Helpers to build responses.
    static HttpResponse Json(int status, const std::string& body, HeaderMap headers = {});
    static HttpResponse Failure(TransportError error);

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<ManualClock> clock_;
    std::chrono::milliseconds latency_{0};
    std::deque<HttpResponse> queue_;
    Handler handler_;
    std::vector<Request> requests_;
};

}  // namespace tributary::llm
