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
    PgEventStore(std::string database_url, int enrichment_max_retries);
    ~PgEventStore() override;

    StoreResult Store(std::span<const AnalyticsRow> analytics,
                      std::span<const ChemicalRow> chemical) override;

private:
    pqxx::connection& Connection();

    std::string database_url_;
    int enrichment_max_retries_;
    std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace tributary::storage
