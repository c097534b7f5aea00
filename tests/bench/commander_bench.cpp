// commander_bench: load for phonebus-commander, with the same phone requests sent straight to
// the phones as the yardstick.
//
// tests/bench/commander_run.sh starts mosquitto, phonesim and the commander and runs the two
// subcommands; this program only talks to 127.0.0.1.
//   seed  (before the commander starts) writes the commander's inventory: the simulated phones
//         with their addresses, accounts and credentials, plus defaults for learned devices;
//         then publishes --devices retained DeviceState messages (the simulated phones first,
//         then made-up Yealink and SNOM phones), so the commander learns its registry from the
//         bus at start-up, as after a restart in production.
//   load  waits until the registry holds them and records the commander's memory, then runs
//         every phase on two paths, which take turns every --slice seconds so that whatever
//         else the machine does falls on both alike:
//           direct     phonebus::http_client::Client, the commander's own phone client (Digest,
//                      keep-alive, per-phone ordering), in this process, sending exactly the GET
//                      the commander's encoder makes for the device (same form, account, number)
//           commander  PhoneControl.Dial over gRPC (callback API) to phonebus-commander
//         Phases: throughput (C requests in flight, closed loop, D seconds; in-flight requests
//         never share a phone) and latency (open loop at R requests/s: request i starts at
//         start + i/R whatever happened before, and its latency counts from then).
// Figures are printed as one table and never asserted: the exit code only says whether the
// bench ran.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "command.h"
#include "command_forms.h"
#include "encoders/encoder.h"
#include "figures.h"
#include "http_client.h"
#include "log.h"
#include "mqtt_client.h"
#include "net.h"
#include "phonebus/v1/control.grpc.pb.h"
#include "phonebus/v1/event.pb.h"
#include "topics.h"
#include "uuid.h"

namespace phonebus::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::error_code;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------
// The simulated phones, as phonesim printed them ("<id> <port>" per line).

struct SimPhone {
  std::string id;
  uint16_t port = 0;
};

std::vector<SimPhone> ReadPhones(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("--phones " + path + ": cannot read");
  std::vector<SimPhone> phones;
  std::string id;
  unsigned port = 0;
  while (in >> id >> port) phones.push_back({id, static_cast<uint16_t>(port)});
  if (phones.empty()) throw std::runtime_error("--phones " + path + ": no '<id> <port>' lines");
  return phones;
}

// Phone i's SIP account, as phonesim --first-account numbers them.
std::string Account(int first_user, size_t i, const std::string& domain) {
  return std::to_string(first_user + static_cast<int>(i)) + "@" + domain;
}

// ---------------------------------------------------------------------------------------
// seed

struct SeedConfig {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string site = "bench";
  std::string phones_file;
  std::string inventory_out;
  std::string username = "admin";
  std::string password;
  int first_account = 1001;
  std::string account_domain = "pbx.example";
  int devices = 100000;
  int max_inflight = 200;
};

void WriteInventory(const SeedConfig& c, const std::vector<SimPhone>& phones) {
  std::string json = "{\"devices\": [\n";
  for (size_t i = 0; i < phones.size(); ++i) {
    json += "  {\"id\": ";
    log::AppendJsonString(json, phones[i].id);
    json += ", \"vendor\": \"yealink\", \"model\": \"T46S\", \"firmware\": \"66.86.0.15\", ";
    json += "\"address\": \"127.0.0.1:" + std::to_string(phones[i].port) + "\", \"username\": ";
    log::AppendJsonString(json, c.username);
    json += ", \"password\": ";
    log::AppendJsonString(json, c.password);
    json += ", \"account\": ";
    log::AppendJsonString(json, Account(c.first_account, i, c.account_domain));
    json += i + 1 < phones.size() ? "},\n" : "}\n";
  }
  // Learned devices get credentials from the defaults, as a site's fleet does.
  json += "],\n \"defaults\": [";
  const char* vendors[] = {"yealink", "snom"};
  for (size_t v = 0; v < 2; ++v) {
    json += std::string(v ? ", " : "") + "{\"vendor\": \"" + vendors[v] + "\", \"username\": ";
    log::AppendJsonString(json, c.username);
    json += ", \"password\": ";
    log::AppendJsonString(json, c.password);
    json += "}";
  }
  json += "]}\n";
  std::ofstream out(c.inventory_out);
  out << json;
  if (!out) throw std::runtime_error("--inventory-out " + c.inventory_out + ": cannot write");
}

google::protobuf::Timestamp Stamp(std::chrono::system_clock::time_point t) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  google::protobuf::Timestamp ts;
  ts.set_seconds(us / 1000000);
  ts.set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
  return ts;
}

