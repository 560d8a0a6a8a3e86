#include "subscriber/enrichment/llm_enrichment.hpp"

#include "common/backoff.hpp"
#include "common/logging.hpp"
#include "common/time_util.hpp"
#include "llm_client/fallback_extractor.hpp"
#include "llm_client/prompt.hpp"
#include "storage/enrichment_attempts.hpp"
#include "subscriber/redis/retry_queue.hpp"

#include <openssl/evp.h>
#include <pqxx/pqxx>

namespace tributary::subscriber {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kRulesVersion = "notes-rules-v1";

const auto& Log() {
    static const auto log = common::GetLogger("enrichment");
    return log;
}

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string Sha256Hex(const std::string& text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0xF];
    }
    return out;
}

llm::EnrichmentRequest ToRequest(const storage::ChemicalRow& row) {
    return {row.molecule_id, row.molecule_name.value_or(""), row.smiles.value_or(""),
            row.canonical_smiles.value_or(""), row.notes.value_or("")};
}

json ProvenanceJson(const llm::Provenance& p, const char* source) {
    return {{"source", source},
            {"model", p.model},
            {"prompt_version", p.prompt_version},
            {"response_format", p.response_format},
            {"latency_ms", p.latency_ms},
            {"prompt_tokens", p.prompt_tokens},
            {"completion_tokens", p.completion_tokens},
            {"http_attempts", p.attempts}};
}

std::string TaskId(const std::string& tenant_id, const std::string& event_id) {
    return tenant_id + ":" + event_id;
}

json TaskPayload(const storage::ChemicalRow& row) {
    return {{"tenant_id", row.tenant_id},
            {"event_id", row.event_id},
            {"molecule_id", row.molecule_id},
            {"name", row.molecule_name.value_or("")},
            {"smiles", row.smiles.value_or("")},
            {"canonical_smiles", row.canonical_smiles.value_or("")},
            {"notes", row.notes.value_or("")},
            {"received_at", row.received_at},
            {"kafka_partition", row.kafka_partition},
            {"kafka_offset", row.kafka_offset},
            {"attempts", 0}};
}

// The enrichment_attempts outcome of a failed LLM call that will be retried: the provider's
// rate limit is told apart from other transient failures (llm_client's errors name HTTP 429).
const char* RetryOutcome(const std::string& error) {
    return error.find("429") != std::string::npos || error.find("rate limit") != std::string::npos
               ? "rate_limited"
               : "error";
}

storage::EnrichmentAttempt Attempt(std::string started_at, const char* outcome,
                                   std::optional<std::string> model, const char* provider,
                                   std::optional<std::string> error, int64_t latency_ms) {
    storage::EnrichmentAttempt attempt;
    attempt.started_at = std::move(started_at);
    attempt.finished_at = common::FormatRfc3339(common::NowUtc());
    attempt.outcome = outcome;
    attempt.model = std::move(model);
    attempt.provider = provider;
    if (error && !error->empty()) attempt.error = std::move(error);
    attempt.latency_ms = latency_ms;
    return attempt;
}

// Sleeps up to `duration`, waking early when `stop` is set.
void SleepUnlessStopped(const std::atomic<bool>& stop, std::chrono::milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (!stop.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
}

}  // namespace

struct LlmEnrichment::Metrics {
    explicit Metrics(common::MetricsRegistry& registry)
        : cache_hit(Outcome(registry, "cache_hit")),
          llm_inline(Outcome(registry, "llm_inline")),
          llm_retry(Outcome(registry, "llm_retry")),
          fallback(Outcome(registry, "fallback")),
          failed(Outcome(registry, "failed")),
          rescheduled(registry.GetCounter("tributary_enrichment_retries_rescheduled_total",
                                          "Retry tasks put back in the queue (no budget or a transient failure)")),
          requeued(registry.GetCounter("tributary_enrichment_requeued_total",
                                       "Retry tasks re-queued by the sweeper (expired leases, Redis outages)")),
          time_to_llm(registry.GetHistogram(
              "tributary_enrichment_time_to_llm_seconds",
              "From receipt of a research record to its upgrade to LLM quality",
              {0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 21600})) {}

