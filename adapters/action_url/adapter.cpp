#include "adapter.h"

#include <google/protobuf/util/json_util.h>

#include <mutex>
#include <optional>
#include <stdexcept>

#include "dialects/snom.h"
#include "dialects/softphone.h"
#include "dialects/yealink.h"
#include "log.h"
#include "normalize.h"
#include "topics.h"
#include "uuid.h"

namespace phonebus::adapter {
namespace {

int64_t NowMicros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// One answer for every request that is not admitted, whatever the reason, so a
// prober learns nothing about secrets, paths or the allow-list.
constexpr std::string_view kForbidden = "forbidden";
// Sources whose last request RepeatFilter keeps: a big site's phones, at a
// few hundred bytes each.
constexpr size_t kMaxRepeatSources = 20000;

cidr::AllowList AllowListOf(const AdapterSettings& settings) {
  auto list = cidr::AllowList::Parse(settings.allow_sources);
  if (!list.ok()) {
    throw std::runtime_error("--allow-source: " + std::string(list.status().message()));
  }
  return *list;
}

FailureLimiter::Options LimiterOptions(const AdapterSettings& s) {
  FailureLimiter::Options o;
  o.max_failures = s.refuse_after_failures;
  o.window = std::chrono::seconds(s.failure_window_s);
  o.hold_off = std::chrono::seconds(s.refuse_for_s);
  return o;
}

// An answer to a phone is a socket write, which must not happen under the
// adapter's state lock: it would make the HTTP threads take turns on it. The
// outbox calls back from inside Append (durability "os") or from its flusher
// ("fsync"); an answer that comes before Release waits here until then.
class HeldAnswer {
 public:
  explicit HeldAnswer(http_server::Reply reply) : reply_(std::move(reply)) {}
  void Send(http_server::Response response) {
    {
      std::lock_guard lock(mu_);
      if (!released_) {
        held_ = std::move(response);
        return;
      }
    }
    reply_(std::move(response));
  }
  void Release() {
    std::optional<http_server::Response> held;
    {
      std::lock_guard lock(mu_);
      released_ = true;
      held.swap(held_);
    }
    if (held) reply_(std::move(*held));
  }

