// phonebus-commander wired together: the gRPC server (PhoneControl, health,
// reflection), the registry fed from the inventory and the bus, the phone
// client, and the metrics endpoint. Tests run it in-process exactly as main()
// does.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "commander_settings.h"
#include "http_client.h"
#include "http_server.h"
#include "metrics.h"
#include "mqtt_client.h"
#include "phone_control.h"
#include "registry.h"
#include "request_log.h"

namespace phonebus::command {

class Commander {
 public:
  // Loads the inventory and command forms and binds both listeners; throws
  // std::runtime_error naming the setting when one is wrong.
  explicit Commander(CommanderSettings settings);
  ~Commander();

  void Start();
  int grpc_port() const { return grpc_port_; }
  tcp::endpoint metrics_endpoint() const { return metrics_server_->local_endpoint(); }
  const Registry& registry() const { return *registry_; }
  // Not serving, stop taking RPCs, let running ones finish, disconnect.
  void Shutdown();

 private:
  void RunBus();
  // Ready (gRPC health SERVING, /readyz 200) once the retained device states
  // are in, so a new replica is not sent Dials for devices it has yet to learn.
  void AwaitRetainedStates();
  void MarkReady(std::string_view why);
  void OnBusMessage(const mqtt_client::Message& message);
  void PublishResult(const v1::CommandResult& result);
  void HandleHttp(const http_server::Request& request, const http_server::Reply& reply);

  CommanderSettings settings_;
  metrics::Registry metrics_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<RequestLog> request_log_;
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  // Bus messages apply in arrival order: a state and its clearing must not swap.
  net::strand<net::io_context::executor_type> bus_strand_{ioc_.get_executor()};
  std::unique_ptr<http_client::Client> phones_;
  std::unique_ptr<mqtt_client::Client> mqtt_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<PhoneControlService> service_;
  std::unique_ptr<grpc::Server> grpc_;
  int grpc_port_ = 0;
  std::unique_ptr<http_server::Server> metrics_server_;
  std::vector<std::thread> threads_;
  std::thread bus_thread_;

  std::mutex bus_mu_;
  std::condition_variable bus_cv_;
  bool bus_lost_ = true;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};
  std::chrono::steady_clock::time_point started_;
  // When the last retained state was applied (steady clock, nanoseconds).
  std::atomic<int64_t> last_retained_ns_{0};
  bool stopped_ = false;
  metrics::Family<metrics::Counter>& results_dropped_;
  metrics::Family<metrics::Counter>& states_learned_;
};

}  // namespace phonebus::command
