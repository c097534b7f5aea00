// adapter_bench: load for phonebus-adapter, with a bare nginx as the yardstick.
//
// tests/bench/run.sh starts mosquitto, the adapter and nginx and hands over their ports and
// PIDs; this program only sends HTTP to 127.0.0.1 and subscribes on MQTT. Phases, each
// bounded in time:
//   close      C client loops, a new TCP connection per event (as phones do), D seconds,
//              against nginx and then the adapter
//   keepalive  the same, each loop reusing its connection
//   latency    open-loop R events/s, a new connection each, against the adapter
// Every request carries bench_seq=N; the subscriber finds it in PhoneEvent.params, which is
// how events are matched for lost/duplicate counts and end-to-end latency. Figures are
// printed as one table and never asserted: the exit code only says whether the bench ran.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "figures.h"
#include "log.h"
#include "mqtt_client.h"
#include "net.h"
#include "phonebus/v1/event.pb.h"

namespace phonebus::bench {
namespace {

using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using namespace std::chrono_literals;

struct Config {
  unsigned short adapter_port = 0;
  unsigned short nginx_port = 0;  // 0: no nginx runs, no ratio
  std::string broker = "tcp://127.0.0.1:1883";
  std::string site = "bench";
  std::string path_prefix;  // "/<url secret>", as phonebus config provisions
  int adapter_pid = 0;
  int broker_pid = 0;
  double duration_s = 10;
  double warmup_s = 2;
  double latency_duration_s = 10;
  double tail_s = 10;
  double tail_max_s = 60;
  int concurrency = 64;
  int rate = 1000;
  int devices = 1000;
  int threads = 2;  // one is not enough to saturate nginx on 2 cores
  int request_timeout_ms = 5000;
  std::vector<std::string> phases = {"close", "keepalive", "latency"};
  // The adapter's broker is away: count its answers only (what HTTP and the outbox sustain).
  bool answers_only = false;
};

enum class Target { kNginx, kAdapter };

const char* Name(Target target) { return target == Target::kNginx ? "nginx" : "adapter"; }

// One request as the client saw it.
struct Sample {
  uint64_t seq = 0;
  // New connection: when the connect began (the latency phase: when the schedule said it
  // should, so a client that falls behind cannot hide its own delay). Keep-alive: when the
  // write began.
  int64_t start_ns = 0;
  int64_t answer_ns = 0;  // whole response read; 0 when none came
  bool ok = false;        // nginx: 2xx; adapter: 200 "ok <event_id>"
  std::string event_id;   // adapter's answer
};

// What one client thread collected. Each thread has its own io_context and shard, so
// recording needs no locks; shards are merged once the phase is over.
struct Shard {
  net::io_context ioc{1};
  std::vector<Sample> samples;
  std::map<std::string, uint64_t> errors;
  size_t outstanding = 0;  // latency phase: started, not finished
  void Error(std::string what) { ++errors[std::move(what)]; }
};

// Everything a client loop needs to know about the run it belongs to.
struct Run {
  const Config* config;
  Target target;
  tcp::endpoint endpoint;
  std::string host;  // Host header
  Clock::time_point deadline;
  std::atomic<uint64_t>* next_seq;
};

// A realistic Yealink call_established Action URL (the variables phonebus provisions),
// cycling over `devices` fake phones; call_id is unique per request.
std::string YealinkTarget(uint64_t seq, int devices) {
  const int device = static_cast<int>(seq % static_cast<uint64_t>(devices));
  char mac[16];
  std::snprintf(mac, sizeof mac, "0015650%05d", device % 100000);
  const std::string ext = std::to_string(1000 + device);
  const std::string remote = "%2B4930" + std::to_string(1000000 + seq % 9000000);
  const std::string s = std::to_string(seq);
  std::string t;
  t.reserve(400);
  t.append("/yealink/call_established?mac=").append(mac);
  t.append("&ip=10.20.").append(std::to_string(device / 250)).append(".");
  t.append(std::to_string(device % 250 + 1));
  t.append("&model=T46S&firmware=66.86.0.15");
  t.append("&active_url=").append(ext).append("%40pbx.example&active_user=").append(ext);
  t.append("&active_host=pbx.example&local=").append(ext).append("&remote=").append(remote);
  t.append("&display_local=Agent%20").append(ext).append("&display_remote=Customer%20");
  t.append(s).append("&call_id=").append(s).append("&callerID=").append(remote);
  t.append("&calledNumber=").append(ext).append("&bench_seq=").append(s);
  return t;
}

std::string RequestBytes(const Run& run, uint64_t seq, bool keep_alive) {
  std::string r = "GET " + run.config->path_prefix + YealinkTarget(seq, run.config->devices) +
                  " HTTP/1.1\r\nHost: ";
  r.append(run.host).append("\r\nUser-Agent: Yealink SIP-T46S 66.86.0.15\r\n");
  r.append(keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  return r;
}

using Response = http::response<http::string_body>;

// Fills sample.ok/event_id; returns the error label for a refused answer.
std::optional<std::string> Classify(Target target, const Response& res, Sample& sample) {
  const unsigned status = res.result_int();
  if (target == Target::kNginx && status / 100 == 2) {
    sample.ok = true;
    return std::nullopt;
  }
  std::string_view body = res.body();
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  if (target == Target::kAdapter && status == 200 && body.substr(0, 3) == "ok ") {
    sample.ok = true;
    sample.event_id = std::string(body.substr(3));
    return std::nullopt;
  }
  return "HTTP " + std::to_string(status) + " " + std::string(body.substr(0, 60));
}

// Callback style throughout, as STYLE.md asks of Boost 1.74 code. Each shard's io_context
// runs on one thread, so the objects below need no strands.

// Calls `then` on the shard's thread after `d`.
void After(Shard& shard, std::chrono::milliseconds d, std::function<void()> then) {
  auto timer = std::make_shared<net::steady_timer>(shard.ioc, d);
  timer->async_wait([timer, then = std::move(then)](error_code) { then(); });
}

// One event on its own connection, as a phone sends it. `done(connected)` gets false when
// the connection could not be made, so the caller can back off instead of spinning on
// refusals.
class NewConnectionRequest : public std::enable_shared_from_this<NewConnectionRequest> {
 public:
  using Done = std::function<void(bool connected)>;

  static void Start(Shard& shard, const Run& run, uint64_t seq, int64_t start_ns, Done done) {
    auto self = std::shared_ptr<NewConnectionRequest>(
        new NewConnectionRequest(shard, run, seq, start_ns, std::move(done)));
    self->stream_.expires_after(std::chrono::milliseconds(run.config->request_timeout_ms));
    self->stream_.async_connect(run.endpoint, [self](error_code ec) { self->OnConnect(ec); });
  }

 private:
  NewConnectionRequest(Shard& shard, const Run& run, uint64_t seq, int64_t start_ns, Done done)
      : shard_(shard), run_(run), stream_(shard.ioc), done_(std::move(done)) {
    sample_.seq = seq;
    sample_.start_ns = start_ns;
  }

  void OnConnect(error_code ec) {
    if (ec) {
      shard_.Error("connect: " + ec.message());
      return Finish(false);
    }
    request_ = RequestBytes(run_, sample_.seq, /*keep_alive=*/false);
    net::async_write(stream_, net::buffer(request_),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->OnAnswer(ec);
                       http::async_read(self->stream_, self->buffer_, self->res_,
                                        [self](error_code ec, size_t) { self->OnAnswer(ec); });
                     });
  }

  void OnAnswer(error_code ec) {
    if (ec) {
      shard_.Error("request: " + ec.message());
      return Finish(true);
    }
    sample_.answer_ns = NowNs();
    if (auto error = Classify(run_.target, res_, sample_)) shard_.Error(std::move(*error));
    if (res_.keep_alive()) return Finish(true);
    // Wait for the server's FIN before closing: whoever closes first keeps TIME_WAIT, and
    // at thousands of connections a second our ephemeral port range would run out.
    stream_.async_read_some(
        net::buffer(&byte_, 1),
        [self = shared_from_this()](error_code, size_t) { self->Finish(true); });
  }

  void Finish(bool connected) {
    error_code ignored;
    stream_.socket().close(ignored);
    shard_.samples.push_back(std::move(sample_));
    if (done_) done_(connected);
  }

  Shard& shard_;
  const Run& run_;
  beast::tcp_stream stream_;
  Done done_;
  Sample sample_;
  std::string request_;
  beast::flat_buffer buffer_;
  Response res_;
  char byte_ = 0;
};

// Closed loop, new connection per event: the next request starts when the last one ended.
void CloseLoop(Shard& shard, const Run& run) {
  if (Clock::now() >= run.deadline) return;
  NewConnectionRequest::Start(shard, run, run.next_seq->fetch_add(1), NowNs(),
                              [&shard, &run](bool connected) {
                                if (connected) return CloseLoop(shard, run);
                                After(shard, 10ms, [&shard, &run] { CloseLoop(shard, run); });
                              });
}

// Closed loop on one keep-alive connection, reconnecting when the server closes it.
class KeepAliveLoop : public std::enable_shared_from_this<KeepAliveLoop> {
 public:
  static void Start(Shard& shard, const Run& run) {
    std::shared_ptr<KeepAliveLoop>(new KeepAliveLoop(shard, run))->Next();
  }

