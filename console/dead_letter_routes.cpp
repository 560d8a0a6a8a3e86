#include "console/dead_letter_routes.hpp"

#include "common/http_util.hpp"
#include "common/ids.hpp"
#include "common/kafka/producer.hpp"
#include "common/logging.hpp"
#include "console/dead_letters.hpp"
#include "console/replay.hpp"
#include "console/trace.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>

namespace tributary::console {
namespace {

using common::auth::Principal;
using common::auth::Scope;
using nlohmann::json;

const auto& Log() {
    static const auto log = common::GetLogger("console.dead_letters");
    return log;
}

constexpr size_t kDefaultListLimit = 50;
constexpr size_t kMaxListLimit = 500;
constexpr size_t kDryRunShown = 20;

struct State {
    State(DeadLetterSettings s)
        : settings(std::move(s)),
          dead_letter_topics(DeadLetterTopics(settings.kafka.topic_prefix)),
          source_topics(SourceTopics(settings.kafka.topic_prefix)),
          producer(
              settings.kafka,
              [] {
                  common::kafka::ProducerOptions options;
                  options.client_id = "tributary-console-replay";
                  options.health_interval = std::chrono::milliseconds(0);
                  return options;
              }(),
              &settings.metrics),
          runner(producer, settings.database_url),
          replayed(settings.metrics.GetCounter("tributary_console_replay_messages_total",
                                               "Dead letters handled by real replays, by decision",
                                               {{"decision", "send"}})),
          skipped_loop(settings.metrics.GetCounter(
              "tributary_console_replay_messages_total",
              "Dead letters handled by real replays, by decision", {{"decision", "skipped_loop"}})),
          not_replayable(
              settings.metrics.GetCounter("tributary_console_replay_messages_total",
                                          "Dead letters handled by real replays, by decision",
                                          {{"decision", "not_replayable"}})) {}