// What the adapter keeps retained for a phone: identity, address, the registered account,
// times and, for one phone in four, the call it is on.
v1::DeviceState MakeState(const SeedConfig& c, size_t i, size_t sim_phones,
                          const std::vector<SimPhone>& phones) {
  const auto now = std::chrono::system_clock::now();
  v1::DeviceState s;
  s.set_site(c.site);
  auto* d = s.mutable_device();
  std::string account;
  if (i < sim_phones) {
    d->set_id(phones[i].id);
    d->set_ip("127.0.0.1");
    d->set_vendor(v1::VENDOR_YEALINK);
    d->set_model("T46S");
    d->set_firmware("66.86.0.15");
    account = Account(c.first_account, i, c.account_domain);
  } else {
    const bool snom = i % 4 == 3;
    char mac[32];
    std::snprintf(mac, sizeof mac, "%s%06zx", snom ? "000413" : "805ec0", i & 0xffffff);
    d->set_id(mac);
    d->set_ip("10." + std::to_string((i >> 16) & 255) + "." + std::to_string((i >> 8) & 255) + "." +
              std::to_string(i & 255));
    d->set_vendor(snom ? v1::VENDOR_SNOM : v1::VENDOR_YEALINK);
    d->set_model(snom ? "D785" : "T54W");
    d->set_firmware(snom ? "10.1.159.12" : "96.86.0.100");
    account = std::to_string(200000 + i) + "@" + c.account_domain;
  }
  d->set_mac(d->id());
  auto* reg = s.add_accounts();
  reg->set_account(account);
  reg->set_status(v1::REGISTRATION_STATUS_REGISTERED);
  if (i % 3 == 0) s.set_dnd(false);
  *s.mutable_last_seen() = Stamp(now);
  *s.mutable_booted_at() = Stamp(now - std::chrono::hours(20));
  s.set_last_event_id(NewUuidV7());
  if (i % 4 == 1 && i >= sim_phones) {
    auto* call = s.add_active_calls();
    call->set_call_id(std::to_string(i % 1000 + 1));
    call->set_direction(v1::DIRECTION_INBOUND);
    call->set_account(account);
    call->mutable_local()->set_number(account.substr(0, account.find('@')));
    call->mutable_local()->set_uri(account);
    call->mutable_remote()->set_number("+4930" + std::to_string(1000000 + i));
    call->mutable_remote()->set_display_name("Customer " + std::to_string(i));
    call->set_hold(v1::HOLD_STATE_OFF_HOLD);
    *call->mutable_created_at() = Stamp(now - std::chrono::seconds(90));
    *call->mutable_connected_at() = Stamp(now - std::chrono::seconds(80));
  }
  return s;
}

int Seed(const SeedConfig& c) {
  const auto phones = ReadPhones(c.phones_file);
  if (static_cast<size_t>(c.devices) < phones.size()) {
    std::cerr << "seed: --devices must be at least the " << phones.size() << " simulated phones\n";
    return 2;
  }
  WriteInventory(c, phones);

  mqtt_client::Options o;
  o.mqtt.brokers = {c.broker};
  o.mqtt.max_inflight = c.max_inflight + 16;
  o.client_id = "phonebus-bench-seed-" + std::to_string(::getpid());
  mqtt_client::Client client(o);
  std::mutex mu;
  std::condition_variable cv;
  size_t inflight = 0, failed = 0;
  client.OnDelivered([&](uint64_t, bool ok) {
    std::lock_guard lock(mu);
    --inflight;
    if (!ok) ++failed;
    cv.notify_all();
  });
  if (auto st = client.Connect(); !st.ok()) {
    std::cerr << "seed: " << st.message() << "\n";
    return 1;
  }
  const auto t0 = Clock::now();
  uint64_t bytes = 0;
  for (size_t i = 0; i < static_cast<size_t>(c.devices); ++i) {
    const v1::DeviceState state = MakeState(c, i, phones.size(), phones);
    mqtt_client::Message m;
    m.topic = topics::State(c.site, state.device().id());
    m.payload = state.SerializeAsString();
    m.qos = 1;
    m.retained = true;
    m.content_type = "application/x-protobuf";
    bytes += m.payload.size();
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return inflight < static_cast<size_t>(c.max_inflight); });
      ++inflight;
    }
    if (auto st = client.Publish(m, i); !st.ok()) {
      std::cerr << "seed: " << st.message() << "\n";
      return 1;
    }
  }
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 60s, [&] { return inflight == 0; })) {
      std::cerr << "seed: " << inflight << " retained states not acknowledged after 60 s\n";
      return 1;
    }
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  client.Close();
  std::cerr << "seed: " << c.devices << " retained device states (" << phones.size()
            << " simulated phones, " << c.devices - phones.size() << " others; "
            << Fixed(static_cast<double>(bytes) / c.devices, 0) << " B each on average) in "
            << Fixed(s, 1) << " s; " << failed << " failed; inventory " << c.inventory_out << "\n";
  return failed == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------
// load: configuration, process accounting, the commander's /metrics.

struct LoadConfig {
  std::string commander = "127.0.0.1:50051";
  std::string metrics = "127.0.0.1:9091";
  int commander_pid = 0;
  int phonesim_pid = 0;
  int broker_pid = 0;
  std::string phones_file;
  std::string username = "admin";
  std::string password;
  int devices = 100000;
  double learn_timeout_s = 180;
  double duration_s = 10;
  double warmup_s = 2;
  double latency_duration_s = 10;
  int concurrency = 64;
  std::vector<int> rates = {1000, 5000};
  int direct_threads = 2;
  int channels = 2;
  int request_timeout_ms = 5000;
  int max_queue_per_phone = 32;
  std::vector<std::string> phases = {"throughput", "latency"};
  std::vector<std::string> paths = {"direct", "commander"};
  std::string samples_out;  // CSV of every request, for looking at where the tail comes from
  // The bench's bearer token (PHONEBUS_TOKEN), so the measured path includes the token check.
  std::string token = std::getenv("PHONEBUS_TOKEN") ? std::getenv("PHONEBUS_TOKEN") : "";
  double slice_s = 2.5;
};

