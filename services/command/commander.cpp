#include "commander.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>

#include "log.h"
#include "topics.h"
#include "url.h"
#include "uuid.h"

namespace phonebus::command {
namespace {

constexpr char kHealthService[] = "phonebus.v1.PhoneControl";

// Server reflection on or off for one server. Linking the reflection
// library registers its plugin for every server the process builds, so
// "off" has to take it out again.
class ReflectionOption : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool on) : on_(on) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    const std::string name = grpc::reflection::ProtoServerReflectionPlugin().name();
    const auto is_reflection = [&](const auto& plugin) { return plugin->name() == name; };
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(), is_reflection), plugins->end());
    if (on_) plugins->push_back(std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
  }

 private:
  const bool on_;
};

std::string ReadFile(const std::string& setting, const std::string& path) {
  auto text = SecretSources::Process().file(path);
  if (!text.ok()) {
    throw std::runtime_error(setting + " " + path + ": " + std::string(text.status().message()));
  }
  return *std::move(text);
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const CommanderSettings& s) {
  if (s.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      s.tls_client_ca_file.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                   : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!s.tls_client_ca_file.empty()) {
    options.pem_root_certs = ReadFile("--tls-client-ca-file", s.tls_client_ca_file);
  }
  options.pem_key_cert_pairs.push_back(
      {ReadFile("--tls-key-file", s.tls_key_file), ReadFile("--tls-cert-file", s.tls_cert_file)});
  return grpc::SslServerCredentials(options);
}

tcp::endpoint Endpoint(const std::string& setting, const std::string& value) {
  const auto hp = settings::ParseHostPort(setting, value);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(hp.host, ec);
  if (ec) throw std::runtime_error(setting + ": '" + hp.host + "' is not an IP address");
  return {address, hp.port};
}

// "phonebus/v1/{site}/device/{id}/state" -> {site, id}; nullopt for others.
std::optional<std::pair<std::string, std::string>> StateTopic(std::string_view topic) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const auto slash = topic.find('/', start);
    parts.push_back(topic.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 6 || parts[0] != "phonebus" || parts[1] != "v1" || parts[3] != "device" ||
      parts[5] != "state") {
    return std::nullopt;
  }
  return std::pair(std::string(parts[2]), std::string(parts[4]));
}

// Protobuf by default; protobuf-JSON when the adapter runs with JSON payloads
// (MQTT 3.1.1 carries no content type: a JSON object starts with '{', which
// no DeviceState encoding does).
bool DecodeState(const mqtt_client::Message& m, v1::DeviceState& state) {
  if (m.content_type == "application/json" || (!m.payload.empty() && m.payload[0] == '{')) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // a newer adapter may add fields
    return google::protobuf::util::JsonStringToMessage(m.payload, &state, options).ok();
  }
  return state.ParseFromString(m.payload);
}

std::string EncodeResult(const v1::CommandResult& result, bool json) {
  if (!json) return result.SerializeAsString();
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(result, &out);
  return out;
}

}  // namespace

