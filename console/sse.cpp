#include "console/sse.hpp"

#include <algorithm>
#include <charconv>

namespace tributary::console {

std::string FormatSseEvent(std::string_view event, std::string_view id, std::string_view data) {
    std::string out;
    out.reserve(data.size() + event.size() + id.size() + 32);
    if (!id.empty()) {
        out += "id: ";
        out += id;
        out += '\n';
    }
    out += "event: ";
    out += event;
    out += '\n';
    size_t start = 0;
    while (true) {
        const size_t end = data.find('\n', start);
        out += "data: ";
        out += data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        out += '\n';
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    out += '\n';
    return out;
}

std::string FormatPositions(const std::map<int32_t, int64_t>& positions) {
    std::string out;
    for (const auto& [partition, offset] : positions) {
        if (!out.empty()) out += ',';
        out += std::to_string(partition);
        out += ':';
        out += std::to_string(offset);
    }
    return out;
}

std::optional<std::map<int32_t, int64_t>> ParsePositions(std::string_view text) {
    std::map<int32_t, int64_t> positions;
    if (text.empty() || text.size() > 16384) return std::nullopt;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t end = std::min(text.find(',', start), text.size());
        const std::string_view pair = text.substr(start, end - start);
        const size_t colon = pair.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        int32_t partition = -1;
        int64_t offset = -1;
        const auto p = std::from_chars(pair.data(), pair.data() + colon, partition);
        const auto o = std::from_chars(pair.data() + colon + 1, pair.data() + pair.size(), offset);
        if (p.ec != std::errc() || p.ptr != pair.data() + colon || o.ec != std::errc() ||
            o.ptr != pair.data() + pair.size() || partition < 0 || offset < 0 ||
            !positions.emplace(partition, offset).second) {
            return std::nullopt;
        }
        start = end + 1;
    }
    return positions;
}

SampledBatch::SampledBatch(size_t capacity, uint64_t seed) : capacity_(capacity), random_(seed) {}

void SampledBatch::Offer(nlohmann::json item) {
    const size_t index = offered_++;
    if (kept_.size() < capacity_) {
        kept_.emplace_back(index, std::move(item));
        return;
    }
    // Reservoir sampling: the index-th item replaces a kept one with probability capacity/index.
    ++dropped_;
    std::uniform_int_distribution<size_t> pick(0, index);
    const size_t slot = pick(random_);
    if (slot < capacity_) kept_[slot] = {index, std::move(item)};
}

nlohmann::json SampledBatch::Take() {
    std::sort(kept_.begin(), kept_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    nlohmann::json items = nlohmann::json::array();
    for (auto& [index, item] : kept_) items.push_back(std::move(item));
    nlohmann::json out = {{"items", std::move(items)}, {"dropped", dropped_}};
    kept_.clear();
    offered_ = 0;
    dropped_ = 0;
    return out;
}

SseChannel::SseChannel(common::http::StreamWriter& writer, std::chrono::milliseconds heartbeat)
    : writer_(writer), heartbeat_(heartbeat), last_write_(std::chrono::steady_clock::now()) {}

bool SseChannel::Send(std::string_view event, std::string_view id, const nlohmann::json& data) {
    const std::string own_id = id.empty() ? std::to_string(++sequence_) : std::string(id);
    last_write_ = std::chrono::steady_clock::now();
    return writer_.Write(FormatSseEvent(
        event, own_id, data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

bool SseChannel::KeepAlive() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_write_ < heartbeat_) return writer_.Open();
    last_write_ = now;
    return writer_.Write(": heartbeat\n\n");
}

void SetSseHeaders(common::http::Response& response) {
    response.status = 200;
    response.set_header("Content-Type", "text/event-stream; charset=utf-8");
    response.set_header("Cache-Control", "no-cache, no-store");
    response.set_header("X-Accel-Buffering", "no");
}

bool WantsJson(const common::http::Request& request) {
    const std::string accept = request.get_header_value("Accept");
    return accept.find("application/json") != std::string::npos &&
           accept.find("text/event-stream") == std::string::npos;
}

}  // namespace tributary::console
