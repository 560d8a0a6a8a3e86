#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace tributary::tools::import {

// A place in the input: bytes, lines and records before it.
struct Position {
    int64_t offset = 0;
    int64_t line = 0;
    int64_t record = 0;
};

// What the checkpoint file keeps: which file (head hash and size when written), the import's
// kind and format, the position below which every record was acknowledged by the publisher or
// written to the rejects file, and the totals so far.
struct Checkpoint {
    std::string file_head_sha256;
    int64_t file_size = 0;
    std::string kind;
    std::string format;
    Position position;
    int64_t accepted = 0;
    int64_t rejected = 0;
    bool complete = false;
};

std::string CheckpointToJson(const Checkpoint& checkpoint);
// nullopt with `error` set when the text is not a checkpoint.
std::optional<Checkpoint> CheckpointFromJson(const std::string& text, std::string* error);

// Writes the checkpoint to `path` atomically: a temporary file next to it, fsync, rename, so a
// crash leaves the old or the new checkpoint, never half of one. Throws std::runtime_error.
void WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint);
// nullopt when there is no file at `path`; throws std::runtime_error when it cannot be read or
// parsed (the user must decide: --restart or another --checkpoint).
std::optional<Checkpoint> ReadCheckpoint(const std::string& path);

// Why a checkpoint cannot continue this import; empty when it can. A checkpoint of the same
// file may continue when the file has only grown (the head is unchanged and the position lies
// within it).
std::string CheckpointMismatch(const Checkpoint& checkpoint, const std::string& head_sha256,
                               int64_t file_size, const std::string& kind,
                               const std::string& format);

// Batches leave in order but are answered in any order; only the prefix in which every batch
// is answered counts as done. Register each batch with Issue (in file order), report it with
// Complete (any order); Done() is the end of the contiguous completed prefix. Not
// thread-safe (callers hold a lock).
class AckTracker {
public:
    explicit AckTracker(Position start) : done_(start) {}

    void Issue(uint64_t sequence, Position end);
    // Records the batch's outcome; returns true when Done() moved.
    bool Complete(uint64_t sequence, int64_t accepted = 0, int64_t rejected = 0);
    Position Done() const { return done_; }
    // Events accepted / rejected by the batches in the done prefix (since construction).
    int64_t DoneAccepted() const { return done_accepted_; }
    int64_t DoneRejected() const { return done_rejected_; }
    size_t Outstanding() const { return pending_.size(); }

private:
    struct Entry {
        uint64_t sequence;
        Position end;
        bool complete;
        int64_t accepted;
        int64_t rejected;
    };
    std::deque<Entry> pending_;
    Position done_;
    int64_t done_accepted_ = 0;
    int64_t done_rejected_ = 0;
};

}  // namespace tributary::tools::import