Commander::Commander(CommanderSettings settings)
    : settings_(std::move(settings)),
      results_dropped_(
          metrics_.AddCounter("phonebus_command_results_unpublished_total",
                              "Command results not published because the broker was unreachable")),
      states_learned_(metrics_.AddCounter("phonebus_device_states_total",
                                          "Retained device states read from the bus")) {
  CommandForms forms = CommandForms::Defaults();
  if (!settings_.command_forms.empty()) {
    auto text = SecretSources::Process().file(settings_.command_forms);
    if (!text.ok()) {
      throw std::runtime_error("--command-forms " + settings_.command_forms +
                               ": cannot read: " + std::string(text.status().message()));
    }
    auto parsed = CommandForms::Parse(*text);
    if (!parsed.ok()) {
      throw std::runtime_error("--command-forms " + settings_.command_forms + ": " +
                               std::string(parsed.status().message()));
    }
    forms = *std::move(parsed);
  }
  Inventory inventory;
  if (!settings_.inventory.empty()) {
    auto loaded = LoadInventory(settings_.inventory, settings_.site, SecretSources::Process());
    if (!loaded.ok()) {
      throw std::runtime_error("--inventory " + std::string(loaded.status().message()));
    }
    inventory = *std::move(loaded);
  }
  const size_t listed = inventory.devices.size();
  auto registry = Registry::Create(std::move(inventory), std::move(forms), settings_.site,
                                   settings_.max_number_length, Registry::DefaultNameHash,
                                   settings_.phone_networks);
  if (!registry.ok()) {
    throw std::runtime_error("--inventory " + settings_.inventory + ": " +
                             std::string(registry.status().message()));
  }
  registry_ = *std::move(registry);
  metrics_.AddGaugeCallback("phonebus_registry_devices", "Devices in the registry",
                            [r = registry_.get()] { return static_cast<double>(r->size()); });
  log::Info("registry loaded", {{"inventory_devices", std::to_string(listed)}});

  request_log_ =
      std::make_unique<RequestLog>(std::chrono::seconds(settings_.idempotency_window_s),
                                   static_cast<size_t>(settings_.idempotency_max_entries));

  http_client::Client::Options phone_options;
  phone_options.max_queue_per_endpoint = static_cast<size_t>(settings_.max_queue_per_phone);
  phone_options.ca_file = settings_.ca_file;
  phone_options.refused_holdoff = std::chrono::seconds(settings_.auth_holdoff_s);
  phones_ = std::make_unique<http_client::Client>(ioc_, phone_options);

  mqtt_client::Options mqtt_options;
  mqtt_options.mqtt = settings_.mqtt;
  mqtt_options.client_id =
      "phonebus-commander-" + settings_.instance + "-" + NewUuidV7().substr(24);
  mqtt_options.status_topic =
      topics::ServiceStatus(settings_.site, "commander-" + settings_.instance);
  mqtt_ = std::make_unique<mqtt_client::Client>(std::move(mqtt_options));
  // paho's thread only hands the message over.
  mqtt_->OnMessage([this](mqtt_client::Message m) {
    net::post(bus_strand_, [this, m = std::move(m)] { OnBusMessage(m); });
  });
  mqtt_->OnConnectionLost([this](const std::string& cause) {
    log::Warn("broker connection lost", {{"cause", cause}});
    std::lock_guard lock(bus_mu_);
    bus_lost_ = true;
    bus_cv_.notify_all();
  });
  mqtt_->OnDelivered([this](uint64_t, bool ok) {
    if (!ok) results_dropped_.With({}).Inc();
  });

  if (settings_.insecure_no_auth) {
    authorizer_ = std::make_unique<Authorizer>(Authorizer::AllowAll());
    log::Warn("no authentication: every local process may drive every phone",
              {{"setting", "--insecure-no-auth"}});
  } else {
    auto tokens = Tokens::Load(settings_.tokens_file);
    if (!tokens.ok()) {
      throw std::runtime_error("--tokens-file " + std::string(tokens.status().message()));
    }
    log::Info("tokens loaded", {{"clients", std::to_string(tokens->size())}});
    authorizer_ = std::make_unique<Authorizer>(*std::move(tokens));
  }

  PhoneControlService::Options service_options;
  service_options.instance = settings_.instance;
  service_options.phone_timeout = std::chrono::milliseconds(settings_.phone_timeout_ms);
  service_ = std::make_unique<PhoneControlService>(
      service_options, *authorizer_, *registry_, *phones_, *request_log_, metrics_,
      [this](const v1::CommandResult& r) { PublishResult(r); });

  // Health answers without a token: Kubernetes' gRPC probes cannot send one,
  // and it tells nothing but serving or not.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<ReflectionOption>(!settings_.no_reflection));
  settings::ParseHostPort("--listen", settings_.listen);
  builder.AddListeningPort(settings_.listen, ServerCredentials(settings_), &grpc_port_);
  builder.RegisterService(service_.get());
  grpc_ = builder.BuildAndStart();
  if (!grpc_ || grpc_port_ == 0) {
    throw std::runtime_error("--listen " + settings_.listen + ": cannot listen there");
  }
  grpc_->GetHealthCheckService()->SetServingStatus(kHealthService, false);
  grpc_->GetHealthCheckService()->SetServingStatus("", false);

  try {
    http_server::Limits limits;
    limits.max_connections = 256;
    metrics_server_ = std::make_unique<http_server::Server>(
        ioc_, Endpoint("--metrics-listen", settings_.metrics_listen), limits,
        [this](const http_server::Request& r, const http_server::Reply& reply) {
          HandleHttp(r, reply);
        });
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("--metrics-listen " + settings_.metrics_listen + ": " +
                             e.code().message());
  }
}

Commander::~Commander() { Shutdown(); }

