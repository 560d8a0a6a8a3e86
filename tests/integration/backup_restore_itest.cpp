// Backup and restore as docs/OPERATIONS.md describes it, on the real servers: the pipeline
// (publisher, subscriber with the mock LLM, query API) stores analytics events over several
// days and research records; `pg_dump -Fc` backs the database up while the stack runs; more
// events arrive; then the database is "lost": `pg_restore --no-owner -j` into a fresh
// database, a query API on it gives byte-for-byte the answers recorded before the backup, and
// the tenant's key still authenticates. The subscriber group is rewound to the backup's time
// with Kafka's own ConsumerGroupCommand (`kafka-consumer-groups --reset-offsets
// --to-datetime`), and a subscriber on the restored database stores the events sent after the
// backup, each once: the re-read ones that the backup already held are dropped as duplicates,
// and the rollups answer exactly what the database that never crashed answers. A research
// record whose LLM retry was pending at the backup is enriched after the restore with an empty
// Redis: the sweeper re-queues it from event_processing_status.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

namespace tributary::itest {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Quotes a value for /bin/sh.
std::string Quote(const std::string& text) {
    std::string out = "'";
    for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// The directory of the PostgreSQL client binaries matching the server the infra starts:
// $PG_BIN when set (as infra/postgres.sh reads it), else pg_config's bindir.
std::string PgBin() {
    if (const char* bin = std::getenv("PG_BIN"); bin != nullptr && *bin != '\0') return bin;
    std::string dir = Run("pg_config --bindir");
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
    return dir;
}

// Runs one of Kafka's CLI classes from the jars infra/kafka.sh resolved (its cache folder and
// version, read from the script itself, so the two never disagree).
std::string KafkaTool(const std::string& main_class, const std::string& args) {
    const std::string script =
        "source \"$TRIBUTARY_ROOT/infra/lib.sh\" && "
        "v=$(sed -n 's/^KAFKA_VERSION=//p' \"$TRIBUTARY_ROOT/infra/kafka.sh\") && "
        "d=\"$TRIBUTARY_CACHE/kafka-$v\" && "
        "exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "
        "-Dlog4j.configuration=file:\"$d/tools-log4j.properties\" -cp \"$d/libs/*\" " +
        main_class + " " + args;
    return Run("TRIBUTARY_ROOT=" + Quote(Infra::Get().root) + " bash -c " + Quote(script));
}

std::string Admin(const std::string& database_url, const std::string& args) {
    return Run("DATABASE_URL=" + Quote(database_url) + " " +
               Infra::Get().Binary("tools/admin/tributary-admin") + " " + args);
}

// A counter's value in a Prometheus text page (the unlabelled series), 0 when absent.
double Metric(const std::string& page, const std::string& name) {
    std::istringstream lines(page);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
    }
    return 0;
}

std::string Rfc3339Millis(std::chrono::system_clock::time_point time) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
    const std::time_t seconds = ms / 1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[96];
    std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return text;
}

// Removes `field` from every object in `value`, recursively.
void Strip(Json& value, const std::string& field) {
    if (value.is_object()) {
        value.erase(field);
        for (auto& [key, member] : value.items()) Strip(member, field);
    } else if (value.is_array()) {
        for (auto& member : value) Strip(member, field);
    }
}

constexpr int kUsers = 40;
constexpr const char* kFrom = "2026-02-02T00:00:00Z";
constexpr const char* kTo = "2026-02-09T00:00:00Z";

