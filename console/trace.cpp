#include "console/trace.hpp"

#include "common/time_util.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <climits>
#include <cmath>

namespace tributary::console {
namespace {

using nlohmann::json;

json NotFound(const std::string& event_id) {
    return {{"event_id", event_id},
            {"status", "not_found"},
            {"error",
             {{"code", "not_found"},
              {"message",
               "no stored event with this id for your tenant: unknown, still in flight (see the "
               "consumer lag) or dead-lettered (see the dead letters)"},
              {"details", json::array()}}}};
}

std::optional<double> OptionalMs(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return field.as<double>();
}

// The epoch milliseconds of a timestamptz column, as SQL.
std::string EpochMs(const std::string& column) {
    return "extract(epoch FROM " + column + ") * 1000";
}

std::optional<std::string> HeaderOf(const RawMessage& message, const std::string& name) {
    std::optional<std::string> value;
    for (const auto& [header, text] : message.headers) {
        if (header == name) value = text;
    }
    return value;
}

std::optional<double> TimestampOf(const RawMessage& message) {
    if (message.timestamp_ms < 0) return std::nullopt;
    return static_cast<double>(message.timestamp_ms);
}

// Splits "topic/partition/offset" (tributary.replayed_from); Kafka topic names cannot contain
// '/', so the last two separate the numbers.
bool SplitLocation(const std::string& text, std::string* topic, int32_t* partition,
                   int64_t* offset) {
    const size_t second = text.rfind('/');
    if (second == std::string::npos || second == 0) return false;
    const size_t first = text.rfind('/', second - 1);
    if (first == std::string::npos) return false;
    const auto p = ParseCount(text.substr(first + 1, second - first - 1));
    const auto o = ParseCount(text.substr(second + 1));
    if (!p || !o || *p > INT32_MAX) return false;
    *topic = text.substr(0, first);
    *partition = static_cast<int32_t>(*p);
    *offset = *o;
    return true;
}

// An event that is not stored may be a dead letter: a bounded scan of the dead-letter topics
// (small next to the source topics) for the tenant's latest dead letter with this event id.
// The tenant is the one in the value, which the publisher took from the credential.
HttpAnswer TraceDeadLetter(DeadLetterReader& reader, const std::string& topic_prefix,
                           const std::string& tenant_id, const std::string& event_id) {
    std::optional<DeadLetter> found;
    bool exhausted = true;
    DeadLetterReader::ScanLimits limits;
    limits.max_messages = 200000;
    limits.max_time = std::chrono::seconds(2);
    for (const std::string& topic : DeadLetterTopics(topic_prefix)) {
        const auto result = reader.Scan(topic, {}, std::nullopt, limits, [&](RawMessage&& raw) {
            DeadLetter letter = ParseDeadLetter(std::move(raw));
            if (letter.event_id == event_id && letter.tenant_id == tenant_id)
                found = std::move(letter);
            return true;
        });
        exhausted = exhausted && result.exhausted;
    }
    if (!found) {
        json body = NotFound(event_id);
        body["dead_letters_searched"] = exhausted ? "all" : "partly (scan budget)";
        return {404, std::move(body)};
    }
    const DeadLetter& letter = *found;
    std::vector<TraceStep> steps;
    const json value = json::parse(letter.message.value, nullptr, false);
    std::optional<double> accepted_at;
    if (value.is_object() && value.contains("received_at") && value["received_at"].is_string()) {
        if (const auto at = common::ParseRfc3339(value["received_at"].get<std::string>())) {
            accepted_at = std::chrono::duration<double, std::milli>(at->time_since_epoch()).count();
        }
    }
    steps.push_back({"accepted", accepted_at, {{"by", "publisher"}}});
    json original = {{"topic", letter.original_topic},
                     {"partition", letter.original_partition},
                     {"offset", letter.original_offset}};
    std::optional<double> produced_at;
    const auto sources = SourceTopics(topic_prefix);
    if (std::find(sources.begin(), sources.end(), letter.original_topic) != sources.end()) {
        if (auto first = reader.ReadOne(letter.original_topic, letter.original_partition,
                                        letter.original_offset)) {
            produced_at = TimestampOf(*first);
        }
    }
    if (!produced_at) original["expired"] = true;
    steps.push_back({"produced", produced_at, std::move(original)});
    steps.push_back({"dead_lettered",
                     TimestampOf(letter.message),
                     {{"topic", letter.message.topic},
                      {"partition", letter.message.partition},
                      {"offset", letter.message.offset},
                      {"stage", letter.stage},
                      {"reason", letter.reason},
                      {"replay_count", letter.replay_count}}});
    const bool research = letter.message.topic == topic_prefix + "research.records.dlq";
    return {200,
            {{"event_id", event_id},
             {"kind", research ? "research" : "analytics"},
             {"status", "dead_lettered"},
             {"steps", TraceStepsJson(steps)}}};
}

}  // namespace

json TraceStepsJson(const std::vector<TraceStep>& steps) {
    json out = json::array();
    std::optional<double> previous;
    for (const TraceStep& step : steps) {
        json item = {{"step", step.step}, {"detail", step.detail}};
        if (step.at_ms) {
            item["at"] = common::FormatRfc3339(
                common::SystemTime(std::chrono::microseconds(std::llround(*step.at_ms * 1000))));
            if (previous) {
                double took = std::round((*step.at_ms - *previous) * 1000) / 1000;
                // Kafka timestamps have millisecond resolution, the database's microseconds: a
                // message produced within the millisecond of its acceptance reads as up to 1 ms
                // earlier. Anything more negative is clock skew and is shown as it is.
                if (took < 0 && took > -1) took = 0;
                item["took_ms"] = took;
            } else {
                item["took_ms"] = nullptr;
            }
            previous = step.at_ms;
        } else {
            item["at"] = nullptr;
            item["took_ms"] = nullptr;
        }
        out.push_back(std::move(item));
    }
    return out;
}

HttpAnswer TraceEvent(pqxx::connection& connection, DeadLetterReader& reader,
                      const std::string& topic_prefix, const std::string& tenant_id,
                      const std::string& event_id) {
    pqxx::read_transaction txn(connection);
    // A lookup on each table's (tenant_id, event_id) unique index.
    std::string kind = "analytics";
    auto row =
        txn.exec_params("SELECT " + EpochMs("received_at") + ", " + EpochMs("stored_at") +
                            ", kafka_partition, kafka_offset, NULL::text, NULL::text"
                            " FROM user_analytics_events WHERE tenant_id = $1 AND event_id = $2",
                        tenant_id, event_id);
    if (row.empty()) {
        kind = "research";
        row = txn.exec_params(
            "SELECT " + EpochMs("c.received_at") + ", " + EpochMs("c.stored_at") +
                ", c.kafka_partition, c.kafka_offset, c.enrichment_status, s.status"
                " FROM chemical_research_events c LEFT JOIN event_processing_status s"
                " USING (tenant_id, event_id) WHERE c.tenant_id = $1 AND c.event_id = $2",
            tenant_id, event_id);
    }
    if (row.empty()) {
        txn.commit();
        return TraceDeadLetter(reader, topic_prefix, tenant_id, event_id);
    }
    const pqxx::row r = row[0];
    std::vector<TraceStep> steps;
    steps.push_back({"accepted", OptionalMs(r[0]), {{"by", "publisher"}}});

    const std::string topic =
        topic_prefix + (kind == "analytics" ? "analytics.events" : "research.records");
    const int32_t partition = r[2].is_null() ? -1 : r[2].as<int32_t>();
    const int64_t offset = r[3].is_null() ? -1 : r[3].as<int64_t>();
    const std::optional<RawMessage> message = reader.ReadOne(topic, partition, offset);
    std::optional<std::string> replayed_from;
    if (message) replayed_from = HeaderOf(*message, kReplayedFromHeader);

    std::optional<DeadLetter> dead_letter;
    std::string dlq_topic;
    int32_t dlq_partition = -1;
    int64_t dlq_offset = -1;
    if (replayed_from && SplitLocation(*replayed_from, &dlq_topic, &dlq_partition, &dlq_offset)) {
        // The dead letter must be one of ours (the header could name any topic).
        const auto topics = DeadLetterTopics(topic_prefix);
        if (std::find(topics.begin(), topics.end(), dlq_topic) != topics.end()) {
            if (auto raw = reader.ReadOne(dlq_topic, dlq_partition, dlq_offset)) {
                dead_letter = ParseDeadLetter(std::move(*raw));
            }
        }
    }
    if (dead_letter && dead_letter->tenant_id == tenant_id) {
        // First produced at the original offset, dead-lettered, replayed to where it is now.
        std::optional<double> original_at;
        json original = {{"topic", dead_letter->original_topic},
                         {"partition", dead_letter->original_partition},
                         {"offset", dead_letter->original_offset}};
        if (auto first = reader.ReadOne(topic, dead_letter->original_partition,
                                        dead_letter->original_offset)) {
            original_at = TimestampOf(*first);
        } else {
            original["expired"] = true;
        }
        steps.push_back({"produced", original_at, std::move(original)});
        steps.push_back({"dead_lettered",
                         TimestampOf(dead_letter->message),
                         {{"topic", dlq_topic},
                          {"partition", dlq_partition},
                          {"offset", dlq_offset},
                          {"stage", dead_letter->stage},
                          {"reason", dead_letter->reason}}});
        steps.push_back({"replayed",
                         TimestampOf(*message),
                         {{"topic", topic},
                          {"partition", partition},
                          {"offset", offset},
                          {"replay_count", HeaderOf(*message, kReplayCountHeader).value_or("")}}});
    } else {
        json detail = {{"topic", topic}, {"partition", partition}, {"offset", offset}};
        std::optional<double> at;
        if (message) {
            at = TimestampOf(*message);
            const DeadLetter parsed = ParseDeadLetter(*message);
            // The offset is ours only if the message there is this event (a lookup that
            // confirms itself).
            detail["event_id_confirmed"] =
                parsed.event_id == event_id && parsed.tenant_id == tenant_id;
        } else {
            detail["expired"] = true;  // past retention, or the row predates migration 0007
        }
        steps.push_back({"produced", at, std::move(detail)});
    }
    steps.push_back(
        {"stored",
         OptionalMs(r[1]),
         {{"table", kind == "analytics" ? "user_analytics_events" : "chemical_research_events"}}});

    json body = {{"event_id", event_id}, {"kind", kind}, {"status", "stored"}};
    if (kind == "research") {
        const auto attempts = txn.exec_params(
            "SELECT attempt, " + EpochMs("started_at") + ", " + EpochMs("finished_at") +
                ", outcome, model, provider, error, latency_ms FROM enrichment_attempts"
                " WHERE tenant_id = $1 AND event_id = $2 ORDER BY attempt",
            tenant_id, event_id);
        for (const auto& a : attempts) {
            const double started = a[1].as<double>();
            const double finished = a[2].as<double>();
            json detail = {{"attempt", a[0].as<int>()},
                           {"outcome", a[3].c_str()},
                           {"started_at", FormatTimestampMs(static_cast<int64_t>(started))},
                           {"duration_ms", std::round((finished - started) * 1000) / 1000},
                           {"model", a[4].is_null() ? json() : json(a[4].c_str())},
                           {"provider", a[5].is_null() ? json() : json(a[5].c_str())},
                           {"error", a[6].is_null() ? json() : json(a[6].c_str())},
                           {"latency_ms", a[7].is_null() ? json() : json(a[7].as<int64_t>())}};
            const bool before_store = a[0].as<int>() == 1;
            TraceStep step{"enrichment", finished, std::move(detail)};
            if (before_store) {
                // Attempt 1 is made by the subscriber before the row is stored (and written by
                // the same insert): it goes before the stored step.
                steps.insert(steps.end() - 1, std::move(step));
            } else {
                steps.push_back(std::move(step));
            }
        }
        body["enrichment_status"] = r[4].c_str();
        body["processing_status"] = r[5].is_null() ? json() : json(r[5].c_str());
    }
    txn.commit();
    body["steps"] = TraceStepsJson(steps);
    return {200, std::move(body)};
}

HttpAnswer RequestReenrichment(pqxx::connection& connection, const std::string& tenant_id,
                               const std::string& event_id, int max_retries) {
    pqxx::work txn(connection);
    const auto updated = txn.exec_params(
        "UPDATE chemical_research_events SET enrichment_status = 'pending'"
        " WHERE tenant_id = $1 AND event_id = $2 RETURNING event_id",
        tenant_id, event_id);
    if (updated.empty()) {
        return {404,
                {{"error",
                  {{"code", "not_found"},
                   {"message", "no stored research record with this event_id for your tenant"},
                   {"details", json::array()}}}}};
    }
    // Due ten seconds ago: the subscriber's sweeper queues retries that are at least that
    // overdue (it leaves fresher ones to the Redis queue), so it picks this one up at once.
    txn.exec_params(
        "INSERT INTO event_processing_status (tenant_id, event_id, event_kind, status, retry_count,"
        " max_retries, next_attempt_at) VALUES ($1, $2, 'chemical_research', 'retry_scheduled', 0, "
        "$3,"
        " now() - interval '10 seconds') ON CONFLICT (tenant_id, event_id) DO UPDATE SET"
        " status = 'retry_scheduled', retry_count = 0, last_error = NULL,"
        " next_attempt_at = now() - interval '10 seconds', updated_at = now()",
        tenant_id, event_id, max_retries);
    txn.commit();
    return {202, {{"event_id", event_id}, {"status", "pending"}}};
}

}  // namespace tributary::console
