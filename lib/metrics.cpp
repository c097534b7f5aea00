#include "metrics.h"

#include <cmath>
#include <cstdio>
#include <variant>

namespace phonebus::metrics {

struct Registry::Entry {
  template <size_t I, typename... Args>
  Entry(std::string n, std::string h, std::in_place_index_t<I> i, Args&&... args)
      : name(std::move(n)), help(std::move(h)), body(i, std::forward<Args>(args)...) {}
  std::string name;
  std::string help;
  std::variant<Family<Counter>, Family<Gauge>, Family<Histogram>, std::function<double()>> body;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<uint64_t>(std::llround(v * 1e6)), std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

double Histogram::Sum() const {
  return static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help) {
  std::lock_guard lock(mu_);
  entries_.push_back(
      std::unique_ptr<Entry>(new Entry(std::move(name), std::move(help), std::in_place_index<0>)));
  return std::get<0>(entries_.back()->body);
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help) {
  std::lock_guard lock(mu_);
  entries_.push_back(
      std::unique_ptr<Entry>(new Entry(std::move(name), std::move(help), std::in_place_index<1>)));
  return std::get<1>(entries_.back()->body);
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  entries_.push_back(std::unique_ptr<Entry>(
      new Entry(std::move(name), std::move(help), std::in_place_index<2>, std::move(bounds))));
  return std::get<2>(entries_.back()->body);
}

void Registry::AddGaugeCallback(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  entries_.push_back(std::unique_ptr<Entry>(
      new Entry(std::move(name), std::move(help), std::in_place_index<3>, std::move(read))));
}

namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string LabelText(const Labels& labels, const std::string& extra = {}) {
  if (labels.empty() && extra.empty()) return {};
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out.push_back(',');
    out += k + "=\"" + EscapeLabel(v) + "\"";
  }
  if (!extra.empty()) {
    if (out.size() > 1) out.push_back(',');
    out += extra;
  }
  return out + "}";
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string Registry::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& e : entries_) {
    const char* type = e->body.index() == 0   ? "counter"
                       : e->body.index() == 2 ? "histogram"
                                              : "gauge";
    out += "# HELP " + e->name + " " + e->help + "\n# TYPE " + e->name + " " + type + "\n";
    switch (e->body.index()) {
      case 0:
        std::get<0>(e->body).ForEach([&](const Labels& l, const Counter& c) {
          out += e->name + LabelText(l) + " " + std::to_string(c.Value()) + "\n";
        });
        break;
      case 1:
        std::get<1>(e->body).ForEach([&](const Labels& l, const Gauge& g) {
          out += e->name + LabelText(l) + " " + std::to_string(g.Value()) + "\n";
        });
        break;
      case 2:
        std::get<2>(e->body).ForEach([&](const Labels& l, const Histogram& h) {
          const auto counts = h.CumulativeCounts();
          for (size_t i = 0; i < h.bounds().size(); ++i) {
            out += e->name + "_bucket" + LabelText(l, "le=\"" + Number(h.bounds()[i]) + "\"") +
                   " " + std::to_string(counts[i]) + "\n";
          }
          out += e->name + "_bucket" + LabelText(l, "le=\"+Inf\"") + " " +
                 std::to_string(counts.back()) + "\n";
          out += e->name + "_sum" + LabelText(l) + " " + Number(h.Sum()) + "\n";
          out += e->name + "_count" + LabelText(l) + " " + std::to_string(counts.back()) + "\n";
        });
        break;
      case 3:
        out += e->name + " " + Number(std::get<3>(e->body)()) + "\n";
        break;
    }
  }
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
}

}  // namespace phonebus::metrics
