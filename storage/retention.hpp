#pragma once

#include "common/metrics.hpp"

#include <chrono>
#include <map>
#include <string>

namespace tributary::storage {

struct RetentionSettings {
    int retention_days = 0;         // RETENTION_DAYS: raw events; 0 keeps them forever
    int rollup_retention_days = 0;  // ROLLUP_RETENTION_DAYS: rollups; 0 keeps them forever
    int partitions_ahead_days = 7;  // PARTITIONS_AHEAD_DAYS: daily partitions made ahead
};

// What one RunOnce did.
struct RetentionRun {
    bool ran = false;  // false: another process held the job's lock, nothing was done
    std::map<std::string, int64_t> partitions_created;  // per table
    std::map<std::string, int64_t> partitions_dropped;
    std::map<std::string, int64_t> rows_dropped;        // exact count(*) before each drop
    std::map<std::string, int64_t> partitions;          // per table, after the run
    int64_t rollup_rows_deleted = 0;
    int64_t status_rows_deleted = 0;  // event_processing_status + enrichment_attempts
    double seconds = 0;
};

// The storage maintenance job (run periodically by the subscriber, which owns the writes):
// creates the daily partitions of the coming days, drops the partitions of days entirely
// older than RETENTION_DAYS (DETACH, then DROP TABLE: no row-by-row DELETE), with the
// processing-status and enrichment-attempt rows of the research records they held, and
// deletes rollup rows older than ROLLUP_RETENTION_DAYS in chunks. One process at a time runs
// it: a session advisory lock, tried and not waited for. Metrics (when given):
// tributary_retention_partitions_dropped_total{table}, tributary_retention_rows_dropped_total
// {table}, tributary_retention_last_run_timestamp_seconds, tributary_storage_partitions{table},
// tributary_retention_run_seconds. Not thread-safe; throws pqxx errors.
class RetentionJob {
public:
    RetentionJob(std::string database_url, RetentionSettings settings,
                 common::MetricsRegistry* metrics);

    RetentionRun RunOnce(std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

private:
    std::string database_url_;
    RetentionSettings settings_;
    common::MetricsRegistry* metrics_;
};

}  // namespace tributary::storage