// CPU seconds the whole machine spent busy (all cores), from /proc/stat.
double MachineBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal)) {
    return -1;
  }
  return (user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Seconds since the process started (field 22 of /proc/PID/stat, in ticks since boot).
double ProcessAgeSeconds(int pid) {
  const double ticks = ProcStatField(pid, 22);
  const double start = ticks < 0 ? -1 : ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream up("/proc/uptime");
  double uptime = -1;
  if (start < 0 || !(up >> uptime)) return -1;
  return uptime - start;
}

struct Cpu {
  double commander = -1, phonesim = -1, broker = -1, bench = -1;
  double others = -1;  // everything else on the machine: other people's builds, the kernel
};

Cpu CpuNow(const LoadConfig& c) {
  return {ProcessCpuSeconds(c.commander_pid), ProcessCpuSeconds(c.phonesim_pid),
          ProcessCpuSeconds(c.broker_pid), SelfCpuSeconds(), MachineBusySeconds()};
}

// Context switches of all threads of a process so far (voluntary ones are mostly a thread going
// to sleep to wait for another: each hand-off between threads costs one).
double ContextSwitches(int pid) {
  if (pid <= 0) return -1;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  double total = 0;
  error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(task, ec)) {
    std::ifstream in(entry.path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
          line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        total += std::stod(line.substr(line.find(':') + 1));
      }
    }
  }
  return ec ? -1 : total;
}

// VmRSS and VmHWM (peak) of a process, in MiB.
struct Memory {
  double rss = -1, hwm = -1;
};

Memory MemoryOf(int pid) {
  Memory m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss = std::stod(line.substr(6)) / 1024.0;  // kB
    if (line.rfind("VmHWM:", 0) == 0) m.hwm = std::stod(line.substr(6)) / 1024.0;
  }
  return m;
}

std::pair<std::string, std::string> SplitHostPort(const std::string& hp) {
  const auto colon = hp.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("'" + hp + "' is not host:port");
  std::string host = hp.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {host, hp.substr(colon + 1)};
}

// The commander's /metrics, each family summed over its labels; empty when unreachable.
std::map<std::string, double> Scrape(const std::string& where) {
  std::map<std::string, double> out;
  try {
    const auto [host, port] = SplitHostPort(where);
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(2s);
    stream.connect(
        tcp::endpoint(net::ip::make_address(host), static_cast<unsigned short>(std::stoi(port))));
    http::request<http::empty_body> req(http::verb::get, "/metrics", 11);
    req.set(http::field::host, where);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    std::istringstream lines(res.body());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      const auto space = line.rfind(' ');
      const auto name_end = std::min(line.find('{'), line.find(' '));
      if (space == std::string::npos) continue;
      out[line.substr(0, name_end)] += std::stod(line.substr(space + 1));
    }
  } catch (const std::exception&) {
    out.clear();
  }
  return out;
}

double Metric(const std::map<std::string, double>& m, const std::string& name) {
  const auto it = m.find(name);
  return it == m.end() ? 0 : it->second;
}