    static common::Counter& Outcome(common::MetricsRegistry& registry, const char* outcome) {
        return registry.GetCounter("tributary_enrichment_records_total",
                                   "Research records by enrichment outcome", {{"outcome", outcome}});
    }

    common::Counter& cache_hit;
    common::Counter& llm_inline;
    common::Counter& llm_retry;
    common::Counter& fallback;
    common::Counter& failed;
    common::Counter& rescheduled;
    common::Counter& requeued;
    common::Histogram& time_to_llm;
};

LlmEnrichment::LlmEnrichment(const SubscriberConfig& config, common::MetricsRegistry& metrics,
                             common::kafka::Producer& dead_letters)
    : config_(config),
      redis_endpoint_(*common::redis::ParseRedisUrl(config.redis_url, nullptr)),
      client_(config.llm, &metrics),
      dead_letters_(dead_letters),
      metrics_(std::make_unique<Metrics>(metrics)) {
    metrics.AddCallbackGauge("tributary_enrichment_retry_queue_depth",
                             "Retry tasks queued or leased in Redis (as of the last sweep)",
                             [this] { return static_cast<double>(queue_depth_.load()); });
    Log()->info("LLM enrichment: {}", config.llm.Describe());
}

LlmEnrichment::~LlmEnrichment() { Stop(); }

std::string LlmEnrichment::CacheKey(const std::string& prefix, const std::string& tenant_id,
                                    const llm::EnrichmentRequest& request) {
    // Per tenant: one research group's lab notes never answer another's (and the cache cannot
    // tell anyone that another tenant enriched the same record). Unit separators keep
    // ("ab","c") and ("a","bc") apart.
    const std::string identity = (request.canonical_smiles.empty() ? request.smiles : request.canonical_smiles) +
                                 '\x1f' + request.name + '\x1f' + request.notes;
    return prefix + ":llm-cache:" + std::string(llm::kPromptVersion) + ":" +
           Sha256Hex(tenant_id + '\x1f' + identity);
}

common::redis::RedisClient& LlmEnrichment::SharedRedisLocked() {
    if (!shared_redis_) shared_redis_ = std::make_unique<common::redis::RedisClient>(redis_endpoint_, 1000ms);
    return *shared_redis_;
}

std::optional<std::vector<std::optional<std::string>>> LlmEnrichment::CacheGet(
    const std::vector<std::string>& keys) {
    if (keys.empty()) return std::vector<std::optional<std::string>>{};
    std::lock_guard lock(shared_redis_mutex_);
    try {
        std::vector<std::string> command = {"MGET"};
        command.insert(command.end(), keys.begin(), keys.end());
        const common::redis::Reply reply = SharedRedisLocked().Command(command);
        std::vector<std::optional<std::string>> values;
        for (const auto& element : reply.elements) {
            values.push_back(element.IsNil() ? std::nullopt : std::optional<std::string>(element.text));
        }
        values.resize(keys.size());
        return values;
    } catch (const common::redis::RedisError& e) {
        const int64_t now = NowMs();
        if (now - last_redis_warning_ms_.exchange(now) > 10000) Log()->warn("LLM cache unavailable: {}", e.what());
        return std::nullopt;
    }
}

void LlmEnrichment::CachePut(const std::string& key, const std::string& value) {
    if (config_.cache_ttl.count() == 0) return;
    std::lock_guard lock(shared_redis_mutex_);
    try {
        SharedRedisLocked().Command({"SET", key, value, "EX", std::to_string(config_.cache_ttl.count())});
    } catch (const common::redis::RedisError& e) {
        Log()->debug("LLM cache write failed: {}", e.what());
    }
}

