// The phone simulator: many simulated Yealink, SNOM and softphone phones in one process, each
// with its own HTTP listener on 127.0.0.1, that answer commands the way the real firmware
// generations do and fire Action URLs at the phonebus adapter when their calls change. Used by
// integration tests in-process, by the benchmark and the README demo through the `phonesim`
// binary.
//
//   phonesim::Simulator sim;                      // its own io threads
//   auto phone = sim.Add({.id = "001565aabbcc", .family = phonesim::Family::kYealinkServlet,
//                         .auth = phonesim::AuthScheme::kDigest, .username = "admin",
//                         .password = "pw", .account = "1001@pbx.example",
//                         .adapter_url = adapter_url});
//   ... point the commander at 127.0.0.1:phone->port(), send a Dial ...
//   phone->WaitUntil([&] { return phone->Fired().size() >= 2; }, 5s);
//   phone->Requests()[0].command  // kind=dial number="+4930123456" ...
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "net.h"
#include "phone.h"
#include "phone_config.h"
#include "phone_records.h"

namespace phonebus::phonesim {

// A simulated phone as tests see it: cheap to copy, thread-safe, and readable after the
// simulator stopped (the records outlive the sockets).
class PhoneHandle {
 public:
  PhoneHandle() = default;
  explicit PhoneHandle(std::shared_ptr<Phone> phone) : phone_(std::move(phone)) {}

  // The configuration with defaults filled in (model, firmware, realm; the id normalised).
  const PhoneConfig& config() const { return phone_->config(); }
  const std::string& id() const { return phone_->config().id; }
  unsigned short port() const { return phone_->endpoint().port(); }
  tcp::endpoint endpoint() const { return phone_->endpoint(); }
  // The Action URL slots the phone loaded from its provisioning, in order.
  const std::vector<ActionUrlTemplate>& provisioned() const { return phone_->templates(); }

  std::vector<RequestRecord> Requests() const { return phone_->Requests(); }
  // Finished Action URLs (answered or failed), in the order fired.
  std::vector<FiredActionUrl> Fired() const { return phone_->Fired(); }
  // Every call, in the order it began, with its current state.
  std::vector<CallInfo> Calls() const { return phone_->Calls(); }
  Counters counters() const { return phone_->counters(); }
  bool dnd() const { return phone_->dnd(); }
  void ClearRecords() { phone_->ClearRecords(); }

  // True once `done` holds; false when `timeout` passed first.
  bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) const {
    return phone_->WaitUntil(done, timeout);
  }
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout) const;
  bool WaitForFired(size_t n, std::chrono::milliseconds timeout) const;

  // Someone calls this phone: it rings and fires its incoming-call Action URL.
  void Ring(std::string number, std::string display_name = {}) {
    phone_->Ring(std::move(number), std::move(display_name));
  }
  // Changes how the phone misbehaves from the next request on.
  void SetFailure(Failure failure, unsigned status = 503) { phone_->SetFailure(failure, status); }
  void SetResponseDelay(std::chrono::milliseconds delay) { phone_->SetResponseDelay(delay); }

  explicit operator bool() const { return phone_ != nullptr; }

 private:
  std::shared_ptr<Phone> phone_;
};

struct SimulatorOptions {
  int threads = 1;  // io threads shared by every phone
  // Records kept per phone (requests, Action URLs, calls); 0 keeps all. Long runs (the benchmark)
  // bound it; the oldest half goes when it is reached. Counters are never dropped.
  size_t max_records_per_phone = 0;
  Observers observers;  // e.g. the binary's --verbose log
};

class Simulator {
 public:
  explicit Simulator(SimulatorOptions options = {});
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Validates `config`, binds the phone's listener and starts it: it accepts requests when this
  // returns. InvalidArgument names the bad field; AlreadyExists for a second phone with the same
  // id; Unavailable when the port cannot be bound. Thread-safe.
  absl::StatusOr<PhoneHandle> Add(PhoneConfig config);

  std::vector<PhoneHandle> phones() const;
  std::optional<PhoneHandle> Find(std::string_view id) const;
  Counters Totals() const;

  // Closes every listener and connection, stops calls and Action URLs, joins the threads.
  // Handles stay readable. Idempotent.
  void Stop();

 private:
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  SimulatorOptions options_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Phone>> phones_;
  bool stopped_ = false;
};

}  // namespace phonebus::phonesim
