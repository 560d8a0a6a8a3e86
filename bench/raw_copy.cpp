// tributary-raw-copy: the PostgreSQL ceiling. COPY (libpq, one COPY ... FROM STDIN per
// transaction, the batch sent as one buffer: the least client work possible) of the rows the
// subscriber stores for the benchmark's analytics events into a table of the same shape as
// user_analytics_events (CREATE TABLE ... (LIKE user_analytics_events INCLUDING ALL): same
// columns, defaults, unique constraint and indexes), in transactions of --batch rows over
// --connections connections, for a fixed time. No staging table, no ON CONFLICT, no rollups:
// the cheapest way to land these rows. Prints one JSON object.

#include "bench/event_gen.hpp"

#include <nlohmann/json.hpp>
#include <libpq-fe.h>
#include <pqxx/pqxx>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string pg_url;
    std::string table = "bench_raw_copy";
    std::string like = "user_analytics_events";
    int connections = 2;
    int batch = 2000;
    double duration_s = 10;
    size_t event_bytes = 250;
    std::string prefix = "rawcopy";
    std::string synchronous_commit;  // empty: the server's setting
    bool keep = false;
};

[[noreturn]] void Usage(const std::string& problem) {
    std::cerr << "tributary-raw-copy: " << problem << "\n"
              << "usage: tributary-raw-copy --pg-url URL [--table T] [--connections N] [--batch ROWS]\n"
                 "  [--duration S] [--event-bytes B] [--synchronous-commit on|off] [--keep]\n";
    std::exit(2);
}

Options ParseOptions(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) Usage(arg + " needs a value");
            return argv[++i];
        };
        try {
            if (arg == "--pg-url") o.pg_url = value();
            else if (arg == "--table") o.table = value();
            else if (arg == "--connections") o.connections = std::stoi(value());
            else if (arg == "--batch") o.batch = std::stoi(value());
            else if (arg == "--duration") o.duration_s = std::stod(value());
            else if (arg == "--event-bytes") o.event_bytes = std::stoul(value());
            else if (arg == "--prefix") o.prefix = value();
            else if (arg == "--synchronous-commit") o.synchronous_commit = value();
            else if (arg == "--keep") o.keep = true;
            else Usage("unknown option " + arg);
        } catch (const std::logic_error&) {
            Usage("bad value for " + arg);
        }
    }
    if (o.pg_url.empty()) Usage("--pg-url is required");
    if (o.connections < 1 || o.batch < 1) Usage("--connections and --batch must be positive");
    return o;
}

std::string NowRfc3339() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[40];
    std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
    char out[64];
    std::snprintf(out, sizeof(out), "%s.%06lldZ", buffer, static_cast<long long>(micros));
    return out;
}

// COPY text format: backslash, tab, newline and carriage return are escaped.
void AppendCopyText(std::string& out, std::string_view text) {
    for (const char c : text) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\t': out += "\\t"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            default: out += c;
        }
    }
}

// The columns the subscriber writes (the event's values as the message mapper extracts them;
// the JSON columns are the event's metadata and context objects).
constexpr const char* kColumns[] = {"tenant_id", "event_id", "user_id", "event_type", "event_time",
                                    "received_at", "session_id", "page", "source", "device", "os",
                                    "browser", "country", "metadata", "context", "kafka_partition",
                                    "kafka_offset", "user_no"};