 private:
  const http_server::Reply reply_;
  std::mutex mu_;
  bool released_ = false;
  std::optional<http_server::Response> held_;
};

}  // namespace

ActionUrlHandler::ActionUrlHandler(const AdapterSettings& settings, outbox::Outbox& outbox,
                                   metrics::Registry& registry, std::function<bool()> ready,
                                   outbox::LatestRetained* latest_retained)
    : settings_(settings),
      outbox_(outbox),
      registry_(registry),
      ready_(std::move(ready)),
      events_(registry.AddCounter("phonebus_events_total", "Events accepted, by family and kind")),
      rejects_(registry.AddCounter("phonebus_rejects_total", "Requests refused, by reason")),
      // In kFsync mode a state is durable only after the group sync, and a newer
      // one that a power loss could still take must not make an older one skipped.
      latest_retained_(settings.OutboxOptions().durability == outbox::Durability::kOs
                           ? latest_retained
                           : nullptr),
      content_type_(mqtt_client::ContentType(settings.mqtt)),
      secrets_(settings.url_secrets),
      allowed_(AllowListOf(settings)),
      failures_(LimiterOptions(settings)),
      repeats_(std::make_shared<RepeatFilter>(std::chrono::milliseconds(settings.repeat_window_ms),
                                              kMaxRepeatSources)),
      repeated_(registry.AddCounter(
          "phonebus_repeats_total",
          "Action URLs a phone fired twice in a row, answered with the first event id")) {
  if (secrets_.empty() && !settings.insecure_no_url_secret) {
    throw std::runtime_error(
        "--url-secret-file: Action URLs need a secret (or --insecure-no-url-secret)");
  }
  registry.AddGaugeCallback("phonebus_outbox_depth", "Events accepted and not yet published",
                            [&outbox] { return static_cast<double>(outbox.depth()); });
  registry.AddGaugeCallback("phonebus_outbox_bytes", "Bytes of unpublished events on disk",
                            [&outbox] { return static_cast<double>(outbox.bytes()); });
  registry.AddGaugeCallback("phonebus_outbox_max_bytes", "Outbox bound; at it phones get 503",
                            [&outbox] { return static_cast<double>(outbox.max_bytes()); });
}

void ActionUrlHandler::CountReject(std::string_view reason) {
  rejects_.With({{"reason", std::string(reason)}}).Inc();
}

void ActionUrlHandler::SeedState(const std::string& payload) {
  v1::DeviceState state;
  const bool ok = settings_.mqtt.json()
                      ? google::protobuf::util::JsonStringToMessage(payload, &state).ok()
                      : state.ParseFromString(payload);
  if (!ok || state.device().id().empty()) return;
  std::lock_guard lock(state_mu_);
  states_.Seed(state);
}

void ActionUrlHandler::Reject(std::string_view reason, unsigned status, std::string text,
                              const http_server::Request& request,
                              const http_server::Reply& reply) {
  CountReject(reason);
  log::Info("request refused", {{"reason", reason},
                                {"status", std::to_string(status)},
                                {"peer", request.peer_ip},
                                {"detail", text}});
  reply({status, std::move(text)});
}

void ActionUrlHandler::Handle(const http_server::Request& request,
                              const http_server::Reply& reply) {
  auto [path, query] = url::SplitTarget(request.target);
  if (path == "/healthz") return reply({200, "ok"});
  if (path == "/readyz") {
    return ready_() ? reply({200, "ready"}) : reply({503, "not ready: shutting down"});
  }
  if (path == "/metrics") {
    return reply({200, registry_.Render(), "text/plain; version=0.0.4; charset=utf-8"});
  }
  if (!Admit(path, request, reply)) return;
  Route(path, query, request, reply);
}

bool ActionUrlHandler::Admit(std::string_view& path, const http_server::Request& request,
                             const http_server::Reply& reply) {
  if (!allowed_.Allows(request.peer_ip)) {
    CountReject("source_not_allowed");
    log::Info("request refused", {{"reason", "source_not_allowed"}, {"peer", request.peer_ip}});
    reply({403, std::string(kForbidden)});
    return false;
  }
  if (secrets_.empty()) return true;  // --insecure-no-url-secret
  const std::string source = cidr::SourceKey(request.peer_ip);
  const auto now = FailureLimiter::Clock::now();
  if (failures_.Refused(source, now)) {
    // Not evaluated at all: guessing gets no answer while refused. Not logged
    // per request either (the start of the hold-off was).
    CountReject("source_refused");
    reply({429, "too many refused requests from this address; try later"});
    return false;
  }
  // "/{secret}/{rest}": the secret is cut off here and never reaches a log,
  // an error message or the event.
  std::string_view rest = path.substr(path.empty() ? 0 : 1);
  const auto slash = rest.find('/');
  const std::string_view presented = rest.substr(0, slash);
  if (!secrets_.Matches(presented)) {
    CountReject("bad_secret");
    const bool refused = failures_.Fail(source, now);
    log::Info("request refused", {{"reason", "bad_secret"}, {"peer", request.peer_ip}});
    if (refused) {
      log::Warn("refusing an address that keeps failing",
                {{"peer", request.peer_ip},
                 {"source", source},
                 {"for_s", std::to_string(settings_.refuse_for_s)}});
    }
    reply({403, std::string(kForbidden)});
    return false;
  }
  path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  return true;
}

void ActionUrlHandler::Route(std::string_view path, std::string_view query,
                             const http_server::Request& request, const http_server::Reply& reply) {
  // /{family} or /{family}/{event}
  std::string_view rest = path.substr(path.empty() ? 0 : 1);
  const auto slash = rest.find('/');
  const std::string_view family = rest.substr(0, slash);
  const std::string_view event =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (family == yealink::kPath || family == snom::kPath || family == softphone::kPath) {
    if (event.find('/') != std::string_view::npos) {
      return Reject("unknown_path", 404, "no such path: " + std::string(path), request, reply);
    }
    return HandleEvent(family, event, query, request, reply);
  }
  Reject("unknown_path", 404,
         "no such path: " + std::string(path) + " (Action URLs go to /" +
             std::string(yealink::kPath) + "/<event>, /" + std::string(snom::kPath) +
             "/<event> or /" + std::string(softphone::kPath) + ")",
         request, reply);
}

absl::StatusOr<std::string> ActionUrlHandler::Encode(
    const google::protobuf::Message& message) const {
  std::string out;
  if (settings_.mqtt.json()) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (auto printed = google::protobuf::util::MessageToJsonString(message, &out, options);
        !printed.ok()) {
      return absl::InvalidArgumentError(std::string(printed.message()));
    }
  } else {
    message.SerializeToString(&out);
  }
  return out;
}