// Error messages name phones, ports and request ids: digits become '#' so that one kind of
// error is one line.
std::string Squash(std::string_view s) {
  std::string out;
  for (char ch : s.substr(0, 120)) {
    const bool digit = ch >= '0' && ch <= '9';
    if (digit && !out.empty() && out.back() == '#') continue;
    out += digit ? '#' : ch;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The two paths. Send never blocks and calls `done` exactly once, on another thread.

struct Phone {
  std::string id;
  http_client::Endpoint endpoint;
  command::Target target;  // the form and account the commander resolved for it
};

// A distinct, valid number per request.
std::string Number(uint64_t seq) { return "+4930" + std::to_string(1000000 + seq % 9000000); }

using Done = std::function<void(bool ok, const std::string& error)>;

class Path {
 public:
  virtual ~Path() = default;
  virtual const char* Name() const = 0;
  virtual void Send(uint64_t seq, const Phone& phone, Done done) = 0;
};

// The requests the commander would send, sent by the commander's own client code.
class DirectPath : public Path {
 public:
  explicit DirectPath(const LoadConfig& c)
      : credentials_{c.username, c.password}, timeout_(c.request_timeout_ms) {
    http_client::Client::Options options;
    options.max_queue_per_endpoint = static_cast<size_t>(c.max_queue_per_phone);
    client_ = std::make_unique<http_client::Client>(ioc_, options);
    for (int i = 0; i < c.direct_threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~DirectPath() override {
    client_.reset();
    work_.reset();
    for (auto& t : threads_) t.join();
  }
  const char* Name() const override { return "direct"; }

  void Send(uint64_t seq, const Phone& phone, Done done) override {
    auto request = command::Encode(command::Dial{Number(seq), ""}, phone.target);
    if (!request.ok()) {
      net::post(ioc_, [done = std::move(done), error = std::string(request.status().message())] {
        done(false, "encode: " + error);
      });
      return;
    }
    client_->Get(phone.endpoint, std::move(request->target), credentials_, timeout_,
                 [done = std::move(done)](const http_client::Outcome& o) {
                   if (o.failure != http_client::Failure::kNone) {
                     return done(false, std::string(http_client::FailureName(o.failure)) + ": " +
                                            Squash(o.detail));
                   }
                   // As the commander judges a phone's answer (SNOM answers 302).
                   if (o.status >= 200 && o.status < 400) return done(true, {});
                   done(false, "HTTP " + std::to_string(o.status));
                 });
  }

 private:
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{
      net::make_work_guard(ioc_)};
  std::unique_ptr<http_client::Client> client_;
  const http_client::Credentials credentials_;
  const std::chrono::milliseconds timeout_;
  std::vector<std::thread> threads_;
};

std::vector<std::shared_ptr<grpc::Channel>> Channels(const LoadConfig& c) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < c.channels; ++i) {
    grpc::ChannelArguments args;
    // One TCP connection per channel, as several client processes would have.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("phonebus.bench.channel", i);
    channels.push_back(
        grpc::CreateCustomChannel(c.commander, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

class CommanderPath : public Path {
 public:
  explicit CommanderPath(const LoadConfig& c)
      : timeout_(c.request_timeout_ms),
        token_(c.token),
        id_prefix_("bench-" + std::to_string(::getpid()) + "-" +
                   std::to_string(NowNs() % 1000000007) + "-") {
    for (auto& channel : Channels(c)) {
      channel->WaitForConnected(std::chrono::system_clock::now() + 5s);
      stubs_.push_back(v1::PhoneControl::NewStub(channel));
    }
  }
  const char* Name() const override { return "commander"; }

  void Send(uint64_t seq, const Phone& phone, Done done) override {
    struct Call {
      grpc::ClientContext ctx;
      v1::DialRequest request;
      v1::DialResponse response;
      Done done;
    };
    auto* call = new Call;
    call->ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    if (!token_.empty()) call->ctx.AddMetadata("authorization", "Bearer " + token_);
    call->request.set_device(phone.id);
    call->request.set_number(Number(seq));
    call->request.set_request_id(id_prefix_ + std::to_string(seq));
    call->done = std::move(done);
    stubs_[seq % stubs_.size()]->async()->Dial(
        &call->ctx, &call->request, &call->response, [call](const grpc::Status& status) {
          std::unique_ptr<Call> owned(call);
          if (status.ok()) return owned->done(true, {});
          owned->done(false, "gRPC " + std::to_string(status.error_code()) + ": " +
                                 Squash(status.error_message()));
        });
  }

 private:
  const std::chrono::milliseconds timeout_;
  const std::string token_;
  const std::string id_prefix_;
  std::vector<std::unique_ptr<v1::PhoneControl::Stub>> stubs_;
};

// ---------------------------------------------------------------------------------------
// Phases.

struct Sample {
  int64_t start_ns = 0;  // closed loop: when sent; open loop: when scheduled
  int64_t end_ns = 0;    // 0: never sent (open loop: too many in flight)
  bool ok = false;
};

struct Errors {
  std::mutex mu;
  std::map<std::string, uint64_t> counts;
  void Add(const std::string& what) {
    std::lock_guard lock(mu);
    ++counts[what];
  }
};

struct PhaseResult {
  std::string phase;
  std::string path;
  double wall_s = 0;
  std::vector<Sample> samples;
  std::map<std::string, uint64_t> errors;
  Cpu cpu_percent;
  std::map<std::string, double> metrics_delta;  // commander path only
  Memory commander_memory;                      // at the end of the phase
  double commander_switches = -1;               // context switches during the phase
};

class Meter {
 public:
  Meter(const LoadConfig& c, bool scrape) : c_(c), scrape_(scrape) {
    if (scrape_) m0_ = Scrape(c.metrics);
    cpu0_ = CpuNow(c);
    switches0_ = ContextSwitches(c.commander_pid);
    t0_ = Clock::now();
  }
  void Finish(PhaseResult& r) {
    r.wall_s = std::chrono::duration<double>(Clock::now() - t0_).count();
    const Cpu cpu1 = CpuNow(c_);
    auto percent = [&](double a, double b) {
      return a < 0 || b < 0 ? -1 : 100 * (b - a) / r.wall_s;
    };
    r.cpu_percent = {percent(cpu0_.commander, cpu1.commander),
                     percent(cpu0_.phonesim, cpu1.phonesim), percent(cpu0_.broker, cpu1.broker),
                     percent(cpu0_.bench, cpu1.bench), -1};
    const double machine = percent(cpu0_.others, cpu1.others);
    if (machine >= 0) {
      r.cpu_percent.others = machine;
      for (double ours : {r.cpu_percent.commander, r.cpu_percent.phonesim, r.cpu_percent.broker,
                          r.cpu_percent.bench}) {
        if (ours > 0) r.cpu_percent.others -= ours;
      }
      r.cpu_percent.others = std::max(0.0, r.cpu_percent.others);
    }
    if (scrape_) {
      for (const auto& [name, v] : Scrape(c_.metrics))
        r.metrics_delta[name] = v - Metric(m0_, name);
    }
    r.commander_memory = MemoryOf(c_.commander_pid);
    const double switches = ContextSwitches(c_.commander_pid);
    r.commander_switches = switches < 0 || switches0_ < 0 ? -1 : switches - switches0_;
  }

 private:
  const LoadConfig& c_;
  bool scrape_;
  std::map<std::string, double> m0_;
  Cpu cpu0_;
  double switches0_ = -1;
  Clock::time_point t0_;
};

// C requests in flight until the deadline; slot k sends to phones k, k+C, k+2C, ... so that
// no two requests in flight share a phone (as long as C <= phones) and the latency is the
// path's, not a phone queue's.
PhaseResult ClosedLoop(const LoadConfig& c, Path& path, const std::vector<Phone>& phones,
                       std::string phase, double duration_s, std::atomic<uint64_t>& seq) {
  struct Slot {
    size_t phone = 0;
    std::vector<Sample> samples;
  };
  const size_t n = static_cast<size_t>(c.concurrency);
  std::vector<Slot> slots(n);
  Errors errors;
  std::mutex mu;
  std::condition_variable cv;
  size_t running = n;
  Meter meter(c, std::string(path.Name()) == "commander");
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(duration_s));
  std::function<void(size_t)> next = [&](size_t k) {
    Slot& slot = slots[k];
    if (Clock::now() >= deadline) {
      std::lock_guard lock(mu);
      if (--running == 0) cv.notify_all();
      return;
    }
    const Phone& phone = phones[slot.phone % phones.size()];
    slot.phone += n;
    slot.samples.push_back({NowNs(), 0, false});
    path.Send(seq.fetch_add(1), phone, [&, k](bool ok, const std::string& error) {
      Sample& s = slots[k].samples.back();
      s.end_ns = NowNs();
      s.ok = ok;
      if (!ok) errors.Add(error);
      next(k);
    });
  };
  for (size_t k = 0; k < n; ++k) {
    slots[k].phone = k;
    next(k);
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return running == 0; });
  }
  PhaseResult r;
  r.phase = std::move(phase);
  r.path = path.Name();
  meter.Finish(r);
  for (auto& slot : slots)
    r.samples.insert(r.samples.end(), slot.samples.begin(), slot.samples.end());
  r.errors = std::move(errors.counts);
  return r;
}

constexpr size_t kMaxInFlight = 20000;

// Open loop: request i is due at start + i/rate and goes to phone i mod phones.
PhaseResult OpenLoop(const LoadConfig& c, Path& path, const std::vector<Phone>& phones,
                     std::string phase, int rate, double duration_s, std::atomic<uint64_t>& seq) {
  const size_t count = static_cast<size_t>(rate * duration_s);
  std::vector<Sample> samples(count);
  Errors errors;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<size_t> in_flight{0};
  size_t finished = 0;
  Meter meter(c, std::string(path.Name()) == "commander");
  const auto start = Clock::now() + 10ms;
  for (size_t i = 0; i < count; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(i) / rate));
    std::this_thread::sleep_until(due);
    samples[i].start_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(due.time_since_epoch()).count();
    if (in_flight.load() >= kMaxInFlight) {
      errors.Add("bench: too many requests in flight, not sent");
      std::lock_guard lock(mu);
      ++finished;
      continue;
    }
    ++in_flight;
    path.Send(seq.fetch_add(1), phones[i % phones.size()],
              [&, i](bool ok, const std::string& error) {
                samples[i].end_ns = NowNs();
                samples[i].ok = ok;
                if (!ok) errors.Add(error);
                --in_flight;
                std::lock_guard lock(mu);
                if (++finished == count) cv.notify_all();
              });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return finished == count; });
  }
  PhaseResult r;
  r.phase = std::move(phase);
  r.path = path.Name();
  meter.Finish(r);
  r.samples = std::move(samples);
  r.errors = std::move(errors.counts);
  return r;
}

