#pragma once

// The path of one event (GET /api/v1/console/trace/{event_id}) and re-enrichment of a
// research record (POST /api/v1/console/research/{event_id}/reenrich).

#include "common/kafka/config.hpp"
#include "console/dead_letters.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/connection>

#include <optional>
#include <string>
#include <vector>

namespace tributary::console {

struct TraceStep {
    std::string step;  // accepted | produced | dead_lettered | replayed | stored | enrichment
    std::optional<double> at_ms;  // epoch ms; nullopt when unknown (e.g. the message expired)
    nlohmann::json detail = nlohmann::json::object();
};

// The steps as JSON with took_ms: the time since the previous step whose time is known
// (null for the first and for steps without a time).
nlohmann::json TraceStepsJson(const std::vector<TraceStep>& steps);

struct HttpAnswer {
    int status = 200;
    nlohmann::json body;
};

// Looks the event up by (tenant_id, event_id) in both event tables, then reads its Kafka
// message at the stored partition/offset (and, for a replayed one, the dead letter it came
// from), and the enrichment attempts of a research record. 404 when the tenant has no stored
// event with this id. Throws pqxx / KafkaError on infrastructure failures.
HttpAnswer TraceEvent(pqxx::connection& connection, DeadLetterReader& reader,
                      const std::string& topic_prefix, const std::string& tenant_id,
                      const std::string& event_id);

// Asks the subscriber to enrich a stored research record again through its retry path: the
// record is set to `pending` and its event_processing_status to a retry due now with a fresh
// attempt count; the subscriber's sweeper queues it within seconds and a retry thread calls the
// LLM (skipping the cache, because the record is pending), recording the attempt. 404 when the
// tenant has no such record.
HttpAnswer RequestReenrichment(pqxx::connection& connection, const std::string& tenant_id,
                               const std::string& event_id, int max_retries);

}  // namespace tributary::console
