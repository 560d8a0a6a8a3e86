// tributary-import against the real stack (publisher, subscriber, query API; a tenant and an
// ingest key made with the real tributary-admin): a 1,000,000-line NDJSON file interrupted
// with SIGINT half-way and resumed stores every line exactly once; a CSV with a header row;
// RDKit's NCI first_200 SD file with the stored descriptors equal to the file's recorded
// values and a broken record in the rejects file; bad NDJSON lines in the rejects file with
// their line numbers while the good ones are stored.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace tributary::itest {
namespace {

const char* kSdfPath = "/usr/share/RDKit/Data/NCI/first_200.props.sdf";  // Debian's rdkit-data

std::string Admin(const std::string& database_url, const std::string& args) {
    return Run("DATABASE_URL='" + database_url + "' " + Infra::Get().Binary("tools/admin/tributary-admin") +
               " " + args);
}

std::string ReadText(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
    std::vector<nlohmann::json> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
    }
    return lines;
}

// tributary-import as a child process with arguments; stdout and stderr go to a log file.
class Importer {
public:
    Importer(const std::vector<std::string>& args, const std::string& log_path) : log_path_(log_path) {
        std::vector<std::string> argv_strings = {Infra::Get().Binary("tools/import/tributary-import")};
        argv_strings.insert(argv_strings.end(), args.begin(), args.end());
        pid_ = fork();
        if (pid_ == 0) {
            const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, nullptr);
            std::vector<char*> argv;
            for (auto& s : argv_strings) argv.push_back(s.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        if (pid_ < 0) throw std::runtime_error("fork failed");
    }
    ~Importer() {
        if (pid_ > 0 && !exit_code_) {
            kill(pid_, SIGKILL);
            Wait(10s);
        }
    }
    Importer(const Importer&) = delete;
    Importer& operator=(const Importer&) = delete;

    void Signal(int signal) { kill(pid_, signal); }
    std::optional<int> Wait(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!exit_code_) {
            int status = 0;
            const pid_t done = waitpid(pid_, &status, WNOHANG);
            if (done == pid_) {
                exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
            std::this_thread::sleep_for(20ms);
        }
        return exit_code_;
    }
    std::string Output() const { return ReadText(log_path_); }

private:
    std::string log_path_;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

// "key=value" pairs of the importer's "summary:" line.
std::map<std::string, std::string> Summary(const std::string& output) {
    std::map<std::string, std::string> values;
    const size_t at = output.rfind("summary: ");
    if (at == std::string::npos) return values;
    std::istringstream words(output.substr(at + 9, output.find('\n', at) - at - 9));
    for (std::string word; words >> word;) {
        const size_t eq = word.find('=');
        if (eq != std::string::npos) values[word.substr(0, eq)] = word.substr(eq + 1);
    }
    return values;
}

int64_t SummaryInt(const std::map<std::string, std::string>& summary, const std::string& key) {
    const auto it = summary.find(key);
    return it == summary.end() ? -1 : std::stoll(it->second);
}

class ImportTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        ports_ = {FreePort(), FreePort(), FreePort()};
        Env env = ServiceEnv(Infra::Get().kafka, database_->Url(), "itest-import-" + UniqueSuffix(), ports_);
        env.erase("TRIBUTARY_ANONYMOUS_TENANT");
        env["PUBLISHER_MAX_BATCH"] = "5000";
        env["SUBSCRIBER_BATCH_SIZE"] = "5000";
        env["ENRICHMENT"] = "off";
        env["LOG_LEVEL"] = "warn";
        env["LLM_BASE_URL"] = "http://127.0.0.1:" + std::to_string(FreePort()) + "/v1";
        tenant_ = "importer-" + std::to_string(getpid());
        Admin(database_->Url(), "tenant create " + tenant_);
        // A limit well above what the importer reaches: the test is about completeness, not
        // about the rate limiter (tenancy_itest covers 429s).
        const auto key = nlohmann::json::parse(Admin(
            database_->Url(), "key create --tenant " + tenant_ + " --scopes ingest --rate 10000000 --burst 20000000 --json"));
        key_ = key.at("key");
        subscriber_ = StartSubscriber(env, ports_.subscriber).release();
        query_ = StartQuery(env, ports_.query).release();
        publisher_ = StartPublisher(env, ports_.publisher).release();
        const char* tmp = std::getenv("TRIBUTARY_TEST_TMPDIR");
        dir_ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : ::testing::TempDir()) + "/import-itest-" +
               UniqueSuffix();
        std::filesystem::create_directories(dir_);
    }
    static void TearDownTestSuite() {
        delete publisher_;
        delete query_;
        delete subscriber_;
        delete database_;
        std::filesystem::remove_all(dir_);
    }

    static std::vector<std::string> Args(const std::string& file, const std::string& kind,
                                         std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {file, "--kind", kind, "--url",
                                         "http://127.0.0.1:" + std::to_string(ports_.publisher),
                                         "--key", key_, "--progress", "plain"};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }
    static int64_t Rows(const std::string& table, const std::string& where) {
        return database_->Scalar("SELECT count(*) FROM " + table + " WHERE tenant_id = '" + tenant_ + "' AND " + where);
    }
    static bool WaitRows(const std::string& table, const std::string& where, int64_t count,
                         std::chrono::milliseconds timeout = 120s) {
        return WaitFor([&] { return Rows(table, where) >= count; }, timeout, 200ms);
    }

    static TestDatabase* database_;
    static ServicePorts ports_;
    static std::string tenant_, key_, dir_;
    static Process* subscriber_;
    static Process* query_;
    static Process* publisher_;
};