// Adds one slice of a phase to the phase's total.
void Merge(PhaseResult& total, PhaseResult slice) {
  if (total.wall_s == 0) {
    total = std::move(slice);
    return;
  }
  const double w = total.wall_s + slice.wall_s;
  auto weigh = [&](double& a, double b) {
    a = a < 0 || b < 0 ? -1 : (a * total.wall_s + b * slice.wall_s) / w;
  };
  weigh(total.cpu_percent.commander, slice.cpu_percent.commander);
  weigh(total.cpu_percent.phonesim, slice.cpu_percent.phonesim);
  weigh(total.cpu_percent.broker, slice.cpu_percent.broker);
  weigh(total.cpu_percent.bench, slice.cpu_percent.bench);
  weigh(total.cpu_percent.others, slice.cpu_percent.others);
  total.wall_s = w;
  total.samples.insert(total.samples.end(), slice.samples.begin(), slice.samples.end());
  for (const auto& [what, n] : slice.errors) total.errors[what] += n;
  for (const auto& [name, v] : slice.metrics_delta) total.metrics_delta[name] += v;
  total.commander_memory = slice.commander_memory;
  total.commander_switches = total.commander_switches < 0 || slice.commander_switches < 0
                                 ? -1
                                 : total.commander_switches + slice.commander_switches;
}

// Runs a phase on every path in turns of about --slice seconds (the first path of each round
// rotating), so that whatever else the machine does at the time falls on all paths alike.
template <typename RunSlice>
std::vector<PhaseResult> Interleaved(const LoadConfig& c, std::vector<std::unique_ptr<Path>>& paths,
                                     const std::string& phase, double duration_s, RunSlice run) {
  const size_t rounds = static_cast<size_t>(std::max(1.0, std::round(duration_s / c.slice_s)));
  std::cerr << "bench: " << phase << ", " << rounds << " x "
            << Fixed(duration_s / static_cast<double>(rounds), 1) << " s per path ..." << std::endl;
  std::vector<PhaseResult> totals(paths.size());
  for (size_t i = 0; i < rounds; ++i) {
    for (size_t k = 0; k < paths.size(); ++k) {
      const size_t p = (k + i) % paths.size();
      Merge(totals[p], run(*paths[p], duration_s / static_cast<double>(rounds)));
    }
  }
  return totals;
}

// ---------------------------------------------------------------------------------------
// Set-up: the registry, the phones as the commander resolves them, one request per path.

struct RegistryLoad {
  bool loaded = false;
  double devices = 0, states = 0;
  double seconds = 0;
  Memory memory;
};

// Waits until the commander has learned every seeded state and holds --devices devices.
RegistryLoad WaitForRegistry(const LoadConfig& c) {
  RegistryLoad r;
  const auto limit = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(c.learn_timeout_s));
  while (true) {
    const auto m = Scrape(c.metrics);
    r.devices = Metric(m, "phonebus_registry_devices");
    r.states = Metric(m, "phonebus_device_states_total");
    r.seconds = ProcessAgeSeconds(c.commander_pid);
    if (r.devices >= c.devices && r.states >= c.devices) {
      r.loaded = true;
      break;
    }
    if (Clock::now() >= limit) break;
    std::this_thread::sleep_for(100ms);
  }
  // The learning posts each state to the commander's io threads: let the last ones settle.
  std::this_thread::sleep_for(500ms);
  r.memory = MemoryOf(c.commander_pid);
  return r;
}