 private:
  KeepAliveLoop(Shard& shard, const Run& run)
      : shard_(shard), run_(run), timeout_(run.config->request_timeout_ms) {}

  void Next() {
    if (Clock::now() >= run_.deadline) return Close();
    if (stream_) return Send();
    stream_.emplace(shard_.ioc);
    stream_->expires_after(timeout_);
    buffer_.clear();
    stream_->async_connect(run_.endpoint, [self = shared_from_this()](error_code ec) {
      if (!ec) return self->Send();
      self->shard_.Error("connect: " + ec.message());
      self->stream_.reset();
      After(self->shard_, 10ms, [self] { self->Next(); });
    });
  }

  void Send() {
    sample_ = Sample{};
    sample_.seq = run_.next_seq->fetch_add(1);
    sample_.start_ns = NowNs();
    request_ = RequestBytes(run_, sample_.seq, /*keep_alive=*/true);
    res_ = {};
    stream_->expires_after(timeout_);
    net::async_write(*stream_, net::buffer(request_),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->OnAnswer(ec);
                       http::async_read(*self->stream_, self->buffer_, self->res_,
                                        [self](error_code ec, size_t) { self->OnAnswer(ec); });
                     });
  }

  void OnAnswer(error_code ec) {
    if (ec) {
      shard_.Error("request: " + ec.message());
      stream_.reset();
    } else {
      sample_.answer_ns = NowNs();
      if (auto error = Classify(run_.target, res_, sample_)) shard_.Error(std::move(*error));
      if (!res_.keep_alive()) stream_.reset();
    }
    shard_.samples.push_back(std::move(sample_));
    Next();
  }

