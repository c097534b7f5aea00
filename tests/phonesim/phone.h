// One simulated phone: its web server (listener, login, allow-list, failure modes), what it does
// with each command (a small call model: dialing, ringing, talking, held, DND), and the Action
// URLs it fires when its calls change, filled from its provisioning. Everything that changes
// runs on the phone's own strand; the records are readable from any thread.
// Tests and tools use it through Simulator and PhoneHandle (simulator.h).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "net.h"
#include "phone_config.h"
#include "phone_listener.h"
#include "phone_provisioning.h"
#include "phone_records.h"

namespace phonebus::phonesim {

class ActionUrlSender;

// Told of every request and every finished Action URL; called on the phone's strand.
struct Observers {
  std::function<void(const PhoneConfig&, const RequestRecord&)> on_request;
  std::function<void(const PhoneConfig&, const FiredActionUrl&)> on_action_url;
};

class Phone : public std::enable_shared_from_this<Phone> {
 public:
  // Validates `config`, loads its provisioning and binds its listener (not yet accepting).
  static absl::StatusOr<std::shared_ptr<Phone>> Create(net::io_context& ioc, PhoneConfig config,
                                                       Observers observers, size_t max_records);
  ~Phone();

  void Start();
  // Stops listening, ends nothing gracefully: a phone switched off. Thread-safe.
  void Stop();
  // Destroys every socket and timer. Only while no thread runs the io_context (Simulator::Stop),
  // so the records stay readable after the io_context is gone.
  void Release();

  const PhoneConfig& config() const { return config_; }
  tcp::endpoint endpoint() const { return endpoint_; }
  const std::vector<ActionUrlTemplate>& templates() const { return templates_; }

  std::vector<RequestRecord> Requests() const;
  std::vector<FiredActionUrl> Fired() const;
  std::vector<CallInfo> Calls() const;
  Counters counters() const;
  bool dnd() const;
  void ClearRecords();

  // Polls `done` until it holds or `timeout` passes, woken early by every change.
  bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) const;

  // An incoming call from `number` starts ringing (fires the incoming Action URL).
  void Ring(std::string number, std::string display_name);
  void SetFailure(Failure failure, unsigned status);
  void SetResponseDelay(std::chrono::milliseconds delay);

 private:
  struct Call;
  // What happens to a call or the device; which provisioning slot fires for it is Slot().
  enum class Event {
    kIncoming,
    kOutgoing,
    kEstablished,
    kTerminated,
    kMissed,
    kRejected,
    kHold,
    kUnhold,
    kMute,
    kUnmute,
    kDndOn,
    kDndOff,
    kBlindTransfer,
    kTransferFinished,
  };
  using Strand = net::strand<net::io_context::executor_type>;

  Phone(net::io_context& ioc, PhoneConfig config, Observers observers, size_t max_records);

  // All of these run on strand_.
  void HandleRequest(ListenerRequest request, Respond respond);
  ListenerResponse Execute(const Command& command, RequestRecord& record);
  std::string Apply(const Command& command);
  std::string PressKey(const std::string& key);
  std::shared_ptr<Call> PlaceCall(std::string number, std::string account);
  void Establish(const std::shared_ptr<Call>& call);
  void EndCall(const std::shared_ptr<Call>& call, std::string reason, Event event);
  void StartRinging(std::string number, std::string display_name);
  void SetHold(const std::shared_ptr<Call>& call, bool held);
  void SetDnd(bool on);
  std::string Transfer(const std::shared_ptr<Call>& call, const std::string& number);
  std::shared_ptr<Call> Current() const;
  std::shared_ptr<Call> FindCall(std::string_view id) const;
  std::string NewCallId();
  void Arm(const std::shared_ptr<Call>& call, std::chrono::milliseconds delay,
           std::function<void()> fire);
  void Disarm(Call& call);
  std::string_view Slot(Event event) const;
  void Fire(Event event, const Call* call);
  Variables VariablesFor(Event event, const Call* call) const;
  void Publish(const Call& call, bool is_new = false);
  void Record(RequestRecord record);
  void RecordFired(FiredActionUrl fired);

  net::io_context& ioc_;
  const PhoneConfig config_;
  const Observers observers_;
  const size_t max_records_;
  std::vector<ActionUrlTemplate> templates_;
  std::map<std::string, std::string, std::less<>> template_by_event_;
  tcp::endpoint endpoint_;

  std::vector<std::string> allowed_ips_;  // normalised; empty: any

  // Strand-only state; reset by Release. The strand is one of them: it must not outlive the
  // io_context, and a PhoneHandle may.
  std::optional<Strand> strand_;
  std::unique_ptr<Listener> listener_;
  std::shared_ptr<ActionUrlSender> sender_;
  std::unique_ptr<WebLogin> login_;
  std::vector<std::shared_ptr<Call>> calls_;  // not yet ended, oldest first
  uint64_t call_counter_ = 0;
  std::string dial_buffer_;  // digits pressed, not yet dialed
  bool collecting_ = false;  // off hook or digits pressed: OK dials the buffer
  bool transferring_ = false;
  std::string last_dialed_;
  std::mt19937_64 random_;

  // Shared with readers.
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  Failure failure_;
  unsigned failure_status_;
  std::chrono::milliseconds response_delay_;
  bool dnd_ = false;
  bool released_ = false;
  std::vector<RequestRecord> requests_;
  std::vector<FiredActionUrl> fired_;
  std::map<std::string, CallInfo> call_log_;  // every call, by id
  std::vector<std::string> call_order_;
  Counters counters_;
};

}  // namespace phonebus::phonesim