void Commander::Start() {
  work_.emplace(net::make_work_guard(ioc_));
  metrics_server_->Start();
  for (int i = 0; i < settings_.threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  started_ = std::chrono::steady_clock::now();
  if (settings_.ready_timeout_s == 0) MarkReady("--ready-timeout-s is 0");
  bus_thread_ = std::thread([this] { RunBus(); });
  log::Info("commander listening", {{"grpc", settings_.listen},
                                    {"grpc_port", std::to_string(grpc_port_)},
                                    {"metrics", settings_.metrics_listen},
                                    {"site", settings_.site}});
}

// Keeps the bus connection up: connect, read every retained device state,
// and after a loss, again with backoff. Commands to inventory devices work
// throughout; only learning and result publishing wait for the broker.
void Commander::RunBus() {
  auto backoff = std::chrono::milliseconds(200);
  while (!stopping_) {
    {
      std::unique_lock lock(bus_mu_);
      bus_cv_.wait(lock, [&] { return stopping_ || bus_lost_; });
      if (stopping_) break;
    }
    if (auto st = mqtt_->Connect(); !st.ok()) {
      log::Warn("broker unreachable", {{"error", std::string(st.message())},
                                       {"retry_ms", std::to_string(backoff.count())}});
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(backoff);
      if (!ready_) {
        const auto deadline = started_ + std::chrono::seconds(settings_.ready_timeout_s);
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
          MarkReady("the bus is unreachable: serving the inventory's devices");
        } else {
          wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
        }
      }
      std::unique_lock lock(bus_mu_);
      bus_cv_.wait_for(lock, wait, [&] { return stopping_.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    {
      std::lock_guard lock(bus_mu_);
      bus_lost_ = false;
    }
    if (auto st = mqtt_->Subscribe(topics::AllStates(settings_.learn_sites), 1); !st.ok()) {
      // Connected but not subscribed, the registry would silently stop
      // following the bus (a cluster node still electing its stream leaders
      // refuses the subscription): start over on a fresh connection.
      log::Warn(
          "cannot read retained device states; reconnecting",
          {{"error", std::string(st.message())}, {"retry_ms", std::to_string(backoff.count())}});
      mqtt_->Close(std::chrono::milliseconds(500));
      std::unique_lock lock(bus_mu_);
      bus_lost_ = true;
      bus_cv_.wait_for(lock, backoff, [&] { return stopping_.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(200);
    if (!ready_) AwaitRetainedStates();
  }
}

void Commander::AwaitRetainedStates() {
  // MQTT marks no end of the retained burst that follows a subscription: it
  // is taken as over once no retained state has come for a moment.
  constexpr auto kQuiet = std::chrono::milliseconds(300);
  using Clock = std::chrono::steady_clock;
  const auto subscribed = Clock::now();
  const auto deadline = started_ + std::chrono::seconds(settings_.ready_timeout_s);
  while (!stopping_) {
    const auto now = Clock::now();
    const auto last =
        std::max(subscribed, Clock::time_point(Clock::duration(last_retained_ns_.load())));
    if (now - last >= kQuiet) return MarkReady("device states loaded from the bus");
    if (now >= deadline) return MarkReady("--ready-timeout-s passed while loading device states");
    // No need to be woken per message: at the earliest moment the burst can
    // be over, the newest retained state's time is read again.
    std::unique_lock lock(bus_mu_);
    bus_cv_.wait_until(lock, std::min(last + kQuiet, deadline), [&] { return stopping_.load(); });
  }
}

void Commander::MarkReady(std::string_view why) {
  if (ready_.exchange(true)) return;
  grpc_->GetHealthCheckService()->SetServingStatus(kHealthService, true);
  grpc_->GetHealthCheckService()->SetServingStatus("", true);
  log::Info("commander ready",
            {{"why", std::string(why)}, {"devices", std::to_string(registry_->size())}});
}

void Commander::OnBusMessage(const mqtt_client::Message& m) {
  const auto where = StateTopic(m.topic);
  if (!where) return;
  if (m.payload.empty()) {  // retained state cleared
    registry_->Forget(where->first, where->second);
    return;
  }
  v1::DeviceState state;
  if (!DecodeState(m, state)) {
    log::Warn("undecodable device state", {{"topic", m.topic}});
    return;
  }
  // Keyed by the topic, like the retained message itself, so that clearing
  // that topic forgets exactly this entry.
  state.set_site(where->first);
  state.mutable_device()->set_id(where->second);
  registry_->Learn(std::move(state));
  states_learned_.With({}).Inc();
  if (m.retained) {
    last_retained_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
  }
}

void Commander::PublishResult(const v1::CommandResult& result) {
  if (result.device_id().empty()) return;
  mqtt_client::Message m;
  m.topic = topics::CommandResult(result.site(), result.device_id());
  m.payload = EncodeResult(result, settings_.mqtt.json());
  m.qos = 1;
  m.content_type = mqtt_client::ContentType(settings_.mqtt);
  m.user_properties = {{"command", result.command()}, {"request_id", result.request_id()}};
  if (!mqtt_->IsConnected() || !mqtt_->Publish(m, 0).ok()) results_dropped_.With({}).Inc();
}

void Commander::HandleHttp(const http_server::Request& request, const http_server::Reply& reply) {
  const auto [path, query] = url::SplitTarget(request.target);
  if (path == "/healthz") return reply({200, "ok"});
  if (path == "/readyz") {
    if (stopping_) return reply({503, "not ready: shutting down"});
    if (!ready_) return reply({503, "not ready: loading device states from the bus"});
    return reply({200, "ready"});
  }
  if (path == "/metrics") {
    return reply({200, metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8"});
  }
  reply({404, "not found: the commander serves /healthz, /readyz and /metrics here"});
}

void Commander::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  bus_cv_.notify_all();
  if (grpc_) {
    grpc_->GetHealthCheckService()->SetServingStatus(kHealthService, false);
    grpc_->GetHealthCheckService()->SetServingStatus("", false);
    // Running RPCs finish (their phone requests complete or time out).
    grpc_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(settings_.phone_timeout_ms + 1000));
  }
  if (bus_thread_.joinable()) bus_thread_.join();
  if (metrics_server_) metrics_server_->Shutdown();
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (mqtt_ && mqtt_->IsConnected()) mqtt_->Close();
  log::Info("commander stopped");
}

}  // namespace phonebus::command
