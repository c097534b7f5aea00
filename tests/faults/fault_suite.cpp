// fault_suite: what phonebus does when things break, in figures.
//
// Real processes on 127.0.0.1 only: mosquitto (tests/support), phonebus-adapter and
// phonebus-commander as child processes (so they can be SIGKILLed), simulated phones
// (tests/phonesim, in-process), and an MQTT subscriber that matches events by the fault_seq
// parameter every Action URL carries (PhoneEvent.params keeps it).
//
// Adapter faults: Action URLs stream at a steady rate; the fault starts FAULT_AT seconds in and is
// cleared FAULT seconds later; then the suite waits (bounded) until everything answered 200 has
// arrived. Commander faults: one phone misbehaves while a healthy phone takes a steady stream of
// Dials. Soak: a steady stream (and Dials) for --soak-seconds, sampling both processes' RSS.
//
// Prints markdown tables with measured figures. The exit code is the test: it fails when the
// design's promise is broken (an event answered 200 and never delivered, a delivered event whose
// id is not the answered one, a process that died on its own or did not stop cleanly, a
// commander call that did not fail within its deadline plus a margin or with the wrong status,
// a faulty phone slowing down the healthy one, memory that keeps growing in the soak). Refusals
// (connection refused while the adapter is down, 503 while its disk is full) are reported, not
// failures: the design promises a clear answer there, not acceptance.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mosquitto.h"
#include "mqtt_client.h"
#include "net.h"
#include "phonebus/v1/control.grpc.pb.h"
#include "phonebus/v1/event.pb.h"
#include "ports.h"
#include "process.h"
#include "simulator.h"

namespace phonebus::faults {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;
using namespace std::chrono_literals;

struct Config {
  std::string adapter_bin = PHONEBUS_ADAPTER_BIN;
  std::string commander_bin = PHONEBUS_COMMANDER_BIN;
  int rate = 200;          // Action URLs per second
  double stream_s = 6;     // per adapter fault
  double fault_at_s = 2;   // into the stream
  double fault_s = 2;      // how long the fault lasts
  double soak_s = 30;      // 0: no soak
  int dial_rate = 20;      // Dials/s to the healthy phone
  double commander_s = 4;  // per commander fault
  int phone_timeout_ms = 1000;
  int fail_margin_ms = 1500;  // on top of the phone timeout, for a loaded machine
  double drain_timeout_s = 60;
  std::vector<std::string> only;  // scenario names; empty: all
};

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string Fixed(double v, int digits = 0) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string TempDir(const std::string& what) {
  std::string tmpl = "/tmp/phonebus-faults-" + what + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Resident memory of a process in KiB, 0 when unknown (or it has ended: pid -1).
long RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// How the suite starts the adapter and commander and addresses them: one helper each, so a new
// required setting (a URL secret, a bearer token) is one edit.

// The site's Action URL secret, as `phonebus config` puts it into the phones' URLs.
constexpr char kUrlSecret[] = "fault-suite-url-secret-0123";

struct AdapterSetup {
  unsigned short port = 0;
  std::string broker;
  std::string site;
  std::string outbox_dir;
};

std::vector<std::string> AdapterArgs(const AdapterSetup& s) {
  return {"--listen", "127.0.0.1:" + std::to_string(s.port), "--site", s.site, "--mqtt-broker",
          s.broker, "--outbox-dir", s.outbox_dir, "--log-level", "warn",
          // Stopping at the end of a scenario should not wait for load balancers.
          "--shutdown-grace-ms", "0", "--drain-timeout", "10", "--url-secret", kUrlSecret};
}

// A Yealink call_established Action URL, as a phone fires it, tagged with fault_seq. 50 phones.
std::string ActionUrlTarget(uint64_t seq) {
  const int device = static_cast<int>(seq % 50);
  char mac[16];
  std::snprintf(mac, sizeof mac, "0015650%05d", device);
  const std::string ext = std::to_string(1000 + device);
  const std::string s = std::to_string(seq);
  return "/" + std::string(kUrlSecret) + "/yealink/call_established?mac=" + std::string(mac) +
         "&ip=10.20.0." + std::to_string(device + 1) +
         "&model=T46S&firmware=66.86.0.15&active_url=" + ext + "%40pbx.example&active_user=" + ext +
         "&local=" + ext + "&remote=%2B4930" + std::to_string(1000000 + seq) + "&call_id=" + s +
         "&fault_seq=" + s;
}

struct CommanderSetup {
  unsigned short port = 0;
  std::string broker;
  std::string site;
  std::string inventory;
  int phone_timeout_ms = 1000;
};

std::vector<std::string> CommanderArgs(const CommanderSetup& s) {
  return {"--listen", "127.0.0.1:" + std::to_string(s.port), "--metrics-listen", "127.0.0.1:0",
          "--site", s.site, "--mqtt-broker", s.broker, "--inventory", s.inventory,
          "--phone-timeout-ms", std::to_string(s.phone_timeout_ms), "--auth-holdoff-s", "60",
          // The suite is about faults, not callers: no API tokens, allowed on loopback only.
          "--insecure-no-auth", "--log-level", "info"};
}

// Every gRPC call the suite makes goes through here (credentials, when the commander wants them).
void PrepareCall(grpc::ClientContext& ctx, Ms deadline) {
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
}

// ---------------------------------------------------------------------------------------------
// One GET on a new connection, as phones send them; the answer or why there was none.

struct Answer {
  int status = 0;    // 0: none
  std::string text;  // body (first line), or what went wrong
};

Answer Get(unsigned short port, const std::string& target, Ms timeout) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  Answer answer;
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  const std::string request = "GET " + target +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Yealink SIP-T46S "
                              "66.86.0.15\r\nConnection: close\r\n\r\n";
  stream.expires_after(timeout);
  stream.async_connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if (ec) {
          answer.text = "connect: " + ec.message();
          return;
        }
        net::async_write(stream, net::buffer(request), [&](beast::error_code ec, size_t) {
          if (ec) {
            answer.text = "write: " + ec.message();
            return;
          }
          http::async_read(stream, buffer, res, [&](beast::error_code ec, size_t) {
            if (ec) {
              answer.text = "read: " + ec.message();
              return;
            }
            answer.status = static_cast<int>(res.result_int());
            answer.text = res.body().substr(0, res.body().find('\n'));
          });
        });
      });
  ioc.run();
  return answer;
}

