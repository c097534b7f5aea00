// `phonebus watch`: subscribe to the bus and print what happens, one line per
// event, command result and (with --state) device state change.
//
// paho's callback threads only queue messages (Inbox); the main thread
// decodes, formats and prints them, and reconnects when the broker goes away.
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "args.h"
#include "exit_codes.h"
#include "mqtt_client.h"
#include "subcommands.h"
#include "uuid.h"
#include "watch_format.h"

namespace phonebus::cli {
namespace {

using namespace std::chrono_literals;
using mqtt_client::Message;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void OnStopSignal(int) { g_stop = 1; }

struct Watch {
  settings::Mqtt mqtt;
  std::string site;
  bool all_sites = false;
  std::vector<std::string> devices;
  std::vector<std::string> kinds;
  bool states = false;
  bool no_results = false;
  bool json = false;
  bool utc = false;
  bool verbose = false;
  int count = 0;
  double timeout_s = 0;
};

// Hand-over from paho's threads to the main thread.
class Inbox {
 public:
  void Push(Message m) {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(m));
    cv_.notify_one();
  }
  void Lost(const std::string& cause) {
    std::lock_guard lock(mu_);
    lost_ = cause.empty() ? "no reason given" : cause;
    cv_.notify_one();
  }
  // Waits up to `wait` for something to happen; `lost` is set when the
  // connection dropped since the last call.
  std::deque<Message> Take(std::chrono::milliseconds wait, std::optional<std::string>* lost) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [this] { return !messages_.empty() || lost_; });
    lost->swap(lost_);
    lost_.reset();
    return std::exchange(messages_, {});
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> messages_;
  std::optional<std::string> lost_;
};

// Decodes, formats and writes; remembers each device's state so that a state
// line says what changed.
class Printer {
 public:
  explicit Printer(const Watch& w) : w_(w), options_{w.utc} {}

  // Returns whether a line was written.
  bool Handle(const Message& m) {
    const auto topic = ParseTopic(m.topic);
    const auto now = Clock::now();
    switch (topic.kind) {
      case TopicInfo::Kind::kEvent: {
        v1::PhoneEvent event;
        if (!Decode(m.payload, m.content_type, &event)) return Undecodable(m);
        return Write(w_.json ? JsonLine(event) : FormatEvent(event, now, options_));
      }
      case TopicInfo::Kind::kResult: {
        v1::CommandResult result;
        if (!Decode(m.payload, m.content_type, &result)) return Undecodable(m);
        return Write(w_.json ? JsonLine(result) : FormatResult(result, now, options_));
      }
      case TopicInfo::Kind::kState: {
        v1::DeviceState state;
        if (!Decode(m.payload, m.content_type, &state)) return Undecodable(m);
        auto [it, first] = states_.try_emplace(m.topic);
        std::optional<std::string> line;
        // Retained states arrive on (re)subscribing: the baseline, not a change.
        if (!m.retained) {
          line = w_.json ? JsonLine(state)
                         : FormatState(first ? nullptr : &it->second, state, now, options_);
        }
        it->second = std::move(state);
        return line && Write(*line);
      }
      case TopicInfo::Kind::kOther:
        return false;
    }
    return false;
  }
  // stdout is gone (a closed pipe): nothing more to do.
  bool broken() const { return broken_; }

 private:
  bool Write(const std::string& line) {
    std::cout << line << '\n' << std::flush;  // a line at a time, also into pipes
    broken_ = !std::cout;
    return !broken_;
  }
  bool Undecodable(const Message& m) {
    std::cerr << "phonebus watch: cannot decode " << Sanitize(m.topic) << " (" << m.payload.size()
              << " bytes), skipped\n";
    return false;
  }

  const Watch& w_;
  FormatOptions options_;
  std::map<std::string, v1::DeviceState> states_;  // by topic
  bool broken_ = false;
};