void LlmEnrichment::BeforeStore(std::span<storage::ChemicalRow> rows) {
    if (rows.empty()) return;
    std::vector<llm::EnrichmentRequest> requests;
    std::vector<std::string> keys;
    for (const auto& row : rows) {
        requests.push_back(ToRequest(row));
        keys.push_back(CacheKey(config_.redis_prefix, row.tenant_id, requests.back()));
    }
    const auto cached = CacheGet(keys);
    const std::string now_text = common::FormatRfc3339(common::NowUtc());
    const auto deadline = std::chrono::steady_clock::now() + config_.inline_budget;
    bool inline_open = config_.inline_budget.count() > 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        storage::ChemicalRow& row = rows[i];
        if (cached && (*cached)[i]) {
            const json entry = json::parse(*(*cached)[i], nullptr, false);
            if (entry.is_object() && entry.contains("properties")) {
                json provenance = entry.value("provenance", json::object());
                provenance["cache"] = "hit";
                row.llm_properties = entry["properties"].dump();
                row.enrichment_status = storage::EnrichmentStatus::kLlm;
                row.enrichment_provenance = provenance.dump();
                row.enriched_at = now_text;
                row.processing_status = "completed";
                row.first_attempt = Attempt(now_text, "llm", provenance.value("model", std::string()),
                                            "cache", std::nullopt, 0);
                metrics_->cache_hit.Inc();
                continue;
            }
        }
        std::optional<llm::EnrichmentOutcome> outcome;
        if (inline_open) {
            const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (remaining.count() <= 0) {
                inline_open = false;
            } else {
                const std::string started_at = common::FormatRfc3339(common::NowUtc());
                outcome = client_.Enrich(requests[i], remaining);
                if (outcome->Ok()) {
                    row.first_attempt = Attempt(started_at, "llm", outcome->provenance.model, "llm",
                                                std::nullopt, outcome->provenance.latency_ms);
                    const json provenance = ProvenanceJson(outcome->provenance, "llm");
                    row.llm_properties = outcome->properties.dump();
                    row.enrichment_status = storage::EnrichmentStatus::kLlm;
                    row.enrichment_provenance = provenance.dump();
                    row.enriched_at = now_text;
                    row.processing_status = "completed";
                    CachePut(keys[i], json{{"properties", outcome->properties}, {"provenance", provenance}}.dump());
                    metrics_->llm_inline.Inc();
                    continue;
                }
                // Out of budget or the provider is struggling: the rest of the batch goes
                // straight to the fallback instead of waiting.
                inline_open = false;
            }
        }
        json provenance = {{"source", "rules"}, {"rules_version", kRulesVersion}};
        if (outcome && !outcome->error.empty()) provenance["llm_error"] = outcome->error;
        row.llm_properties = llm::ExtractFromNotes(requests[i].name, requests[i].notes).dump();
        row.enriched_at = now_text;
        if (outcome && outcome->status == llm::EnrichmentStatus::kPermanent) {
            row.enrichment_status = storage::EnrichmentStatus::kFailed;
            row.processing_status = "failed";
            row.last_error = outcome->error;
            row.first_attempt = Attempt(now_text, "failed", outcome->provenance.model, "llm",
                                        outcome->error, outcome->provenance.latency_ms);
            metrics_->failed.Inc();
        } else {
            row.enrichment_status = storage::EnrichmentStatus::kFallback;
            row.processing_status = "retry_scheduled";
            const auto delay = outcome ? outcome->retry_after : std::chrono::milliseconds(0);
            row.next_attempt_at = common::FormatRfc3339(common::NowUtc() + std::chrono::duration_cast<std::chrono::microseconds>(delay));
            if (outcome) row.last_error = outcome->error;
            row.first_attempt =
                Attempt(now_text, "fallback", std::string(kRulesVersion), "rules",
                        outcome ? std::optional<std::string>(outcome->error) : std::nullopt,
                        outcome ? outcome->provenance.latency_ms : 0);
            metrics_->fallback.Inc();
        }
        row.enrichment_provenance = provenance.dump();
    }
}

void LlmEnrichment::AfterStore(std::span<const storage::ChemicalRow> rows) {
    std::lock_guard lock(shared_redis_mutex_);
    try {
        redis::RetryQueue queue(SharedRedisLocked(), config_.redis_prefix + ":enrich");
        for (const auto& row : rows) {
            if (row.processing_status != "retry_scheduled") continue;
            const auto due = row.next_attempt_at ? common::ParseRfc3339(*row.next_attempt_at) : std::nullopt;
            const int64_t due_ms = due ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                             due->time_since_epoch()).count()
                                       : NowMs();
            queue.ScheduleIfAbsent(TaskId(row.tenant_id, row.event_id), TaskPayload(row).dump(), due_ms);
        }
    } catch (const common::redis::RedisError& e) {
        // The retry intention is in event_processing_status; the sweeper queues it once Redis
        // answers again.
        const int64_t now = NowMs();
        if (now - last_redis_warning_ms_.exchange(now) > 10000) {
            Log()->warn("retry queue unavailable ({}); retries will be re-queued from PostgreSQL", e.what());
        }
        shared_redis_.reset();
    }
}

