#include "simulator.h"

#include "absl/status/status.h"

namespace phonebus::phonesim {

bool PhoneHandle::WaitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  return WaitUntil([&] { return phone_->counters().requests >= n; }, timeout);
}

bool PhoneHandle::WaitForFired(size_t n, std::chrono::milliseconds timeout) const {
  return WaitUntil(
      [&] {
        const Counters c = phone_->counters();
        return c.action_urls_ok + c.action_urls_failed >= n;
      },
      timeout);
}

Simulator::Simulator(SimulatorOptions options)
    : work_(net::make_work_guard(ioc_)), options_(std::move(options)) {
  const int threads = std::max(1, options_.threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

Simulator::~Simulator() { Stop(); }

absl::StatusOr<PhoneHandle> Simulator::Add(PhoneConfig config) {
  std::lock_guard lock(mu_);
  if (stopped_) return absl::FailedPreconditionError("the simulator has stopped");
  if (!config.id.empty()) {
    const PhoneConfig normalised = WithDefaults(config);
    for (const auto& phone : phones_) {
      if (phone->config().id == normalised.id) {
        return absl::AlreadyExistsError("id: a phone named " + normalised.id + " already exists");
      }
    }
  }
  auto phone =
      Phone::Create(ioc_, std::move(config), options_.observers, options_.max_records_per_phone);
  if (!phone.ok()) return phone.status();
  (*phone)->Start();
  phones_.push_back(*phone);
  return PhoneHandle(*phone);
}

std::vector<PhoneHandle> Simulator::phones() const {
  std::lock_guard lock(mu_);
  std::vector<PhoneHandle> out;
  out.reserve(phones_.size());
  for (const auto& phone : phones_) out.emplace_back(phone);
  return out;
}

std::optional<PhoneHandle> Simulator::Find(std::string_view id) const {
  std::lock_guard lock(mu_);
  for (const auto& phone : phones_) {
    if (phone->config().id == id) return PhoneHandle(phone);
  }
  return std::nullopt;
}

Counters Simulator::Totals() const {
  std::lock_guard lock(mu_);
  Counters total;
  for (const auto& phone : phones_) total += phone->counters();
  return total;
}

void Simulator::Stop() {
  std::vector<std::shared_ptr<Phone>> phones;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    phones = phones_;
  }
  for (const auto& phone : phones) phone->Stop();
  work_.reset();
  ioc_.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  // No thread runs the io_context now: sockets, timers and strands can go, before it does.
  for (const auto& phone : phones) phone->Release();
}

}  // namespace phonebus::phonesim