  void Close() {
    if (!stream_) return;
    error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->socket().close(ignored);
  }

  Shard& shard_;
  const Run& run_;
  const std::chrono::milliseconds timeout_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  Sample sample_;
  std::string request_;
  Response res_;
};

constexpr size_t kMaxOutstanding = 4000;  // well under the fd limit run.sh leaves us

// Open loop: request i starts at start + i/rate whatever happened to earlier ones, so a slow
// server shows up as latency instead of silently lowering the offered rate. Shard k of n
// sends requests k, k+n, ...
class PacedLoop : public std::enable_shared_from_this<PacedLoop> {
 public:
  static void Start(Shard& shard, const Run& run, Clock::time_point start, uint64_t count,
                    int index, int shards) {
    std::shared_ptr<PacedLoop>(new PacedLoop(shard, run, start, count, shards))
        ->From(static_cast<uint64_t>(index));
  }

 private:
  PacedLoop(Shard& shard, const Run& run, Clock::time_point start, uint64_t count, int shards)
      : shard_(shard),
        run_(run),
        start_(start),
        count_(count),
        shards_(static_cast<uint64_t>(shards)),
        timer_(shard.ioc) {}

  Clock::time_point Due(uint64_t i) const {
    return start_ + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(i) / run_.config->rate));
  }

  // Sends every request already due from i on, then waits for the next one.
  void From(uint64_t i) {
    for (; i < count_; i += shards_) {
      if (Due(i) > Clock::now()) {
        timer_.expires_at(Due(i));
        timer_.async_wait([self = shared_from_this(), i](error_code) {
          self->Send(i);
          self->From(i + self->shards_);
        });
        return;
      }
      Send(i);
    }
  }

  void Send(uint64_t i) {
    if (shard_.outstanding >= kMaxOutstanding) {
      shard_.Error("client: too many requests in flight, skipped");
      return;
    }
    ++shard_.outstanding;
    const int64_t due_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Due(i).time_since_epoch()).count();
    NewConnectionRequest::Start(shard_, run_, run_.next_seq->fetch_add(1), due_ns,
                                [&shard = shard_](bool) { --shard.outstanding; });
  }

  Shard& shard_;
  const Run& run_;
  const Clock::time_point start_;
  const uint64_t count_;
  const uint64_t shards_;
  net::steady_timer timer_;
};