// The value of a Prometheus sample without labels, or nullopt.
std::optional<double> Metric(unsigned short port, const std::string& name) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(2s);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return std::nullopt;
  http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec || res.result_int() != 200) return std::nullopt;
  std::istringstream in(res.body());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::strtod(line.c_str() + name.size(), nullptr);
  }
  return std::nullopt;
}

bool WaitReady(unsigned short port, Ms timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (Get(port, "/readyz", 1s).status == 200) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The stream of Action URLs: request i is due at start + i/rate whatever happened to earlier
// ones (open loop), so a fault shows up as refusals and latency, not as a lower offered rate.

struct Sample {
  Clock::time_point sent{};
  Clock::time_point answered{};  // when the answer (or the failure) came
  int status = 0;
  std::string text;  // "ok <event_id>" for 200
};

class Stream {
 public:
  Stream(unsigned short port, int rate, double seconds)
      : port_(port), rate_(rate), samples_(static_cast<size_t>(rate * seconds)) {}
  ~Stream() { Join(); }

  void Start() {
    start_ = Clock::now();
    // Enough workers that a request waiting for its timeout does not hold the others back.
    for (int w = 0; w < 32; ++w) workers_.emplace_back([this] { Work(); });
  }
  void Join() {
    for (auto& t : workers_) t.join();
    workers_.clear();
  }
  Clock::time_point start() const { return start_; }
  const std::vector<Sample>& samples() const { return samples_; }

 private:
  void Work() {
    for (size_t i = next_++; i < samples_.size(); i = next_++) {
      std::this_thread::sleep_until(start_ + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(i * 1.0 / rate_)));
      Sample& s = samples_[i];
      s.sent = Clock::now();
      Answer a = Get(port_, ActionUrlTarget(i), 5s);
      s.answered = Clock::now();
      s.status = a.status;
      s.text = std::move(a.text);
    }
  }
  unsigned short port_;
  int rate_;
  std::vector<Sample> samples_;
  std::atomic<size_t> next_{0};
  Clock::time_point start_;
  std::vector<std::thread> workers_;
};

// ---------------------------------------------------------------------------------------------
// The subscriber: a persistent session (the broker queues for it across its own restart and ours)
// on the site's event topics, counting arrivals per fault_seq.

struct Seen {
  uint32_t count = 0;
  Clock::time_point first{};
  std::string event_id;   // of the first arrival
  bool other_id = false;  // a repeat with another event_id: not a redelivery
};

class EventCounter {
 public:
  EventCounter(const std::string& broker, const std::string& site)
      : filter_("phonebus/v1/" + site + "/device/+/event/+"), client_(Options(broker, site)) {
    client_.OnMessage([this](mqtt_client::Message m) { Arrived(m); });
    client_.OnConnectionLost([this](const std::string&) { lost_ = true; });
    if (!client_.Connect().ok() || !client_.Subscribe(filter_, 1).ok()) {
      throw std::runtime_error("subscriber cannot connect to " + broker);
    }
    lost_ = false;
    thread_ = std::thread([this] {
      while (!stop_) {
        if (lost_ && client_.Connect().ok() && client_.Subscribe(filter_, 1).ok()) lost_ = false;
        std::this_thread::sleep_for(50ms);
      }
    });
  }
  ~EventCounter() {
    stop_ = true;
    thread_.join();
    client_.Close(500ms);
  }

  std::unordered_map<uint64_t, Seen> Snapshot() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  uint64_t arrivals() {
    std::lock_guard lock(mu_);
    return arrivals_;
  }
  uint64_t untagged() {
    std::lock_guard lock(mu_);
    return untagged_;
  }

 private:
  static mqtt_client::Options Options(const std::string& broker, const std::string& site) {
    mqtt_client::Options o;
    o.mqtt.brokers = {broker};
    o.mqtt.connect_timeout_s = 2;
    o.client_id = "phonebus-faults-" + site + "-" + std::to_string(::getpid());
    o.clean_session = false;
    return o;
  }
  void Arrived(const mqtt_client::Message& m) {
    const auto now = Clock::now();
    v1::PhoneEvent event;
    std::optional<uint64_t> seq;
    if (event.ParseFromString(m.payload)) {
      for (const v1::Param& p : event.params()) {
        if (p.name() != "fault_seq") continue;
        uint64_t v = 0;
        const auto [end, err] =
            std::from_chars(p.value().data(), p.value().data() + p.value().size(), v);
        if (err == std::errc()) seq = v;
      }
    }
    std::lock_guard lock(mu_);
    ++arrivals_;
    if (!seq) {
      ++untagged_;
      return;
    }
    Seen& s = seen_[*seq];
    if (s.count++ == 0) {
      s.first = now;
      s.event_id = event.event_id();
    } else if (s.event_id != event.event_id()) {
      s.other_id = true;
    }
  }

