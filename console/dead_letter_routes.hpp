#pragma once

#include "common/auth/principal.hpp"
#include "common/config.hpp"
#include "common/http/server.hpp"
#include "common/kafka/config.hpp"
#include "common/metrics.hpp"

#include <string>

namespace tributary::console {

struct DeadLetterSettings {
    common::MetricsRegistry& metrics;
    common::kafka::KafkaSettings kafka;  // bootstrap servers, KAFKA_PROPERTIES, topic prefix
    std::string database_url;            // console_replays, trace lookups, re-enrichment
    int replay_max = 3;                  // CONSOLE_REPLAY_MAX
    int enrichment_max_retries = 5;      // ENRICHMENT_MAX_RETRIES (what re-enrichment grants)
};

// CONSOLE_REPLAY_MAX (default 3, 1..100) and ENRICHMENT_MAX_RETRIES into `settings`; problems
// are recorded in `env`.
void ReadDeadLetterSettings(common::EnvReader& env, DeadLetterSettings& settings);

// Registers the dead-letter, replay, trace and re-enrichment routes (CONSOLE_API.md):
//   GET  /api/v1/console/dead-letters, /dead-letters/messages        scope query
//   POST /api/v1/console/dead-letters/replay                         scope admin
//   GET  /api/v1/console/dead-letters/replays, /replays/{id}         scope query
//   GET  /api/v1/console/trace/{event_id}                            scope query
//   POST /api/v1/console/research/{event_id}/reenrich                scope admin
// Non-operators see and replay only dead letters whose value names their tenant. The routes
// own a producer and the replay threads (stopped when the server's handlers are destroyed).
void RegisterDeadLetterRoutes(common::http::Server& server, common::auth::Authorize authorize,
                              DeadLetterSettings settings);

}  // namespace tributary::console
