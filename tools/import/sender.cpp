#include "tools/import/sender.hpp"

#include "common/backoff.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <map>

namespace tributary::tools::import {
namespace {

class HttplibTransport final : public Transport {
public:
    HttplibTransport(const PublisherUrl& url, const std::string& key, Kind kind)
        : client_(url.scheme_host_port) {
        client_.set_keep_alive(true);
        client_.set_connection_timeout(std::chrono::seconds(10));
        client_.set_read_timeout(std::chrono::seconds(120));
        client_.set_write_timeout(std::chrono::seconds(60));
        if (!key.empty()) {
            if (kind == Kind::kSegment) {
                client_.set_basic_auth(key, "");
            } else {
                client_.set_bearer_token_auth(key);
            }
        }
        client_.set_default_headers({{"User-Agent", "tributary-import"}});
    }

    HttpAnswer Post(const std::string& path, const std::string& body) override {
        HttpAnswer answer;
        const auto result = client_.Post(path, body, "application/json");
        if (!result) {
            answer.transport_error = httplib::to_string(result.error());
            return answer;
        }
        answer.status = result->status;
        answer.body = result->body;
        if (result->has_header("Retry-After")) answer.retry_after = result->get_header_value("Retry-After");
        return answer;
    }

private:
    httplib::Client client_;
};

std::chrono::milliseconds RetryAfter(const std::string& header, std::chrono::seconds max) {
    int64_t seconds = 1;
    const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
    if (header.empty() || ec != std::errc() || end != header.data() + header.size() || seconds < 0) {
        seconds = 1;
    }
    return std::chrono::seconds(std::min<int64_t>(seconds, max.count()));
}

std::string ShortBody(const std::string& body) {
    std::string message = MessageOf(body);
    if (!message.empty()) return message;
    return body.substr(0, 200);
}

}  // namespace

std::unique_ptr<Transport> MakeHttpTransport(const PublisherUrl& url, const std::string& key,
                                             Kind kind) {
    return std::make_unique<HttplibTransport>(url, key, kind);
}

std::string RoutePath(const PublisherUrl& url, Kind kind) {
    switch (kind) {
        case Kind::kAnalytics: return url.base_path + "/api/v1/events/analytics";
        case Kind::kChemical: return url.base_path + "/api/v1/events/chemical";
        case Kind::kSegment: return url.base_path + "/v1/batch";
    }
    return url.base_path;
}

std::string BatchBody(Kind kind, const std::vector<const std::string*>& events) {
    size_t size = 16;
    for (const std::string* event : events) size += event->size() + 1;
    std::string body;
    body.reserve(size);
    body += kind == Kind::kSegment ? "{\"batch\":[" : "{\"events\":[";
    for (size_t i = 0; i < events.size(); ++i) {
        if (i > 0) body += ',';
        body += *events[i];
    }
    body += "]}";
    return body;
}

std::vector<IndexedProblem> ProblemsOf400(const std::string& body) {
    std::vector<IndexedProblem> problems;
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return problems;
    const nlohmann::json* list = nullptr;
    if (json.contains("error") && json["error"].is_object() && json["error"].contains("details") &&
        json["error"]["details"].is_array()) {
        list = &json["error"]["details"];
    } else if (json.contains("errors") && json["errors"].is_array()) {
        list = &json["errors"];
    }
    if (list == nullptr) return problems;
    for (const auto& item : *list) {
        if (!item.is_object() || !item.contains("index") || !item["index"].is_number_unsigned()) continue;
        IndexedProblem problem;
        problem.index = item["index"].get<size_t>();
        if (item.contains("field") && item["field"].is_string()) problem.field = item["field"];
        if (problem.field == "(body)") continue;  // about the request, not one event
        for (const char* name : {"reason", "message"}) {
            if (item.contains(name) && item[name].is_string()) {
                problem.reason = item[name];
                break;
            }
        }
        if (item.contains("code") && item["code"].is_string() && problem.reason.empty()) {
            problem.reason = item["code"];
        }
        problems.push_back(std::move(problem));
    }
    return problems;
}

std::string MessageOf(const std::string& body) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return "";
    if (json.contains("error") && json["error"].is_object() && json["error"].contains("message") &&
        json["error"]["message"].is_string()) {
        return json["error"]["message"];
    }
    if (json.contains("message") && json["message"].is_string()) return json["message"];
    return "";
}

BatchSender::BatchSender(Transport& transport, Kind kind, std::string path, SenderPolicy policy,
                         Sleeper sleep)
    : transport_(transport),
      kind_(kind),
      path_(std::move(path)),
      policy_(policy),
      sleep_(std::move(sleep)) {}