  std::string filter_;
  mqtt_client::Client client_;
  std::mutex mu_;
  std::unordered_map<uint64_t, Seen> seen_;
  uint64_t arrivals_ = 0;
  uint64_t untagged_ = 0;
  std::atomic<bool> lost_{true};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// Adapter faults.

struct AdapterRow {
  std::string fault;
  bool run = true;
  std::string not_run;  // why not
  uint64_t sent = 0, ok = 0, delivered = 0, lost = 0, dup = 0, delivered_unanswered = 0;
  std::map<std::string, uint64_t> refusals;  // "503 outbox full, try later" -> n
  std::optional<double> ok_again_ms;         // clear -> first 200 to a request sent after it
  std::optional<double> drained_ms;          // clear -> last event answered 200 before it arrived
  std::string extra;                         // soak: memory
  std::vector<std::string> problems;         // promise broken
};

// What a fault does to the running system; `adapter` may be replaced (restart).
struct FaultContext {
  const Config& config;
  testing::Mosquitto& broker;
  std::unique_ptr<testing::Process>& adapter;
  std::function<std::unique_ptr<testing::Process>()> start_adapter;
  std::string outbox_dir;
  std::vector<std::string>& problems;
};

struct AdapterFault {
  std::string name;
  // Runs at the fault's start; returns what clears it (run FAULT seconds later), or nullopt
  // with a reason in `not_run` when the fault cannot be made here.
  std::function<std::function<void()>(FaultContext&)> inject;
  // Non-empty: the outbox is a tmpfs of this size ("32m"). Most faults leave it out; the {}
  // keeps -Wmissing-field-initializers quiet about that.
  std::string tmpfs_size{};
  // Every event must be answered 200 (a fault the adapter should ride out, not refuse).
  bool must_accept_all = false;
};

// Fills the file system under `dir` until it refuses more (ENOSPC); returns the filler's path.
std::string FillDisk(const std::string& dir) {
  const std::string path = dir + "/filler";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return path;
  std::vector<char> chunk(1 << 20, 'x');
  for (size_t size : {size_t{1} << 20, size_t{4096}, size_t{1}}) {
    while (::write(fd, chunk.data(), size) == static_cast<ssize_t>(size)) {
    }
  }
  ::close(fd);
  return path;
}

std::vector<AdapterFault> AdapterFaults() {
  return {
      {"broker restart",
       [](FaultContext& f) -> std::function<void()> {
         f.broker.Stop();
         return [&f] { f.broker.Start(); };
       }},
      {"broker frozen (SIGSTOP, then SIGCONT)",
       [](FaultContext& f) -> std::function<void()> {
         f.broker.Signal(SIGSTOP);
         return [&f] { f.broker.Signal(SIGCONT); };
       }},
      {"adapter SIGKILL, restarted on the same outbox",
       [](FaultContext& f) -> std::function<void()> {
         f.adapter->Kill();
         return [&f] { f.adapter = f.start_adapter(); };
       }},
      {"outbox disk full (32 MiB tmpfs filled), then space freed",
       [](FaultContext& f) -> std::function<void()> {
         const std::string filler = FillDisk(f.outbox_dir);
         return [filler] { fs::remove(filler); };
       },
       /*tmpfs_size=*/"32m"},
      // Smaller than one outbox segment (8 MiB): published events must not fill it.
      {"outbox on a 1 MiB tmpfs, broker up (no fault)",
       [](FaultContext&) -> std::function<void()> { return [] {}; },
       /*tmpfs_size=*/"1m", /*must_accept_all=*/true},
  };
}

// Counts and checks one run of the stream against what the subscriber saw.
void Tally(const std::vector<Sample>& samples, EventCounter& events, Clock::time_point cleared,
           AdapterRow& row) {
  const auto seen = events.Snapshot();
  std::optional<Clock::time_point> first_ok_after, last_drained;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    ++row.sent;
    const auto it = seen.find(i);
    const Seen* arrived = it == seen.end() ? nullptr : &it->second;
    if (arrived) {
      ++row.delivered;
      if (arrived->count > 1) row.dup += arrived->count - 1;
      if (arrived->other_id) {
        row.problems.push_back("fault_seq " + std::to_string(i) +
                               " arrived twice with different event_ids");
      }
    }
    const bool ok = s.status == 200 && s.text.rfind("ok ", 0) == 0;
    if (!ok) {
      const std::string why =
          s.status == 0 ? "no answer (" + s.text + ")" : std::to_string(s.status) + " " + s.text;
      ++row.refusals[why];
      if (arrived) ++row.delivered_unanswered;
      continue;
    }
    ++row.ok;
    if (!arrived) {
      ++row.lost;
      if (row.lost <= 3) {
        row.problems.push_back("fault_seq " + std::to_string(i) + " answered 200 (" + s.text +
                               ") and never delivered");
      }
      continue;
    }
    if (arrived->event_id != s.text.substr(3)) {
      row.problems.push_back("fault_seq " + std::to_string(i) + " answered " + s.text +
                             " but delivered as event_id " + arrived->event_id);
    }
    if (s.sent >= cleared && (!first_ok_after || s.answered < *first_ok_after)) {
      first_ok_after = s.answered;
    }
    if (s.answered <= cleared && (!last_drained || arrived->first > *last_drained)) {
      last_drained = arrived->first;
    }
  }
  if (row.lost > 3) row.problems.push_back(std::to_string(row.lost) + " events lost in all");
  if (first_ok_after) row.ok_again_ms = MsBetween(cleared, *first_ok_after);
  if (last_drained) row.drained_ms = std::max(0.0, MsBetween(cleared, *last_drained));
}

