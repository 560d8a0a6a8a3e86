#include "console/overview.hpp"

#include "common/logging.hpp"

#include <pqxx/pqxx>

namespace tributary::console {

namespace {

constexpr const char* kIngestTopics[] = {"analytics.events", "research.records"};
constexpr const char* kDeadLetterTopics[] = {"analytics.events.dlq", "research.records.dlq"};
// How far back a tenant's dead letters are counted when the console starts.
constexpr int64_t kInitialDeadLetterWindow = 20000;

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

double RatePerSecond(int64_t count_before, int64_t count_after, std::chrono::milliseconds elapsed) {
    if (elapsed.count() <= 0 || count_after < count_before) return 0;
    return static_cast<double>(count_after - count_before) * 1000.0 / static_cast<double>(elapsed.count());
}

Overview::Overview(KafkaInspector& kafka, LagHistory& lag, std::string database_url)
    : kafka_(kafka), lag_(lag), database_url_(std::move(database_url)) {}

Overview::~Overview() = default;

void Overview::ScanDeadLetters(const std::string& topic, int64_t now_ms) {
    auto info = kafka_.Topic(topic);
    if (!info) return;
    auto& positions = dlq_positions_[topic];
    std::vector<PartitionRange> ranges;
    for (const auto& partition : info->partitions) {
        auto it = positions.find(partition.partition);
        const int64_t from = it != positions.end()
                                 ? std::max(it->second, partition.low)
                                 : std::max(partition.low, partition.high - kInitialDeadLetterWindow);
        ranges.push_back({partition.partition, from, partition.high});
    }
    auto consumer = kafka_.NewConsumer();
    ReadRanges(*consumer, topic, ranges, std::chrono::steady_clock::now() + std::chrono::seconds(2),
               [&](KafkaMessage& message) {
                   auto& counts = dlq_by_tenant_[message.tenant_id.value_or("")];
                   ++counts.total;
                   const int64_t at = message.timestamp_ms >= 0 ? message.timestamp_ms : now_ms;
                   if (now_ms - at < 60000) counts.recent_ms.push_back(at);
                   return true;
               });
    consumer->close();
    for (const auto& range : ranges) positions[range.partition] = range.next;
}

void Overview::Sample() {
    const auto now = std::chrono::steady_clock::now();
    const int64_t now_ms = NowMs();
    std::map<std::string, int64_t> highs;
    for (const char* base : kIngestTopics) {
        const std::string name = kafka_.Settings().Topic(base);
        if (auto info = kafka_.Topic(name)) {
            int64_t sum = 0;
            for (const auto& partition : info->partitions) sum += partition.high;
            highs[name] = sum;
        }
    }
    std::map<std::string, int64_t> dlq_messages;
    int64_t dlq_high = 0;
    for (const char* base : kDeadLetterTopics) {
        const std::string name = kafka_.Settings().Topic(base);
        if (auto info = kafka_.Topic(name)) {
            dlq_messages[name] = info->Messages();
            for (const auto& partition : info->partitions) dlq_high += partition.high;
        }
    }
    std::lock_guard lock(mutex_);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_sample_);
    for (const auto& [topic, high] : highs) {
        const auto it = last_high_.find(topic);
        rates_[topic] = it == last_high_.end() ? 0.0 : RatePerSecond(it->second, high, elapsed);
    }
    last_high_ = highs;
    last_sample_ = now;
    dlq_messages_ = dlq_messages;
    dlq_history_.emplace_back(now_ms, dlq_high);
    while (dlq_history_.size() > 2 && now_ms - dlq_history_[1].first >= 60000) dlq_history_.pop_front();
    for (const char* base : kDeadLetterTopics) ScanDeadLetters(kafka_.Settings().Topic(base), now_ms);
    for (auto& [tenant, counts] : dlq_by_tenant_) {
        while (!counts.recent_ms.empty() && now_ms - counts.recent_ms.front() >= 60000) counts.recent_ms.pop_front();
    }
}

void Overview::Run(std::chrono::milliseconds interval,
                   const std::function<bool(std::chrono::milliseconds)>& wait_or_stop) {
    const auto log = common::GetLogger("console");
    do {
        try {
            Sample();
        } catch (const std::exception& e) {
            log->warn("overview sampling failed: {}", e.what());
        }
    } while (!wait_or_stop(interval));
}

nlohmann::json Overview::DatabasePart(const std::string& tenant_id) {
    std::lock_guard lock(db_mutex_);
    auto& cached = db_cache_[tenant_id];
    const auto now = std::chrono::steady_clock::now();
    if (!cached.latency.is_null() && now - cached.at < std::chrono::seconds(2)) {
        return {{"latency_ms", cached.latency}, {"enrichment", cached.enrichment}};
    }
    nlohmann::json latency = {{"p50", nullptr}, {"p99", nullptr}, {"sample", 0}};
    nlohmann::json enrichment = {{"pending", 0}, {"llm", 0}, {"fallback", 0}, {"failed", 0}};
    try {
        if (!db_ || !db_->is_open()) db_ = std::make_unique<pqxx::connection>(database_url_);
        pqxx::work tx(*db_);
        tx.exec("SET LOCAL statement_timeout = 2000");
        // The tenant's most recent rows by event time (the primary key (event_time, id) of the
        // day partitions, read backwards from the newest; migration 0008): accepted
        // (received_at) to stored (stored_at).
        const auto rows = tx.exec_params(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), "
            "       percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), count(*) "
            "FROM (SELECT EXTRACT(EPOCH FROM (stored_at - received_at)) * 1000 AS ms "
            "      FROM user_analytics_events WHERE tenant_id = $1 AND event_time <= now() "
            "      ORDER BY event_time DESC, id DESC LIMIT 1000) recent",
            tenant_id);
        const auto row = rows[0];
        if (!row[0].is_null()) latency["p50"] = row[0].as<double>();
        if (!row[1].is_null()) latency["p99"] = row[1].as<double>();
        latency["sample"] = row[2].as<int64_t>();
        for (const auto& status : tx.exec_params(
                 "SELECT enrichment_status, count(*) FROM chemical_research_events "
                 "WHERE tenant_id = $1 GROUP BY enrichment_status",
                 tenant_id)) {
            enrichment[status[0].as<std::string>()] = status[1].as<int64_t>();
        }
        tx.commit();
    } catch (const std::exception& e) {
        db_.reset();
        common::GetLogger("console")->warn("overview database read failed: {}", e.what());
        return {{"latency_ms", latency}, {"enrichment", enrichment}, {"database_error", true}};
    }
    cached = {now, latency, enrichment};
    return {{"latency_ms", latency}, {"enrichment", enrichment}};
}