absl::Status ConnectAndSubscribe(mqtt_client::Client& client,
                                 const std::vector<std::string>& filters) {
  if (auto s = client.Connect(); !s.ok()) return s;
  for (const auto& filter : filters) {
    if (auto s = client.Subscribe(filter, 1); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// "0.5", "30".
std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

std::string JoinComma(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

int Run(Watch& w) {
  try {
    settings::Finish(w.mqtt);
  } catch (const CLI::ValidationError& e) {
    return ReportUsage("watch", e.what());
  }
  if (w.all_sites) w.site.clear();
  if (w.site.find_first_of("+#/") != std::string::npos) {
    return ReportUsage("watch", "--site: must not contain '+', '#' or '/'");
  }
  WatchFilter filter;
  filter.site = w.site;
  filter.devices = w.devices;
  filter.kinds = w.kinds;
  filter.states = w.states;
  filter.results = !w.no_results;
  const auto subscriptions = Subscriptions(filter);

  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout shows as a failed write

  mqtt_client::Options options;
  options.mqtt = w.mqtt;
  options.client_id = "phonebus-watch-" + NewUuidV7().substr(24);
  options.clean_session = true;  // a watch shows what happens while it runs
  Inbox inbox;
  mqtt_client::Client client(options);
  client.OnMessage([&inbox](Message m) { inbox.Push(std::move(m)); });
  client.OnConnectionLost([&inbox](const std::string& cause) { inbox.Lost(cause); });
  if (auto s = ConnectAndSubscribe(client, subscriptions); !s.ok()) {
    return ReportError("watch", static_cast<int>(s.code()), std::string(s.message()));
  }
  if (w.verbose) {
    std::cerr << "phonebus watch: subscribed to " << JoinComma(subscriptions) << " on "
              << JoinComma(w.mqtt.brokers) << '\n';
  }

  using Steady = std::chrono::steady_clock;
  const auto deadline = w.timeout_s > 0
                            ? Steady::now() + std::chrono::duration_cast<Steady::duration>(
                                                  std::chrono::duration<double>(w.timeout_s))
                            : Steady::time_point::max();
  auto expired = [&] { return Steady::now() >= deadline; };
  Printer printer(w);
  int printed = 0;
  bool done = false;
  while (!done && !g_stop && !expired()) {
    std::optional<std::string> lost;
    for (const auto& m : inbox.Take(100ms, &lost)) {
      printed += printer.Handle(m);
      if (printer.broken() || (w.count > 0 && printed >= w.count)) {
        done = true;
        break;
      }
    }
    if (done || !lost) continue;
    std::cerr << "phonebus watch: lost the broker (" << *lost << "); reconnecting\n";
    while (!g_stop && !expired()) {
      if (ConnectAndSubscribe(client, subscriptions).ok()) {
        std::cerr << "phonebus watch: reconnected\n";
        break;
      }
      for (int i = 0; i < 10 && !g_stop; ++i) std::this_thread::sleep_for(100ms);
    }
  }
  client.Close(500ms);
  if (!done && w.count > 0 && expired()) {
    return ReportError("watch", static_cast<int>(absl::StatusCode::kDeadlineExceeded),
                       std::to_string(printed) + " of " + std::to_string(w.count) +
                           " lines within " + Seconds(w.timeout_s) + "s");
  }
  return kExitOk;
}

CLI::Validator KindValidator() {
  return CLI::Validator(
      [](std::string& kind) -> std::string {
        if (IsKnownKind(kind)) return {};
        return "unknown kind '" + kind + "'; known: " + JoinComma(KindNames());
      },
      "KIND");
}

}  // namespace

void AddWatchCommand(CLI::App& app, Subcommands& out) {
  auto w = std::make_shared<Watch>();
  auto* sub = app.add_subcommand(
      "watch", "Print the events, command results and state changes on the bus as they happen");
  settings::Add(*sub, "--site", w->site, "Only this site (default: every site)");
  sub->add_flag("--all-sites", w->all_sites, "Every site, even with PHONEBUS_SITE set");
  sub->add_option("--device", w->devices,
                  "Only this device id (MAC in any notation); repeat for more")
      ->delimiter(',');
  sub->add_option("--kind", w->kinds,
                  "Only events of this kind, as in topics (call_incoming, dnd_on, ...); repeat "
                  "for more")
      ->delimiter(',')
      ->check(KindValidator());
  sub->add_flag("--state", w->states,
                "Also print device state changes (the retained state at start is the baseline)");
  sub->add_flag("--no-results", w->no_results, "Leave out command results");
  sub->add_flag("--json", w->json,
                "One protobuf-JSON message per line: PhoneEvent (has event_id), CommandResult "
                "(has command) or DeviceState (has last_event_id)");
  sub->add_flag("--utc", w->utc, "Times in UTC instead of local time");
  sub->add_option("--count", w->count, "Exit after this many lines")->check(Positive());
  sub->add_option("--timeout", w->timeout_s,
                  "Exit after this many seconds; with --count, exit 5 if fewer lines came")
      ->check(Positive());
  sub->add_flag("-v,--verbose", w->verbose, "Say on stderr when subscribed");
  auto* mqtt = sub->add_option_group("MQTT broker");
  settings::AddMqtt(*mqtt, w->mqtt);
  // A subscriber reads either payload format and has nothing in flight.
  mqtt->remove_option(mqtt->get_option("--payload-format"));
  mqtt->remove_option(mqtt->get_option("--mqtt-max-inflight"));
  sub->footer(
      "Each line: time, site, device id, kind, then what matters for the kind:\n"
      "  12:01:05.123 hq 001565aabbcc call_incoming    +4930123456 \"Jürgen\" -> "
      "1001@pbx.example  call 42\n"
      "  12:01:07.501 hq 001565aabbcc call_terminated  1001@pbx.example <-> +4930123456  call 42  "
      "talked 0:02\n"
      "  12:01:08.002 hq 001565aabbcc command_result   Answer OK  phone 200  85ms  request "
      "0190...\n"
      "  12:01:08.010 hq 001565aabbcc state            1 call 42\n"
      "Example: phonebus watch --site hq --kind call_incoming --kind call_missed\n"
      "Exit codes: see phonebus --help.");
  out.push_back({sub, [w] { return Run(*w); }});
}

}  // namespace phonebus::cli
