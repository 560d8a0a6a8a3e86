#pragma once

// Server-Sent Events for the console: event framing, the position ids used for
// Last-Event-ID resumption, heartbeats, and the batching + sampling that keeps a browser tab
// responsive however fast a topic runs. Pure except SseChannel, which writes to a stream.

#include "common/http/server.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::console {

// "id: <id>\nevent: <event>\ndata: <line>\n...\n\n"; `data` may hold newlines.
std::string FormatSseEvent(std::string_view event, std::string_view id, std::string_view data);

// Per-partition next offsets as an SSE id: "0:120,3:7". ParsePositions reads it back and
// refuses anything else (nullopt).
std::string FormatPositions(const std::map<int32_t, int64_t>& positions);
std::optional<std::map<int32_t, int64_t>> ParsePositions(std::string_view text);

// A batch of at most `capacity` items out of everything offered since the last Take(): a
// uniform sample (reservoir) kept in arrival order, with the number left out. Not thread-safe.
class SampledBatch {
public:
    explicit SampledBatch(size_t capacity, uint64_t seed = 1);
    void Offer(nlohmann::json item);
    bool Empty() const { return kept_.empty() && dropped_ == 0; }
    size_t Offered() const { return offered_; }
    // {"items": [...], "dropped": n} and a fresh batch.
    nlohmann::json Take();

private:
    size_t capacity_;
    size_t offered_ = 0;
    size_t dropped_ = 0;
    std::vector<std::pair<size_t, nlohmann::json>> kept_;  // (arrival index, item)
    std::mt19937_64 random_;
};

// An SSE response being written: events with ids, a comment heartbeat every 15 s of silence.
// Used by one producer thread.
class SseChannel {
public:
    explicit SseChannel(common::http::StreamWriter& writer,
                        std::chrono::milliseconds heartbeat = std::chrono::seconds(15));
    // False once the client is gone (stop producing).
    bool Send(std::string_view event, std::string_view id, const nlohmann::json& data);
    // Writes ": heartbeat" when nothing was written for the heartbeat interval.
    bool KeepAlive();
    bool Open() const { return writer_.Open(); }
    bool Wait(std::chrono::milliseconds timeout) { return writer_.Wait(timeout); }

private:
    common::http::StreamWriter& writer_;
    std::chrono::milliseconds heartbeat_;
    std::chrono::steady_clock::time_point last_write_;
    uint64_t sequence_ = 0;
};

// Sets the headers of an SSE answer (content type, no caching, no proxy buffering).
void SetSseHeaders(common::http::Response& response);

// True when the request asks for JSON rather than SSE (Accept: application/json).
bool WantsJson(const common::http::Request& request);

}  // namespace tributary::console