TestDatabase* ImportTest::database_ = nullptr;
ServicePorts ImportTest::ports_;
std::string ImportTest::tenant_, ImportTest::key_, ImportTest::dir_;
Process* ImportTest::subscriber_ = nullptr;
Process* ImportTest::query_ = nullptr;
Process* ImportTest::publisher_ = nullptr;

TEST_F(ImportTest, MillionLinesInterruptedHalfWayAndResumedAreStoredExactlyOnce) {
    constexpr int64_t kLines = 1'000'000;
    const std::string file = dir_ + "/million.ndjson";
    {
        std::ofstream out(file);
        for (int64_t i = 1; i <= kLines; ++i) {
            out << R"({"user_id":"m-)" << i % 5000 << R"(","event_type":"page_view","timestamp":"2026-11-)"
                << (10 + i % 20) << R"(T10:00:00Z","metadata":{"n":)" << i << "}}\n";
        }
    }
    const std::string checkpoint = file + ".checkpoint";
    const auto args = Args(file, "analytics", {"--batch", "5000", "--concurrency", "4"});
    int64_t interrupted_at = 0;
    {
        Importer first(args, dir_ + "/million-1.log");
        // SIGINT once the checkpoint shows progress, well before the end.
        ASSERT_TRUE(WaitFor([&] {
            if (!std::filesystem::exists(checkpoint)) return false;
            const auto json = nlohmann::json::parse(ReadText(checkpoint), nullptr, false);
            return !json.is_discarded() && json["position"]["line"].get<int64_t>() >= 500'000;
        }, 120s, 20ms)) << first.Output();
        first.Signal(SIGINT);
        const auto code = first.Wait(60s);
        ASSERT_EQ(code, 130) << first.Output();
        const auto summary = Summary(first.Output());
        EXPECT_EQ(summary.at("state"), "interrupted");
        const auto json = nlohmann::json::parse(ReadText(checkpoint));
        EXPECT_FALSE(json["complete"].get<bool>());
        interrupted_at = json["position"]["line"].get<int64_t>();
        EXPECT_GT(interrupted_at, 0);
        EXPECT_LT(interrupted_at, kLines) << "the import finished before the SIGINT";
        // Everything below the checkpoint was acknowledged.
        EXPECT_GE(SummaryInt(summary, "accepted"), interrupted_at);
        std::cout << "[import] first run (interrupted): " << first.Output();
    }
    Importer second(args, dir_ + "/million-2.log");
    ASSERT_EQ(second.Wait(300s), 0) << second.Output();
    const auto summary = Summary(second.Output());
    std::cout << "[import] resumed run: " << second.Output();
    // The resumed run sent exactly the lines after the checkpoint.
    EXPECT_EQ(SummaryInt(summary, "sent"), kLines - interrupted_at);
    EXPECT_EQ(SummaryInt(summary, "rejected"), 0);
    EXPECT_EQ(SummaryInt(summary, "total_accepted"), kLines);
    EXPECT_NE(second.Output().find("resumed at line " + std::to_string(interrupted_at)), std::string::npos);
    const auto json = nlohmann::json::parse(ReadText(checkpoint));
    EXPECT_TRUE(json["complete"].get<bool>());
    EXPECT_EQ(json["position"]["line"].get<int64_t>(), kLines);

    ASSERT_TRUE(WaitRows("user_analytics_events", "user_id LIKE 'm-%'", kLines, 240s))
        << Rows("user_analytics_events", "user_id LIKE 'm-%'") << " rows\n" << subscriber_->LogTail();
    EXPECT_EQ(Rows("user_analytics_events", "user_id LIKE 'm-%'"), kLines);
    EXPECT_EQ(database_->Scalar("SELECT count(DISTINCT (metadata->>'n')) FROM user_analytics_events WHERE tenant_id = '" +
                                tenant_ + "' AND user_id LIKE 'm-%'"),
              kLines);
    // A third run finds the checkpoint complete and sends nothing.
    Importer third(args, dir_ + "/million-3.log");
    ASSERT_EQ(third.Wait(60s), 0) << third.Output();
    EXPECT_EQ(SummaryInt(Summary(third.Output()), "sent"), 0);
}