void AppendRow(std::string& line, const Options& o, uint64_t seq, const std::string& now) {
    namespace b = tributary::bench;
    line.clear();
    const uint64_t user = (seq * 7919) % b::kUsers;
    // The event the generator sends, cut into columns.
    std::string event;
    b::AppendAnalyticsEvent(event, o.prefix, seq, o.event_bytes, 0);
    const auto metadata_at = event.find(R"("metadata":)") + 11;
    const std::string metadata = event.substr(metadata_at, event.size() - 1 - metadata_at);
    const auto context_at = event.find(R"("context":)") + 10;
    const std::string context = event.substr(context_at, event.find(R"(,"metadata")") - context_at);
    const auto tab = [&line] { line += '\t'; };
    line += "default";
    tab();
    b::AppendEventId(line, o.prefix, seq);
    tab();
    line += "user_" + std::to_string(user);
    tab();
    line += b::kEventTypes[seq % b::kEventTypes.size()];
    tab();
    line += now;
    tab();
    line += now;
    tab();
    line += "s-" + std::to_string(user) + "-" + std::to_string(seq / 50000);
    tab();
    line += b::kPages[seq % b::kPages.size()];
    tab();
    line += "web";
    tab();
    line += b::kDevices[seq % b::kDevices.size()];
    tab();
    line += b::kOs[seq % b::kOs.size()];
    tab();
    line += b::kBrowsers[seq % b::kBrowsers.size()];
    tab();
    line += b::kCountries[seq % b::kCountries.size()];
    tab();
    AppendCopyText(line, metadata);
    tab();
    AppendCopyText(line, context);
    tab();
    line += std::to_string(seq % 6);
    tab();
    line += std::to_string(seq);
    tab();
    line += std::to_string(user + 1);
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = ParseOptions(argc, argv);
    try {
        pqxx::connection setup(o.pg_url);
        pqxx::nontransaction txn(setup);
        txn.exec("DROP TABLE IF EXISTS " + o.table);
        txn.exec("CREATE TABLE " + o.table + " (LIKE " + o.like + " INCLUDING ALL)");
    } catch (const std::exception& e) {
        std::cerr << "tributary-raw-copy: setup failed: " << e.what() << "\n";
        return 1;
    }
    const std::vector<std::string> columns(std::begin(kColumns), std::end(kColumns));
    std::atomic<uint64_t> sequence{0};
    std::atomic<uint64_t> rows{0};
    std::atomic<uint64_t> transactions{0};
    std::mutex error_mutex;
    std::string error;
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    const auto start = Clock::now();
    const auto stop = start + std::chrono::duration<double>(o.duration_s);
    std::vector<std::thread> threads;
    for (int t = 0; t < o.connections; ++t) {
        threads.emplace_back([&] {
            PGconn* connection = PQconnectdb(o.pg_url.c_str());
            const auto fail = [&](const std::string& what) {
                std::lock_guard lock(error_mutex);
                error = what + ": " + PQerrorMessage(connection);
            };
            // Runs a command that returns no rows; false (after recording why) on failure.
            const auto exec = [&](const std::string& sql, ExecStatusType expected) {
                PGresult* result = PQexec(connection, sql.c_str());
                const bool ok = PQresultStatus(result) == expected;
                if (!ok) fail(sql);
                PQclear(result);
                return ok;
            };
            if (PQstatus(connection) != CONNECTION_OK) {
                fail("connect");
                PQfinish(connection);
                return;
            }
            std::string copy = "COPY " + o.table + " (";
            for (size_t i = 0; i < columns.size(); ++i) copy += (i ? ", " : "") + columns[i];
            copy += ") FROM STDIN";
            if (!o.synchronous_commit.empty() &&
                !exec("SET synchronous_commit = " + o.synchronous_commit, PGRES_COMMAND_OK)) {
                PQfinish(connection);
                return;
            }
            std::string line;
            std::string buffer;
            while (Clock::now() < stop) {
                const std::string now = NowRfc3339();
                const uint64_t first = sequence.fetch_add(static_cast<uint64_t>(o.batch));
                buffer.clear();
                for (int i = 0; i < o.batch; ++i) {
                    AppendRow(line, o, first + static_cast<uint64_t>(i), now);
                    buffer += line;
                    buffer += '\n';
                }
                if (!exec("BEGIN", PGRES_COMMAND_OK) || !exec(copy, PGRES_COPY_IN)) break;
                if (PQputCopyData(connection, buffer.data(), static_cast<int>(buffer.size())) != 1 ||
                    PQputCopyEnd(connection, nullptr) != 1) {
                    fail("COPY data");
                    break;
                }
                PGresult* result = PQgetResult(connection);
                const bool copied = PQresultStatus(result) == PGRES_COMMAND_OK;
                PQclear(result);
                while ((result = PQgetResult(connection)) != nullptr) PQclear(result);
                if (!copied) {
                    fail("COPY");
                    break;
                }
                if (!exec("COMMIT", PGRES_COMMAND_OK)) break;
                rows.fetch_add(static_cast<uint64_t>(o.batch));
                transactions.fetch_add(1);
            }
            PQfinish(connection);
        });
    }
    for (auto& thread : threads) thread.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    const auto cpu = [](const timeval& a, const timeval& b) {
        return static_cast<double>(b.tv_sec - a.tv_sec) + static_cast<double>(b.tv_usec - a.tv_usec) / 1e6;
    };
    uint64_t counted = 0;
    try {
        pqxx::connection check(o.pg_url);
        pqxx::nontransaction txn(check);
        counted = txn.exec("SELECT count(*) FROM " + o.table)[0][0].as<uint64_t>();
        if (!o.keep) txn.exec("DROP TABLE " + o.table);
    } catch (const std::exception& e) {
        error = e.what();
    }
    nlohmann::json report = {
        {"table_like", o.like},
        {"connections", o.connections},
        {"batch_rows", o.batch},
        {"event_bytes", o.event_bytes},
        {"synchronous_commit", o.synchronous_commit.empty() ? "server default" : o.synchronous_commit},
        {"rows", rows.load()},
        {"rows_counted", counted},
        {"transactions", transactions.load()},
        {"elapsed_s", seconds},
        {"rows_per_s", static_cast<double>(rows.load()) / seconds},
        {"cpu_s", {{"user", cpu(before.ru_utime, after.ru_utime)}, {"sys", cpu(before.ru_stime, after.ru_stime)}}},
    };
    if (!error.empty()) report["error"] = error;
    std::cout << report.dump() << std::endl;
    return error.empty() ? 0 : 1;
}
