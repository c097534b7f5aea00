#include "nats_cluster.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "http_get.h"
#include "mqtt_client.h"
#include "ports.h"

namespace phonebus::testing {
namespace {

using namespace std::chrono_literals;

// Debian installs it outside a normal user's PATH.
std::string NatsServerBinary() {
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "nats-server";
}

mqtt_client::Options ProbeOptions(const std::string& uri, const std::string& role) {
  static std::atomic<int> counter{0};
  mqtt_client::Options o;
  o.mqtt.brokers = {uri};
  o.mqtt.version = "3.1.1";
  o.mqtt.connect_timeout_s = 2;
  o.client_id =
      "nats-probe-" + role + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  return o;
}

}  // namespace

NatsCluster::NatsCluster(int nodes) {
  char tmpl[] = "/tmp/phonebus-nats-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  nodes_.resize(static_cast<size_t>(nodes));
  for (int i = 0; i < nodes; ++i) {
    Node& n = nodes_[i];
    n.name = "n" + std::to_string(i + 1);
    n.client_port = FreePort();
    n.cluster_port = FreePort();
    n.monitor_port = FreePort();
    n.mqtt_port = FreePort();
  }
  for (auto& n : nodes_) {
    n.conf = dir_ + "/" + n.name + ".conf";
    std::ofstream conf(n.conf);
    // JetStream needs a name per node; MQTT needs JetStream. The MQTT streams
    // (sessions, messages, retained messages) have a replica on every node, so
    // any one node may die without losing any of them.
    conf << "server_name: " << n.name << "\n"
         << "listen: 127.0.0.1:" << n.client_port << "\n"
         << "http: 127.0.0.1:" << n.monitor_port << "\n"
         << "jetstream { store_dir: \"" << dir_ << "/" << n.name << "-js\" }\n"
         << "cluster {\n  name: phonebus-test\n  listen: 127.0.0.1:" << n.cluster_port
         << "\n  routes: [";
    const char* separator = "";
    for (const auto& peer : nodes_) {
      if (&peer == &n) continue;
      conf << separator << "nats://127.0.0.1:" << peer.cluster_port;
      separator = ", ";
    }
    conf << " ]\n}\n"
         // Three replicas whatever the cluster looks like when the first
         // MQTT client connects (the server would pick fewer if not all
         // nodes had joined yet, and a two-replica stream stalls when
         // either node dies). A QoS 1 message whose delivery a failover cut
         // off is sent again after ack_wait: 3 s instead of the default 30,
         // which is as long as the test waits for every event to arrive.
         << "mqtt { listen: 127.0.0.1:" << n.mqtt_port
         << ", stream_replicas: 3, ack_wait: \"3s\" }\n"
         << "log_file: \"" << dir_ << "/" << n.name << ".log\"\n";
  }
  try {
    for (int i = 0; i < nodes; ++i) Start(i);
    WaitReady();
  } catch (...) {
    StopAll();
    throw;
  }
}

NatsCluster::~NatsCluster() {
  StopAll();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void NatsCluster::StopAll() {
  for (auto& n : nodes_) {
    if (n.pid <= 0) continue;
    kill(n.pid, SIGTERM);
  }
  for (auto& n : nodes_) {
    if (n.pid <= 0) continue;
    waitpid(n.pid, nullptr, 0);
    n.pid = -1;
  }
}

std::string NatsCluster::uri(int node) const {
  return "tcp://127.0.0.1:" + std::to_string(nodes_[node].mqtt_port);
}

std::vector<std::string> NatsCluster::uris(int first) const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(uri((first + i) % size()));
  return out;
}

void NatsCluster::Start(int node) {
  Node& n = nodes_[node];
  if (n.pid > 0) return;
  const std::string binary = NatsServerBinary();
  n.pid = fork();
  if (n.pid == 0) {
    // If the test process dies (a crash), take the node with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execlp(binary.c_str(), "nats-server", "-c", n.conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (n.pid < 0) throw std::runtime_error("fork failed");
}

void NatsCluster::Kill(int node) {
  Node& n = nodes_[node];
  if (n.pid <= 0) return;
  kill(n.pid, SIGKILL);
  waitpid(n.pid, nullptr, 0);
  n.pid = -1;
}

void NatsCluster::Reap() {
  for (auto& n : nodes_) {
    if (n.pid > 0 && waitpid(n.pid, nullptr, WNOHANG) == n.pid) {
      n.pid = -1;
      throw std::runtime_error("nats-server " + n.name + " exited (is it installed?); see " + dir_ +
                               "/" + n.name + ".log");
    }
  }
}

int NatsCluster::NodeOf(const std::string& client_id_prefix) const {
  for (int i = 0; i < size(); ++i) {
    if (nodes_[i].pid <= 0) continue;
    const auto r = HttpGet(nodes_[i].monitor_port, "/connz?limit=4096", 2s);
    if (r.status == 200 &&
        r.body.find("\"mqtt_client\": \"" + client_id_prefix) != std::string::npos) {
      return i;
    }
  }
  return -1;
}

// Publishes a retained probe on the first running node and reads it back on
// every running node: true when the whole round trip worked.
bool NatsCluster::ProbeMqtt(int round) const {
  std::vector<int> live;
  for (int i = 0; i < size(); ++i) {
    if (nodes_[i].pid > 0) live.push_back(i);
  }
  if (live.empty()) return false;
  const std::string topic = "phonebus-test/probe";
  const std::string payload = "round-" + std::to_string(round);
  mqtt_client::Client publisher(ProbeOptions(uri(live.front()), "pub"));
  std::atomic<int> acked{0};
  publisher.OnDelivered([&](uint64_t, bool ok) { acked = ok ? 1 : -1; });
  if (!publisher.Connect().ok() || !publisher.Publish({topic, payload, 1, true, "", {}}, 1).ok()) {
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (acked == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  publisher.Close(500ms);
  if (acked != 1) return false;
  for (const int i : live) {
    mqtt_client::Client reader(ProbeOptions(uri(i), "sub"));
    std::atomic<bool> seen{false};
    reader.OnMessage([&](mqtt_client::Message m) {
      if (m.payload == payload) seen = true;
    });
    if (!reader.Connect().ok() || !reader.Subscribe(topic, 1).ok()) return false;
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (!seen && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
    reader.Close(500ms);
    if (!seen) return false;
  }
  return true;
}

// The MQTT streams whose leader, as some node reports it, has every other
// node as a current replica (those nodes hold everything the stream has).
std::set<std::string> NatsCluster::CurrentStreams() const {
  std::set<std::string> out;
  for (const auto& n : nodes_) {
    if (n.pid <= 0) continue;
    const auto r = HttpGet(n.monitor_port, "/jsz?accounts=true&streams=true", 2s);
    if (r.status != 200) continue;
    const auto doc = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains("account_details")) continue;
    for (const auto& account : doc["account_details"]) {
      if (!account.contains("stream_detail")) continue;
      for (const auto& stream : account["stream_detail"]) {
        const auto name = stream.value("name", "");
        if (name.rfind("$MQTT_", 0) != 0 || !stream.contains("cluster")) continue;
        const auto& cluster = stream["cluster"];
        if (cluster.value("leader", "").empty() || !cluster.contains("replicas")) continue;
        size_t current = 0;
        for (const auto& replica : cluster["replicas"]) {
          current += replica.value("current", false) ? 1 : 0;
        }
        if (current + 1 == nodes_.size()) out.insert(name);
      }
    }
  }
  return out;
}

void NatsCluster::WaitReady(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string state;  // what was missing last, for the failure message
  for (int round = 0;; ++round) {
    Reap();
    state.clear();
    for (int i = 0; i < size(); ++i) {
      const int health =
          nodes_[i].pid > 0 ? HttpGet(nodes_[i].monitor_port, "/healthz", 1s).status : 0;
      if (health != 200) state += nodes_[i].name + " health " + std::to_string(health) + "; ";
    }
    if (state.empty() && !ProbeMqtt(round)) state = "MQTT round trip failed";
    // /healthz turns 200 on a restarted node before it has caught up with
    // the streams; only when it is a current replica of each may another
    // node die without a stream losing its quorum.
    if (state.empty()) {
      const auto current = CurrentStreams();
      if (current.size() == 3) return;
      state = "current MQTT streams:";
      for (const auto& name : current) state += " " + name;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("nats cluster not ready in time (" + state + "); logs in " + dir_);
    }
    std::this_thread::sleep_for(100ms);
  }
}

}  // namespace phonebus::testing
