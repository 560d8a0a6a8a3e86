#include "llm_client/fake_transport.hpp"

#include <algorithm>

namespace tributary::llm {

std::string FakeTransport::Request::Header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
        if (key == name) return value;
    }
    return {};
}

void FakeTransport::Enqueue(HttpResponse response) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(response));
}

void FakeTransport::SetHandler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
}

HttpResponse FakeTransport::Post(const std::string& path, const HeaderList& headers,
                                 const std::string& body, const Timeouts& timeouts) {
    Request request{path, headers, body, timeouts};
    HttpResponse response;
    Handler handler;
    {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
        if (!queue_.empty()) {
            response = std::move(queue_.front());
            queue_.pop_front();
        } else if (handler_) {
            handler = handler_;
        } else {
            response = Failure(TransportError::kConnect);
        }
    }
    if (handler) response = handler(request);
    // Like a real transport, a call never takes longer than its read timeout.
    if (clock_ && latency_.count() > 0) clock_->Advance(std::min(latency_, timeouts.read));
    return response;
}

std::vector<FakeTransport::Request> FakeTransport::Requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

size_t FakeTransport::CallCount() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
}

HttpResponse FakeTransport::Json(int status, const std::string& body, HeaderMap headers) {
    HttpResponse response;
    response.status = status;
    response.body = body;
    response.headers = std::move(headers);
    response.headers.emplace("content-type", "application/json");
    return response;
}

HttpResponse FakeTransport::Failure(TransportError error) {
    HttpResponse response;
    response.error = error;
    response.error_text = std::string("simulated ") + std::string(ToString(error)) + " failure";
    return response;
}

}  // namespace tributary::llm