// Each simulated phone as the commander resolves it (GetDevice): address, account and command
// form, so the direct path sends byte for byte the request the commander sends.
std::optional<std::vector<Phone>> Resolve(const LoadConfig& c) {
  const auto sims = ReadPhones(c.phones_file);
  auto stub = v1::PhoneControl::NewStub(Channels(c).front());
  std::vector<Phone> phones;
  for (const SimPhone& sim : sims) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    if (!c.token.empty()) ctx.AddMetadata("authorization", "Bearer " + c.token);
    v1::GetDeviceRequest req;
    req.set_device(sim.id);
    v1::DeviceInfo info;
    const grpc::Status status = stub->GetDevice(&ctx, req, &info);
    if (!status.ok()) {
      std::cerr << "bench: GetDevice " << sim.id << ": " << status.error_message() << "\n";
      return std::nullopt;
    }
    auto form = command::CommandForms::Named(info.command_form());
    const auto [host, port] = SplitHostPort(info.address());
    if (!form.ok() || port != std::to_string(sim.port) || info.accounts().empty()) {
      std::cerr << "bench: the commander resolves " << sim.id << " to " << info.address()
                << " form '" << info.command_form() << "', not to the simulated phone on port "
                << sim.port << " with an account\n";
      return std::nullopt;
    }
    Phone p;
    p.id = info.id();
    p.endpoint = {host, sim.port, info.https(), true};
    p.target.form = *std::move(form);
    p.target.account = info.accounts(0);
    phones.push_back(std::move(p));
  }
  return phones;
}