TEST_F(ImportTest, CsvWithAHeaderRowIsStoredColumnByColumn) {
    const std::string file = dir_ + "/events.csv";
    std::ofstream(file) << "user_id,event_type,timestamp,session_id,context.page.path,amount,note\r\n"
                           "c-1,purchase,2026-11-01T10:00:00Z,s1,/checkout,12.5,\"plain\"\r\n"
                           "c-2,signup,2026-11-01T11:00:00Z,s2,/join,7,\"with, a comma\"\r\n"
                           "c-3,click,2026-11-01T12:00:00Z,,/home,,\"two\nlines and \"\"quotes\"\"\"\r\n"
                           "c-4,broken\r\n";
    Importer importer(Args(file, "analytics"), dir_ + "/csv.log");
    ASSERT_EQ(importer.Wait(60s), 0) << importer.Output();
    ASSERT_TRUE(WaitRows("user_analytics_events", "user_id LIKE 'c-%'", 3));
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE tenant_id = '" + tenant_ +
                                "' AND user_id = 'c-1' AND event_type = 'purchase' AND session_id = 's1' AND "
                                "page = '/checkout' AND (metadata->>'amount')::float = 12.5 AND "
                                "jsonb_typeof(metadata->'amount') = 'number' AND "
                                "event_time = '2026-11-01T10:00:00Z'"),
              1);
    EXPECT_EQ(Rows("user_analytics_events", "user_id = 'c-2' AND metadata->>'note' = 'with, a comma'"), 1);
    EXPECT_EQ(Rows("user_analytics_events",
                   "user_id = 'c-3' AND metadata->>'note' = E'two\\nlines and \"quotes\"' AND session_id IS NULL"),
              1);
    const auto rejects = ReadJsonLines(file + ".rejects");
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(rejects[0]["line"], 6);  // the quoted line break makes c-3 two lines
    EXPECT_NE(rejects[0]["reason"].get<std::string>().find("has 2 fields"), std::string::npos);
}

// The file's own recorded values, by record number: AMW and the Lipinski counts.
struct RecordedProperties {
    double amw = NAN;
    int lipinski_hbd = -1;
    int lipinski_hba = -1;
};
std::vector<RecordedProperties> ReadSdfProperties(const std::string& path) {
    std::vector<RecordedProperties> records(1);
    std::ifstream in(path);
    std::string line, pending;
    while (std::getline(in, line)) {
        if (line.starts_with("$$$$")) {
            records.emplace_back();
        } else if (line.starts_with(">")) {
            const size_t open = line.find('<'), close = line.find('>', open);
            pending = line.substr(open + 1, close - open - 1);
        } else if (!pending.empty()) {
            if (pending == "AMW") records.back().amw = std::stod(line);
            if (pending == "NUM_LIPINSKIHDONORS") records.back().lipinski_hbd = std::stoi(line);
            if (pending == "NUM_LIPINSKIHACCEPTORS") records.back().lipinski_hba = std::stoi(line);
            pending.clear();
        }
    }
    records.pop_back();  // after the last "$$$$"
    return records;
}