    DeadLetterSettings settings;
    std::vector<std::string> dead_letter_topics;
    std::vector<std::string> source_topics;
    common::kafka::Producer producer;
    ReplayRunner runner;
    common::Counter& replayed;
    common::Counter& skipped_loop;
    common::Counter& not_replayable;
};

void InvalidParameter(httplib::Response& response, const std::string& field,
                      const std::string& reason) {
    common::SetError(response, 400, "invalid_parameter", field + ": " + reason,
                     json::array({{{"field", field}, {"reason", reason}}}));
}

// Reads the list filters shared by the routes; false when one is invalid (answered).
bool ReadFilter(const httplib::Request& request, httplib::Response& response,
                DeadLetterFilter* filter) {
    if (request.has_param("stage")) filter->stage = request.get_param_value("stage");
    if (request.has_param("reason")) filter->reason = request.get_param_value("reason");
    for (const char* name : {"from", "to"}) {
        if (!request.has_param(name)) continue;
        const auto ms = ParseTimeMs(request.get_param_value(name));
        if (!ms) {
            InvalidParameter(response, name, "must be an RFC 3339 time");
            return false;
        }
        (std::string(name) == "from" ? filter->from_ms : filter->to_ms) = *ms;
    }
    if (filter->from_ms && filter->to_ms && *filter->from_ms >= *filter->to_ms) {
        InvalidParameter(response, "to", "must be after from");
        return false;
    }
    return true;
}

// The topics a request names (one dead-letter topic) or all of them; false when invalid.
bool ReadTopics(const State& state, const httplib::Request& request, httplib::Response& response,
                bool required, std::vector<std::string>* topics) {
    if (!request.has_param("topic") || request.get_param_value("topic").empty()) {
        if (required) {
            InvalidParameter(response, "topic", "is required: one of the dead-letter topics");
            return false;
        }
        *topics = state.dead_letter_topics;
        return true;
    }
    const std::string topic = request.get_param_value("topic");
    if (std::find(state.dead_letter_topics.begin(), state.dead_letter_topics.end(), topic) ==
        state.dead_letter_topics.end()) {
        InvalidParameter(response, "topic", "is not a dead-letter topic of this deployment");
        return false;
    }
    *topics = {topic};
    return true;
}

// Runs `body` and turns infrastructure failures into 503s that say which service failed.
template <typename Body>
void Guarded(const httplib::Request& request, httplib::Response& response, Body&& body) {
    try {
        body();
    } catch (const common::kafka::KafkaError& e) {
        Log()->warn("{}: Kafka: {}", request.path, e.what());
        response.set_header("Retry-After", "2");
        common::SetError(response, 503, "kafka_unavailable", "Kafka could not be read right now");
    } catch (const pqxx::failure& e) {
        Log()->warn("{}: PostgreSQL: {}", request.path, e.what());
        response.set_header("Retry-After", "2");
        common::SetError(response, 503, "database_unavailable",
                         "the database could not be reached right now");
    }
}

void GetGroups(State& state, const Principal& principal, const httplib::Request& request,
               httplib::Response& response) {
    std::vector<std::string> topics;
    DeadLetterFilter filter;
    if (!ReadTopics(state, request, response, false, &topics) ||
        !ReadFilter(request, response, &filter))
        return;
    DeadLetterReader reader(state.settings.kafka);
    DeadLetterGrouper grouper;
    size_t scanned = 0;
    bool exhausted = true;
    for (const std::string& topic : topics) {
        const auto result = reader.Scan(topic, {}, filter.from_ms, {}, [&](RawMessage&& raw) {
            const DeadLetter letter = ParseDeadLetter(std::move(raw));
            if (Visible(letter, principal) && filter.Matches(letter)) grouper.Add(letter);
            return true;
        });
        scanned += result.scanned;
        exhausted = exhausted && result.exhausted;
    }
    common::SetJson(response, 200,
                    {{"groups", grouper.Result(filter.from_ms, filter.to_ms)},
                     {"scanned", scanned},
                     {"exhausted", exhausted}});
}

void GetMessages(State& state, const Principal& principal, const httplib::Request& request,
                 httplib::Response& response) {
    std::vector<std::string> topics;
    DeadLetterFilter filter;
    if (!ReadTopics(state, request, response, true, &topics) ||
        !ReadFilter(request, response, &filter))
        return;
    size_t limit = kDefaultListLimit;
    if (request.has_param("limit")) {
        const std::string text = request.get_param_value("limit");
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
        if (ec != std::errc() || end != text.data() + text.size() || limit < 1 ||
            limit > kMaxListLimit) {
            InvalidParameter(response, "limit",
                             "must be an integer from 1 to " + std::to_string(kMaxListLimit));
            return;
        }
    }
    std::map<int32_t, int64_t> start;
    if (request.has_param("cursor")) {
        const auto parsed = ParseCursor(request.get_param_value("cursor"));
        if (!parsed) {
            InvalidParameter(response, "cursor", "is not a cursor this API returned");
            return;
        }
        start = *parsed;
    }
    DeadLetterReader reader(state.settings.kafka);
    json messages = json::array();
    const auto result = reader.Scan(topics[0], start, start.empty() ? filter.from_ms : std::nullopt,
                                    {}, [&](RawMessage&& raw) {
                                        const DeadLetter letter = ParseDeadLetter(std::move(raw));
                                        if (Visible(letter, principal) && filter.Matches(letter)) {
                                            messages.push_back(DeadLetterJson(letter));
                                        }
                                        return messages.size() < limit;
                                    });
    common::SetJson(response, 200,
                    {{"messages", std::move(messages)},
                     {"scanned", result.scanned},
                     // null when everything was read: there is nothing to continue from.
                     {"cursor", result.exhausted ? json() : json(FormatCursor(result.positions))}});
}

json ReplayRow(const pqxx::row& r) {
    return {{"replay_id", r[0].c_str()},
            {"tenant_id", r[1].c_str()},
            {"key_id", r[2].c_str()},
            {"created_at", r[3].c_str()},
            {"topic", r[4].c_str()},
            {"filter", json::parse(r[5].c_str(), nullptr, false)},
            {"dry_run", r[6].as<bool>()},
            {"requested", r[7].as<int64_t>()},
            {"sent", r[8].as<int64_t>()},
            {"skipped_loop", r[9].as<int64_t>()},
            {"state", r[10].c_str()},
            {"finished_at", r[11].is_null() ? json() : json(r[11].c_str())},
            {"error", r[12].is_null() ? json() : json(r[12].c_str())}};
}

constexpr const char* kReplayColumns =
    "replay_id, tenant_id, key_id,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), topic, "
    "filter::text,"
    " dry_run, requested, sent, skipped_loop, state,"
    " to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), error";

void PostReplay(State& state, const Principal& principal, const httplib::Request& request,
                httplib::Response& response) {
    ParseError error;
    const auto parsed = ParseReplayRequest(request.body, state.dead_letter_topics, &error);
    if (!parsed) {
        InvalidParameter(response, error.field, error.reason);
        return;
    }
    const ReplayRequest& replay = *parsed;
    DeadLetterReader reader(state.settings.kafka);
    std::vector<DeadLetter> selected;
    if (!replay.messages.empty()) {
        for (size_t i = 0; i < replay.messages.size(); ++i) {
            const auto [partition, offset] = replay.messages[i];
            auto raw = reader.ReadOne(replay.topic, partition, offset);
            std::optional<DeadLetter> letter;
            if (raw) letter = ParseDeadLetter(std::move(*raw));
            // Another tenant's dead letter answers like a missing one: ids reveal nothing.
            if (!letter || !Visible(*letter, principal)) {
                common::SetError(response, 404, "not_found",
                                 "messages[" + std::to_string(i) +
                                     "]: no dead letter at partition " + std::to_string(partition) +
                                     " offset " + std::to_string(offset),
                                 json::array({{{"field", "messages[" + std::to_string(i) + "]"},
                                               {"reason", "not found"}}}));
                return;
            }
            selected.push_back(std::move(*letter));
        }
    } else {
        const DeadLetterFilter& filter = *replay.filter;
        DeadLetterReader::ScanLimits limits;
        limits.max_messages = 1'000'000;
        limits.max_time = std::chrono::seconds(20);
        bool too_many = false;
        reader.Scan(replay.topic, {}, filter.from_ms, limits, [&](RawMessage&& raw) {
            DeadLetter letter = ParseDeadLetter(std::move(raw));
            if (Visible(letter, principal) && filter.Matches(letter))
                selected.push_back(std::move(letter));
            too_many = selected.size() > kMaxReplayMessages;
            return !too_many;
        });
        if (too_many) {
            InvalidParameter(response, "filter",
                             "matches more than " + std::to_string(kMaxReplayMessages) +
                                 " dead letters; narrow it (stage, reason, from, to)");
            return;
        }
    }
    ReplayPlan plan;
    for (DeadLetter& letter : selected) {
        switch (Decide(letter, state.settings.replay_max, state.source_topics)) {
            case ReplayDecision::kSend:
                plan.send.push_back(std::move(letter));
                break;
            case ReplayDecision::kSkipLoop:
                ++plan.skipped_loop;
                if (plan.skipped.size() < kDryRunShown) plan.skipped.push_back(std::move(letter));
                break;
            case ReplayDecision::kNotReplayable:
                ++plan.not_replayable;
                if (plan.skipped.size() < kDryRunShown) plan.skipped.push_back(std::move(letter));
                break;
        }
    }
    const std::string replay_id = common::NewUuid();
    {
        // The audit row exists before anything is sent.
        pqxx::connection connection(state.settings.database_url);
        pqxx::work txn(connection);
        txn.exec_params(
            "INSERT INTO console_replays (replay_id, tenant_id, key_id, topic, filter, dry_run,"
            " requested, skipped_loop, state, finished_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, "
            "$7, $8,"
            " $9, CASE WHEN $6 THEN now() END)",
            replay_id, principal.tenant_id,
            principal.key_id.empty() ? "(anonymous)" : principal.key_id, replay.topic,
            replay.audit.dump(), replay.dry_run, static_cast<int64_t>(plan.send.size()),
            static_cast<int64_t>(plan.skipped_loop),
            std::string(replay.dry_run ? "dry_run" : "running"));
        txn.commit();
    }
    if (replay.dry_run) {
        json messages = json::array();
        for (size_t i = 0; i < plan.send.size() && i < kDryRunShown; ++i) {
            json item = DeadLetterJson(plan.send[i]);
            item["replay_to"] = plan.send[i].original_topic;
            item["replay_count_after"] = plan.send[i].replay_count + 1;
            messages.push_back(std::move(item));
        }
        json skipped = json::array();
        for (const DeadLetter& letter : plan.skipped) {
            json item = DeadLetterJson(letter);
            item["skipped"] = Decide(letter, state.settings.replay_max, state.source_topics) ==
                                      ReplayDecision::kSkipLoop
                                  ? "loop"
                                  : "not_replayable";
            skipped.push_back(std::move(item));
        }
        common::SetJson(response, 200,
                        {{"dry_run", true},
                         {"replay_id", replay_id},
                         {"count", plan.send.size()},
                         {"skipped_loop", plan.skipped_loop},
                         {"not_replayable", plan.not_replayable},
                         {"replay_max", state.settings.replay_max},
                         {"messages", std::move(messages)},
                         {"skipped", std::move(skipped)}});
        return;
    }
    state.replayed.Inc(static_cast<double>(plan.send.size()));
    state.skipped_loop.Inc(static_cast<double>(plan.skipped_loop));
    state.not_replayable.Inc(static_cast<double>(plan.not_replayable));
    const size_t count = plan.send.size();
    const size_t skipped_loop = plan.skipped_loop;
    const size_t not_replayable = plan.not_replayable;
    if (!state.runner.Start(replay_id, std::move(plan), replay.rate_per_s)) {
        pqxx::connection connection(state.settings.database_url);
        pqxx::work txn(connection);
        txn.exec_params(
            "UPDATE console_replays SET state = 'failed', finished_at = now(),"
            " error = 'too many replays running' WHERE replay_id = $1",
            replay_id);
        txn.commit();
        response.set_header("Retry-After", "5");
        common::SetError(response, 429, "too_many_replays",
                         "as many replays as allowed are running; retry when one has finished");
        return;
    }
    common::SetJson(response, 202,
                    {{"replay_id", replay_id},
                     {"count", count},
                     {"skipped_loop", skipped_loop},
                     {"not_replayable", not_replayable}});
}

void GetReplays(State& state, const Principal& principal, const std::optional<std::string>& id,
                httplib::Response& response) {
    pqxx::connection connection(state.settings.database_url);
    pqxx::read_transaction txn(connection);
    const bool all = principal.scopes.Has(Scope::kOperator);
    if (id) {
        const auto rows = txn.exec_params(
            std::string("SELECT ") + kReplayColumns +
                " FROM console_replays WHERE replay_id = $1 AND ($2 OR tenant_id = $3)",
            *id, all, principal.tenant_id);
        if (rows.empty()) {
            common::SetError(response, 404, "not_found", "no replay with this id");
            return;
        }
        common::SetJson(response, 200, ReplayRow(rows[0]));
        return;
    }
    const auto rows = txn.exec_params(std::string("SELECT ") + kReplayColumns +
                                          " FROM console_replays WHERE ($1 OR tenant_id = $2)"
                                          " ORDER BY created_at DESC LIMIT 100",
                                      all, principal.tenant_id);
    json replays = json::array();
    for (const auto& row : rows) replays.push_back(ReplayRow(row));
    common::SetJson(response, 200, {{"replays", std::move(replays)}});
}

}  // namespace

void ReadDeadLetterSettings(common::EnvReader& env, DeadLetterSettings& settings) {
    settings.replay_max =
        static_cast<int>(env.Int("CONSOLE_REPLAY_MAX", settings.replay_max, 1, 100));
    settings.enrichment_max_retries = static_cast<int>(
        env.Int("ENRICHMENT_MAX_RETRIES", settings.enrichment_max_retries, 0, 1000));
}

void RegisterDeadLetterRoutes(common::http::Server& server, common::auth::Authorize authorize,
                              DeadLetterSettings settings) {
    auto state = std::make_shared<State>(std::move(settings));
    // Authorizes for `scope`, then runs `handler(principal, request, response)` guarded.
    const auto route = [state, authorize](Scope scope, auto handler) {
        return [state, authorize, scope, handler](const httplib::Request& request,
                                                  httplib::Response& response) {
            const auto principal = authorize(request, response, scope);
            if (!principal) return;
            Guarded(request, response, [&] { handler(*state, *principal, request, response); });
        };
    };
    server.Get("/api/v1/console/dead-letters", route(Scope::kQuery, GetGroups));
    server.Get("/api/v1/console/dead-letters/messages", route(Scope::kQuery, GetMessages));
    common::http::RouteOptions small_body;
    small_body.max_body_bytes = 256 * 1024;
    server.Post("/api/v1/console/dead-letters/replay", route(Scope::kAdmin, PostReplay), {},
                small_body);
    server.Get(
        "/api/v1/console/dead-letters/replays",
        route(Scope::kQuery, [](State& s, const Principal& p, const httplib::Request&,
                                httplib::Response& r) { GetReplays(s, p, std::nullopt, r); }));
    server.Get(R"(/api/v1/console/dead-letters/replays/([^/]+))",
               route(Scope::kQuery,
                     [](State& s, const Principal& p, const httplib::Request& q,
                        httplib::Response& r) { GetReplays(s, p, std::string(q.matches[1]), r); }));
    server.Get(
        R"(/api/v1/console/trace/([^/]+))",
        route(Scope::kQuery,
              [](State& s, const Principal& p, const httplib::Request& q, httplib::Response& r) {
                  pqxx::connection connection(s.settings.database_url);
                  DeadLetterReader reader(s.settings.kafka);
                  const HttpAnswer answer = TraceEvent(
                      connection, reader, s.settings.kafka.topic_prefix, p.tenant_id, q.matches[1]);
                  common::SetJson(r, answer.status, answer.body);
              }));
    server.Post(R"(/api/v1/console/research/([^/]+)/reenrich)",
                route(Scope::kAdmin, [](State& s, const Principal& p, const httplib::Request& q,
                                        httplib::Response& r) {
                    pqxx::connection connection(s.settings.database_url);
                    const HttpAnswer answer = RequestReenrichment(
                        connection, p.tenant_id, q.matches[1], s.settings.enrichment_max_retries);
                    common::SetJson(r, answer.status, answer.body);
                }));
}

}  // namespace tributary::console