bool Preflight(Path& path, const Phone& phone, std::atomic<uint64_t>& seq) {
  std::promise<std::string> result;
  path.Send(seq.fetch_add(1), phone,
            [&](bool ok, const std::string& error) { result.set_value(ok ? "" : error); });
  const std::string error = result.get_future().get();
  if (!error.empty()) {
    std::cerr << "bench: preflight Dial to " << phone.id << " via " << path.Name()
              << " failed: " << error << "\n";
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Report.

struct Stats {
  uint64_t ok = 0, errors = 0;
  double per_s = 0, p50 = -1, p90 = -1, p99 = -1, max = -1;
};

Stats Summarize(const PhaseResult& r) {
  Stats s;
  std::vector<int64_t> ns;
  for (const Sample& x : r.samples) {
    if (!x.ok) continue;
    ++s.ok;
    ns.push_back(x.end_ns - x.start_ns);
  }
  for (const auto& [what, n] : r.errors) s.errors += n;
  s.per_s = static_cast<double>(s.ok) / r.wall_s;
  if (!ns.empty()) s.max = static_cast<double>(*std::max_element(ns.begin(), ns.end())) / 1e6;
  s.p50 = Percentile(ns, 0.50);
  s.p90 = Percentile(ns, 0.90);
  s.p99 = Percentile(ns, 0.99);
  return s;
}

std::string MiB(const Memory& m) {
  return "VmRSS " + Fixed(m.rss, 1) + " MiB, VmHWM (peak) " + Fixed(m.hwm, 1) + " MiB";
}

int Load(const LoadConfig& c) {
  std::atomic<uint64_t> seq{1};
  std::cerr << "bench: waiting for the commander to learn " << c.devices << " devices ..."
            << std::endl;
  const RegistryLoad registry = WaitForRegistry(c);
  auto phones = Resolve(c);
  if (!phones) return 1;

  auto wants = [](const std::vector<std::string>& list, const char* item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  };
  std::vector<std::unique_ptr<Path>> paths;
  if (wants(c.paths, "direct")) paths.push_back(std::make_unique<DirectPath>(c));
  if (wants(c.paths, "commander")) paths.push_back(std::make_unique<CommanderPath>(c));
  for (auto& path : paths) {
    if (!Preflight(*path, phones->front(), seq)) return 1;
  }
  if (c.warmup_s > 0) {
    // Not reported: connections, Digest nonces, allocator and caches of a fresh run.
    std::cerr << "bench: warm-up ..." << std::endl;
    for (auto& path : paths) ClosedLoop(c, *path, *phones, "warm-up", c.warmup_s, seq);
  }

  std::vector<PhaseResult> results;
  const std::string cl = "closed loop, c=" + std::to_string(c.concurrency);
  auto keep = [&](std::vector<PhaseResult> phase) {
    for (auto& r : phase) results.push_back(std::move(r));
  };
  if (wants(c.phases, "throughput")) {
    keep(Interleaved(c, paths, cl, c.duration_s, [&](Path& path, double seconds) {
      return ClosedLoop(c, path, *phones, cl, seconds, seq);
    }));
  }
  if (wants(c.phases, "latency")) {
    for (int rate : c.rates) {
      const std::string phase = "open loop, " + std::to_string(rate) + "/s";
      keep(Interleaved(c, paths, phase, c.latency_duration_s, [&](Path& path, double seconds) {
        return OpenLoop(c, path, *phones, phase, rate, seconds, seq);
      }));
    }
  }
  const Memory after = MemoryOf(c.commander_pid);
  const auto final_metrics = Scrape(c.metrics);
  if (!c.samples_out.empty()) {
    std::ofstream out(c.samples_out);
    out << "phase,path,start_ms,latency_ms,ok\n";
    for (const PhaseResult& r : results) {
      if (r.samples.empty()) continue;
      const int64_t t0 = r.samples.front().start_ns;
      for (const Sample& x : r.samples) {
        out << '"' << r.phase << "\"," << r.path << ","
            << Fixed(static_cast<double>(x.start_ns - t0) / 1e6, 3) << ","
            << (x.end_ns ? Fixed(static_cast<double>(x.end_ns - x.start_ns) / 1e6, 3) : "") << ","
            << x.ok << "\n";
      }
    }
  }

  std::cout << "commander_bench: " << std::thread::hardware_concurrency() << " CPUs, "
            << phones->size() << " simulated phones (Digest auth), " << Fixed(registry.devices, 0)
            << " devices in the registry; closed loop " << c.concurrency << " in flight x "
            << Fixed(c.duration_s, 0) << " s, open loop " << Fixed(c.latency_duration_s, 0)
            << " s per rate, paths taking turns every " << Fixed(c.slice_s, 1) << " s; "
            << c.channels << " gRPC channel(s), " << c.direct_threads
            << " direct client thread(s)\n\n";
  std::vector<std::vector<std::string>> rows;
  bool disturbed = false;
  std::map<std::string, std::map<std::string, Stats>> by_phase;
  std::vector<std::string> order;
  auto cpu = [](double v) { return v < 0 ? std::string("-") : Fixed(v, 0); };
  for (const PhaseResult& r : results) {
    const Stats s = Summarize(r);
    if (!by_phase.count(r.phase)) order.push_back(r.phase);
    by_phase[r.phase][r.path] = s;
    // CPU time per answered command: the commander's, and all four processes' together
    // (what one command costs the machine on this path).
    const double ours = std::max(0.0, r.cpu_percent.commander) +
                        std::max(0.0, r.cpu_percent.phonesim) +
                        std::max(0.0, r.cpu_percent.broker) + std::max(0.0, r.cpu_percent.bench);
    auto us_per = [&](double percent) {
      return s.per_s > 0 && percent >= 0 ? Fixed(percent / 100 / s.per_s * 1e6, 0)
                                         : std::string("-");
    };
    rows.push_back({r.phase, r.path, Fixed(s.per_s, 0), std::to_string(s.ok),
                    std::to_string(s.errors), Fixed(s.p50, 3), Fixed(s.p90, 3), Fixed(s.p99, 3),
                    Fixed(s.max, 2),
                    cpu(r.cpu_percent.commander) + " / " + cpu(r.cpu_percent.phonesim) + " / " +
                        cpu(r.cpu_percent.broker) + " / " + cpu(r.cpu_percent.bench) + " / " +
                        cpu(r.cpu_percent.others),
                    (r.path == "commander" ? us_per(r.cpu_percent.commander) : std::string("-")) +
                        " / " + us_per(ours),
                    r.path == "commander" && s.ok > 0 && r.commander_switches >= 0
                        ? Fixed(r.commander_switches / static_cast<double>(s.ok), 1)
                        : "-",
                    Fixed(r.commander_memory.rss, 1)});
    if (r.cpu_percent.others > 25) disturbed = true;
  }
  PrintTable({"phase", "path", "commands/s", "ok", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms",
              "cpu % commander/phonesim/broker/bench/other", "cpu us/cmd commander/all",
              "commander ctx sw/cmd", "commander RSS MiB"},
             rows, 2);

  std::cout << "\nadded by phonebus (commander minus direct):\n\n";
  rows.clear();
  for (const std::string& phase : order) {
    const auto& p = by_phase[phase];
    if (!p.count("direct") || !p.count("commander")) continue;
    const Stats& d = p.at("direct");
    const Stats& m = p.at("commander");
    auto signed_ms = [&](double a, double b) {
      if (a < 0 || b < 0) return std::string("-");
      return (a >= b ? "+" : "-") + Fixed(std::abs(a - b), 3);
    };
    rows.push_back({phase, d.per_s > 0 ? Fixed(m.per_s / d.per_s, 3) : "-", signed_ms(m.p50, d.p50),
                    signed_ms(m.p99, d.p99)});
  }
  PrintTable({"phase", "commands/s commander/direct", "p50 added ms", "p99 added ms"}, rows, 1);

  std::cout << "\ncommander memory with " << Fixed(registry.devices, 0)
            << " devices in the registry (" << Fixed(registry.states, 0)
            << " retained states learned"
            << (registry.loaded ? " within " + Fixed(registry.seconds, 1) + " s of its start"
                                : "; NOT all " + std::to_string(c.devices) + " " +
                                      Fixed(registry.seconds, 0) + " s after its start")
            << "):\n";
  std::cout << "  registry loaded, before any command: " << MiB(registry.memory) << "\n";
  std::cout << "  after the load phases:               " << MiB(after) << "\n";

  // Reported against the issue's targets, never asserted.
  double best = -1;
  for (const PhaseResult& r : results) {
    if (r.path == "commander") best = std::max(best, Summarize(r).per_s);
  }
  std::cout << "\ntargets (2 cores): commands/s via commander >= 5000: " << Fixed(best, 0)
            << (best >= 5000 ? " (met)" : " (not met)") << "; p99 added < 1 ms:";
  for (const std::string& phase : order) {
    const auto& p = by_phase[phase];
    if (!p.count("direct") || !p.count("commander")) continue;
    const double added = p.at("commander").p99 - p.at("direct").p99;
    std::cout << " " << phase << " " << (added < 0 ? "-" : "") << Fixed(std::abs(added), 3) << " ms"
              << (added < 1 ? " (met)" : " (not met)") << ";";
  }
  // Both readings of "RSS with 100,000 devices": the registry alone, and the peak under load,
  // which also holds every request_id of the idempotency window and the load's buffers.
  std::cout << " RSS < 64 MiB: with the registry loaded " << Fixed(registry.memory.hwm, 1) << " MiB"
            << (registry.memory.hwm < 64 ? " (met)" : " (not met)")
            << ", peak after the load phases " << Fixed(after.hwm, 1) << " MiB"
            << (after.hwm < 64 ? " (met)" : " (not met)") << "\n";

  std::vector<std::string> notes;
  if (disturbed) {
    notes.push_back(
        "other processes used more than 25 % of a core during some phase (column 'other'): "
        "those figures are disturbed; compare rows of one run, and repeat on a quiet machine");
  }
  for (const PhaseResult& r : results) {
    for (const auto& [what, n] : r.errors) {
      notes.push_back(r.phase + " / " + r.path + ": " + std::to_string(n) + " x " + what);
    }
    if (r.path != "commander" || r.metrics_delta.empty()) continue;
    const double count = r.metrics_delta.count("phonebus_command_seconds_count")
                             ? r.metrics_delta.at("phonebus_command_seconds_count")
                             : 0;
    const double sum = Metric(r.metrics_delta, "phonebus_command_seconds_sum");
    const double unpublished =
        Metric(r.metrics_delta, "phonebus_command_results_unpublished_total");
    notes.push_back(r.phase +
                    " / commander: mean time inside the commander (request to phone's "
                    "answer, its own histogram) " +
                    (count > 0 ? Fixed(sum / count * 1000, 3) : std::string("-")) + " ms over " +
                    Fixed(count, 0) + " commands; " + Fixed(unpublished, 0) +
                    " command results not published to MQTT");
  }
  if (!final_metrics.empty()) {
    notes.push_back("commander totals: " +
                    Fixed(Metric(final_metrics, "phonebus_commands_total"), 0) + " commands, " +
                    Fixed(Metric(final_metrics, "phonebus_command_results_unpublished_total"), 0) +
                    " results not published");
  }
  std::cout << "\nnotes:\n";
  for (const std::string& n : notes) std::cout << "  " << n << "\n";
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "commander_bench: Dial throughput, added latency and memory of phonebus-commander vs. "
      "the same requests sent straight to the phones (normally run by "
      "tests/bench/commander_run.sh)"};
  app.require_subcommand(1);

  SeedConfig seed;
  auto* s = app.add_subcommand(
      "seed", "Write the commander's inventory and publish retained device states");
  s->add_option("--mqtt-broker", seed.broker, "Broker URI")->capture_default_str();
  s->add_option("--site", seed.site, "Site of the devices (the commander's --site)")
      ->capture_default_str();
  s->add_option("--phones", seed.phones_file, "phonesim's output: '<id> <port>' per line")
      ->required();
  s->add_option("--inventory-out", seed.inventory_out, "Where to write the inventory")->required();
  s->add_option("--username", seed.username, "The phones' web user")->capture_default_str();
  s->add_option("--password", seed.password, "The phones' web password")->required();
  s->add_option("--first-account", seed.first_account,
                "User part of the first phone's account (phonesim --first-account)")
      ->capture_default_str();
  s->add_option("--account-domain", seed.account_domain, "Domain of the accounts")
      ->capture_default_str();
  s->add_option("--devices", seed.devices,
                "Retained device states to publish (the simulated phones first)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));

  LoadConfig load;
  auto* l = app.add_subcommand("load", "Run the load phases and print the table");
  l->add_option("--commander", load.commander, "The commander's gRPC address")
      ->capture_default_str();
  l->add_option("--metrics", load.metrics, "The commander's --metrics-listen")
      ->capture_default_str();
  l->add_option("--commander-pid", load.commander_pid, "For CPU and memory")->required();
  l->add_option("--phonesim-pid", load.phonesim_pid, "For CPU");
  l->add_option("--broker-pid", load.broker_pid, "For CPU");
  l->add_option("--phones", load.phones_file, "phonesim's output: '<id> <port>' per line")
      ->required();
  l->add_option("--username", load.username, "The phones' web user (direct path)")
      ->capture_default_str();
  l->add_option("--password", load.password, "The phones' web password (direct path)")->required();
  l->add_option("--devices", load.devices, "Registry size to wait for before measuring")
      ->capture_default_str();
  l->add_option("--learn-timeout", load.learn_timeout_s, "Most seconds to wait for it")
      ->capture_default_str();
  l->add_option("--duration", load.duration_s, "Seconds of each closed-loop run")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  l->add_option("--warmup", load.warmup_s, "Seconds of unreported closed loop per path first")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60.0));
  l->add_option("--latency-duration", load.latency_duration_s, "Seconds of each open-loop run")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  l->add_option("--concurrency", load.concurrency, "Requests in flight in the closed loop")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  l->add_option("--rates", load.rates, "Requests/s of the open-loop runs")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Range(1, 200000));
  l->add_option("--direct-threads", load.direct_threads,
                "Threads of the direct path's client (the commander's --threads)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  l->add_option("--channels", load.channels, "gRPC channels (TCP connections) to the commander")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  l->add_option("--request-timeout-ms", load.request_timeout_ms,
                "Deadline of one request on either path")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  l->add_option("--max-queue-per-phone", load.max_queue_per_phone,
                "Direct path: requests waiting per phone (the commander's --max-queue-per-phone)")
      ->capture_default_str();
  l->add_option("--phases", load.phases, "throughput, latency")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::IsMember({"throughput", "latency"}));
  l->add_option("--paths", load.paths, "direct, commander")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::IsMember({"direct", "commander"}));
  l->add_option("--slice", load.slice_s,
                "Paths take turns every this many seconds within a phase (about)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  l->add_option("--samples-out", load.samples_out,
                "Write every request (phase, path, start, latency) to this CSV file");
  CLI11_PARSE(app, argc, argv);
  log::SetService("commander_bench");
  log::SetLevel(log::Level::kWarn);
  try {
    if (s->parsed()) return Seed(seed);
    return Load(load);
  } catch (const std::exception& e) {
    std::cerr << "bench: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace
}  // namespace phonebus::bench

int main(int argc, char** argv) { return phonebus::bench::Main(argc, argv); }
