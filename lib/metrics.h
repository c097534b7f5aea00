// A small Prometheus registry: counters, gauges and histograms, with labels,
// rendered in the text exposition format for /metrics. Updates are lock-free
// atomics; only the first use of a new label set takes a lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace phonebus::metrics {

// Label pairs in a fixed order, e.g. {{"family", "yealink"}, {"kind", "dnd_on"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative count per bound, then +Inf; and the sum.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<uint64_t> sum_micro_{0};               // sum in millionths, lock-free
};

// A metric name with its help text and one child per label set.
template <typename T>
class Family {
 public:
  template <typename... Args>
  explicit Family(Args... args) : make_([=] { return std::make_unique<T>(args...); }) {}
  T& With(const Labels& labels) {
    std::lock_guard lock(mu_);
    auto& slot = children_[labels];
    if (!slot) slot = make_();
    return *slot;
  }
  template <typename F>
  void ForEach(F&& f) const {
    std::lock_guard lock(mu_);
    for (const auto& [labels, child] : children_) f(labels, *child);
  }

 private:
  std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mu_;
  std::map<Labels, std::unique_ptr<T>> children_;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Family<Counter>& AddCounter(std::string name, std::string help);
  Family<Gauge>& AddGauge(std::string name, std::string help);
  Family<Histogram>& AddHistogram(std::string name, std::string help, std::vector<double> bounds);
  // A gauge read at scrape time (queue depths owned by someone else).
  void AddGaugeCallback(std::string name, std::string help, std::function<double()> read);

  std::string Render() const;

 private:
  struct Entry;
  std::vector<std::unique_ptr<Entry>> entries_;
  mutable std::mutex mu_;
};

// Latency buckets in seconds, 50 us to 10 s.
std::vector<double> LatencyBuckets();

}  // namespace phonebus::metrics
