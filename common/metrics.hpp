#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tributary::common {

// Label set of one series, e.g. {{"route","/api/v1/events/analytics"},{"code","202"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Monotonic counter. Lock-free; safe from any thread.
class Counter {
public:
    void Inc(double delta = 1.0);
    double Value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0.0};
};

// Value that goes up and down. Lock-free; safe from any thread.
class Gauge {
public:
    void Set(double value) { value_.store(value, std::memory_order_relaxed); }
    void Inc(double delta = 1.0);
    void Dec(double delta = 1.0) { Inc(-delta); }
    double Value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0.0};
};

// Cumulative histogram with fixed upper bounds. Lock-free; safe from any thread.
class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void Observe(double value);
    const std::vector<double>& Bounds() const { return bounds_; }
    // Count of observations <= Bounds()[i]; index Bounds().size() is +Inf.
    uint64_t CumulativeCount(size_t i) const;
    double Sum() const { return sum_.load(std::memory_order_relaxed); }
    uint64_t Count() const { return count_.load(std::memory_order_relaxed); }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
    std::atomic<double> sum_{0.0};
    std::atomic<uint64_t> count_{0};
};

// Latency buckets in seconds, 0.5 ms .. 10 s.
std::vector<double> LatencyBuckets();

// Owns every metric of a process and renders them in the Prometheus text exposition format.
// Registration takes a mutex; the returned references stay valid for the registry's lifetime,
// so hot paths look a series up once and keep the reference.
class MetricsRegistry {
public:
    Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
    Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
    Histogram& GetHistogram(const std::string& name, const std::string& help,
                            const std::vector<double>& bounds, const Labels& labels = {});
    // A gauge computed at scrape time (queue depth, consumer lag, ...). The callback runs on the
    // scraping thread and must be thread-safe.
    void AddCallbackGauge(const std::string& name, const std::string& help,
                          std::function<double()> callback, const Labels& labels = {});

    std::string Render() const;

private:
    enum class Type { kCounter, kGauge, kHistogram };
    struct Series {
        std::string label_text;  // rendered `{a="b"}` or empty
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::unique_ptr<Histogram> histogram;
        std::function<double()> callback;
    };
    struct Family {
        Type type;
        std::string help;
        std::map<std::string, Series> series;  // keyed by label_text
    };
    Series& SeriesLocked(const std::string& name, const std::string& help, Type type,
                         const Labels& labels);

    mutable std::mutex mutex_;
    std::map<std::string, Family> families_;
};

}  // namespace tributary::common
