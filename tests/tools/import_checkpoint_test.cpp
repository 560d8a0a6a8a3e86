#include "tools/import/checkpoint.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tributary::tools::import {
namespace {

TEST(AckTracker, OnlyTheContiguousAcknowledgedPrefixCounts) {
    AckTracker tracker({0, 0, 0});
    tracker.Issue(0, {100, 10, 10});
    tracker.Issue(1, {200, 20, 20});
    tracker.Issue(2, {300, 30, 30});
    // Batch 1 answers first: nothing is done until batch 0 is.
    EXPECT_FALSE(tracker.Complete(1, 10, 0));
    EXPECT_EQ(tracker.Done().offset, 0);
    EXPECT_TRUE(tracker.Complete(0, 9, 1));
    EXPECT_EQ(tracker.Done().offset, 200);
    EXPECT_EQ(tracker.Done().line, 20);
    EXPECT_EQ(tracker.DoneAccepted(), 19);
    EXPECT_EQ(tracker.DoneRejected(), 1);
    EXPECT_EQ(tracker.Outstanding(), 1u);
    EXPECT_TRUE(tracker.Complete(2, 10, 0));
    EXPECT_EQ(tracker.Done().offset, 300);
    EXPECT_EQ(tracker.Outstanding(), 0u);
}

TEST(AckTracker, StartsWhereTheCheckpointWas) {
    AckTracker tracker({500, 50, 40});
    EXPECT_EQ(tracker.Done().offset, 500);
    tracker.Issue(0, {600, 60, 50});
    EXPECT_EQ(tracker.Done().record, 40);
    tracker.Complete(0);
    EXPECT_EQ(tracker.Done().record, 50);
}

Checkpoint Sample() {
    Checkpoint c;
    c.file_head_sha256 = std::string(64, 'a');
    c.file_size = 1000;
    c.kind = "analytics";
    c.format = "ndjson";
    c.position = {400, 40, 39};
    c.accepted = 38;
    c.rejected = 1;
    return c;
}

TEST(Checkpoint, RoundTripsThroughItsFileAtomically) {
    const std::string path = ::testing::TempDir() + "import-" + std::to_string(getpid()) + ".checkpoint";
    EXPECT_EQ(ReadCheckpoint(path), std::nullopt);
    WriteCheckpoint(path, Sample());
    Checkpoint second = Sample();
    second.position.offset = 800;
    second.complete = true;
    WriteCheckpoint(path, second);
    const auto read = ReadCheckpoint(path);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->position.offset, 800);
    EXPECT_EQ(read->position.line, 40);
    EXPECT_EQ(read->accepted, 38);
    EXPECT_TRUE(read->complete);
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    std::ofstream(path) << "{\"version\": 1}";
    EXPECT_THROW(ReadCheckpoint(path), std::runtime_error);
    std::filesystem::remove(path);
}

TEST(Checkpoint, ContinuesOnlyTheSameFileImportedTheSameWay) {
    const Checkpoint c = Sample();
    const std::string head = c.file_head_sha256;
    EXPECT_EQ(CheckpointMismatch(c, head, 1000, "analytics", "ndjson"), "");
    // A file that grew by appended lines continues.
    EXPECT_EQ(CheckpointMismatch(c, head, 5000, "analytics", "ndjson"), "");
    EXPECT_NE(CheckpointMismatch(c, std::string(64, 'b'), 1000, "analytics", "ndjson").find("another file"),
              std::string::npos);
    EXPECT_NE(CheckpointMismatch(c, head, 999, "analytics", "ndjson").find("longer file"), std::string::npos);
    EXPECT_NE(CheckpointMismatch(c, head, 1000, "chemical", "ndjson").find("--kind analytics"),
              std::string::npos);
    std::string error;
    EXPECT_FALSE(CheckpointFromJson("not json", &error));
    EXPECT_FALSE(CheckpointFromJson(R"({"version": 2})", &error));
    EXPECT_NE(error.find("version"), std::string::npos);
    const auto parsed = CheckpointFromJson(CheckpointToJson(c), &error);
    ASSERT_TRUE(parsed) << error;
    EXPECT_EQ(parsed->position.record, 39);
}

}  // namespace
}  // namespace tributary::tools::import
