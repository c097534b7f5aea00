// A real clustered MQTT broker for failover tests: three nats-server nodes on
// loopback (Debian's nats-server 2.9: MQTT 3.1.1, QoS 0/1, retained messages,
// sessions and messages kept in JetStream streams replicated to all three
// nodes), each with its own config, JetStream store and OS-chosen ports.
// Nodes are stopped by PID only, and can be killed and restarted one at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace phonebus::testing {

class NatsCluster {
 public:
  // Starts every node and waits until the cluster serves MQTT (see WaitReady).
  explicit NatsCluster(int nodes = 3);
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  int size() const { return static_cast<int>(nodes_.size()); }
  // The node's MQTT listener, "tcp://127.0.0.1:<port>".
  std::string uri(int node) const;
  // Every node's MQTT URI, starting at `first` and wrapping around: the order
  // a service tries them in.
  std::vector<std::string> uris(int first) const;
  unsigned short monitor_port(int node) const { return nodes_[node].monitor_port; }

  // The node (index) holding an MQTT connection whose client id starts with
  // `prefix`, from each live node's /connz; -1 if none does.
  int NodeOf(const std::string& client_id_prefix) const;

  // SIGKILL: a crashed node, no goodbye to clients or peers.
  void Kill(int node);
  // Starts the node again with its config and JetStream store.
  void Start(int node);
  bool running(int node) const { return nodes_[node].pid > 0; }

  // Waits until every node runs and passes its health check, a retained MQTT
  // message published on one node is read back on every node, and every node
  // is a current replica of each MQTT stream (a restarted node caught up).
  // Throws std::runtime_error after `timeout`.
  void WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(45));

 private:
  struct Node {
    std::string name;
    std::string conf;
    unsigned short client_port = 0;
    unsigned short cluster_port = 0;
    unsigned short monitor_port = 0;
    unsigned short mqtt_port = 0;
    pid_t pid = -1;
  };
  void Reap();
  void StopAll();
  bool ProbeMqtt(int round) const;
  std::set<std::string> CurrentStreams() const;
  std::string dir_;
  std::vector<Node> nodes_;
};

}  // namespace phonebus::testing
