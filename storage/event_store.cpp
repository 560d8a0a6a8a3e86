#include "storage/event_store.hpp"

#include "storage/analytics_rollups.hpp"
#include "storage/identity.hpp"

#include <pqxx/pqxx>

#include <array>
#include <cstdio>
#include <set>
#include <string_view>

namespace tributary::storage {
namespace {

// Session-local staging tables, emptied by every commit. Column order matches the rows
// written by the COPY below.
constexpr const char* kCreateStaging = R"sql(
CREATE TEMP TABLE IF NOT EXISTS stage_analytics (
    tenant_id TEXT, event_id TEXT, user_id TEXT, event_type TEXT, event_time TIMESTAMPTZ,
    received_at TIMESTAMPTZ, session_id TEXT, page TEXT, referrer TEXT, source TEXT,
    device TEXT, os TEXT, browser TEXT, country TEXT, metadata JSONB, context JSONB,
    extra JSONB, kafka_partition INTEGER, kafka_offset BIGINT
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_chemical (
    tenant_id TEXT, event_id TEXT, molecule_id TEXT, researcher TEXT, experiment_id TEXT,
    event_time TIMESTAMPTZ, received_at TIMESTAMPTZ, molecule_name TEXT, smiles TEXT,
    canonical_smiles TEXT, data JSONB, descriptors JSONB, descriptor_error TEXT,
    mw DOUBLE PRECISION, logp DOUBLE PRECISION, tpsa DOUBLE PRECISION, hbd INTEGER,
    hba INTEGER, llm_properties JSONB, enrichment_status TEXT, enrichment_provenance JSONB,
    enriched_at TIMESTAMPTZ, extra JSONB, kafka_partition INTEGER, kafka_offset BIGINT,
    processing_status TEXT, next_attempt_at TIMESTAMPTZ, last_error TEXT,
    attempt_started_at TIMESTAMPTZ, attempt_finished_at TIMESTAMPTZ, attempt_outcome TEXT,
    attempt_model TEXT, attempt_provider TEXT, attempt_error TEXT, attempt_latency_ms BIGINT
) ON COMMIT DELETE ROWS;
)sql";

constexpr const char* kAnalyticsColumns =
    "tenant_id, event_id, user_id, event_type, event_time, received_at, session_id, page, "
    "referrer, source, device, os, browser, country, metadata, context, extra, "
    "kafka_partition, kafka_offset";

constexpr const char* kChemicalColumns =
    "tenant_id, event_id, molecule_id, researcher, experiment_id, event_time, received_at, "
    "molecule_name, smiles, canonical_smiles, data, descriptors, descriptor_error, mw, logp, "
    "tpsa, hbd, hba, llm_properties, enrichment_status, enrichment_provenance, enriched_at, "
    "extra, kafka_partition, kafka_offset";

const char* OrNull(const std::optional<std::string>& value) {
    return value ? value->c_str() : nullptr;
}

std::string Number(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.17g", value);
    return buffer;
}

template <typename T>
std::optional<std::string> OptionalNumber(const std::optional<T>& value) {
    if (!value) return std::nullopt;
    if constexpr (std::is_floating_point_v<T>) {
        return Number(*value);
    } else {
        return std::to_string(*value);
    }
}

void CopyAnalytics(pqxx::work& txn, std::span<const AnalyticsRow> rows) {
    pqxx::stream_to stream(txn, "stage_analytics");
    for (const AnalyticsRow& r : rows) {
        const std::string partition = std::to_string(r.kafka_partition);
        const std::string offset = std::to_string(r.kafka_offset);
        // std::array: pqxx renders it like a tuple, and a null `const char*` as SQL NULL.
        const std::array<const char*, 19> values = {
            r.tenant_id.c_str(),  r.event_id.c_str(),    r.user_id.c_str(),
            r.event_type.c_str(), r.event_time.c_str(),  r.received_at.c_str(),
            OrNull(r.session_id), OrNull(r.page),        OrNull(r.referrer),
            OrNull(r.source),     OrNull(r.device),      OrNull(r.os),
            OrNull(r.browser),    OrNull(r.country),     r.metadata.c_str(),
            OrNull(r.context),    OrNull(r.extra),       partition.c_str(),
            offset.c_str()};
        stream << values;
    }
    stream.complete();
}

void CopyChemical(pqxx::work& txn, std::span<const ChemicalRow> rows) {
    pqxx::stream_to stream(txn, "stage_chemical",
                           std::vector<std::string>{
                               "tenant_id", "event_id", "molecule_id", "researcher",
                               "experiment_id", "event_time", "received_at", "molecule_name",
                               "smiles", "canonical_smiles", "data", "descriptors",
                               "descriptor_error", "mw", "logp", "tpsa", "hbd", "hba",
                               "llm_properties", "enrichment_status", "enrichment_provenance",
                               "enriched_at", "extra", "kafka_partition", "kafka_offset",
                               "processing_status", "next_attempt_at", "last_error",
                               "attempt_started_at", "attempt_finished_at", "attempt_outcome",
                               "attempt_model", "attempt_provider", "attempt_error",
                               "attempt_latency_ms"});
    for (const ChemicalRow& r : rows) {
        const auto mw = OptionalNumber(r.mw);
        const auto logp = OptionalNumber(r.logp);
        const auto tpsa = OptionalNumber(r.tpsa);
        const auto hbd = OptionalNumber(r.hbd);
        const auto hba = OptionalNumber(r.hba);
        const std::string partition = std::to_string(r.kafka_partition);
        const std::string offset = std::to_string(r.kafka_offset);
        const auto& attempt = r.first_attempt;
        const std::optional<std::string> latency =
            attempt ? std::optional<std::string>(std::to_string(attempt->latency_ms)) : std::nullopt;
        const std::array<const char*, 35> values = {
            r.tenant_id.c_str(),
            r.event_id.c_str(),
            r.molecule_id.c_str(),
            r.researcher.c_str(),
            OrNull(r.experiment_id),
            r.event_time.c_str(),
            r.received_at.c_str(),
            OrNull(r.molecule_name),
            OrNull(r.smiles),
            OrNull(r.canonical_smiles),
            r.data.c_str(),
            OrNull(r.descriptors),
            OrNull(r.descriptor_error),
            OrNull(mw),
            OrNull(logp),
            OrNull(tpsa),
            OrNull(hbd),
            OrNull(hba),
            OrNull(r.llm_properties),
            EnrichmentStatusName(r.enrichment_status),
            OrNull(r.enrichment_provenance),
            OrNull(r.enriched_at),
            OrNull(r.extra),
            partition.c_str(),
            offset.c_str(),
            r.processing_status.c_str(),
            OrNull(r.next_attempt_at),
            OrNull(r.last_error),
            attempt ? attempt->started_at.c_str() : nullptr,
            attempt ? attempt->finished_at.c_str() : nullptr,
            attempt ? attempt->outcome.c_str() : nullptr,
            attempt ? OrNull(attempt->model) : nullptr,
            attempt ? OrNull(attempt->provider) : nullptr,
            attempt ? OrNull(attempt->error) : nullptr,
            OrNull(latency)};
        stream << values;
    }
    stream.complete();
}

bool IsMissingPartition(const pqxx::sql_error& error) {
    return std::string_view(error.what()).find("no partition of relation") != std::string_view::npos;
}

}  // namespace

std::string WindowCondition(const std::string& table, int window_days, const std::string& from,
                            const std::string& to) {
    if (window_days <= 0) return {};
    // Hours, not days: the same span whatever the session's time zone (DST).
    const std::string window = "interval '" + std::to_string(window_days * 24) + " hours'";
    // A scalar subquery rather than NOT EXISTS: it stays a per-row probe (an anti join could
    // hash every partition), and each execution prunes to the partitions of its row's window.
    // The constant bounds of the whole batch let the planner leave out every other partition.
    std::string bounds;
    if (!from.empty() && !to.empty()) {
        bounds = " AND e.event_time >= '" + from + "'::timestamptz AND e.event_time <= '" + to +
                 "'::timestamptz";
    }
    return " WHERE (SELECT true FROM " + table + " e WHERE e.tenant_id = s.tenant_id"
           " AND e.event_id = s.event_id AND e.event_time BETWEEN s.event_time - " + window +
           " AND s.event_time + " + window + bounds + " LIMIT 1) IS NULL";
}

namespace {

// WindowCondition for the rows staged in `stage`, with the batch's bounds.
std::string StagedWindowCondition(pqxx::work& txn, const char* table, const char* stage,
                                  int window_days) {
    if (window_days <= 0) return {};
    const std::string window = "interval '" + std::to_string(window_days * 24) + " hours'";
    const auto bounds = txn.exec(std::string("SELECT (min(event_time) - ") + window + ")::text, (max(event_time) + " +
                                 window + ")::text FROM " + stage)[0];
    if (bounds[0].is_null()) return {};
    return WindowCondition(table, window_days, bounds[0].c_str(), bounds[1].c_str());
}

}  // namespace

PgEventStore::PgEventStore(std::string database_url, int enrichment_max_retries,
                           int idempotency_window_days)
    : database_url_(std::move(database_url)),
      enrichment_max_retries_(enrichment_max_retries),
      idempotency_window_days_(idempotency_window_days) {}

PgEventStore::~PgEventStore() = default;

pqxx::connection& PgEventStore::Connection() {
    if (connection_ && !connection_->is_open()) connection_.reset();
    if (!connection_) {
        auto fresh = std::make_unique<pqxx::connection>(database_url_);
        pqxx::nontransaction setup(*fresh);
        setup.exec(kCreateStaging);
        setup.exec(AnalyticsRollupStagingSql());
        setup.exec(IdentityStagingSql());
        setup.commit();
        connection_ = std::move(fresh);
    }
    return *connection_;
}

StoreResult PgEventStore::Store(std::span<const AnalyticsRow> analytics,
                                std::span<const ChemicalRow> chemical) {
    // A row of a day without a partition (an import of old events, a clock far ahead) fails
    // the batch; the partitions of the batch's days are then created and the batch stored
    // again. Partitions for the coming days exist already (storage/retention.cpp).
    for (int attempt = 0;; ++attempt) {
        try {
            return StoreOnce(analytics, chemical);
        } catch (const pqxx::check_violation& e) {
            if (attempt >= 2 || !IsMissingPartition(e)) throw;
            try {
                EnsurePartitionsFor(analytics, chemical);
            } catch (const std::exception&) {
                connection_.reset();
                throw;
            }
        }
    }
}

void PgEventStore::EnsurePartitionsFor(std::span<const AnalyticsRow> analytics,
                                       std::span<const ChemicalRow> chemical) {
    pqxx::work txn(Connection());
    const auto ensure = [&](const char* table, const std::set<std::string>& times) {
        if (times.empty()) return;
        std::string values;
        for (const std::string& time : times) {
            // esc() rather than quote(): the latter's inlined concatenation trips GCC 12's
            // -Wrestrict false positive.
            values += values.empty() ? "('" : ", ('";
            values += txn.esc(time);
            values += "')";
        }
        std::string sql = "SELECT tributary_ensure_day_partitions('";
        sql += table;
        sql += "', ARRAY(SELECT DISTINCT (t::timestamptz AT TIME ZONE 'UTC')::date FROM (VALUES ";
        sql += values;
        sql += ") v(t)))";
        txn.exec(sql);
    };
    std::set<std::string> times;
    for (const AnalyticsRow& r : analytics) times.insert(r.event_time);
    ensure("user_analytics_events", times);
    times.clear();
    for (const ChemicalRow& r : chemical) times.insert(r.event_time);
    ensure("chemical_research_events", times);
    txn.commit();
}

StoreResult PgEventStore::StoreOnce(std::span<const AnalyticsRow> analytics,
                                    std::span<const ChemicalRow> chemical) {
    StoreResult result;
    try {
        pqxx::work txn(Connection());
        if (!analytics.empty()) {
            CopyAnalytics(txn, analytics);
            // Rows and their rollups (migration 0002) in this same transaction.
            result.analytics_inserted = InsertAnalyticsWithRollups(
                txn, kAnalyticsColumns,
                StagedWindowCondition(txn, "user_analytics_events", "stage_analytics",
                                      idempotency_window_days_));
        }
        if (!chemical.empty()) {
            CopyChemical(txn, chemical);
            const std::string window = StagedWindowCondition(
                txn, "chemical_research_events", "stage_chemical", idempotency_window_days_);
            // The status row is written only for records actually inserted, in the same
            // statement, so a redelivered record leaves its existing status alone.
            const auto inserted = txn.exec(
                std::string("WITH ins AS (INSERT INTO chemical_research_events (") +
                kChemicalColumns + ") SELECT DISTINCT ON (tenant_id, event_id) " +
                kChemicalColumns + " FROM stage_chemical s" + window +
                " ORDER BY tenant_id, event_id, kafka_partition, kafka_offset"
                " ON CONFLICT (tenant_id, event_id, event_time) DO NOTHING"
                " RETURNING tenant_id, event_id),"
                " st AS (INSERT INTO event_processing_status"
                " (tenant_id, event_id, event_kind, status, max_retries, next_attempt_at, last_error)"
                " SELECT DISTINCT ON (s.tenant_id, s.event_id) s.tenant_id, s.event_id,"
                " 'chemical_research', s.processing_status, " +
                std::to_string(enrichment_max_retries_) +
                ", s.next_attempt_at, s.last_error FROM ins JOIN stage_chemical s"
                " USING (tenant_id, event_id) ON CONFLICT (tenant_id, event_id) DO NOTHING),"
                // The first enrichment attempt (migration 0007), also only for new rows.
                " at AS (INSERT INTO enrichment_attempts (tenant_id, event_id, attempt, started_at,"
                " finished_at, outcome, model, provider, error, latency_ms)"
                " SELECT DISTINCT ON (s.tenant_id, s.event_id) s.tenant_id, s.event_id, 1,"
                " s.attempt_started_at, s.attempt_finished_at, s.attempt_outcome, s.attempt_model,"
                " s.attempt_provider, s.attempt_error, s.attempt_latency_ms FROM ins JOIN stage_chemical s"
                " USING (tenant_id, event_id) WHERE s.attempt_outcome IS NOT NULL"
                " ON CONFLICT (tenant_id, event_id, attempt) DO NOTHING)"
                " SELECT count(*) FROM ins");
            result.chemical_inserted = inserted[0][0].as<size_t>();
        }
        txn.commit();
    } catch (const std::exception&) {
        // After any failure the session state is unknown (the server may have restarted);
        // a fresh connection is cheap next to the retry backoff.
        connection_.reset();
        throw;
    }
    return result;
}

}  // namespace tributary::storage
