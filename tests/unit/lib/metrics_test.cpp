#include "metrics.h"

#include <gtest/gtest.h>

namespace phonebus::metrics {
namespace {

TEST(Registry, RendersPrometheusText) {
  Registry r;
  auto& events = r.AddCounter("events_total", "Events");
  events.With({{"family", "yealink"}, {"kind", "dnd_on"}}).Inc(3);
  r.AddGaugeCallback("depth", "Depth", [] { return 7.0; });
  auto& h = r.AddHistogram("lat_seconds", "Latency", {0.001, 0.01}).With({});
  h.Observe(0.0005);
  h.Observe(0.005);
  h.Observe(1);
  const auto text = r.Render();
  EXPECT_NE(text.find("# TYPE events_total counter"), std::string::npos);
  EXPECT_NE(text.find("events_total{family=\"yealink\",kind=\"dnd_on\"} 3"), std::string::npos);
  EXPECT_NE(text.find("depth 7"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.001\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.01\"} 2"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_count 3"), std::string::npos);
}

}  // namespace
}  // namespace phonebus::metrics