// Waits until every event answered 200 has arrived and the adapter has nothing left to publish,
// then until arrivals stop for a moment (so late duplicates are counted too).
void Drain(const Config& config, const std::vector<Sample>& samples, EventCounter& events,
           unsigned short adapter_port) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(config.drain_timeout_s));
  while (Clock::now() < deadline) {
    const auto seen = events.Snapshot();
    bool all = true;
    for (size_t i = 0; i < samples.size() && all; ++i) {
      if (samples[i].status == 200 && !seen.contains(i)) all = false;
    }
    const auto depth = Metric(adapter_port, "phonebus_outbox_depth");
    if (all && depth && *depth == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  uint64_t last = events.arrivals();
  for (int quiet = 0; quiet < 5 && Clock::now() < deadline;) {
    std::this_thread::sleep_for(100ms);
    const uint64_t now = events.arrivals();
    quiet = now == last ? quiet + 1 : 0;
    last = now;
  }
}

AdapterRow RunAdapterFault(const Config& config, const AdapterFault& fault, int index) {
  AdapterRow row;
  row.fault = fault.name;
  const std::string dir = TempDir("adapter");
  const std::string outbox = dir + "/outbox";
  fs::create_directories(outbox);
  bool mounted = false;
  if (!fault.tmpfs_size.empty()) {
    const std::string options = "size=" + fault.tmpfs_size;
    if (::mount("tmpfs", outbox.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      row.run = false;
      row.not_run = std::string("not run: cannot mount a tmpfs (") + std::strerror(errno) +
                    "; the suite needs root for this row)";
      fs::remove_all(dir);
      return row;
    }
    mounted = true;
  }
  {
    testing::Mosquitto broker;
    AdapterSetup setup{testing::FreePort(), broker.uri(), "fault" + std::to_string(index), outbox};
    int starts = 0;
    auto start_adapter = [&] {
      auto child = std::make_unique<testing::Process>(
          testing::Process::LogFile{dir + "/adapter-" + std::to_string(starts++) + ".log"},
          config.adapter_bin, AdapterArgs(setup));
      if (!WaitReady(setup.port, 20s)) {
        row.problems.push_back("adapter not ready within 20 s: " + child->Log().substr(0, 400));
      }
      return child;
    };
    std::unique_ptr<testing::Process> adapter = start_adapter();
    EventCounter events(broker.uri(), setup.site);
    Stream stream(setup.port, config.rate, config.stream_s);
    FaultContext context{config, broker, adapter, start_adapter, outbox, row.problems};
    stream.Start();
    const auto at = [&](double s) {
      return stream.start() +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
    };
    std::this_thread::sleep_until(at(config.fault_at_s));
    auto clear = fault.inject(context);
    std::this_thread::sleep_until(at(config.fault_at_s + config.fault_s));
    const auto clearing = Clock::now();
    clear();
    // For a restart, "cleared" is when the replacement started, not when it was ready: the
    // time to be ready is part of the recovery.
    stream.Join();
    Drain(config, stream.samples(), events, setup.port);
    if (!adapter->Running()) {
      row.problems.push_back("adapter died: " + adapter->Stop(1s) +
                             "; log: " + adapter->Log().substr(0, 400));
    }
    Tally(stream.samples(), events, clearing, row);
    if (fault.must_accept_all && row.ok < row.sent) {
      row.problems.push_back(std::to_string(row.sent - row.ok) + " of " + std::to_string(row.sent) +
                             " events refused");
    }
    if (const auto stopped = adapter->Stop(20s); !stopped.empty()) {
      row.problems.push_back("adapter did not stop cleanly: " + stopped);
    }
    if (events.untagged() > 0) {
      row.problems.push_back(std::to_string(events.untagged()) + " events without fault_seq");
    }
  }
  if (mounted && ::umount(outbox.c_str()) != 0) ::umount2(outbox.c_str(), MNT_DETACH);
  if (row.problems.empty())
    fs::remove_all(dir);
  else
    row.problems.push_back("logs kept in " + dir);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Commander faults: the faulty phone takes one Dial at a time (as an agent clicks dial), while
// the healthy phone takes a steady stream.

struct Call {
  grpc::StatusCode code = grpc::StatusCode::OK;
  double ms = 0;
};

struct CommanderRow {
  std::string fault;
  grpc::StatusCode expected = grpc::StatusCode::OK;
  std::vector<Call> faulty;
  std::vector<Call> healthy;
  uint64_t phone_requests = 0;  // what the faulty phone received
  std::string phone_note;
  std::vector<std::string> problems;
};

struct CommanderFault {
  std::string name;
  grpc::StatusCode expected;
  std::function<void(phonesim::PhoneConfig&)> phone;  // how the faulty phone misbehaves
  bool wrong_password = false;                        // the inventory holds a wrong one
};

std::vector<CommanderFault> CommanderFaults(const Config& config) {
  const Ms slow(config.phone_timeout_ms * 2);
  return {
      {"phone slow (answers after " + std::to_string(slow.count()) + " ms)",
       grpc::StatusCode::DEADLINE_EXCEEDED,
       [slow](phonesim::PhoneConfig& p) { p.response_delay = slow; }},
      {"phone hung (never answers)", grpc::StatusCode::DEADLINE_EXCEEDED,
       [](phonesim::PhoneConfig& p) { p.failure = phonesim::Failure::kHang; }},
      {"phone drops the connection", grpc::StatusCode::UNAVAILABLE,
       [](phonesim::PhoneConfig& p) { p.failure = phonesim::Failure::kClose; }},
      {"phone refuses the credentials", grpc::StatusCode::UNAUTHENTICATED,
       [](phonesim::PhoneConfig&) {}, /*wrong_password=*/true},
  };
}

Call Dial(v1::PhoneControl::Stub& stub, const std::string& device, const std::string& id,
          Ms deadline) {
  v1::DialRequest req;
  req.set_device(device);
  req.set_number("+4930123456");
  req.set_request_id(id);
  v1::DialResponse resp;
  grpc::ClientContext ctx;
  PrepareCall(ctx, deadline);
  const auto start = Clock::now();
  const grpc::Status status = stub.Dial(&ctx, req, &resp);
  return {status.error_code(), MsBetween(start, Clock::now())};
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string StatusName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    default:
      return "code " + std::to_string(static_cast<int>(code));
  }
}

constexpr const char* kHealthyId = "001565000001";
constexpr const char* kFaultyId = "001565000002";

// The commander with a healthy and a faulty Yealink in its inventory.
struct CommanderStack {
  testing::Mosquitto broker;
  phonesim::Simulator sim;
  phonesim::PhoneHandle healthy, faulty;
  std::string dir = TempDir("commander");
  std::unique_ptr<testing::Process> commander;
  std::unique_ptr<v1::PhoneControl::Stub> stub;

  CommanderStack(const Config& config,
                 const std::function<void(phonesim::PhoneConfig&)>& faulty_phone,
                 bool wrong_password) {
    auto phone = [&](const char* id, const std::function<void(phonesim::PhoneConfig&)>& change) {
      phonesim::PhoneConfig p{.id = id,
                              .family = phonesim::Family::kYealinkServlet,
                              .auth = phonesim::AuthScheme::kDigest,
                              .username = "admin",
                              .password = "phone-pass"};
      p.timing.talk_time = 100ms;  // calls end on their own: the phone never fills up
      change(p);
      auto added = sim.Add(p);
      if (!added.ok()) throw std::runtime_error(std::string(added.status().message()));
      return *added;
    };
    healthy = phone(kHealthyId, [](phonesim::PhoneConfig&) {});
    faulty = phone(
        kFaultyId, faulty_phone ? faulty_phone : [](phonesim::PhoneConfig&) {});
    std::ofstream(dir + "/inventory.json")
        << R"({"devices": [{"id": ")" << kHealthyId
        << R"(", "vendor": "yealink", "model": "T46S", "address": "127.0.0.1:)" << healthy.port()
        << R"(", "username": "admin", "password": "phone-pass"}, {"id": ")" << kFaultyId
        << R"(", "vendor": "yealink", "model": "T46S", "address": "127.0.0.1:)" << faulty.port()
        << R"(", "username": "admin", "password": ")"
        << (wrong_password ? "not-the-phone-pass" : "phone-pass") << R"("}]})";
    CommanderSetup setup{testing::FreePort(), broker.uri(), "faults", dir + "/inventory.json",
                         config.phone_timeout_ms};
    commander =
        std::make_unique<testing::Process>(testing::Process::LogFile{dir + "/commander.log"},
                                           config.commander_bin, CommanderArgs(setup));
    if (!commander->WaitLog("commander listening", 20s)) {
      throw std::runtime_error("commander did not start: " + commander->Log().substr(0, 600));
    }
    stub = v1::PhoneControl::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(setup.port),
                                                         grpc::InsecureChannelCredentials()));
  }
};

