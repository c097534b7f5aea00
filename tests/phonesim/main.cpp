// phonesim: simulated phones for the benchmark, the README demo and manual testing. Reads a JSON
// phone list (or generates a fleet with --count), prints "<id> <port>" per phone once every one
// listens, and runs until SIGTERM or SIGINT. README.md beside this file has the details.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "phone_list.h"
#include "simulator.h"

namespace {

using namespace phonebus::phonesim;

// Exit codes scripts can rely on.
constexpr int kOk = 0;
constexpr int kFailed = 1;  // e.g. a port is taken
constexpr int kUsage = 2;   // bad flags or a bad phone list

// A thousand phones need a thousand listening sockets plus their connections.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void Print(const std::string& line) {
  // One write per line so lines from several phone threads never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "phonesim: simulated Yealink, SNOM and softphone phones that answer phonebus commands over "
      "HTTP and fire Action URLs at the phonebus adapter"};
  std::string config_path;
  int count = 0;
  std::string family_name;
  PhoneConfig first;
  std::string auth_name = "none";
  int64_t answer_delay_ms = first.timing.answer_delay.count();
  int64_t talk_time_ms = 0;
  int64_t ring_time_ms = 0;
  int64_t delay_ms = 0;
  int threads = 2;
  size_t max_records = 10000;
  bool verbose = false;

  app.add_option("--config", config_path, "JSON phone list: {\"phones\": [{...}, ...]}");
  auto* count_opt =
      app.add_option("--count", count, "Generate this many phones instead of reading --config")
          ->check(CLI::Range(1, 100000));
  app.add_option("--family", family_name, "Family of the generated phones: " + FamilyNames());
  app.add_option("--first-id", first.id,
                 "MAC of the first generated phone (default: the vendor's OUI then zeros); the "
                 "others count up");
  app.add_option("--first-port", first.port,
                 "Port of the first generated phone; the others count up (default 0: the OS "
                 "chooses each)");
  app.add_option("--first-account", first.account,
                 "SIP account of the first generated phone, e.g. 1001@pbx.example; a numeric user "
                 "part counts up");
  app.add_option("--bind", first.bind_address, "Address the generated phones listen on")
      ->capture_default_str();
  app.add_option("--auth", auth_name, "Generated phones: none, basic or digest")
      ->capture_default_str();
  app.add_option("--username", first.username, "Generated phones: web user");
  app.add_option("--password", first.password, "Generated phones: web password");
  app.add_option("--adapter-url", first.adapter_url,
                 "Generated phones: where Action URLs go, e.g. http://127.0.0.1:8080 (default: "
                 "none are fired)");
  app.add_option("--answer-delay-ms", answer_delay_ms,
                 "Generated phones: outgoing call to established")
      ->capture_default_str();
  app.add_option("--talk-time-ms", talk_time_ms,
                 "Generated phones: established to terminated (0: until hung up)")
      ->capture_default_str();
  app.add_option("--ring-time-ms", ring_time_ms,
                 "Generated phones: incoming call to missed (0: until answered)")
      ->capture_default_str();
  app.add_option("--delay-ms", delay_ms, "Generated phones: delay before every answer")
      ->capture_default_str();
  app.add_option("--threads", threads, "I/O threads shared by all phones")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--max-records", max_records,
                 "Requests, Action URLs and calls remembered per phone (0: all)")
      ->capture_default_str();
  app.add_flag("--verbose,-v", verbose, "Log every request and Action URL to stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kOk : kUsage;
  }

  std::vector<PhoneConfig> phones;
  if (count_opt->count() > 0) {
    if (!config_path.empty()) {
      std::cerr << "phonesim: give either --config or --count, not both\n";
      return kUsage;
    }
    const auto family = ParseFamily(family_name);
    if (!family) {
      std::cerr << "phonesim: --family: '" << family_name << "' is not one of " << FamilyNames()
                << "\n";
      return kUsage;
    }
    const auto auth = ParseAuthScheme(auth_name);
    if (!auth) {
      std::cerr << "phonesim: --auth: '" << auth_name << "' is not one of none, basic, digest\n";
      return kUsage;
    }
    first.family = *family;
    first.auth = *auth;
    if (first.id.empty()) first.id = DefaultFirstId(*family);
    first.timing.answer_delay = std::chrono::milliseconds(answer_delay_ms);
    first.timing.talk_time = std::chrono::milliseconds(talk_time_ms);
    first.timing.ring_time = std::chrono::milliseconds(ring_time_ms);
    first.response_delay = std::chrono::milliseconds(delay_ms);
    if (auto status = Validate(first); !status.ok()) {
      std::cerr << "phonesim: " << status.message() << "\n";
      return kUsage;
    }
    auto generated = GeneratePhones(first, count);
    if (!generated.ok()) {
      std::cerr << "phonesim: " << generated.status().message() << "\n";
      return kUsage;
    }
    phones = std::move(*generated);
  } else if (!config_path.empty()) {
    auto loaded = LoadPhoneList(config_path);
    if (!loaded.ok()) {
      std::cerr << "phonesim: " << loaded.status().message() << "\n";
      return kUsage;
    }
    phones = std::move(*loaded);
  } else {
    std::cerr << "phonesim: give --config FILE or --count N --family F (--help lists the rest)\n";
    return kUsage;
  }

  // Signals are taken by sigwait below, so block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  RaiseFileLimit();

  SimulatorOptions options;
  options.threads = threads;
  options.max_records_per_phone = max_records;
  if (verbose) {
    options.observers.on_request = [](const PhoneConfig& phone, const RequestRecord& record) {
      Print(phone.id + " <- " + record.source + " " + Describe(record) + "\n");
    };
    options.observers.on_action_url = [](const PhoneConfig& phone, const FiredActionUrl& fired) {
      Print(phone.id + " -> " + fired.event + " " + fired.url + " -> " +
            (fired.status != 0 ? std::to_string(fired.status) : fired.error) + "\n");
    };
  }
  Simulator sim(options);
  std::string ready;
  for (size_t i = 0; i < phones.size(); ++i) {
    auto phone = sim.Add(phones[i]);
    if (!phone.ok()) {
      std::cerr << "phonesim: phones[" << i << "] (" << phones[i].id
                << "): " << phone.status().message() << "\n";
      sim.Stop();
      return phone.status().code() == absl::StatusCode::kUnavailable ? kFailed : kUsage;
    }
    ready.append(phone->id()).append(" ").append(std::to_string(phone->port())).append("\n");
  }
  std::fwrite(ready.data(), 1, ready.size(), stdout);
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  sim.Stop();
  const Counters total = sim.Totals();
  std::cerr << "phonesim: stopped on signal " << signal << ": " << total.requests << " requests, "
            << total.commands << " commands, " << total.calls << " calls, " << total.action_urls_ok
            << " Action URLs answered 2xx, " << total.action_urls_failed << " failed\n";
  return kOk;
}