metrics::Counter& ActionUrlHandler::EventCounter(std::string_view family, v1::EventKind kind,
                                                 const std::string& kind_name) {
  const int family_index = family == yealink::kPath ? 0 : family == snom::kPath ? 1 : 2;
  const int kind_index = static_cast<int>(kind);
  if (kind_index < 0 || kind_index >= v1::EventKind_ARRAYSIZE) {
    return events_.With({{"family", std::string(family)}, {"kind", kind_name}});
  }
  auto& slot = event_counters_[family_index * v1::EventKind_ARRAYSIZE + kind_index];
  metrics::Counter* counter = slot.load(std::memory_order_acquire);
  if (!counter) {
    // Racing threads get the same child from the family: either store is right.
    counter = &events_.With({{"family", std::string(family)}, {"kind", kind_name}});
    slot.store(counter, std::memory_order_release);
  }
  return *counter;
}

void ActionUrlHandler::HandleEvent(std::string_view family, std::string_view event_name,
                                   std::string_view raw_query, const http_server::Request& request,
                                   const http_server::Reply& reply) {
  const auto received_at = std::chrono::system_clock::now();
  const auto now = RepeatFilter::Clock::now();
  if (auto first = repeats_->Repeat(request.peer_ip, request.target, now)) {
    repeated_.With({}).Inc();
    return reply({200, "ok " + *first});
  }
  auto query = url::ParseQuery(raw_query);
  if (!query.ok()) {
    return Reject("bad_query", 400, "bad query: " + std::string(query.status().message()), request,
                  reply);
  }
  const ActionUrl action_url{event_name, *query};
  absl::StatusOr<v1::PhoneEvent> parsed = family == yealink::kPath ? yealink::Parse(action_url)
                                          : family == snom::kPath
                                              ? snom::Parse(action_url)
                                              : softphone::Parse(action_url, settings_.softphone);
  if (!parsed.ok()) {
    return Reject("bad_event", 400, std::string(parsed.status().message()), request, reply);
  }
  v1::PhoneEvent& event = *parsed;
  Normalize({settings_.site, request.peer_ip, received_at, *query}, &event);

  auto payload = Encode(event);
  if (!payload.ok()) {
    return Reject("bad_event", 400,
                  "cannot encode the event: " + std::string(payload.status().message()), request,
                  reply);
  }
  const std::string kind = topics::KindName(event.kind());
  const int64_t accepted_us = NowMicros(received_at);
  std::vector<std::string> records;
  records.reserve(2);
  records.push_back(
      outbox::EncodeRecord({{topics::Event(event.site(), event.device().id(), event.kind()),
                             *std::move(payload),
                             1,
                             false,
                             content_type_,
                             {{"kind", kind}, {"event_id", event.event_id()}}},
                            accepted_us}));

  const auto answer = std::make_shared<HeldAnswer>(reply);
  absl::Status appended;
  {
    // Fold and append under one lock so retained states reach the outbox in
    // the order they were computed.
    std::lock_guard lock(state_mu_);
    DeviceStates::Undo undo;
    const DeviceStates::State* state = states_.Fold(event, &undo);
    std::string state_topic;
    if (state) {
      state_topic = topics::State(event.site(), event.device().id());
      // Protobuf payloads are the bytes Fold made already. The state holds only
      // values that encoded as events before, so its JSON cannot fail either.
      std::string payload =
          settings_.mqtt.json() ? Encode(state->message).value_or("{}") : state->bytes;
      records.push_back(outbox::EncodeRecord({{state_topic,
                                               std::move(payload),
                                               1,
                                               true,
                                               content_type_,
                                               {{"event_id", event.event_id()}}},
                                              accepted_us}));
    }
    uint64_t first_seq = 0;
    // Counted before the answer: whoever got the 200 may read /metrics next.
    metrics::Counter* accepted = &EventCounter(family, event.kind(), kind);
    appended = outbox_.Append(
        records,
        [answer, accepted, id = event.event_id(), repeats = repeats_, source = request.peer_ip,
         target = std::string(request.target), now](const absl::Status& durable) {
          if (durable.ok()) {
            accepted->Inc();
            repeats->Accepted(source, target, id, now);
            return answer->Send({200, "ok " + id});
          }
          // Written but the fsync failed: the event may still be published.
          answer->Send({503, "outbox sync failed: " + std::string(durable.message())});
        },
        &first_seq);
    if (state && appended.ok()) {
      // The state is the record after the event.
      if (latest_retained_) latest_retained_->Durable(state_topic, first_seq + 1);
    } else if (state) {
      states_.Revert(std::move(undo));
    }
  }
  answer->Release();
  if (!appended.ok()) {
    const bool full = absl::IsResourceExhausted(appended);
    // One line when refusing starts, not one per refused event: phones retry,
    // and a full outbox under load would write thousands of lines a second.
    // phonebus_rejects_total counts every one.
    if (!refusing_.exchange(true)) {
      log::Warn(
          full ? "outbox full: refusing events until the broker catches up"
               : "outbox write failed: refusing events",
          {{"error", std::string(appended.message())}, {"depth", std::to_string(outbox_.depth())}});
    }
    CountReject(full ? "outbox_full" : "outbox_error");
    return reply({503, std::string(full ? "outbox full, try later" : "outbox unavailable: ") +
                           (full ? "" : std::string(appended.message()))});
  }
  if (refusing_.load(std::memory_order_relaxed) && refusing_.exchange(false)) {
    log::Info("outbox accepts events again", {{"depth", std::to_string(outbox_.depth())}});
  }
}