// Dials the healthy phone at `rate` until `stop`; returns each call.
std::vector<Call> HealthyLoad(v1::PhoneControl::Stub& stub, int rate, const std::string& prefix,
                              const std::atomic<bool>& stop) {
  std::vector<Call> calls;
  const auto start = Clock::now();
  for (int i = 0; !stop; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(i * 1.0 / rate)));
    calls.push_back(Dial(stub, kHealthyId, prefix + "-" + std::to_string(i), 5s));
  }
  return calls;
}

CommanderRow RunCommanderFault(const Config& config, const CommanderFault& fault) {
  CommanderRow row;
  row.fault = fault.name;
  row.expected = fault.expected;
  CommanderStack stack(config, fault.phone, fault.wrong_password);
  // The client's own deadline is well past the commander's phone timeout: the commander must
  // answer first.
  const Ms client_deadline(config.phone_timeout_ms + 5000);
  std::atomic<bool> stop{false};
  std::vector<Call> healthy;
  std::thread load([&] { healthy = HealthyLoad(*stack.stub, config.dial_rate, "h", stop); });
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(config.commander_s));
  uint64_t requests_after_first = 0;
  // At most 10 calls a second: a phone refusing the credentials answers at once, and a tight
  // loop would only measure the client.
  const auto faulty_start = Clock::now();
  for (int i = 0; Clock::now() < end; ++i) {
    std::this_thread::sleep_until(std::max(Clock::now(), faulty_start + i * 100ms));
    row.faulty.push_back(Dial(*stack.stub, kFaultyId, "f-" + std::to_string(i), client_deadline));
    if (i == 0) requests_after_first = stack.faulty.counters().requests;
  }
  stop = true;
  load.join();
  row.healthy = std::move(healthy);
  const auto counters = stack.faulty.counters();
  row.phone_requests = counters.requests;
  const double bound = config.phone_timeout_ms + config.fail_margin_ms;
  for (size_t i = 0; i < row.faulty.size(); ++i) {
    const Call& c = row.faulty[i];
    if (c.code != fault.expected) {
      row.problems.push_back("call " + std::to_string(i) + " to the faulty phone: " +
                             StatusName(c.code) + ", expected " + StatusName(fault.expected));
    }
    if (c.ms > bound) {
      row.problems.push_back("call " + std::to_string(i) + " to the faulty phone took " +
                             Fixed(c.ms) + " ms (bound " + Fixed(bound) + " ms)");
    }
  }
  if (fault.wrong_password) {
    row.phone_note = std::to_string(counters.requests) + " requests reached the phone (" +
                     std::to_string(counters.failed_logins) + " wrong logins, " +
                     std::to_string(counters.lockouts) + " lockouts)";
    if (counters.requests != requests_after_first) {
      row.problems.push_back("the phone was asked again during the auth hold-off (" +
                             std::to_string(requests_after_first) +
                             " requests after the first "
                             "call, " +
                             std::to_string(counters.requests) + " at the end)");
    }
    if (counters.lockouts > 0) row.problems.push_back("the phone locked its login");
  } else {
    row.phone_note = std::to_string(counters.requests) + " requests reached the phone";
  }
  std::vector<double> healthy_ms;
  for (const Call& c : row.healthy) {
    if (c.code != grpc::StatusCode::OK) {
      row.problems.push_back("healthy phone: " + StatusName(c.code));
    }
    healthy_ms.push_back(c.ms);
  }
  if (row.healthy.empty()) row.problems.push_back("no call to the healthy phone finished");
  // Unaffected: the healthy phone's calls never wait for the faulty phone's timeout.
  if (!healthy_ms.empty() && Percentile(healthy_ms, 1.0) >= config.phone_timeout_ms) {
    row.problems.push_back("a call to the healthy phone took " +
                           Fixed(Percentile(healthy_ms, 1.0)) + " ms: held up by the faulty one?");
  }
  if (const auto stopped = stack.commander->Stop(20s); !stopped.empty()) {
    row.problems.push_back("commander did not stop cleanly: " + stopped);
  }
  stack.sim.Stop();
  if (row.problems.empty()) {
    fs::remove_all(stack.dir);
  } else {
    row.problems.push_back("logs kept in " + stack.dir);
  }
  return row;
}

