#include "tools/import/importer.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

namespace tributary::tools::import {
namespace {

// Stores what it is sent (by id) and asks the import to stop after `stop_after` requests.
struct FakeStore {
    std::mutex mutex;
    std::vector<nlohmann::json> events;
    std::atomic<int> requests{0};
    int stop_after = -1;
    StopSignal* stop = nullptr;
};

class StoringTransport final : public Transport {
public:
    explicit StoringTransport(FakeStore& store) : store_(store) {}
    HttpAnswer Post(const std::string&, const std::string& body) override {
        const auto json = nlohmann::json::parse(body);
        {
            std::lock_guard lock(store_.mutex);
            for (const auto& e : json.at("events")) store_.events.push_back(e);
        }
        if (++store_.requests == store_.stop_after) store_.stop->Request();
        return {202, "{}", "", ""};
    }

private:
    FakeStore& store_;
};

class ImporterTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "import-run-" + std::to_string(getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    Options MakeOptions(const std::string& file, Format format) {
        Options options;
        options.file = file;
        options.kind = Kind::kAnalytics;
        options.format = format;
        options.batch = 2;
        options.batch_bytes = 1 << 20;
        options.concurrency = 1;
        options.checkpoint_path = file + ".checkpoint";
        options.rejects_path = file + ".rejects";
        options.progress = ProgressMode::kNone;
        return options;
    }
    ImportResult Run(const Options& options, FakeStore& store, StopSignal& stop) {
        store.stop = &stop;
        std::ostringstream progress;
        return RunImport(options, stop, [&] { return std::make_unique<StoringTransport>(store); }, progress, false);
    }
    std::string dir_;
};

TEST_F(ImporterTest, AnInterruptedCsvImportResumesAfterItsCheckpointWithTheSameIds) {
    const std::string file = dir_ + "/rows.csv";
    {
        std::ofstream out(file);
        out << "user_id,event_type,n\n";
        for (int i = 1; i <= 9; ++i) out << "u" << i << ",click," << i << "\n";
        out << "short\n";
    }
    const Options options = MakeOptions(file, Format::kCsv);
    FakeStore first_store;
    first_store.stop_after = 2;  // two batches of two rows, then "Ctrl-C"
    StopSignal first_stop;
    const ImportResult first = Run(options, first_store, first_stop);
    EXPECT_EQ(first.outcome, ImportResult::Outcome::kInterrupted);
    EXPECT_EQ(first.accepted, 4);
    EXPECT_EQ(first.done.line, 5);  // the header and four rows

    FakeStore second_store;
    StopSignal second_stop;
    const ImportResult second = Run(options, second_store, second_stop);
    EXPECT_EQ(second.outcome, ImportResult::Outcome::kComplete) << second.message;
    EXPECT_TRUE(second.resumed);
    EXPECT_EQ(second.sent, 5);
    EXPECT_EQ(second.rejected, 1);
    EXPECT_EQ(second.total_accepted, 9);
    ASSERT_EQ(second_store.events.size(), 5u);
    // The header was read again: the columns still have their names.
    EXPECT_EQ(second_store.events[0]["user_id"], "u5");
    EXPECT_EQ(second_store.events[0]["metadata"]["n"], 5);

    // Importing again from the top gives every row the id it had.
    FakeStore third_store;
    StopSignal third_stop;
    Options restart = options;
    restart.restart = true;
    ASSERT_EQ(Run(restart, third_store, third_stop).outcome, ImportResult::Outcome::kComplete);
    ASSERT_EQ(third_store.events.size(), 9u);
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(third_store.events[i]["event_id"], first_store.events[i]["event_id"]);
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(third_store.events[i + 4]["event_id"], second_store.events[i]["event_id"]);
    }
    std::ifstream rejects(file + ".rejects");
    std::string line;
    ASSERT_TRUE(std::getline(rejects, line));
    EXPECT_EQ(nlohmann::json::parse(line)["line"], 11);
    EXPECT_FALSE(std::getline(rejects, line));  // --restart truncated the file
}

TEST_F(ImporterTest, ACompleteCheckpointMakesARerunSendNothingAndAnotherFileIsRefused) {
    const std::string file = dir_ + "/events.ndjson";
    std::ofstream(file) << R"({"user_id":"a","event_type":"x"})" "\n" R"({"user_id":"b","event_type":"x"})" "\n";
    const Options options = MakeOptions(file, Format::kNdjson);
    FakeStore store;
    StopSignal stop;
    ASSERT_EQ(Run(options, store, stop).outcome, ImportResult::Outcome::kComplete);
    FakeStore again;
    StopSignal stop_again;
    const ImportResult rerun = Run(options, again, stop_again);
    EXPECT_EQ(rerun.outcome, ImportResult::Outcome::kComplete);
    EXPECT_EQ(rerun.sent, 0);
    EXPECT_NE(rerun.message.find("already imported"), std::string::npos);
    EXPECT_EQ(again.requests.load(), 0);

    std::ofstream(file) << R"({"user_id":"c","event_type":"x"})" "\n";  // another file, same path
    FakeStore other;
    StopSignal stop_other;
    const ImportResult refused = Run(options, other, stop_other);
    EXPECT_EQ(refused.outcome, ImportResult::Outcome::kFailed);
    EXPECT_NE(refused.message.find("--restart"), std::string::npos);
    EXPECT_EQ(other.requests.load(), 0);
}

}  // namespace
}  // namespace tributary::tools::import
