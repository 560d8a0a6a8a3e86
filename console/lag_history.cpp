#include "console/lag_history.hpp"

#include "common/logging.hpp"

#include <set>

namespace tributary::console {

LagHistory::LagHistory(size_t capacity) : capacity_(std::max<size_t>(capacity, 2)) {}

size_t LagHistory::CapacityFor(std::chrono::seconds interval) {
    const auto seconds = std::max<int64_t>(1, interval.count());
    return static_cast<size_t>((3600 + seconds - 1) / seconds) + 1;
}

void LagHistory::Record(const GroupInfo& group, int64_t at_ms) {
    std::lock_guard lock(mutex_);
    auto& samples = history_[group.group_id];
    samples.push_back({at_ms, group.LagMessages(), group.LagSeconds()});
    while (samples.size() > capacity_) samples.pop_front();
    latest_[group.group_id] = group;
}

void LagHistory::Retain(const std::vector<std::string>& group_ids) {
    const std::set<std::string> keep(group_ids.begin(), group_ids.end());
    std::lock_guard lock(mutex_);
    for (auto it = history_.begin(); it != history_.end();) {
        it = keep.contains(it->first) ? std::next(it) : history_.erase(it);
    }
    for (auto it = latest_.begin(); it != latest_.end();) {
        it = keep.contains(it->first) ? std::next(it) : latest_.erase(it);
    }
}

std::vector<LagSample> LagHistory::History(const std::string& group_id) const {
    std::lock_guard lock(mutex_);
    const auto it = history_.find(group_id);
    if (it == history_.end()) return {};
    return {it->second.begin(), it->second.end()};
}

std::optional<GroupInfo> LagHistory::Latest(const std::string& group_id) const {
    std::lock_guard lock(mutex_);
    const auto it = latest_.find(group_id);
    if (it == latest_.end()) return std::nullopt;
    return it->second;
}

std::vector<GroupInfo> LagHistory::AllLatest() const {
    std::lock_guard lock(mutex_);
    std::vector<GroupInfo> out;
    for (const auto& [id, group] : latest_) out.push_back(group);
    return out;
}

void RunLagSampler(KafkaInspector& kafka, LagHistory& history, std::chrono::seconds interval,
                   const std::function<bool(std::chrono::milliseconds)>& wait_or_stop) {
    const auto log = common::GetLogger("console");
    // A shared test cluster may hold thousands of dead groups: sample the first ones only.
    constexpr size_t kMaxGroups = 200;
    do {
        try {
            std::vector<std::string> seen;
            for (const auto& group : kafka.ListGroups()) {
                if (seen.size() >= kMaxGroups) break;
                if (auto described = kafka.DescribeGroup(group.group_id)) {
                    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count();
                    history.Record(*described, now_ms);
                    seen.push_back(group.group_id);
                }
            }
            history.Retain(seen);
        } catch (const std::exception& e) {
            log->warn("lag sampling failed: {}", e.what());
        }
    } while (!wait_or_stop(interval));
}

}  // namespace tributary::console