// ---------------------------------------------------------------------------------------------
// Soak: the adapter stream and Dials to a healthy phone for --soak-seconds, RSS sampled.

struct RssSeries {
  std::vector<long> kib;
  std::string Summary() const {
    if (kib.empty()) return "-";
    const long max = *std::max_element(kib.begin(), kib.end());
    return Fixed(kib.front() / 1024.0, 1) + " / " + Fixed(kib[kib.size() / 4] / 1024.0, 1) + " / " +
           Fixed(kib.back() / 1024.0, 1) + " / " + Fixed(max / 1024.0, 1);
  }
  // Growth from a quarter into the run (after warm-up: allocator pools, the request log
  // reaching its window) to the end.
  std::optional<std::string> Growing(const std::string& who) const {
    if (kib.size() < 4) return std::nullopt;
    const long base = kib[kib.size() / 4];
    const long grew = kib.back() - base;
    if (grew > 8 * 1024 && grew > base / 4) {
      return who + " RSS grew from " + Fixed(base / 1024.0, 1) + " to " +
             Fixed(kib.back() / 1024.0, 1) + " MiB during the soak";
    }
    return std::nullopt;
  }
};

AdapterRow RunSoak(const Config& config, RssSeries& adapter_rss, RssSeries& commander_rss,
                   CommanderRow& dials) {
  AdapterRow row;
  row.fault = "soak: " + Fixed(config.soak_s) + " s steady, no fault";
  const std::string dir = TempDir("soak");
  CommanderStack stack(config, nullptr, false);
  AdapterSetup setup{testing::FreePort(), stack.broker.uri(), "soak", dir + "/outbox"};
  auto adapter = std::make_unique<testing::Process>(testing::Process::LogFile{dir + "/adapter.log"},
                                                    config.adapter_bin, AdapterArgs(setup));
  if (!WaitReady(setup.port, 20s)) row.problems.push_back("adapter not ready within 20 s");
  EventCounter events(stack.broker.uri(), setup.site);
  Stream stream(setup.port, config.rate, config.soak_s);
  std::atomic<bool> stop{false};
  std::vector<Call> healthy;
  std::thread load([&] { healthy = HealthyLoad(*stack.stub, config.dial_rate, "soak", stop); });
  stream.Start();
  const double every_s = std::max(2.0, config.soak_s / 60);
  for (double t = 0; t <= config.soak_s; t += every_s) {
    std::this_thread::sleep_until(stream.start() + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(t)));
    adapter_rss.kib.push_back(RssKib(adapter->pid()));
    commander_rss.kib.push_back(RssKib(stack.commander->pid()));
  }
  stream.Join();
  stop = true;
  load.join();
  Drain(config, stream.samples(), events, setup.port);
  if (!adapter->Running()) row.problems.push_back("adapter died during the soak");
  Tally(stream.samples(), events, stream.start(), row);
  row.ok_again_ms.reset();
  row.drained_ms.reset();
  for (const auto& series : {std::pair{&adapter_rss, "adapter"}, {&commander_rss, "commander"}}) {
    if (auto growing = series.first->Growing(series.second)) row.problems.push_back(*growing);
  }
  row.extra = "RSS MiB first/25%/last/max: adapter " + adapter_rss.Summary() + ", commander " +
              commander_rss.Summary();
  dials.fault = "soak: healthy phone only, " + std::to_string(config.dial_rate) + " Dials/s";
  dials.healthy = std::move(healthy);
  for (const Call& c : dials.healthy) {
    if (c.code != grpc::StatusCode::OK) {
      dials.problems.push_back("soak Dial: " + StatusName(c.code));
      break;
    }
  }
  if (const auto stopped = adapter->Stop(20s); !stopped.empty()) {
    row.problems.push_back("adapter did not stop cleanly: " + stopped);
  }
  if (const auto stopped = stack.commander->Stop(20s); !stopped.empty()) {
    row.problems.push_back("commander did not stop cleanly: " + stopped);
  }
  if (row.problems.empty())
    fs::remove_all(dir);
  else
    row.problems.push_back("logs kept in " + dir);
  fs::remove_all(stack.dir);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Output.