void LlmEnrichment::Start() {
    for (int i = 0; i < config_.retry_threads; ++i) threads_.emplace_back([this, i] { RetryLoop(i); });
    threads_.emplace_back([this] { SweepLoop(); });
}

void LlmEnrichment::Stop() {
    stop_.store(true);
    for (auto& thread : threads_) {
        if (thread.joinable()) thread.join();
    }
    threads_.clear();
}

void LlmEnrichment::RetryLoop(int index) {
    common::redis::RedisClient redis_client(redis_endpoint_, 2000ms);
    redis::RetryQueue queue(redis_client, config_.redis_prefix + ":enrich");
    std::unique_ptr<pqxx::connection> db;
    common::Backoff trouble(200ms, 5000ms);
    while (!stop_.load()) {
        try {
            // While the LLM's circuit breaker refuses every call, leave the due tasks where they
            // are: claiming, checking and rescheduling each would only load Redis and
            // PostgreSQL (and no attempt would be spent anyway).
            if (const auto refusing = client_.RefusingFor(); refusing.count() > 0) {
                SleepUnlessStopped(stop_, std::min<std::chrono::milliseconds>(refusing, 1000ms));
                continue;
            }
            const int64_t now = NowMs();
            auto tasks = queue.Claim(now, 1, now + config_.retry_lease.count());
            if (tasks.empty()) {
                SleepUnlessStopped(stop_, 200ms);
                continue;
            }
            if (!db) db = std::make_unique<pqxx::connection>(config_.database_url);
            const auto& task = tasks.front();
            json payload = json::parse(task.payload, nullptr, false);
            if (!payload.is_object() || !payload.contains("event_id")) {
                Log()->error("retry task {} has an unreadable payload; dropped", task.id);
                queue.Complete(task.id);
                continue;
            }
            const std::string tenant = payload.value("tenant_id", "default");
            const std::string event_id = payload["event_id"];
            // `pending` under LLM enrichment means the console asked for re-enrichment
            // (console/trace.cpp): the cached answer is what it wants replaced, so skip it.
            bool reenrich = false;
            {
                pqxx::read_transaction txn(*db);
                const auto current = txn.exec_params(
                    "SELECT enrichment_status FROM chemical_research_events WHERE tenant_id = $1 AND event_id = $2",
                    tenant, event_id);
                if (current.empty() || current[0][0].as<std::string>() == "llm") {
                    txn.commit();
                    queue.Complete(task.id);  // already upgraded (redelivery) or gone
                    continue;
                }
                reenrich = current[0][0].as<std::string>() == "pending";
            }
            const std::string started_at = common::FormatRfc3339(common::NowUtc());
            const llm::EnrichmentRequest request{payload.value("molecule_id", ""), payload.value("name", ""),
                                                 payload.value("smiles", ""), payload.value("canonical_smiles", ""),
                                                 payload.value("notes", "")};
            const std::string key = CacheKey(config_.redis_prefix, tenant, request);
            json properties;
            json provenance;
            const common::redis::Reply cached =
                reenrich ? common::redis::Reply{} : redis_client.Command({"GET", key});
            if (!reenrich && !cached.IsNil()) {
                const json entry = json::parse(cached.text, nullptr, false);
                if (entry.is_object() && entry.contains("properties")) {
                    properties = entry["properties"];
                    provenance = entry.value("provenance", json::object());
                    provenance["cache"] = "hit";
                }
            }
            const int attempts = payload.value("attempts", 0);
            std::optional<llm::EnrichmentOutcome> outcome;
            if (properties.is_null()) {
                outcome = client_.Enrich(request, config_.retry_call_budget);
                if (outcome->Ok()) {
                    properties = outcome->properties;
                    provenance = ProvenanceJson(outcome->provenance, "llm");
                    redis_client.Command({"SET", key, json{{"properties", properties}, {"provenance", provenance}}.dump(),
                                          "EX", std::to_string(std::max<int64_t>(1, config_.cache_ttl.count()))});
                }
            }
            if (!properties.is_null()) {
                provenance["retries"] = attempts + 1;
                pqxx::work txn(*db);
                txn.exec_params(
                    "UPDATE chemical_research_events SET llm_properties = $3::jsonb, enrichment_status = 'llm',"
                    " enrichment_provenance = $4::jsonb, enriched_at = now()"
                    " WHERE tenant_id = $1 AND event_id = $2 AND enrichment_status <> 'llm'",
                    tenant, event_id, properties.dump(), provenance.dump());
                txn.exec_params(
                    "UPDATE event_processing_status SET status = 'completed', retry_count = $3, last_error = NULL,"
                    " next_attempt_at = NULL, updated_at = now() WHERE tenant_id = $1 AND event_id = $2",
                    tenant, event_id, attempts + 1);
                storage::AppendEnrichmentAttempt(
                    txn, tenant, event_id,
                    Attempt(started_at, "llm", provenance.value("model", std::string()),
                            outcome ? "llm" : "cache", std::nullopt,
                            outcome ? outcome->provenance.latency_ms : 0));
                txn.commit();
                queue.Complete(task.id);
                metrics_->llm_retry.Inc();
                if (auto received = common::ParseRfc3339(payload.value("received_at", ""))) {
                    metrics_->time_to_llm.Observe(
                        std::chrono::duration<double>(common::NowUtc() - *received).count());
                }
                trouble.Reset();
                continue;
            }
            if (outcome->status == llm::EnrichmentStatus::kNoBudget) {
                // Our own limiter said "not yet": no attempt is spent.
                queue.Reschedule(task.id, task.payload, NowMs() + std::max<int64_t>(100, outcome->retry_after.count()));
                metrics_->rescheduled.Inc();
                continue;
            }
            const int next_attempts = attempts + 1;
            if (outcome->status == llm::EnrichmentStatus::kPermanent ||
                next_attempts >= config_.enrichment_max_retries) {
                pqxx::work txn(*db);
                txn.exec_params(
                    "UPDATE chemical_research_events SET enrichment_status = 'failed',"
                    " enrichment_provenance = COALESCE(enrichment_provenance, '{}'::jsonb)"
                    " || jsonb_build_object('llm_error', $3::text, 'retries', $4::int)"
                    " WHERE tenant_id = $1 AND event_id = $2 AND enrichment_status <> 'llm'",
                    tenant, event_id, outcome->error, next_attempts);
                txn.exec_params(
                    "UPDATE event_processing_status SET status = 'failed', retry_count = $4, last_error = $3,"
                    " next_attempt_at = NULL, updated_at = now() WHERE tenant_id = $1 AND event_id = $2",
                    tenant, event_id, outcome->error, next_attempts);
                storage::AppendEnrichmentAttempt(
                    txn, tenant, event_id,
                    Attempt(started_at, "failed", outcome->provenance.model, "llm", outcome->error,
                            outcome->provenance.latency_ms));
                txn.commit();
                auto tracker = std::make_shared<common::kafka::DeliveryTracker>(1);
                std::string error;
                const auto status = dead_letters_.Produce(
                    config_.kafka.Topic("research.records.dlq"), payload.value("molecule_id", ""), task.payload,
                    {{"dlq.stage", "enrich"},
                     {"dlq.reason", outcome->error},
                     {"dlq.original.topic", config_.kafka.Topic("research.records")},
                     {"dlq.original.partition", std::to_string(payload.value("kafka_partition", -1))},
                     {"dlq.original.offset", std::to_string(payload.value("kafka_offset", -1))},
                     {"dlq.failed_at", common::FormatRfc3339(common::NowUtc())}},
                    tracker, &error);
                if (status != common::kafka::ProduceStatus::kQueued) tracker->Abandon(1, error);
                tracker->Wait(30s);
                queue.Complete(task.id);
                metrics_->failed.Inc();
                Log()->warn("enrichment of {} failed for good after {} attempts: {}", event_id, next_attempts,
                            outcome->error);
                continue;
            }
            const auto ceiling = common::Backoff::Ceiling(config_.enrich_retry_initial, config_.enrich_retry_max, 2.0, attempts);
            const int64_t delay = std::max<int64_t>(outcome->retry_after.count(), ceiling.count());
            payload["attempts"] = next_attempts;
            {
                pqxx::work txn(*db);
                txn.exec_params(
                    "UPDATE event_processing_status SET status = 'retry_scheduled', retry_count = $3,"
                    " last_error = $4, next_attempt_at = now() + ($5::bigint * interval '1 millisecond'),"
                    " updated_at = now() WHERE tenant_id = $1 AND event_id = $2",
                    tenant, event_id, next_attempts, outcome->error, delay);
                storage::AppendEnrichmentAttempt(
                    txn, tenant, event_id,
                    Attempt(started_at, RetryOutcome(outcome->error), outcome->provenance.model, "llm",
                            outcome->error, outcome->provenance.latency_ms));
                txn.commit();
            }
            queue.Reschedule(task.id, payload.dump(), NowMs() + delay);
            metrics_->rescheduled.Inc();
        } catch (const common::redis::RedisError& e) {
            const auto delay = trouble.Next();
            Log()->warn("retry worker {}: Redis unavailable ({}); retrying in {} ms", index, e.what(), delay.count());
            SleepUnlessStopped(stop_, delay);
        } catch (const std::exception& e) {
            // PostgreSQL trouble: the leased task comes back when its lease expires.
            db.reset();
            const auto delay = trouble.Next();
            Log()->warn("retry worker {}: {}; retrying in {} ms", index, e.what(), delay.count());
            SleepUnlessStopped(stop_, delay);
        }
    }
}

