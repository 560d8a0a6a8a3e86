#include "common/metrics.hpp"

#include <charconv>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace tributary::common {
namespace {

void AtomicAdd(std::atomic<double>& target, double delta) {
    double current = target.load(std::memory_order_relaxed);
    while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
    }
}

std::string EscapeLabelValue(const std::string& value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string RenderLabels(const Labels& labels, const std::string& extra = {}) {
    if (labels.empty() && extra.empty()) return {};
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : labels) {
        if (!first) out += ',';
        first = false;
        out += key + "=\"" + EscapeLabelValue(value) + "\"";
    }
    if (!extra.empty()) {
        if (!first) out += ',';
        out += extra;
    }
    return out + "}";
}

std::string FormatNumber(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (std::isnan(value)) return "NaN";
    // Shortest text that reads back as the same double: 0.1, not 0.10000000000000001.
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    return std::string(buffer, result.ptr);
}

// Splices an extra label into an already rendered label set (`{a="b"}` + `le="1"`).
std::string WithExtraLabel(const std::string& label_text, const std::string& extra) {
    if (label_text.empty()) return "{" + extra + "}";
    return label_text.substr(0, label_text.size() - 1) + "," + extra + "}";
}

}  // namespace

void Counter::Inc(double delta) { AtomicAdd(value_, delta); }
void Gauge::Inc(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
    for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
    size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    AtomicAdd(sum_, value);
    count_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Histogram::CumulativeCount(size_t i) const {
    uint64_t total = 0;
    for (size_t j = 0; j <= i && j <= bounds_.size(); ++j) {
        total += buckets_[j].load(std::memory_order_relaxed);
    }
    return total;
}

std::vector<double> LatencyBuckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

MetricsRegistry::Series& MetricsRegistry::SeriesLocked(const std::string& name,
                                                       const std::string& help, Type type,
                                                       const Labels& labels) {
    auto [it, inserted] = families_.try_emplace(name);
    Family& family = it->second;
    if (inserted) {
        family.type = type;
        family.help = help;
    } else if (family.type != type) {
        throw std::logic_error("metric " + name + " registered twice with different types");
    }
    return family.series[RenderLabels(labels)];
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
    std::lock_guard lock(mutex_);
    Series& series = SeriesLocked(name, help, Type::kCounter, labels);
    if (!series.counter) {
        series.label_text = RenderLabels(labels);
        series.counter = std::make_unique<Counter>();
    }
    return *series.counter;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const Labels& labels) {
    std::lock_guard lock(mutex_);
    Series& series = SeriesLocked(name, help, Type::kGauge, labels);
    if (!series.gauge) {
        series.label_text = RenderLabels(labels);
        series.gauge = std::make_unique<Gauge>();
    }
    return *series.gauge;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const std::vector<double>& bounds, const Labels& labels) {
    std::lock_guard lock(mutex_);
    Series& series = SeriesLocked(name, help, Type::kHistogram, labels);
    if (!series.histogram) {
        series.label_text = RenderLabels(labels);
        series.histogram = std::make_unique<Histogram>(bounds);
    }
    return *series.histogram;
}

void MetricsRegistry::AddCallbackGauge(const std::string& name, const std::string& help,
                                       std::function<double()> callback, const Labels& labels) {
    std::lock_guard lock(mutex_);
    Series& series = SeriesLocked(name, help, Type::kGauge, labels);
    series.label_text = RenderLabels(labels);
    series.callback = std::move(callback);
}

std::string MetricsRegistry::Render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [name, family] : families_) {
        const char* type = family.type == Type::kCounter ? "counter"
                           : family.type == Type::kGauge ? "gauge"
                                                         : "histogram";
        out += "# HELP " + name + " " + family.help + "\n";
        out += "# TYPE " + name + " " + type + "\n";
        for (const auto& [key, series] : family.series) {
            if (series.counter) {
                out += name + series.label_text + " " + FormatNumber(series.counter->Value()) + "\n";
            } else if (series.gauge) {
                out += name + series.label_text + " " + FormatNumber(series.gauge->Value()) + "\n";
            } else if (series.callback) {
                out += name + series.label_text + " " + FormatNumber(series.callback()) + "\n";
            } else if (series.histogram) {
                const Histogram& h = *series.histogram;
                for (size_t i = 0; i <= h.Bounds().size(); ++i) {
                    const std::string le =
                        "le=\"" +
                        (i < h.Bounds().size() ? FormatNumber(h.Bounds()[i]) : std::string("+Inf")) +
                        "\"";
                    out += name + "_bucket" + WithExtraLabel(series.label_text, le) + " " +
                           std::to_string(h.CumulativeCount(i)) + "\n";
                }
                out += name + "_sum" + series.label_text + " " + FormatNumber(h.Sum()) + "\n";
                out += name + "_count" + series.label_text + " " + std::to_string(h.Count()) + "\n";
            }
        }
    }
    return out;
}

}  // namespace tributary::common