std::string Optional(const std::optional<double>& v) { return v ? Fixed(*v) : "-"; }

void PrintAdapterTable(const Config& config, const std::vector<AdapterRow>& rows) {
  std::cout << "\nAdapter: Yealink Action URLs at " << config.rate << "/s, a new connection "
            << "each, for " << Fixed(config.stream_s) << " s; the fault starts at "
            << Fixed(config.fault_at_s) << " s and is cleared " << Fixed(config.fault_s)
            << " s later.\n"
            << "lost = answered 200 and never delivered; dup = extra deliveries of an event "
            << "(same event_id); 200 again = fault cleared -> first 200 to a request sent after "
            << "that; drained = fault cleared -> the last event answered 200 before that "
            << "delivered (0: nothing was waiting).\n\n"
            << "| fault | sent | answered 200 | refused | delivered | lost | dup | 200 again ms "
               "| drained ms | refusals and notes |\n"
            << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const AdapterRow& r : rows) {
    if (!r.run) {
      std::cout << "| " << r.fault << " | - | - | - | - | - | - | - | - | " << r.not_run << " |\n";
      continue;
    }
    std::string notes;
    for (const auto& [why, n] : r.refusals) {
      notes += (notes.empty() ? "" : "; ") + std::to_string(n) + " x " + why;
    }
    if (r.delivered_unanswered > 0) {
      notes += (notes.empty() ? "" : "; ") + std::to_string(r.delivered_unanswered) +
               " delivered without a 200 (the answer was lost with the process)";
    }
    if (!r.extra.empty()) notes += (notes.empty() ? "" : "; ") + r.extra;
    std::cout << "| " << r.fault << " | " << r.sent << " | " << r.ok << " | " << r.sent - r.ok
              << " | " << r.delivered << " | " << r.lost << " | " << r.dup << " | "
              << Optional(r.ok_again_ms) << " | " << Optional(r.drained_ms) << " | "
              << (notes.empty() ? "-" : notes) << " |\n";
  }
}

void PrintCommanderTable(const Config& config, const std::vector<CommanderRow>& rows) {
  std::cout << "\nCommander: --phone-timeout-ms " << config.phone_timeout_ms
            << ", --auth-holdoff-s 60; one Dial at a time to the faulty phone for "
            << Fixed(config.commander_s) << " s while a healthy phone gets " << config.dial_rate
            << " Dials/s. A call fails fast when it ends within the phone timeout + "
            << config.fail_margin_ms << " ms.\n\n"
            << "| fault | calls | OK | failed (status) | time to fail p50 / max ms "
               "| healthy phone: calls, OK, p50 / p99 / max ms | at the faulty phone |\n"
            << "|---|---:|---:|---|---|---|---|\n";
  for (const CommanderRow& r : rows) {
    std::map<std::string, int> failed;
    std::vector<double> fail_ms, healthy_ms;
    int ok = 0, healthy_ok = 0;
    for (const Call& c : r.faulty) {
      if (c.code == grpc::StatusCode::OK) {
        ++ok;
      } else {
        ++failed[StatusName(c.code)];
        fail_ms.push_back(c.ms);
      }
    }
    for (const Call& c : r.healthy) {
      healthy_ok += c.code == grpc::StatusCode::OK;
      healthy_ms.push_back(c.ms);
    }
    std::string failures;
    for (const auto& [name, n] : failed) {
      failures += (failures.empty() ? "" : ", ") + std::to_string(n) + " " + name;
    }
    const bool faulty = !r.faulty.empty();
    std::cout << "| " << r.fault << " | " << (faulty ? std::to_string(r.faulty.size()) : "-")
              << " | " << (faulty ? std::to_string(ok) : "-") << " | "
              << (failures.empty() ? "-" : failures) << " | "
              << (fail_ms.empty() ? "-"
                                  : Fixed(Percentile(fail_ms, 0.5), 1) + " / " +
                                        Fixed(Percentile(fail_ms, 1.0), 1))
              << " | " << r.healthy.size() << ", " << healthy_ok << ", "
              << Fixed(Percentile(healthy_ms, 0.5), 1) << " / "
              << Fixed(Percentile(healthy_ms, 0.99), 1) << " / "
              << Fixed(Percentile(healthy_ms, 1.0), 1) << " | "
              << (r.phone_note.empty() ? "-" : r.phone_note) << " |\n";
  }
}