const std::vector<std::pair<std::string, std::string>> kMolecules = {
    {"ethanol", "CCO"},
    {"aspirin", "CC(=O)Oc1ccccc1C(=O)O"},
    {"caffeine", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"},
    {"benzene", "c1ccccc1"},
    {"ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"},
    {"paracetamol", "CC(=O)Nc1ccc(O)cc1"},
    {"salicylic acid", "OC(=O)c1ccccc1O"},
    {"cyclohexane", "C1CCCCC1"},
    {"triethylamine", "CCN(CC)CC"},
    {"palmitic acid", "CCCCCCCCCCCCCCCC(=O)O"},
    {"naphthalene", "c1ccc2ccccc2c1"},
    {"glycerol", "OCC(O)CO"},
    {"isopropanol", "CC(C)O"},
    {"nicotine", "CN1CCCC1c1cccnc1"},
    {"formic acid", "OC=O"},
    {"toluene", "Cc1ccccc1"},
};

class BackupRestoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        run_ = "br" + UniqueSuffix();
        tenant_ = "backup-" + std::to_string(getpid());
        Admin(source_.Url(), "tenant create " + tenant_);
        key_ = Json::parse(Admin(source_.Url(), "key create --tenant " + tenant_ +
                                                    " --scopes ingest,query --rate 100000 --json"))
                   .at("key");
        ports_ = {FreePort(), FreePort(), FreePort()};
        mock_port_ = FreePort();
        group_ = "itest-backup-" + UniqueSuffix();
        env_ = ServiceEnv(Infra::Get().kafka, source_.Url(), group_, ports_);
        env_.erase("TRIBUTARY_ANONYMOUS_TENANT");  // every request carries the tenant's key
        env_["LLM_BASE_URL"] = "http://127.0.0.1:" + std::to_string(mock_port_) + "/v1";
        env_["LLM_RPM"] = "6000";
        env_["MOCK_LLM_RPM"] = "6000";
        env_["ENRICHMENT_RETRY_INITIAL_MS"] = "200";
        env_["ENRICHMENT_RETRY_MAX_MS"] = "1000";
        env_["ENRICHMENT_MAX_RETRIES"] = "1000";  // a record in an LLM outage stays retry_scheduled
        env_["LLM_BREAKER_COOLDOWN_MS"] = "500";
        env_["REDIS_KEY_PREFIX"] = "itest-" + run_;
        mock_ = StartMockLlm(env_, mock_port_);
        publisher_ = StartPublisher(env_, ports_.publisher);
        subscriber_ = StartSubscriber(env_, ports_.subscriber);
        query_ = StartQuery(env_, ports_.query);
    }

    httplib::Headers Auth() const { return {{"Authorization", "Bearer " + key_}}; }

    void Post(const std::string& path, const Json& events) {
        for (size_t start = 0; start < events.size(); start += 100) {
            Json batch = Json::array();
            for (size_t i = start; i < std::min(events.size(), start + 100); ++i) batch.push_back(events[i]);
            const auto response =
                HttpRequest(ports_.publisher, "POST", path, Auth(), Json{{"events", batch}}.dump());
            ASSERT_EQ(response.status, 202) << response.body;
        }
    }

    // Analytics events of `days` (0 = 2026-02-02): per user and day a view, for some users a
    // cart and a buy minutes later, another page; sessions for even users, none for odd ones
    // (those are split by inactivity).
    Json AnalyticsDays(const std::vector<int>& days, const std::string& tag) const {
        Json events = Json::array();
        for (const int d : days) {
            for (int i = 0; i < kUsers; ++i) {
                if ((i + d) % 3 == 1) continue;
                const int hour = 8 + i % 10, minute = (i % 4) * 10;
                const auto add = [&](const std::string& type, int plus, int page) {
                    char ts[32];
                    std::snprintf(ts, sizeof(ts), "2026-02-%02dT%02d:%02d:%02dZ", 2 + d, hour,
                                  minute + plus, i % 60);
                    Json event = {{"event_id", run_ + "-" + tag + "-" + std::to_string(d) + "-" +
                                                   std::to_string(i) + "-" + type + std::to_string(plus)},
                                  {"user_id", "u-" + std::to_string(i)},
                                  {"event_type", type},
                                  {"timestamp", ts},
                                  {"context", {{"page", {{"path", "/p/" + std::to_string(page)}}},
                                               {"device", {{"type", i % 3 == 0 ? "mobile" : "desktop"}}},
                                               {"country", i % 2 == 0 ? "DE" : "FR"}}}};
                    if (i % 2 == 0) event["session_id"] = "s-" + std::to_string(i) + "-" + std::to_string(d);
                    events.push_back(std::move(event));
                };
                add("view", 0, (i + d) % 5);
                if (i % 2 == 0) add("cart", 5, 7);
                if (i % 4 == 0) add("buy", 12, 8);
                if (i % 5 == 0) add("view", 20, (i + d + 1) % 5);
            }
        }
        return events;
    }

    Json Research(size_t first, size_t count, int day) const {
        Json records = Json::array();
        for (size_t m = first; m < first + count; ++m) {
            const auto& [name, smiles] = kMolecules[m];
            char ts[32];
            std::snprintf(ts, sizeof(ts), "2026-02-%02dT1%zu:00:00Z", 2 + day, m % 10);
            records.push_back({{"event_id", run_ + "-r-" + std::to_string(m)},
                               {"molecule_id", "mol-" + std::to_string(m)},
                               {"researcher", m % 2 == 0 ? "Dr. Backup" : "Dr. Restore"},
                               {"experiment_id", "exp-" + std::to_string(m % 3)},
                               {"timestamp", ts},
                               {"data", {{"smiles", smiles},
                                         {"name", name},
                                         {"notes", "clear sample of " + name + ", bp " +
                                                       std::to_string(60 + m) + " C, batch " + run_}}}});
        }
        return records;
    }

    static int64_t Count(const TestDatabase& db, const std::string& table) {
        return db.Scalar("SELECT count(*) FROM " + table);
    }

    void MockConfig(const Json& patch) {
        ASSERT_EQ(HttpPost(mock_port_, "/admin/config", patch.dump()).status, 200);
    }

    // Waits until `db` holds `analytics` analytics rows and `research` research records,
    // `enriched` of them (default: all) enriched by the (mock) LLM.
    void WaitStored(const TestDatabase& db, int64_t analytics, int64_t research, Process& subscriber,
                    int64_t enriched = -1) {
        if (enriched < 0) enriched = research;
        ASSERT_TRUE(WaitFor([&] {
            return Count(db, "user_analytics_events") == analytics &&
                   Count(db, "chemical_research_events") == research &&
                   db.Scalar("SELECT count(*) FROM chemical_research_events WHERE enrichment_status = 'llm'") ==
                       enriched;
        }, 60s)) << "analytics " << Count(db, "user_analytics_events") << "/" << analytics << ", research "
                 << Count(db, "chemical_research_events") << "/" << research << ", enriched "
                 << db.Scalar("SELECT count(*) FROM chemical_research_events WHERE enrichment_status = 'llm'")
                 << "/" << enriched << "\n"
                 << subscriber.LogTail();
    }

    // The processing status of research record `m` ('retry_scheduled', 'completed', ...).
    static int64_t RetryScheduled(const TestDatabase& db, size_t m) {
        return db.Scalar("SELECT count(*) FROM event_processing_status s JOIN chemical_research_events c"
                         " USING (tenant_id, event_id) WHERE c.molecule_id = 'mol-" + std::to_string(m) +
                         "' AND s.status = 'retry_scheduled'");
    }

    // The analytics questions (whose answers depend on the stored events only).
    static std::vector<std::string> AnalyticsPaths() {
        const std::string range = std::string("from=") + kFrom + "&to=" + kTo;
        return {
            "/api/v1/analytics/event-trends?" + range + "&interval=day",
            "/api/v1/analytics/event-trends?" + range + "&interval=hour&event_type=buy",
            "/api/v1/analytics/event-types?" + range,
            "/api/v1/analytics/top?dimension=page&" + range,
            "/api/v1/analytics/top?dimension=device&" + range,
            "/api/v1/analytics/user-distribution?dimension=country&" + range,
            "/api/v1/analytics/active-users?interval=day&" + range,
            "/api/v1/analytics/funnel?steps=view,cart,buy&within=1h&" + range,
            "/api/v1/analytics/retention?cohort=day&periods=6&" + range,
            "/api/v1/analytics/sessions?" + range,
            "/api/v1/events?" + range + "&limit=100",
            "/api/v1/events?" + range + "&event_type=buy&dimension=device&value=mobile&limit=500",
            "/api/v1/analytics/user/u-4",
            "/api/v1/events/user/u-8?limit=50",
        };
    }
    static std::vector<std::string> ResearchPaths() {
        return {
            "/api/v1/research/molecules?researcher=Dr.%20Backup",
            "/api/v1/research/molecules?lipinski=true&limit=100",
            "/api/v1/research/molecules?q=acid",
            "/api/v1/research/molecules/mol-1",
            "/api/v1/research/molecules/mol-8",
            "/api/v1/analytics/researcher/Dr.%20Restore",
            "/api/v1/research/summary",
        };
    }

    std::map<std::string, std::string> Answers(int port, const std::vector<std::string>& paths) {
        std::map<std::string, std::string> answers;
        for (const auto& path : paths) {
            const auto result = HttpRequest(port, "GET", path, Auth());
            EXPECT_EQ(result.status, 200) << path << ": " << result.body;
            answers[path] = result.body;
        }
        return answers;
    }

    std::set<std::string> EventIds(const TestDatabase& db, const std::string& table) {
        pqxx::connection connection(db.Url());
        pqxx::read_transaction txn(connection);
        std::set<std::string> ids;
        for (const auto& row : txn.exec("SELECT event_id FROM " + table)) ids.insert(row[0].as<std::string>());
        return ids;
    }

    std::string run_, tenant_, key_, group_;
    TestDatabase source_;
    ServicePorts ports_;
    int mock_port_ = 0;
    Env env_;
    std::unique_ptr<Process> mock_, publisher_, subscriber_, query_;
};