BatchSender::Step BatchSender::PostWithRetries(const std::vector<const OutgoingEvent*>& group,
                                               HttpAnswer& answer, SendResult& result) {
    std::vector<const std::string*> events;
    events.reserve(group.size());
    for (const OutgoingEvent* event : group) events.push_back(&event->json);
    const std::string body = BatchBody(kind_, events);
    common::Backoff backoff(policy_.backoff_initial, policy_.backoff_max);
    int attempts = 0;
    while (true) {
        answer = transport_.Post(path_, body);
        const int status = answer.status;
        if ((status >= 200 && status < 300) || status == 400 || status == 413) return Step::kAnswered;
        if (status == 401 || status == 403) {
            result.message = "the publisher refused the key (" + std::to_string(status) + "): " +
                             ShortBody(answer.body);
            return Step::kFatal;
        }
        std::chrono::milliseconds delay{0};
        if (status == 429) {
            delay = RetryAfter(answer.retry_after, policy_.max_retry_after);
        } else if (status == 0 || status >= 500) {
            if (++attempts >= policy_.retries) {
                result.message = "POST " + path_ + " failed " + std::to_string(attempts) +
                                 " times in a row; last: " +
                                 (status == 0 ? "no answer (" + answer.transport_error + ")"
                                              : std::to_string(status) + " " + ShortBody(answer.body));
                return Step::kFatal;
            }
            delay = status == 503 ? RetryAfter(answer.retry_after, policy_.max_retry_after)
                                  : backoff.Next();
        } else {
            result.message = "the publisher answered " + std::to_string(status) + ": " +
                             ShortBody(answer.body);
            return Step::kFatal;
        }
        ++result.retries;
        if (!sleep_(delay)) return Step::kStopped;
    }
}

SendResult BatchSender::Send(const std::vector<OutgoingEvent>& events) {
    SendResult result;
    // Groups still to send, the next at the back; halves are pushed second half first so the
    // file's order is kept.
    std::vector<std::vector<const OutgoingEvent*>> pending;
    pending.emplace_back();
    for (const OutgoingEvent& event : events) pending.back().push_back(&event);
    if (pending.back().empty()) return result;
    auto reject = [&](const OutgoingEvent& event, std::string field, std::string reason) {
        result.rejections.push_back({event.number, event.line, std::move(field), std::move(reason), event.raw});
    };
    auto split = [&](std::vector<const OutgoingEvent*> group) {
        const auto middle = group.begin() + static_cast<std::ptrdiff_t>(group.size() / 2);
        std::vector<const OutgoingEvent*> second(middle, group.end());
        group.erase(middle, group.end());
        pending.push_back(std::move(second));
        pending.push_back(std::move(group));
    };
    while (!pending.empty()) {
        std::vector<const OutgoingEvent*> group = std::move(pending.back());
        pending.pop_back();
        if (group.empty()) continue;
        HttpAnswer answer;
        switch (PostWithRetries(group, answer, result)) {
            case Step::kAnswered: break;
            case Step::kStopped: result.status = SendResult::Status::kStopped; return result;
            case Step::kFatal: result.status = SendResult::Status::kFatal; return result;
        }
        if (answer.status >= 200 && answer.status < 300) {
            result.accepted += static_cast<int64_t>(group.size());
            continue;
        }
        if (answer.status == 413) {
            if (group.size() > 1) {
                split(std::move(group));
            } else {
                reject(*group[0], "(event)", "too large for the publisher (413): " + ShortBody(answer.body));
            }
            continue;
        }
        // 400: take out the events it names, send the rest again.
        std::map<size_t, std::pair<std::string, std::string>> bad;  // index → field, reasons
        for (const IndexedProblem& problem : ProblemsOf400(answer.body)) {
            if (problem.index >= group.size()) continue;
            auto& [field, reasons] = bad[problem.index];
            if (field.empty()) field = problem.field;
            if (!reasons.empty()) reasons += "; ";
            reasons += problem.field.empty() ? problem.reason : problem.field + ": " + problem.reason;
        }
        if (bad.empty()) {
            if (group.size() > 1) {
                split(std::move(group));
            } else {
                reject(*group[0], "(event)", ShortBody(answer.body));
            }
            continue;
        }
        std::vector<const OutgoingEvent*> rest;
        for (size_t i = 0; i < group.size(); ++i) {
            const auto it = bad.find(i);
            if (it == bad.end()) {
                rest.push_back(group[i]);
            } else {
                reject(*group[i], it->second.first, it->second.second);
            }
        }
        pending.push_back(std::move(rest));
    }
    std::sort(result.rejections.begin(), result.rejections.end(),
              [](const Rejection& a, const Rejection& b) { return a.number < b.number; });
    return result;
}

}  // namespace tributary::tools::import