std::string LoadAverage() {
  std::string s = ReadFile("/proc/loadavg");
  return s.substr(0, s.find(' ', s.find(' ', s.find(' ') + 1) + 1));
}

bool Selected(const Config& config, const std::string& key) {
  return config.only.empty() ||
         std::find(config.only.begin(), config.only.end(), key) != config.only.end();
}

int Main(int argc, char** argv) {
  Config config;
  CLI::App app{"fault_suite: phonebus under faults, in figures (see tests/faults/README.md)"};
  app.add_option("--adapter-bin", config.adapter_bin, "phonebus-adapter to run");
  app.add_option("--commander-bin", config.commander_bin, "phonebus-commander to run");
  app.add_option("--rate", config.rate, "Action URLs per second")->check(CLI::Range(1, 5000));
  app.add_option("--stream-seconds", config.stream_s, "Stream length per adapter fault");
  app.add_option("--fault-at", config.fault_at_s, "Seconds into the stream the fault starts");
  app.add_option("--fault-seconds", config.fault_s, "How long each fault lasts");
  app.add_option("--soak-seconds", config.soak_s, "Soak length (0: no soak)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // run.sh passes a default
  app.add_option("--dial-rate", config.dial_rate, "Dials per second to the healthy phone")
      ->check(CLI::Range(1, 1000));
  app.add_option("--commander-seconds", config.commander_s, "Length of each commander fault");
  app.add_option("--phone-timeout-ms", config.phone_timeout_ms, "The commander's phone timeout");
  app.add_option("--only", config.only,
                 "Scenarios to run: broker-restart broker-freeze adapter-kill disk-full "
                 "small-disk phone-slow phone-hung phone-drop phone-auth soak");
  CLI11_PARSE(app, argc, argv);
  if (config.fault_at_s + config.fault_s >= config.stream_s) {
    std::cerr << "fault_suite: the fault must end before the stream does\n";
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  const auto started = Clock::now();
  std::cout << "fault_suite: " << std::thread::hardware_concurrency()
            << " CPUs, load average at start " << LoadAverage() << std::endl;
  std::vector<std::string> problems;
  std::vector<AdapterRow> adapter_rows;
  std::vector<CommanderRow> commander_rows;
  const char* adapter_keys[] = {"broker-restart", "broker-freeze", "adapter-kill", "disk-full",
                                "small-disk"};
  const auto adapter_faults = AdapterFaults();
  for (size_t i = 0; i < adapter_faults.size(); ++i) {
    if (!Selected(config, adapter_keys[i])) continue;
    std::cerr << "fault_suite: " << adapter_faults[i].name << std::endl;
    adapter_rows.push_back(RunAdapterFault(config, adapter_faults[i], static_cast<int>(i)));
  }
  const char* commander_keys[] = {"phone-slow", "phone-hung", "phone-drop", "phone-auth"};
  const auto commander_faults = CommanderFaults(config);
  for (size_t i = 0; i < commander_faults.size(); ++i) {
    if (!Selected(config, commander_keys[i])) continue;
    std::cerr << "fault_suite: " << commander_faults[i].name << std::endl;
    commander_rows.push_back(RunCommanderFault(config, commander_faults[i]));
  }
  RssSeries adapter_rss, commander_rss;
  if (config.soak_s > 0 && Selected(config, "soak")) {
    std::cerr << "fault_suite: soak for " << config.soak_s << " s" << std::endl;
    CommanderRow dials;
    adapter_rows.push_back(RunSoak(config, adapter_rss, commander_rss, dials));
    commander_rows.push_back(std::move(dials));
  }

  PrintAdapterTable(config, adapter_rows);
  PrintCommanderTable(config, commander_rows);
  for (const auto& r : adapter_rows) {
    for (const auto& p : r.problems) problems.push_back(r.fault + ": " + p);
  }
  for (const auto& r : commander_rows) {
    for (const auto& p : r.problems) problems.push_back(r.fault + ": " + p);
  }
  std::cout << "\nfault_suite: took " << Fixed(MsBetween(started, Clock::now()) / 1000, 1)
            << " s, load average at the end " << LoadAverage() << "\n";
  if (problems.empty()) {
    std::cout << "fault_suite: every promise held\n";
    return 0;
  }
  std::cout << "fault_suite: FAILED\n";
  for (const auto& p : problems) std::cout << "  " << p << "\n";
  return 1;
}

}  // namespace
}  // namespace phonebus::faults

int main(int argc, char** argv) {
  try {
    return phonebus::faults::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "fault_suite: " << e.what() << "\n";
    return 1;
  }
}
