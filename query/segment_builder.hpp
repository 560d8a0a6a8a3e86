#pragma once

#include "common/metrics.hpp"
#include "common/signals.hpp"

#include <pqxx/connection>

#include <chrono>
#include <memory>
#include <string>

namespace tributary::query {

struct SegmentBuilderConfig {
    // A day is compacted once it ended this long ago (events still arriving for it would make
    // the segment stale at once).
    std::chrono::seconds seal_after{3600};
    // How often to look for days without a current segment.
    std::chrono::seconds scan_interval{30};
};

// Keeps analytics_day_segments current (see day_segment.hpp): every scan finds the days whose
// segment is missing or stale (its row count differs from the day's total in the rollups) and
// (re)builds them, newest first. Runs in the query API; several replicas may build the same
// day, which only writes the same segment twice.
class SegmentBuilder {
public:
    SegmentBuilder(std::string database_url, SegmentBuilderConfig config,
                   common::MetricsRegistry& metrics);

    // Scans and builds until nothing is stale or `signals` asks to stop, then waits
    // scan_interval; returns when shutdown is requested. Database errors are logged and retried
    // at the next scan.
    void Run(common::ShutdownSignals& signals);

    // One scan: builds every stale sealed day; returns how many segments were written.
    int BuildStale(pqxx::connection& connection, common::ShutdownSignals* signals = nullptr);

    // Builds the segment of one UTC day (`day` as RFC 3339 text); false when the day cannot be
    // sealed yet (rows without a user number, waiting for the migration backfill).
    bool BuildDay(pqxx::connection& connection, const std::string& tenant_id, const std::string& day);

private:
    std::string database_url_;
    SegmentBuilderConfig config_;
    common::Counter& built_;
    common::Counter& failures_;
    common::Gauge& stale_;
};

}  // namespace tributary::query