TEST_F(ImportTest, NciSdfIsStoredWithTheRecordedDescriptorsAndBrokenRecordsAreRejected) {
    ASSERT_TRUE(std::filesystem::exists(kSdfPath)) << "install the Debian package rdkit-data";
    const auto recorded = ReadSdfProperties(kSdfPath);
    ASSERT_EQ(recorded.size(), 200u);
    // The NCI set, then a record with an impossible valence (a triple bond to an oxygen with
    // two more neighbours) and one whose atom block is cut short.
    const std::string file = dir_ + "/nci.sdf";
    {
        std::ofstream out(file);
        out << ReadText(kSdfPath);
        out << "bad-valence\n     RDKit          2D\n\n"
               "  3  2  0  0  0  0  0  0  0  0999 V2000\n"
               "    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n"
               "    1.2990    0.7500    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n"
               "    2.5981   -0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n"
               "  1  2  3  0\n  2  3  1  0\nM  END\n$$$$\n";
        out << "truncated\n     RDKit          2D\n\n"
               "  5  4  0  0  0  0  0  0  0  0999 V2000\n"
               "    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n"
               "M  END\n$$$$\n";
    }
    Importer importer(Args(file, "chemical", {"--researcher", "Dr. NCI", "--batch", "50"}), dir_ + "/sdf.log");
    ASSERT_EQ(importer.Wait(120s), 0) << importer.Output();
    const auto summary = Summary(importer.Output());
    EXPECT_EQ(SummaryInt(summary, "accepted"), 200) << importer.Output();
    EXPECT_EQ(SummaryInt(summary, "rejected"), 2) << importer.Output();

    std::cout << "[import] rejects of the SD file:\n" << ReadText(file + ".rejects").substr(0, 2000) << "\n";
    const auto rejects = ReadJsonLines(file + ".rejects");
    ASSERT_EQ(rejects.size(), 2u);
    EXPECT_EQ(rejects[0]["record"], 201);
    EXPECT_EQ(rejects[1]["record"], 202);
    EXPECT_GT(rejects[0]["line"].get<int64_t>(), 18000);
    EXPECT_NE(rejects[0]["reason"].get<std::string>().find("valence"), std::string::npos) << rejects[0];
    EXPECT_TRUE(rejects[1]["reason"].get<std::string>().starts_with("RDKit: ")) << rejects[1];

    ASSERT_TRUE(WaitRows("chemical_research_events", "researcher = 'Dr. NCI' AND descriptors IS NOT NULL", 200))
        << Rows("chemical_research_events", "researcher = 'Dr. NCI'") << " rows\n" << subscriber_->LogTail();
    pqxx::connection connection(database_->Url());
    pqxx::work tx(connection);
    const auto rows = tx.exec_params(
        "SELECT molecule_id, mw, (descriptors->>'lipinski_hbd')::int, (descriptors->>'lipinski_hba')::int, "
        "(data->'measurements'->>'AMW')::float, data->>'smiles' FROM chemical_research_events "
        "WHERE tenant_id = $1 AND researcher = 'Dr. NCI'",
        tenant_);
    ASSERT_EQ(rows.size(), 200u);
    std::set<int> seen;
    int lipinski_equal = 0;
    double max_difference = 0;
    for (const auto& row : rows) {
        const std::string molecule = row[0].as<std::string>();
        ASSERT_TRUE(molecule.starts_with("record-")) << molecule;
        const int number = std::stoi(molecule.substr(7));
        ASSERT_GE(number, 1);
        ASSERT_LE(number, 200);
        seen.insert(number);
        const RecordedProperties& expected = recorded[static_cast<size_t>(number - 1)];
        // RDKit's average molecular weight of the stored structure equals the file's AMW.
        // The file was written by an older RDKit whose atomic weights differ in the 4th-5th
        // significant decimal (S 32.065 vs 32.067 …) and ours is rounded to 3 decimals, so
        // equal within 0.003 % — a hydrogen more or less (1.008) is far outside that.
        const double amw = row[1].as<double>();
        EXPECT_NEAR(amw, expected.amw, 0.0005 + 3e-5 * expected.amw) << molecule << " " << row[5].as<std::string>();
        max_difference = std::max(max_difference, std::abs(amw - expected.amw));
        EXPECT_DOUBLE_EQ(row[4].as<double>(), expected.amw) << molecule;
        if (row[2].as<int>() == expected.lipinski_hbd && row[3].as<int>() == expected.lipinski_hba) {
            ++lipinski_equal;
        } else {
            ADD_FAILURE() << molecule << " lipinski hbd/hba " << row[2].as<int>() << "/" << row[3].as<int>()
                          << ", the file says " << expected.lipinski_hbd << "/" << expected.lipinski_hba;
        }
    }
    std::cout << "[import] largest |mw - AMW| over the 200 NCI records: " << max_difference << "\n";
    EXPECT_EQ(seen.size(), 200u);
    EXPECT_EQ(lipinski_equal, 200);
}

