#pragma once

#include "storage/records.hpp"

#include <pqxx/connection>

#include <memory>
#include <span>
#include <string>


namespace tributary::storage {

struct StoreResult {
    size_t analytics_inserted = 0;  // new rows; the rest were already stored (redelivery)
    size_t chemical_inserted = 0;
};

// The WHERE clause (with leading space; empty for 0 days) that drops a staged row `s` whose
// event_id is stored in `table` with an event_time within window_days of its own. `from` and
// `to` (timestamptz literals, or empty): bounds of every staged row's window, for planning.
std::string WindowCondition(const std::string& table, int window_days, const std::string& from = {},
                            const std::string& to = {});

// Writes batches of rows, idempotently on (tenant_id, event_id). Implementations are used by
// one worker thread at a time.
class EventStore {
public:
    virtual ~EventStore() = default;
    // Stores every row in one transaction, or nothing. Throws the database client's
    // exceptions (classify them with ClassifyDbError).
    virtual StoreResult Store(std::span<const AnalyticsRow> analytics,
                              std::span<const ChemicalRow> chemical) = 0;
};

// PostgreSQL implementation: COPY into session-local staging tables, then one
// INSERT ... SELECT ... ON CONFLICT DO NOTHING per table, all in one transaction. Connects
// lazily and reconnects after a broken connection. Not thread-safe: one per worker.
class PgEventStore final : public EventStore {
public:
    // idempotency_window_days: an event_id already stored with an event_time within this many
    // days of a new row's makes the row a duplicate (0: only an exact redelivery, same
    // event_id and event_time, is one).
    PgEventStore(std::string database_url, int enrichment_max_retries,
                 int idempotency_window_days = 7);
    ~PgEventStore() override;

    StoreResult Store(std::span<const AnalyticsRow> analytics,
                      std::span<const ChemicalRow> chemical) override;

private:
    pqxx::connection& Connection();
    StoreResult StoreOnce(std::span<const AnalyticsRow> analytics,
                          std::span<const ChemicalRow> chemical);
    void EnsurePartitionsFor(std::span<const AnalyticsRow> analytics,
                             std::span<const ChemicalRow> chemical);

    std::string database_url_;
    int enrichment_max_retries_;
    int idempotency_window_days_;
    std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace tributary::storage