// ---------------------------------------------------------------------------------------
// The subscriber.

struct Seen {
  uint32_t count = 0;
  int64_t first_ns = 0;
  std::string event_id;   // of the first arrival
  bool other_id = false;  // a repeat carried a different event_id
};

// A real MQTT subscriber on the adapter's event topics. paho's callback only decodes and
// appends under a lock; the main thread folds arrivals into `seen` between and after phases.
class EventSink {
 public:
  explicit EventSink(const Config& config) : client_(Options(config)), config_(config) {
    client_.OnMessage([this](mqtt_client::Message m) { Arrived(std::move(m)); });
    client_.OnConnectionLost([this](const std::string&) { lost_ = true; });
  }
  ~EventSink() {
    stop_ = true;
    if (watcher_.joinable()) watcher_.join();
    client_.Close(500ms);
  }

  bool Start() {
    if (!client_.Connect().ok() || !client_.Subscribe(Filter(), 1).ok()) return false;
    // The session is persistent (clean_session=false): if the connection drops under load,
    // the broker queues for us and a reconnect collects, so a drop does not read as loss.
    watcher_ = std::thread([this] {
      while (!stop_) {
        if (lost_ && client_.Connect().ok() && client_.Subscribe(Filter(), 1).ok()) {
          lost_ = false;
          ++reconnects_;
        }
        std::this_thread::sleep_for(100ms);
      }
    });
    return true;
  }

  void Drain() {
    std::vector<Arrival> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(pending_);
    }
    for (Arrival& a : batch) {
      Seen& s = seen_[a.seq];
      if (s.count++ == 0) {
        s.first_ns = a.ns;
        s.event_id = std::move(a.event_id);
      } else if (a.event_id != s.event_id) {
        s.other_id = true;
      }
    }
  }

  const Seen* Find(uint64_t seq) const {
    auto it = seen_.find(seq);
    return it == seen_.end() ? nullptr : &it->second;
  }
  int reconnects() const { return reconnects_; }
  uint64_t undecodable() const { return undecodable_; }
  uint64_t untagged() const { return untagged_; }

 private:
  struct Arrival {
    uint64_t seq;
    int64_t ns;
    std::string event_id;
  };

  static mqtt_client::Options Options(const Config& config) {
    mqtt_client::Options o;
    o.mqtt.brokers = {config.broker};
    o.client_id =
        "phonebus-bench-" + std::to_string(::getpid()) + "-" + std::to_string(NowNs() % 1000000007);
    o.clean_session = false;
    return o;
  }
  std::string Filter() const { return "phonebus/v1/" + config_.site + "/device/+/event/+"; }

  void Arrived(mqtt_client::Message m) {
    const int64_t now = NowNs();
    v1::PhoneEvent event;
    if (!event.ParseFromString(m.payload)) {
      ++undecodable_;
      return;
    }
    for (const v1::Param& p : event.params()) {
      if (p.name() != "bench_seq") continue;
      uint64_t seq = 0;
      const auto [end, err] =
          std::from_chars(p.value().data(), p.value().data() + p.value().size(), seq);
      if (err != std::errc()) break;
      std::lock_guard lock(mu_);
      pending_.push_back({seq, now, event.event_id()});
      return;
    }
    ++untagged_;
  }

  mqtt_client::Client client_;
  const Config& config_;
  std::mutex mu_;
  std::vector<Arrival> pending_;
  std::unordered_map<uint64_t, Seen> seen_;
  std::atomic<bool> lost_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> reconnects_{0};
  std::atomic<uint64_t> undecodable_{0};
  std::atomic<uint64_t> untagged_{0};
  std::thread watcher_;
};

// ---------------------------------------------------------------------------------------
// CPU accounting, so the table shows who was busy (on a small machine, every process here
// shares the same cores).

struct Cpu {
  double adapter = -1, broker = -1, bench = -1;
};

Cpu CpuNow(const Config& config) {
  return {ProcessCpuSeconds(config.adapter_pid), ProcessCpuSeconds(config.broker_pid),
          SelfCpuSeconds()};
}

// ---------------------------------------------------------------------------------------
// Phases.