TEST_F(ImportTest, BadNdjsonLinesGoToTheRejectsFileWithTheirLineNumbersAndTheRestIsStored) {
    const std::string file = dir_ + "/mixed.ndjson";
    {
        std::ofstream out(file);
        for (int i = 1; i <= 30; ++i) {
            if (i == 3) {
                out << R"({"user_id": "b-3", "event_type": )" << "\n";  // broken JSON
            } else if (i == 5) {
                out << R"({"event_type":"click"})" << "\n";  // no user_id
            } else if (i == 8) {
                out << R"({"user_id":"b-8","event_type":"no spaces allowed"})" << "\n";
            } else if (i == 12) {
                out << R"({"user_id":"b-12","event_type":"click","timestamp":"yesterday"})" << "\n";
            } else if (i == 20) {
                out << "\n";  // blank lines are skipped, not rejected
            } else {
                out << R"({"user_id":"b-)" << i << R"(","event_type":"click"})" << "\n";
            }
        }
    }
    Importer importer(Args(file, "analytics", {"--batch", "10", "--concurrency", "2"}), dir_ + "/mixed.log");
    ASSERT_EQ(importer.Wait(60s), 0) << importer.Output();
    const auto summary = Summary(importer.Output());
    EXPECT_EQ(SummaryInt(summary, "accepted"), 25);
    EXPECT_EQ(SummaryInt(summary, "rejected"), 4);
    EXPECT_NE(importer.Output().find(file + ".rejects"), std::string::npos);

    std::cout << "[import] rejects of the NDJSON file:\n" << ReadText(file + ".rejects");
    const auto rejects = ReadJsonLines(file + ".rejects");
    ASSERT_EQ(rejects.size(), 4u);
    std::map<int, nlohmann::json> by_line;
    for (const auto& r : rejects) by_line[r["line"].get<int>()] = r;
    ASSERT_EQ(by_line.size(), 4u);
    EXPECT_NE(by_line[3]["reason"].get<std::string>().find("invalid JSON"), std::string::npos);
    EXPECT_EQ(by_line[5]["field"], "user_id") << by_line[5];
    EXPECT_EQ(by_line[8]["field"], "event_type") << by_line[8];
    EXPECT_EQ(by_line[12]["field"], "timestamp") << by_line[12];
    EXPECT_EQ(by_line[12]["input"], R"({"user_id":"b-12","event_type":"click","timestamp":"yesterday"})");

    ASSERT_TRUE(WaitRows("user_analytics_events", "user_id LIKE 'b-%'", 25));
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(Rows("user_analytics_events", "user_id LIKE 'b-%'"), 25);
    EXPECT_EQ(Rows("user_analytics_events", "user_id IN ('b-3', 'b-8', 'b-12')"), 0);
}

TEST_F(ImportTest, SegmentMessagesGoThroughTheBatchRouteWithTheirBadOnesRejected) {
    const std::string file = dir_ + "/segment.jsonl";
    std::ofstream(file) << R"({"type":"track","userId":"s-1","event":"Order Completed","properties":{"total":10}})" "\n"
                           R"({"userId":"s-2","event":"Signed Up"})" "\n"
                           R"({"type":"track","event":"Nobody Sent This"})" "\n"
                           R"({"type":"page","userId":"s-1","name":"Home","properties":{"path":"/home"}})" "\n";
    Importer importer(Args(file, "segment"), dir_ + "/segment.log");
    ASSERT_EQ(importer.Wait(60s), 0) << importer.Output();
    EXPECT_EQ(SummaryInt(Summary(importer.Output()), "accepted"), 3) << importer.Output();
    const auto rejects = ReadJsonLines(file + ".rejects");
    ASSERT_EQ(rejects.size(), 1u) << importer.Output();
    EXPECT_EQ(rejects[0]["line"], 3);
    ASSERT_TRUE(WaitRows("user_analytics_events", "user_id LIKE 's-%'", 3)) << subscriber_->LogTail();
    EXPECT_EQ(Rows("user_analytics_events", "user_id = 's-1' AND event_type = 'Order Completed' AND "
                                            "(metadata->>'total')::int = 10 AND event_id LIKE 'imp-%-1-%'"),
              1);
    EXPECT_EQ(Rows("user_analytics_events", "user_id = 's-2' AND event_type = 'Signed Up'"), 1);
    EXPECT_EQ(Rows("user_analytics_events", "user_id = 's-1' AND event_type = 'page_view'"), 1);
}

TEST_F(ImportTest, WrongKeyFailsWithTheReasonAndKeepsTheCheckpointAtTheStart) {
    const std::string file = dir_ + "/wrong-key.ndjson";
    std::ofstream(file) << R"({"user_id":"w-1","event_type":"click"})" << "\n";
    auto args = Args(file, "analytics");
    args[6] = "trb_notakeyatall";
    Importer importer(args, dir_ + "/wrong-key.log");
    ASSERT_EQ(importer.Wait(60s), 1) << importer.Output();
    EXPECT_NE(importer.Output().find("401"), std::string::npos) << importer.Output();
    EXPECT_EQ(Summary(importer.Output()).at("state"), "failed");
}

}  // namespace
}  // namespace tributary::itest
