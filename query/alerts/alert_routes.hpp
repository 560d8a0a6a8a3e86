#pragma once

#include "common/auth/principal.hpp"
#include "common/http/server.hpp"
#include "query/db_pool.hpp"

#include <cstddef>

namespace tributary::query::alerts {

struct AlertRoutesConfig {
    size_t max_rules_per_tenant = 1000;
};

// Registers the alerts API (docs/ALERTS.md; `query` reads, `admin` changes):
//   GET  /api/v1/alerts/rules                  {"rules": [rule...]}
//   POST /api/v1/alerts/rules                  201 rule
//   GET|PUT|DELETE /api/v1/alerts/rules/{id}   rule | rule | {"id", "deleted": true}
//   GET  /api/v1/alerts/rules/{id}/transitions {"transitions": [...]} newest first
//   GET  /api/v1/alerts?state=&rule_id=&limit= {"alerts": [alert...]} newest first
//   GET  /api/v1/alerts/notifications?alert_id=&rule_id=&status=&limit=  the delivery log
//   GET  /api/v1/alerts/{id}                   alert + transitions + notifications
//   POST /api/v1/alerts/{id}/acknowledge|snooze|resolve
// Everything is confined to the caller's tenant: another tenant's rule or alert answers 404
// exactly as a missing one. `pool` and `authorize` must outlive the server.
void RegisterAlertRoutes(common::http::Server& server, DbPool& pool, common::auth::Authorize authorize,
                         AlertRoutesConfig config = {});

}  // namespace tributary::query::alerts