struct PhaseResult {
  std::string phase;
  Target target = Target::kAdapter;
  int64_t start_ns = 0;
  double wall_s = 0;
  std::vector<Sample> samples;
  std::map<std::string, uint64_t> errors;
  Cpu cpu_percent;
  double tail_s = -1;             // adapter: from the end of the load until the last 200 arrived
  size_t missing_after_tail = 0;  // answered 200, not arrived when the tail wait ended
};

// Runs one phase: `spawn(shard, index)` starts the shard's coroutines; each shard's
// io_context runs on its own thread until its coroutines are done.
template <typename Spawn>
PhaseResult RunShards(const Config& config, std::string phase, Target target, Spawn spawn) {
  std::cerr << "bench: " << phase << " -> " << Name(target) << " ..." << std::endl;
  std::vector<std::unique_ptr<Shard>> shards;
  for (int i = 0; i < config.threads; ++i) shards.push_back(std::make_unique<Shard>());
  const Cpu cpu0 = CpuNow(config);
  const auto t0 = Clock::now();
  const int64_t start_ns = NowNs();
  for (int i = 0; i < config.threads; ++i) spawn(*shards[i], i);
  std::vector<std::thread> workers;
  for (auto& shard : shards) workers.emplace_back([&s = *shard] { s.ioc.run(); });
  for (auto& w : workers) w.join();
  PhaseResult result;
  result.phase = std::move(phase);
  result.target = target;
  result.start_ns = start_ns;
  result.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const Cpu cpu1 = CpuNow(config);
  auto percent = [&](double a, double b) {
    return a < 0 || b < 0 ? -1 : 100.0 * (b - a) / result.wall_s;
  };
  result.cpu_percent = {percent(cpu0.adapter, cpu1.adapter), percent(cpu0.broker, cpu1.broker),
                        percent(cpu0.bench, cpu1.bench)};
  for (auto& shard : shards) {
    std::move(shard->samples.begin(), shard->samples.end(), std::back_inserter(result.samples));
    for (auto& [what, n] : shard->errors) result.errors[what] += n;
  }
  return result;
}

Run MakeRun(const Config& config, Target target, std::atomic<uint64_t>& next_seq,
            double duration_s) {
  const unsigned short port = target == Target::kNginx ? config.nginx_port : config.adapter_port;
  return Run{&config,
             target,
             tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
             "127.0.0.1:" + std::to_string(port),
             Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(duration_s)),
             &next_seq};
}

PhaseResult ClosedLoopPhase(const Config& config, const std::string& phase, Target target,
                            bool keep_alive, std::atomic<uint64_t>& next_seq) {
  const Run run = MakeRun(config, target, next_seq, config.duration_s);
  return RunShards(config, phase, target, [&](Shard& shard, int index) {
    for (int c = index; c < config.concurrency; c += config.threads) {
      if (keep_alive) {
        KeepAliveLoop::Start(shard, run);
      } else {
        CloseLoop(shard, run);
      }
    }
  });
}

PhaseResult LatencyPhase(const Config& config, const std::string& phase,
                         std::atomic<uint64_t>& next_seq) {
  const Run run = MakeRun(config, Target::kAdapter, next_seq, config.latency_duration_s);
  const auto count = static_cast<uint64_t>(std::llround(config.rate * config.latency_duration_s));
  const auto start = Clock::now() + 10ms;
  return RunShards(config, phase, Target::kAdapter, [&](Shard& shard, int index) {
    PacedLoop::Start(shard, run, start, count, index, config.threads);
  });
}

// Waits until every event the adapter answered 200 for has arrived. Under overload the
// adapter answers faster than it publishes and its outbox drains for seconds after the load;
// events still flowing are late, not lost, so the wait gives up only when nothing new has
// arrived for tail_s (or after tail_max_s in all, to keep the run bounded).
void WaitForTail(const Config& config, EventSink& sink, PhaseResult& result) {
  if (config.answers_only) return;
  auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  const int64_t load_end = NowNs();
  const auto hard_deadline = Clock::now() + seconds(config.tail_max_s);
  auto stall_deadline = Clock::now() + seconds(config.tail_s);
  size_t last_missing = SIZE_MAX;
  while (true) {
    sink.Drain();
    int64_t last = 0;
    size_t missing = 0;
    for (const Sample& s : result.samples) {
      if (!s.ok) continue;
      if (const Seen* seen = sink.Find(s.seq)) {
        last = std::max(last, seen->first_ns);
      } else {
        ++missing;
      }
    }
    result.tail_s = std::max<int64_t>(0, last - load_end) / 1e9;
    result.missing_after_tail = missing;
    if (missing == 0) return;
    const auto now = Clock::now();
    if (missing < last_missing) stall_deadline = now + seconds(config.tail_s);
    last_missing = missing;
    if (now >= stall_deadline || now >= hard_deadline) return;
    std::this_thread::sleep_for(50ms);
  }
}