nlohmann::json Overview::Snapshot(const common::auth::Principal& principal) {
    const bool is_operator = principal.scopes.Has(common::auth::Scope::kOperator);
    nlohmann::json out;
    out["at"] = FormatKafkaTime(NowMs());
    {
        std::lock_guard lock(mutex_);
        double total = 0;
        nlohmann::json by_topic = nlohmann::json::object();
        for (const auto& [topic, rate] : rates_) {
            by_topic[topic] = rate;
            total += rate;
        }
        out["ingest"] = {{"events_per_s", total}, {"by_topic", by_topic}};
        if (is_operator) {
            int64_t total_dlq = 0;
            for (const auto& [topic, count] : dlq_messages_) total_dlq += count;
            const int64_t per_min = dlq_history_.size() >= 2
                                        ? dlq_history_.back().second - dlq_history_.front().second
                                        : 0;
            out["dead_letters"] = {{"per_min", per_min}, {"total", total_dlq}};
        } else {
            const auto it = dlq_by_tenant_.find(principal.tenant_id);
            out["dead_letters"] = {
                {"per_min", it == dlq_by_tenant_.end() ? 0 : it->second.recent_ms.size()},
                {"total", it == dlq_by_tenant_.end() ? 0 : it->second.total}};
        }
    }
    nlohmann::json lag = nlohmann::json::array();
    for (const auto& group : lag_.AllLatest()) {
        for (const auto& partition : group.partitions) {
            // One cluster may serve several environments: this console's topics only.
            if (!partition.topic.starts_with(kafka_.Settings().topic_prefix)) continue;
            lag.push_back({{"group", group.group_id},
                           {"topic", partition.topic},
                           {"partition", partition.partition},
                           {"owner", partition.owner},
                           {"lag_messages", partition.lag_messages},
                           {"lag_seconds", partition.lag_seconds}});
        }
    }
    out["lag"] = std::move(lag);
    auto db = DatabasePart(principal.tenant_id);
    out["latency_ms"] = db["latency_ms"];
    out["enrichment"] = db["enrichment"];
    return out;
}

}  // namespace tributary::console
