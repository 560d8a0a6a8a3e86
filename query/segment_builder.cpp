#include "query/segment_builder.hpp"

#include "common/logging.hpp"
#include "query/day_segment.hpp"
#include "query/params.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace tributary::query {
namespace {

std::optional<std::string_view> Optional(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return std::string_view(field.c_str(), field.size());
}

}  // namespace

SegmentBuilder::SegmentBuilder(std::string database_url, SegmentBuilderConfig config,
                               common::MetricsRegistry& metrics)
    : database_url_(std::move(database_url)),
      config_(config),
      built_(metrics.GetCounter("tributary_analytics_segments_built_total",
                                "Day segments of analytics events written (built or rebuilt)")),
      failures_(metrics.GetCounter("tributary_analytics_segment_failures_total",
                                   "Day segment scans or builds that failed")),
      stale_(metrics.GetGauge("tributary_analytics_segments_stale",
                              "Sealed days without a current segment at the last scan")) {}

void SegmentBuilder::Run(common::ShutdownSignals& signals) {
    const auto log = common::GetLogger("segments");
    std::unique_ptr<pqxx::connection> connection;
    while (!signals.Requested()) {
        try {
            if (!connection || !connection->is_open()) {
                connection = std::make_unique<pqxx::connection>(database_url_);
            }
            BuildStale(*connection, &signals);
        } catch (const std::exception& e) {
            failures_.Inc();
            log->warn("day segment scan failed, retrying in {} s: {}", config_.scan_interval.count(),
                      e.what());
            connection.reset();
        }
        signals.WaitFor(config_.scan_interval);
    }
}

int SegmentBuilder::BuildStale(pqxx::connection& connection, common::ShutdownSignals* signals) {
    const auto log = common::GetLogger("segments");
    pqxx::result stale;
    {
        pqxx::read_transaction txn(connection);
        stale = txn.exec_params(
            "SELECT c.tenant_id, to_char(c.bucket AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM (SELECT tenant_id, bucket, sum(n) AS n FROM "
            "analytics_event_counts WHERE grain = 'd' AND bucket <= now() - make_interval(secs => "
            "$1) - interval '1 day' GROUP BY 1, 2) c LEFT JOIN analytics_day_segments s ON "
            "s.tenant_id = c.tenant_id AND s.day = c.bucket WHERE s.events IS DISTINCT FROM c.n "
            // Days whose raw partition retention dropped (storage/retention.cpp) keep their
            // rollups but can no longer be compacted.
            "AND to_regclass('user_analytics_events_p' || to_char(c.bucket AT TIME ZONE 'UTC', "
            "'YYYYMMDD')) IS NOT NULL "
            "ORDER BY c.bucket DESC, c.tenant_id",
            static_cast<double>(config_.seal_after.count()));
    }
    stale_.Set(static_cast<double>(stale.size()));
    int built = 0;
    for (const auto& row : stale) {
        if (signals != nullptr && signals->Requested()) break;
        const std::string tenant = row[0].c_str();
        const std::string day = row[1].c_str();
        try {
            const auto started = std::chrono::steady_clock::now();
            if (BuildDay(connection, tenant, day)) {
                ++built;
                stale_.Dec();
                log->info("day segment {} (tenant {}) built in {} ms", day, tenant,
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started).count());
            }
        } catch (const pqxx::serialization_failure& e) {
            // Another replica wrote the same day at the same time: next scan.
            log->debug("day segment {} raced another builder: {}", day, e.what());
        } catch (const pqxx::broken_connection&) {
            throw;  // Run() reconnects
        } catch (const std::exception& e) {
            // This day stays on raw rows; the other days are still built.
            failures_.Inc();
            log->warn("day segment {} (tenant {}) not built: {}", day, tenant, e.what());
        }
    }
    return built;
}

bool SegmentBuilder::BuildDay(pqxx::connection& connection, const std::string& tenant_id,
                              const std::string& day) {
    // One snapshot for the rows and the rollup total they must match.
    pqxx::transaction<pqxx::repeatable_read> txn(connection);
    txn.exec("SET LOCAL TimeZone = 'UTC'");
    txn.exec("SET LOCAL DateStyle = 'ISO'");
    const auto day_start = ParsePgUtcMicros(
        txn.exec_params("SELECT $1::timestamptz", day)[0][0].c_str());
    if (!day_start) throw std::runtime_error("unexpected day " + day);
    const pqxx::result rows = txn.exec_params(
        "SELECT user_no, event_time, event_type, device, os, browser, country FROM "
        "user_analytics_events WHERE tenant_id = $1 AND event_time >= $2::timestamptz AND "
        "event_time < $2::timestamptz + interval '1 day'",
        tenant_id, day);
    const int64_t total = txn.exec_params(
        "SELECT COALESCE(sum(n), 0) FROM analytics_event_counts WHERE tenant_id = $1 AND "
        "grain = 'd' AND bucket = $2::timestamptz", tenant_id, day)[0][0].as<int64_t>();
    if (total != static_cast<int64_t>(rows.size())) {
        throw std::runtime_error("day " + day + " has " + std::to_string(rows.size()) +
                                 " rows but its rollup counts " + std::to_string(total));
    }
    std::vector<SegmentEvent> events;
    events.reserve(rows.size());
    for (const auto& row : rows) {
        if (row[0].is_null()) return false;  // not numbered yet: the day cannot be sealed
        SegmentEvent event;
        const char* user = row[0].c_str();
        std::from_chars(user, user + std::strlen(user), event.user_no);
        const auto time = ParsePgUtcMicros(row[1].c_str());
        if (!time) throw std::runtime_error(std::string("unexpected event time ") + row[1].c_str());
        event.time_us = *time;
        event.event_type = std::string_view(row[2].c_str(), row[2].size());
        for (size_t d = 0; d < kSegmentDimensions; ++d) event.dimensions[d] = Optional(row[static_cast<pqxx::row::size_type>(3 + d)]);
        events.push_back(event);
    }
    std::sort(events.begin(), events.end(), [](const SegmentEvent& a, const SegmentEvent& b) {
        return a.user_no != b.user_no ? a.user_no < b.user_no : a.time_us < b.time_us;
    });
    const EncodedSegment segment = EncodeSegment(*day_start, events);
    txn.exec_params(
        "INSERT INTO analytics_day_segments (tenant_id, day, format, events, dictionary, "
        "timeline, dimensions) VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7) "
        "ON CONFLICT (tenant_id, day) DO UPDATE SET format = excluded.format, events = "
        "excluded.events, dictionary = excluded.dictionary, timeline = excluded.timeline, "
        "dimensions = excluded.dimensions, built_at = now()",
        tenant_id, day, kSegmentFormat, segment.events, segment.dictionary.ToJson(),
        Base64UrlEncode(segment.timeline), Base64UrlEncode(segment.dimensions));
    txn.commit();
    built_.Inc();
    return true;
}

}  // namespace tributary::query