Adapter::Adapter(AdapterSettings settings) : settings_(std::move(settings)) {
  auto box = outbox::Outbox::Open(settings_.OutboxOptions());
  if (!box.ok()) {
    throw std::runtime_error("--outbox-dir " + settings_.outbox_dir + ": " +
                             std::string(box.status().message()));
  }
  outbox_ = std::move(*box);
  mqtt_client::Options mqtt_options;
  mqtt_options.mqtt = settings_.mqtt;
  // A new id per process: the publisher keeps no broker session (the outbox
  // is the session), and "no local" below then hides only this process's own
  // publications, not those of the process before a restart.
  mqtt_options.client_id = "phonebus-adapter-" + settings_.instance + "-" + NewUuidV7().substr(24);
  mqtt_options.status_topic =
      topics::ServiceStatus(settings_.site, "adapter-" + settings_.instance);
  mqtt_ = std::make_unique<mqtt_client::Client>(std::move(mqtt_options));
  publisher_ =
      std::make_unique<outbox::Publisher>(*outbox_, *mqtt_, settings_.mqtt.max_inflight, registry_);
  handler_ = std::make_unique<ActionUrlHandler>(
      settings_, *outbox_, registry_, [this] { return ready(); }, &publisher_->latest_retained());
  // Pick up the retained states (after a restart, or written by another
  // replica), so the first event of a device does not publish a state that
  // forgot its DND, forwarding or registrations. On MQTT 3.1.1, which has no
  // "no local", our own echoes come back too and Seed drops them (not newer).
  mqtt_->OnMessage(
      [h = handler_.get()](const mqtt_client::Message& m) { h->SeedState(m.payload); });
  publisher_->OnConnected([this] {
    if (auto st = mqtt_->Subscribe(topics::AllStates(settings_.site), 1, /*no_local=*/true);
        !st.ok()) {
      log::Warn("cannot read retained device states", {{"error", std::string(st.message())}});
    }
  });
  server_ = Listen("--listen", settings_.listen, nullptr);
  if (!settings_.tls_listen.empty()) {
    auto files = TlsFiles::Load({settings_.tls_cert_file, "--tls-cert-file"},
                                {settings_.tls_key_file, "--tls-key-file"});
    if (!files.ok()) throw std::runtime_error(std::string(files.status().message()));
    tls_files_ = std::move(*files);
    tls_server_ = Listen("--tls-listen", settings_.tls_listen, tls_files_.get());
    tls_reload_timer_ = std::make_unique<net::steady_timer>(ioc_);
  }
}

