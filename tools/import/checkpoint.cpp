#include "tools/import/checkpoint.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tributary::tools::import {
namespace {

constexpr int kVersion = 1;

std::runtime_error SystemError(const std::string& what, const std::string& path) {
    return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

std::string CheckpointToJson(const Checkpoint& c) {
    const nlohmann::json json = {
        {"version", kVersion},
        {"file", {{"head_sha256", c.file_head_sha256}, {"size", c.file_size}}},
        {"kind", c.kind},
        {"format", c.format},
        {"position", {{"offset", c.position.offset}, {"line", c.position.line}, {"record", c.position.record}}},
        {"accepted", c.accepted},
        {"rejected", c.rejected},
        {"complete", c.complete}};
    return json.dump(2) + "\n";
}

std::optional<Checkpoint> CheckpointFromJson(const std::string& text, std::string* error) {
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        *error = "is not JSON";
        return std::nullopt;
    }
    try {
        if (json.at("version").get<int>() != kVersion) {
            *error = "has version " + json.at("version").dump() + ", this tool writes " +
                     std::to_string(kVersion);
            return std::nullopt;
        }
        Checkpoint c;
        c.file_head_sha256 = json.at("file").at("head_sha256").get<std::string>();
        c.file_size = json.at("file").at("size").get<int64_t>();
        c.kind = json.at("kind").get<std::string>();
        c.format = json.at("format").get<std::string>();
        const auto& position = json.at("position");
        c.position.offset = position.at("offset").get<int64_t>();
        c.position.line = position.at("line").get<int64_t>();
        c.position.record = position.at("record").get<int64_t>();
        c.accepted = json.at("accepted").get<int64_t>();
        c.rejected = json.at("rejected").get<int64_t>();
        c.complete = json.at("complete").get<bool>();
        if (c.position.offset < 0 || c.position.line < 0 || c.position.record < 0) {
            *error = "has a negative position";
            return std::nullopt;
        }
        return c;
    } catch (const nlohmann::json::exception& e) {
        *error = std::string("lacks a field or has one of the wrong type (") + e.what() + ")";
        return std::nullopt;
    }
}

void WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
    const std::string temporary = path + ".tmp";
    const std::string text = CheckpointToJson(checkpoint);
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw SystemError("cannot create", temporary);
    size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const auto error = SystemError("cannot write", temporary);
            ::close(fd);
            throw error;
        }
        written += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const auto error = SystemError("cannot fsync", temporary);
        ::close(fd);
        throw error;
    }
    if (::close(fd) != 0) throw SystemError("cannot close", temporary);
    if (std::rename(temporary.c_str(), path.c_str()) != 0) throw SystemError("cannot rename to", path);
}

std::optional<Checkpoint> ReadCheckpoint(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) return std::nullopt;
        throw SystemError("cannot read the checkpoint", path);
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto checkpoint = CheckpointFromJson(text.str(), &error);
    if (!checkpoint) throw std::runtime_error("the checkpoint " + path + " " + error);
    return checkpoint;
}

std::string CheckpointMismatch(const Checkpoint& checkpoint, const std::string& head_sha256,
                               int64_t file_size, const std::string& kind,
                               const std::string& format) {
    if (checkpoint.kind != kind || checkpoint.format != format) {
        return "was written by an import with --kind " + checkpoint.kind + " --format " +
               checkpoint.format;
    }
    if (checkpoint.file_head_sha256 != head_sha256) {
        return "belongs to another file (its first bytes differ)";
    }
    if (checkpoint.position.offset > file_size || checkpoint.file_size > file_size) {
        return "belongs to a longer file (" + std::to_string(checkpoint.file_size) +
               " bytes; this one has " + std::to_string(file_size) + ")";
    }
    return "";
}

void AckTracker::Issue(uint64_t sequence, Position end) {
    pending_.push_back({sequence, end, false, 0, 0});
}

bool AckTracker::Complete(uint64_t sequence, int64_t accepted, int64_t rejected) {
    for (Entry& entry : pending_) {
        if (entry.sequence == sequence) {
            entry.complete = true;
            entry.accepted = accepted;
            entry.rejected = rejected;
            break;
        }
    }
    bool moved = false;
    while (!pending_.empty() && pending_.front().complete) {
        done_ = pending_.front().end;
        done_accepted_ += pending_.front().accepted;
        done_rejected_ += pending_.front().rejected;
        pending_.pop_front();
        moved = true;
    }
    return moved;
}

}  // namespace tributary::tools::import
