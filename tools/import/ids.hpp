#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tributary::tools::import {

// What identifies an input file independently of its path: the SHA-256 of its first
// kHeadBytes bytes (hex) and its size. The head alone names the event ids, so a file that grew
// by appended lines keeps the ids of the lines it already had.
struct FileIdentity {
    std::string head_sha256;
    int64_t size = 0;
};

inline constexpr size_t kHeadBytes = 64 * 1024;

// Reads the head of `path`; throws std::runtime_error when the file cannot be read.
FileIdentity IdentifyFile(const std::string& path);

// SHA-256 of `data` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);

// The event id of record `number` (line number, or SDF record number) of the file whose head
// hash is `head_sha256`, with `content` the record's text: "imp-" + 16 hex digits of the file
// + "-" + number + "-" + 12 hex digits of the hash of all three. The same file imported again
// (from any path, resumed or not) gives every record the same id; a different record at the
// same position gives a different one. At most 56 characters (fits Segment's 100 and the
// native 128). Pure, thread-safe.
std::string DeterministicEventId(std::string_view head_sha256, int64_t number,
                                 std::string_view content);

}  // namespace tributary::tools::import