std::unique_ptr<http_server::Server> Adapter::Listen(const std::string& setting,
                                                     const std::string& listen,
                                                     const TlsFiles* tls) {
  const auto hp = settings::ParseHostPort(setting, listen);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(hp.host, ec);
  if (ec) throw std::runtime_error(setting + ": '" + hp.host + "' is not an IP address");
  try {
    return std::make_unique<http_server::Server>(
        ioc_, tcp::endpoint(address, hp.port), settings_.Limits(),
        [h = handler_.get()](const http_server::Request& r, const http_server::Reply& reply) {
          h->Handle(r, reply);
        },
        [h = handler_.get()](std::string_view reason, const std::string&) {
          h->CountReject(reason);
        },
        tls);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(setting + " " + listen + ": " + e.code().message());
  }
}

// Certificates are renewed in place (cert-manager, certbot): new connections
// get the new pair, open ones keep theirs. A broken pair is reported and the
// old one kept, so a bad renewal never takes HTTPS down.
void Adapter::WatchTlsFiles() {
  tls_reload_timer_->expires_after(std::chrono::milliseconds(settings_.tls_reload_ms));
  tls_reload_timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    std::string error;
    switch (tls_files_->ReloadIfChanged(&error)) {
      case TlsFiles::Reload::kReloaded:
        log::Info("TLS certificate reloaded", {{"cert_file", settings_.tls_cert_file}});
        break;
      case TlsFiles::Reload::kFailed:
        log::Error("TLS certificate not reloaded, keeping the previous one",
                   {{"error", error}, {"cert_file", settings_.tls_cert_file}});
        break;
      case TlsFiles::Reload::kUnchanged:
        break;
    }
    WatchTlsFiles();
  });
}

Adapter::~Adapter() {
  Shutdown();
  // Destroying paho's client fails its pending publishes into the publisher's and handler's
  // callbacks (ASan: use after free): it goes before the members it calls back.
  mqtt_.reset();
}

void Adapter::Start() {
  publisher_->Start();
  work_.emplace(net::make_work_guard(ioc_));
  server_->Start();
  if (tls_server_) {
    tls_server_->Start();
    WatchTlsFiles();
  }
  for (int i = 0; i < settings_.threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  if (settings_.url_secrets.empty()) {
    log::Warn("Action URLs are accepted without a secret (--insecure-no-url-secret)");
  }
  log::Info("adapter listening",
            {{"address", settings_.listen},
             {"tls_address", settings_.tls_listen},
             {"url_secret", settings_.url_secrets.empty() ? "not required" : "required"},
             {"site", settings_.site},
             {"durability", settings_.durability}});
}

void Adapter::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  draining_ = true;
  // Readiness is false now; give load balancers time to notice before the
  // listener closes.
  std::this_thread::sleep_for(std::chrono::milliseconds(settings_.shutdown_grace_ms));
  server_->Shutdown();
  if (tls_server_) {
    tls_server_->Shutdown();
    net::post(ioc_, [this] { tls_reload_timer_->cancel(); });
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(settings_.drain_timeout_s);
  while ((server_->in_flight() > 0 || (tls_server_ && tls_server_->in_flight() > 0)) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  publisher_->Stop(std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now()));
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  log::Info("adapter stopped", {{"unpublished", std::to_string(outbox_->depth())}});
}

}  // namespace phonebus::adapter