void LlmEnrichment::SweepLoop() {
    common::redis::RedisClient redis_client(redis_endpoint_, 2000ms);
    redis::RetryQueue queue(redis_client, config_.redis_prefix + ":enrich");
    std::unique_ptr<pqxx::connection> db;
    while (!stop_.load()) {
        try {
            const int64_t reaped = queue.ReapExpiredLeases(NowMs());
            if (reaped > 0) {
                metrics_->requeued.Inc(static_cast<double>(reaped));
                Log()->info("re-queued {} retry tasks whose lease expired", reaped);
            }
            if (!db) db = std::make_unique<pqxx::connection>(config_.database_url);
            pqxx::read_transaction txn(*db);
            // Retries that should be queued by now but may not be (Redis was down or lost data).
            const auto rows = txn.exec(
                "SELECT c.tenant_id, c.event_id, c.molecule_id, COALESCE(c.molecule_name, ''),"
                " COALESCE(c.smiles, ''), COALESCE(c.canonical_smiles, ''), COALESCE(c.data->>'notes', ''),"
                " s.retry_count, to_char(c.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
                " COALESCE(c.kafka_partition, -1), COALESCE(c.kafka_offset, -1)"
                " FROM event_processing_status s JOIN chemical_research_events c USING (tenant_id, event_id)"
                " WHERE s.status = 'retry_scheduled' AND s.next_attempt_at <= now() - interval '10 seconds'"
                " ORDER BY s.next_attempt_at LIMIT 1000");
            txn.commit();
            int64_t added = 0;
            for (const auto& row : rows) {
                const json payload = {{"tenant_id", row[0].c_str()},  {"event_id", row[1].c_str()},
                                      {"molecule_id", row[2].c_str()}, {"name", row[3].c_str()},
                                      {"smiles", row[4].c_str()},      {"canonical_smiles", row[5].c_str()},
                                      {"notes", row[6].c_str()},       {"attempts", row[7].as<int>()},
                                      {"received_at", row[8].c_str()}, {"kafka_partition", row[9].as<int>()},
                                      {"kafka_offset", row[10].as<int64_t>()}};
                if (queue.ScheduleIfAbsent(TaskId(row[0].c_str(), row[1].c_str()), payload.dump(), NowMs())) ++added;
            }
            if (added > 0) {
                metrics_->requeued.Inc(static_cast<double>(added));
                Log()->info("re-queued {} retry tasks from PostgreSQL", added);
            }
            queue_depth_.store(queue.DueCount() + queue.LeasedCount());
        } catch (const common::redis::RedisError& e) {
            Log()->debug("sweeper: Redis unavailable: {}", e.what());
        } catch (const std::exception& e) {
            db.reset();
            Log()->debug("sweeper: {}", e.what());
        }
        SleepUnlessStopped(stop_, 2000ms);
    }
}

}  // namespace tributary::subscriber
