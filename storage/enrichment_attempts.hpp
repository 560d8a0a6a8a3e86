#pragma once

#include "storage/records.hpp"

#include <pqxx/transaction>

#include <string>

namespace tributary::storage {

// Appends the next attempt (max + 1) of (tenant_id, event_id) to enrichment_attempts
// (migration 0007) in `txn`. Used by the enrichment retry path, where one retry task is leased
// by one thread at a time; the first attempt is written with the row by PgEventStore. Throws
// pqxx exceptions.
void AppendEnrichmentAttempt(pqxx::work& txn, const std::string& tenant_id,
                             const std::string& event_id, const EnrichmentAttempt& attempt);

}  // namespace tributary::storage