// Sends one event to each target and waits for the adapter's to arrive, so a broken setup
// fails in seconds with a clear message instead of as a table full of losses.
bool Preflight(const Config& config, EventSink& sink, std::atomic<uint64_t>& next_seq) {
  std::vector<Target> targets = {Target::kAdapter};
  if (config.nginx_port != 0) targets.push_back(Target::kNginx);
  for (Target target : targets) {
    const Run run = MakeRun(config, target, next_seq, 0);
    Shard shard;
    const uint64_t seq = next_seq.fetch_add(1);
    NewConnectionRequest::Start(shard, run, seq, NowNs(), nullptr);
    shard.ioc.run();
    if (shard.samples.empty() || !shard.samples[0].ok) {
      std::cerr << "bench: preflight request to " << Name(target)
                << " failed: " << (shard.errors.empty() ? "no answer" : shard.errors.begin()->first)
                << "\n";
      return false;
    }
    if (target != Target::kAdapter || config.answers_only) continue;
    const auto deadline = Clock::now() + 10s;
    while (sink.Drain(), sink.Find(seq) == nullptr) {
      if (Clock::now() >= deadline) {
        std::cerr << "bench: preflight event never reached the subscriber on " << config.broker
                  << " (site " << config.site << ")\n";
        return false;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Report.

struct Row {
  std::vector<std::string> cells;
  std::string phase;
  Target target = Target::kAdapter;
  double events_per_s = 0;
  double delivered_per_s = 0;
};

struct Notes {
  std::vector<std::string> lines;
};

Row Summarize(const PhaseResult& r, const EventSink& sink, bool answers_only, Notes& notes) {
  uint64_t ok = 0, arrived = 0, errors = 0, lost = 0, dup = 0, unanswered_arrived = 0,
           id_mismatch = 0, dup_other_id = 0;
  std::vector<int64_t> http_ns, e2e_ns;
  int64_t last_arrival_ns = 0;
  for (const auto& [what, n] : r.errors) errors += n;
  for (const Sample& s : r.samples) {
    if (s.ok) {
      ++ok;
      http_ns.push_back(s.answer_ns - s.start_ns);
    }
    if (r.target != Target::kAdapter || answers_only) continue;
    const Seen* seen = sink.Find(s.seq);
    if (seen == nullptr) {
      if (s.ok) ++lost;
      continue;
    }
    ++arrived;
    last_arrival_ns = std::max(last_arrival_ns, seen->first_ns);
    if (seen->count > 1) ++dup;
    if (seen->other_id) ++dup_other_id;
    if (!s.ok) {
      ++unanswered_arrived;
      continue;
    }
    if (seen->event_id != s.event_id) ++id_mismatch;
    e2e_ns.push_back(seen->first_ns - s.start_ns);
  }
  // The adapter's columns about the bus; "-" when nothing was expected there.
  const bool adapter = r.target == Target::kAdapter && !answers_only;
  const std::string label = r.phase + " / " + Name(r.target);
  for (const auto& [what, n] : r.errors) {
    notes.lines.push_back(label + ": " + std::to_string(n) + " x " + what);
  }
  if (unanswered_arrived > 0) {
    notes.lines.push_back(label + ": " + std::to_string(unanswered_arrived) +
                          " events arrived whose request got no 200 (at-least-once: fine)");
  }
  if (id_mismatch > 0) {
    notes.lines.push_back(label + ": " + std::to_string(id_mismatch) +
                          " events arrived with an event_id other than the one answered");
  }
  if (dup_other_id > 0) {
    notes.lines.push_back(label + ": " + std::to_string(dup_other_id) +
                          " repeats carried a different event_id (consumers cannot dedupe)");
  }
  const double events_per_s = static_cast<double>(ok) / r.wall_s;
  // What the adapter got onto the bus per second, from the first request to the last arrival:
  // below events/s when publishing lags and the outbox holds the difference.
  const double delivered_per_s =
      arrived == 0 ? -1 : static_cast<double>(arrived) * 1e9 / (last_arrival_ns - r.start_ns);
  const double e2e_max =
      e2e_ns.empty() ? -1 : *std::max_element(e2e_ns.begin(), e2e_ns.end()) / 1e6;
  auto cpu = [](double v) { return v < 0 ? std::string("-") : Fixed(v, 0); };
  if (r.missing_after_tail > 0) {
    notes.lines.push_back(
        label + ": " + std::to_string(r.missing_after_tail) +
        " answered events had not arrived when the tail wait ended (lost counts only those "
        "still missing at the end of the run)");
  }
  Row row;
  row.phase = r.phase;
  row.target = r.target;
  row.events_per_s = events_per_s;
  row.delivered_per_s = delivered_per_s;
  row.cells = {r.phase,
               Name(r.target),
               Fixed(events_per_s, 0),
               std::to_string(ok),
               adapter ? std::to_string(arrived) : "-",
               adapter ? Fixed(delivered_per_s, 0) : "-",
               std::to_string(errors),
               adapter ? std::to_string(lost) : "-",
               adapter ? std::to_string(dup) : "-",
               Fixed(Percentile(http_ns, 0.50), 2),
               Fixed(Percentile(http_ns, 0.99), 2),
               Fixed(Percentile(e2e_ns, 0.50), 2),
               Fixed(Percentile(e2e_ns, 0.99), 2),
               Fixed(e2e_max, 2),
               !adapter ? "-" : (r.missing_after_tail > 0 ? ">" : "") + Fixed(r.tail_s, 2),
               (r.target == Target::kAdapter ? cpu(r.cpu_percent.adapter) : "-") + " / " +
                   cpu(r.cpu_percent.broker) + " / " + cpu(r.cpu_percent.bench)};
  return row;
}

double PeakRssMiB(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return -1;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "adapter_bench: throughput, latency and loss of phonebus-adapter vs. nginx "
      "(normally started by tests/bench/run.sh)"};
  Config config;
  app.add_option("--adapter-port", config.adapter_port, "Adapter port on 127.0.0.1")->required();
  app.add_option("--nginx-port", config.nginx_port, "nginx port on 127.0.0.1 (0: skip nginx)")
      ->capture_default_str();
  app.add_option("--mqtt-broker", config.broker, "Broker the adapter publishes to")
      ->capture_default_str();
  app.add_option("--site", config.site, "The adapter's --site")->capture_default_str();
  app.add_option("--path-prefix", config.path_prefix,
                 "Put before every Action URL path: /<the adapter's URL secret>");
  app.add_option("--adapter-pid", config.adapter_pid, "Adapter PID, for CPU and peak RSS");
  app.add_option("--broker-pid", config.broker_pid, "mosquitto PID, for CPU");
  app.add_option("--duration", config.duration_s, "Seconds per throughput run")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", config.warmup_s,
                 "Seconds of unreported new-connection load on each target first")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--latency-duration", config.latency_duration_s,
                 "Seconds of the fixed-rate latency run")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--tail-timeout", config.tail_s,
                 "After an adapter run, seconds without a new event before the missing ones "
                 "count as lost")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--tail-max", config.tail_max_s,
                 "Most seconds to wait after an adapter run while its events still arrive")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  app.add_flag("--answers-only", config.answers_only,
               "The adapter's broker is away: count its answers only, expect nothing on MQTT");
  app.add_option("--concurrency", config.concurrency, "Client loops in the throughput runs")
      ->capture_default_str()
      ->check(CLI::Range(1, 4000));
  app.add_option("--rate", config.rate, "Events/s offered in the latency run")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--devices", config.devices, "Fake phones the load cycles over")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--threads", config.threads, "Client threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--request-timeout-ms", config.request_timeout_ms,
                 "Client time limit for one request, connect included")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  app.add_option("--phases", config.phases, "Phases to run: close, keepalive, latency")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::IsMember({"close", "keepalive", "latency"}));
  CLI11_PARSE(app, argc, argv);
  log::SetService("adapter_bench");
  log::SetLevel(log::Level::kWarn);

  EventSink sink(config);
  if (!sink.Start()) {
    std::cerr << "bench: cannot subscribe on " << config.broker << "\n";
    return 1;
  }
  std::atomic<uint64_t> next_seq{1};
  if (!Preflight(config, sink, next_seq)) return 1;
  if (config.warmup_s > 0) {
    // Not reported: the first seconds of a fresh adapter (outbox files, allocator, page
    // cache) and of the client are not what a long-running adapter does.
    Config warmup = config;
    warmup.duration_s = config.warmup_s;
    if (config.nginx_port != 0) {
      ClosedLoopPhase(warmup, "warm-up", Target::kNginx, /*keep_alive=*/false, next_seq);
    }
    PhaseResult r = ClosedLoopPhase(warmup, "warm-up", Target::kAdapter, false, next_seq);
    WaitForTail(config, sink, r);
  }

  auto wants = [&](const char* phase) {
    return std::find(config.phases.begin(), config.phases.end(), phase) != config.phases.end();
  };
  std::vector<PhaseResult> results;
  const std::string c = " (c=" + std::to_string(config.concurrency) + ")";
  struct ClosedLoop {
    const char* key;
    std::string phase;
    bool keep_alive;
  };
  for (const auto& [key, phase, keep_alive] : std::vector<ClosedLoop>{
           {"close", "new conn" + c, false}, {"keepalive", "keep-alive" + c, true}}) {
    if (!wants(key)) continue;
    if (config.nginx_port != 0) {
      results.push_back(ClosedLoopPhase(config, phase, Target::kNginx, keep_alive, next_seq));
    }
    results.push_back(ClosedLoopPhase(config, phase, Target::kAdapter, keep_alive, next_seq));
    WaitForTail(config, sink, results.back());
  }
  if (wants("latency")) {
    results.push_back(
        LatencyPhase(config, "new conn at " + std::to_string(config.rate) + "/s", next_seq));
    WaitForTail(config, sink, results.back());
  }
  // Late repeats of earlier phases are counted too.
  std::this_thread::sleep_for(200ms);
  sink.Drain();

  std::cout << "adapter_bench: " << std::thread::hardware_concurrency() << " CPUs, "
            << config.concurrency << " client loops x " << Fixed(config.duration_s, 0)
            << " s per throughput run, latency run " << config.rate << "/s x "
            << Fixed(config.latency_duration_s, 0) << " s, " << config.devices << " devices, "
            << config.threads << " client thread(s)\n\n";
  Notes notes;
  std::vector<Row> rows;
  for (const PhaseResult& r : results) {
    rows.push_back(Summarize(r, sink, config.answers_only, notes));
  }
  std::vector<std::vector<std::string>> cells;
  for (const Row& row : rows) cells.push_back(row.cells);
  PrintTable({"phase", "target", "events/s", "ok", "arrived", "arrived/s", "errors", "lost", "dup",
              "http p50 ms", "http p99 ms", "e2e p50 ms", "e2e p99 ms", "e2e max ms", "tail s",
              "cpu % adapter/broker/bench"},
             cells, 2);
  std::cout << "\n";
  for (const Row& adapter : rows) {
    if (adapter.target != Target::kAdapter) continue;
    for (const Row& nginx : rows) {
      if (nginx.target != Target::kNginx || nginx.phase != adapter.phase) continue;
      if (nginx.events_per_s <= 0) continue;
      std::cout << "adapter/nginx, " << adapter.phase << ": "
                << Fixed(adapter.events_per_s / nginx.events_per_s, 3) << " answered, "
                << Fixed(adapter.delivered_per_s / nginx.events_per_s, 3) << " arrived on MQTT\n";
    }
  }
  if (config.adapter_pid > 0) {
    std::cout << "adapter peak RSS: " << Fixed(PeakRssMiB(config.adapter_pid), 1) << " MiB\n";
  }
  if (sink.reconnects() > 0) {
    notes.lines.push_back("subscriber reconnected " + std::to_string(sink.reconnects()) +
                          " times (persistent session: the broker queued meanwhile)");
  }
  if (sink.undecodable() > 0) {
    notes.lines.push_back(std::to_string(sink.undecodable()) + " payloads were no PhoneEvent");
  }
  if (sink.untagged() > 0) {
    notes.lines.push_back(std::to_string(sink.untagged()) + " events carried no bench_seq");
  }
  if (!notes.lines.empty()) {
    std::cout << "\nnotes:\n";
    for (const std::string& n : notes.lines) std::cout << "  " << n << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace phonebus::bench

int main(int argc, char** argv) { return phonebus::bench::Main(argc, argv); }
