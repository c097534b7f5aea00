// phonebus-adapter: Action URLs in, durable protobuf events out.
//
// ActionUrlHandler is the request logic (admit, route, parse, normalise, fold
// into device state, append to the outbox, answer); Adapter wires it to the HTTP
// server, the outbox publisher and the MQTT client, so tests run the whole
// adapter in-process exactly as main() does.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "adapter_settings.h"
#include "cidr.h"
#include "device_state.h"
#include "failure_limiter.h"
#include "http_server.h"
#include "metrics.h"
#include "mqtt_client.h"
#include "outbox.h"
#include "outbox_publisher.h"
#include "repeat_filter.h"
#include "tls_files.h"
#include "url_secret.h"

namespace phonebus::adapter {

class ActionUrlHandler {
 public:
  // `latest_retained`, when given, is told of every retained state once it is
  // durable, so the publisher may skip states a newer one replaces.
  ActionUrlHandler(const AdapterSettings& settings, outbox::Outbox& outbox,
                   metrics::Registry& registry, std::function<bool()> ready,
                   outbox::LatestRetained* latest_retained = nullptr);
  void Handle(const http_server::Request& request, const http_server::Reply& reply);
  // Counts a request the HTTP layer refused (timeouts, limits).
  void CountReject(std::string_view reason);
  // A retained DeviceState payload read back from the bus.
  void SeedState(const std::string& payload);

 private:
  // Who may send an Action URL: an allowed source, not refused for earlier
  // failures, with the URL secret as the first path segment. On success
  // `path` is left as the path after the secret; otherwise the reply is sent.
  bool Admit(std::string_view& path, const http_server::Request& request,
             const http_server::Reply& reply);
  void Route(std::string_view path, std::string_view query, const http_server::Request& request,
             const http_server::Reply& reply);
  void HandleEvent(std::string_view family, std::string_view event, std::string_view query,
                   const http_server::Request& request, const http_server::Reply& reply);
  void Reject(std::string_view reason, unsigned status, std::string text,
              const http_server::Request& request, const http_server::Reply& reply);
  // The payload as --payload-format says. Protobuf's JSON printer refuses a
  // timestamp or duration outside its range (leaving half a document).
  absl::StatusOr<std::string> Encode(const google::protobuf::Message& message) const;
  // phonebus_events_total{family, kind}, looked up once per label pair: no
  // lock or label strings per event.
  metrics::Counter& EventCounter(std::string_view family, v1::EventKind kind,
                                 const std::string& kind_name);

  const AdapterSettings& settings_;
  outbox::Outbox& outbox_;
  metrics::Registry& registry_;
  std::function<bool()> ready_;
  metrics::Family<metrics::Counter>& events_;
  metrics::Family<metrics::Counter>& rejects_;
  static constexpr int kFamilies = 3;  // yealink, snom, softphone
  std::array<std::atomic<metrics::Counter*>, size_t{kFamilies} * v1::EventKind_ARRAYSIZE>
      event_counters_{};
  outbox::LatestRetained* latest_retained_;
  std::string content_type_;
  const UrlSecrets secrets_;
  const cidr::AllowList allowed_;
  FailureLimiter failures_;
  // Shared with the outbox's durability callbacks, which may outlive a request.
  const std::shared_ptr<RepeatFilter> repeats_;
  metrics::Family<metrics::Counter>& repeated_;

  std::atomic<bool> refusing_{false};  // the last append failed: logged once until one succeeds
  std::mutex state_mu_;                // orders state folding with outbox appends
  DeviceStates states_;
};

class Adapter {
 public:
  // Opens the outbox and binds the listener; throws std::runtime_error with a
  // clear message when either fails.
  explicit Adapter(AdapterSettings settings);
  ~Adapter();

  void Start();
  tcp::endpoint endpoint() const { return server_->local_endpoint(); }
  // The HTTPS listener's address; only with --tls-listen.
  tcp::endpoint tls_endpoint() const { return tls_server_->local_endpoint(); }
  // Graceful stop: not ready, stop accepting, finish in-flight requests, give
  // the publisher drain_timeout to empty the outbox (the rest stays on disk).
  void Shutdown();
  bool ready() const { return !draining_; }

 private:
  std::unique_ptr<http_server::Server> Listen(const std::string& setting, const std::string& listen,
                                              const TlsFiles* tls);
  void WatchTlsFiles();

  AdapterSettings settings_;
  metrics::Registry registry_;
  std::unique_ptr<outbox::Outbox> outbox_;
  std::unique_ptr<mqtt_client::Client> mqtt_;
  std::unique_ptr<outbox::Publisher> publisher_;
  std::unique_ptr<ActionUrlHandler> handler_;
  net::io_context ioc_;
  // Keeps the io threads running while a request has nothing pending on the
  // socket (waiting for its group fsync): its answer is posted to them.
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::unique_ptr<http_server::Server> server_;
  std::unique_ptr<TlsFiles> tls_files_;
  std::unique_ptr<http_server::Server> tls_server_;
  std::unique_ptr<net::steady_timer> tls_reload_timer_;
  std::vector<std::thread> threads_;
  std::atomic<bool> draining_{false};
  bool stopped_ = false;
};

}  // namespace phonebus::adapter