TEST_F(BackupRestoreTest, ARestoredBackupAnswersAsBeforeAndKafkaReplayClosesTheGap) {
    // Before the backup: four days (A1) and research records enriched by the LLM; one more
    // record during an LLM outage, so the backup holds its pending retry; then - one second
    // after the time the subscriber group will be rewound to - a fifth day and more research
    // records (A2), still in the outage.
    const Json a1 = AnalyticsDays({0, 1, 2, 3}, "a");
    const Json r1 = Research(0, 8, 1);
    Post("/api/v1/events/analytics", a1);
    Post("/api/v1/events/chemical", r1);
    WaitStored(source_, static_cast<int64_t>(a1.size()), 8, *subscriber_);
    if (HasFatalFailure()) return;
    MockConfig({{"outage", "503"}});
    constexpr size_t kPending = 8;  // mol-8: its retry is only in PostgreSQL after the restore
    Post("/api/v1/events/chemical", Research(kPending, 1, 2));
    ASSERT_TRUE(WaitFor([&] { return RetryScheduled(source_, kPending) == 1; }, 30s)) << subscriber_->LogTail();
    std::this_thread::sleep_for(1100ms);
    const auto rewind_to = std::chrono::system_clock::now();
    std::this_thread::sleep_for(1100ms);
    const Json a2 = AnalyticsDays({4}, "a");
    const Json r2 = Research(9, 3, 4);
    Post("/api/v1/events/analytics", a2);
    Post("/api/v1/events/chemical", r2);
    const int64_t before_analytics = static_cast<int64_t>(a1.size() + a2.size());
    WaitStored(source_, before_analytics, 12, *subscriber_, 8);
    if (HasFatalFailure()) return;
    const auto analytics_paths = AnalyticsPaths();
    const auto research_paths = ResearchPaths();
    auto all_paths = analytics_paths;
    all_paths.insert(all_paths.end(), research_paths.begin(), research_paths.end());
    const auto before = Answers(ports_.query, all_paths);
    // The answers hold the data (equal empty answers would prove nothing).
    EXPECT_EQ(Json::parse(before.at(analytics_paths[0])).value("total", -1), before_analytics);
    EXPECT_GT(Json::parse(before.at(analytics_paths[7]))["steps"][2].value("users", 0), 0);
    EXPECT_EQ(Json::parse(before.at(research_paths.back())).value("records", -1), 12);
    EXPECT_EQ(Json::parse(before.at(research_paths[3]))["enrichment_status"], "llm");
    EXPECT_EQ(Json::parse(before.at(research_paths[4]))["enrichment_status"], "fallback");  // mol-8

    // The backup, taken while the stack runs (pg_dump reads one consistent snapshot).
    const std::string pg_bin = PgBin();
    const char* scratch = std::getenv("TRIBUTARY_TEST_TMPDIR");
    const std::string dump =
        (scratch != nullptr && *scratch != '\0' ? std::filesystem::path(scratch)
                                                : std::filesystem::temp_directory_path()) /
        (run_ + ".dump");
    auto started = Clock::now();
    itest::Run(pg_bin + "/pg_dump -Fc -d " + Quote(source_.Url()) + " -f " + Quote(dump));
    const double dump_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    struct stat info {};
    ASSERT_EQ(stat(dump.c_str(), &info), 0);
    std::cout << "pg_dump -Fc: " << info.st_size << " bytes in " << dump_seconds << " s ("
              << before_analytics << " analytics events, 12 research records)\n";

    // After the backup: more events, on days the answers above cover, and research records.
    const Json b = [&] {
        Json events = AnalyticsDays({5}, "b");
        for (auto& e : AnalyticsDays({4}, "b")) {
            if (e["event_type"] != "buy") continue;
            std::string ts = e["timestamp"];
            e["timestamp"] = ts.replace(11, 2, "20");  // late buys on day 5, at 20:MM:SS
            events.push_back(e);
        }
        return events;
    }();
    const Json rb = Research(12, 4, 5);
    MockConfig({{"outage", "none"}});
    Post("/api/v1/events/analytics", b);
    Post("/api/v1/events/chemical", rb);
    const int64_t all_analytics = before_analytics + static_cast<int64_t>(b.size());
    WaitStored(source_, all_analytics, 16, *subscriber_);
    if (HasFatalFailure()) return;
    const auto source_after = Answers(ports_.query, analytics_paths);
    EXPECT_NE(source_after.at(analytics_paths[0]), before.at(analytics_paths[0]))
        << "the events after the backup must change the answers, or the test proves nothing";

    // The disaster: the subscriber stops (SIGTERM: it leaves the group, so the group is empty
    // and its offsets can be reset) and the database is restored from the backup into a fresh
    // one.
    ASSERT_EQ(subscriber_->Stop(), 0) << subscriber_->LogTail();
    TestDatabase restored;
    started = Clock::now();
    itest::Run(pg_bin + "/pg_restore --no-owner -j 2 -d " + Quote(restored.Url()) + " " + Quote(dump));
    const double restore_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    // Either schema works: plain tables, or daily partitions (migration 0008) that the dump
    // holds as the parent plus each partition.
    std::cout << "pg_restore --no-owner -j 2: " << restore_seconds << " s; partitions of user_analytics_events: "
              << restored.Scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                                 "'user_analytics_events'::regclass")
              << "\n";
    EXPECT_EQ(Count(restored, "user_analytics_events"), before_analytics);
    EXPECT_EQ(Count(restored, "chemical_research_events"), 12);

    // A query API on the restored database (it applies the migrations: already recorded, so
    // nothing runs) gives the pre-backup answers byte for byte, for the same key.
    ServicePorts restored_ports{0, FreePort(), FreePort()};
    Env restored_env = env_;
    restored_env["DATABASE_URL"] = restored.Url();
    restored_env["QUERY_PORT"] = std::to_string(restored_ports.query);
    restored_env["SUBSCRIBER_PORT"] = std::to_string(restored_ports.subscriber);
    // Redis is lost too: the retry queue and the LLM cache start empty.
    restored_env["REDIS_KEY_PREFIX"] = "itest-" + run_ + "-restored";
    auto restored_query = StartQuery(restored_env, restored_ports.query);
    const auto after_restore = Answers(restored_ports.query, all_paths);
    for (const auto& path : all_paths) {
        EXPECT_EQ(after_restore.at(path), before.at(path)) << path;
    }
    EXPECT_EQ(HttpRequest(restored_ports.query, "GET", analytics_paths[0],
                          {{"Authorization", "Bearer trb_" + std::string(43, 'x')}}).status, 401);

    // Kafka: rewind the subscriber group to the backup's time, minus a margin for what was not
    // stored yet when the backup began (here: back to before A2 was sent).
    const std::string prefix = TopicPrefix(env_);
    const std::string reset = KafkaTool(
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        "--bootstrap-server " + Quote(Infra::Get().kafka) + " --group " + Quote(group_) +
            " --reset-offsets --to-datetime " + Rfc3339Millis(rewind_to) + " --topic " +
            Quote(prefix + "analytics.events") + " --topic " + Quote(prefix + "research.records") +
            " --execute");
    int64_t rewound_to = 0, partitions = 0;
    {
        // Rows of GROUP TOPIC PARTITION NEW-OFFSET (whitespace-separated; the tool starts each
        // row with its line break, so the last one ends without).
        std::istringstream words(reset);
        for (std::string word; words >> word;) {
            std::string topic;
            int64_t partition = -1, offset = -1;
            if (word == group_ && words >> topic >> partition >> offset) {
                rewound_to += offset;
                ++partitions;
            }
        }
    }
    ASSERT_GE(partitions, 2) << reset;
    const int64_t end_offsets = TopicEndOffsets(Infra::Get().kafka, prefix + "analytics.events") +
                                TopicEndOffsets(Infra::Get().kafka, prefix + "research.records");
    const int64_t reread_expected = static_cast<int64_t>(a2.size() + r2.size());
    const int64_t new_expected = static_cast<int64_t>(b.size() + rb.size());
    // Exactly A2 and B lie after the rewind point: a seek by time, not to the beginning.
    EXPECT_EQ(end_offsets - rewound_to, reread_expected + new_expected) << reset;

    auto restored_subscriber = StartSubscriber(restored_env, restored_ports.subscriber);
    WaitStored(restored, all_analytics, 16, *restored_subscriber);
    if (HasFatalFailure()) return;
    // Every event once: the same ids as the database that never crashed ...
    EXPECT_EQ(EventIds(restored, "user_analytics_events"), EventIds(source_, "user_analytics_events"));
    EXPECT_EQ(EventIds(restored, "chemical_research_events"), EventIds(source_, "chemical_research_events"));
    // ... the re-read ones dropped by idempotency, nothing earlier read again ...
    std::string metrics;
    ASSERT_TRUE(WaitFor([&] {
        metrics = HttpGet(restored_ports.subscriber, "/metrics").body;
        return Metric(metrics, "tributary_subscriber_messages_consumed_total") >=
               static_cast<double>(reread_expected + new_expected);
    }, 20s));
    EXPECT_EQ(Metric(metrics, "tributary_subscriber_messages_consumed_total"),
              static_cast<double>(reread_expected + new_expected));
    EXPECT_EQ(Metric(metrics, "tributary_subscriber_duplicates_total"), static_cast<double>(reread_expected));
    // The retry that was pending at the backup was not re-read from Kafka and is in no Redis
    // queue (the restored subscriber has an empty one): the sweeper re-queued it from
    // event_processing_status, and the record is enriched.
    EXPECT_EQ(RetryScheduled(restored, kPending), 0);
    EXPECT_EQ(restored.Scalar("SELECT count(*) FROM chemical_research_events WHERE molecule_id = 'mol-" +
                              std::to_string(kPending) + "' AND enrichment_status = 'llm'"), 1);
    EXPECT_GE(Metric(metrics, "tributary_enrichment_requeued_total"), 1.0);
    // ... and the rollups count nothing twice: the same answers as the source database. Two
    // fields differ by nature for the replayed rows: stored_at (when the row was written) and
    // a raw-event page's next_cursor (it holds the storage order of its last row).
    const auto replayed = Answers(restored_ports.query, analytics_paths);
    for (const auto& path : analytics_paths) {
        Json got = Json::parse(replayed.at(path)), want = Json::parse(source_after.at(path));
        Strip(got, "stored_at");
        Strip(want, "stored_at");
        if (path.starts_with("/api/v1/events")) {
            got.erase("next_cursor");
            want.erase("next_cursor");
        }
        EXPECT_EQ(got, want) << path;
    }
    std::remove(dump.c_str());
}

}  // namespace
}  // namespace tributary::itest
