#include "phone.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "absl/status/status.h"
#include "action_url_sender.h"

namespace phonebus::phonesim {

struct Phone::Call {
  explicit Call(const Strand& strand) : timer(strand) {}
  CallInfo info;
  uint64_t index = 0;
  net::steady_timer timer;
  // Bumped on every (re)arm and disarm, so a wait that completed just before being cancelled
  // cannot fire a stale transition.
  uint64_t timer_generation = 0;
};

namespace {

using std::chrono::system_clock;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::pair<std::string, std::string> SplitAccount(std::string_view account) {
  const auto at = account.find('@');
  if (at == std::string_view::npos) return {std::string(account), {}};
  return {std::string(account.substr(0, at)), std::string(account.substr(at + 1))};
}

// "2323", "12#34", "+4930123456", "2323@1" (dial string on line 1) or "@1" (line only).
bool IsDialString(std::string_view key, std::string* digits) {
  const auto at = key.find('@');
  const std::string_view number = key.substr(0, at);
  if (at != std::string_view::npos) {
    const std::string_view line = key.substr(at + 1);
    if (line.empty() || !std::all_of(line.begin(), line.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return false;
    }
  } else if (number.empty()) {
    return false;
  }
  for (const char c : number) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '*' && c != '#' && c != '+') {
      return false;
    }
  }
  *digits = std::string(number);
  return true;
}

// The softphone's time format: local time with dashes in the time part.
std::string SoftphoneTime(system_clock::time_point t) {
  const std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H-%M-%S", &tm);
  return buf;
}

std::string Hex(uint64_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, value >>= 4) out[static_cast<size_t>(i)] = kHex[value & 15];
  return out;
}

std::string UserAgent(const PhoneConfig& config) {
  switch (VendorOf(config.family)) {
    case Vendor::kYealink: {
      std::string mac;
      for (size_t i = 0; i < config.id.size(); i += 2) {
        if (!mac.empty()) mac.push_back(':');
        mac.append(config.id.substr(i, 2));
      }
      return "Yealink SIP-" + config.model + " " + config.firmware + " " + mac;
    }
    case Vendor::kSnom:
      return "snom" + config.model + "-SIP " + config.firmware;
    case Vendor::kSoftphone:
      return config.model + "/" + config.firmware;
  }
  return "phonesim";
}

// Records dropped at once when a bounded list is full: the oldest half, at least one.
size_t EvictionCount(size_t max_records) { return std::max<size_t>(1, max_records / 2); }

unsigned HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    default:
      return 500;
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<Phone>> Phone::Create(net::io_context& ioc, PhoneConfig config,
                                                     Observers observers, size_t max_records) {
  if (auto status = Validate(config); !status.ok()) return status;
  config = WithDefaults(std::move(config));
  std::shared_ptr<Phone> phone(
      new Phone(ioc, std::move(config), std::move(observers), max_records));
  const PhoneConfig& c = phone->config_;

  auto templates = ParseProvisioning(VendorOf(c.family), ProvisioningFor(c));
  if (!templates.ok()) {
    return absl::InvalidArgumentError("provisioning: " + std::string(templates.status().message()));
  }
  phone->templates_ = std::move(*templates);
  for (const auto& t : phone->templates_) phone->template_by_event_.emplace(t.event, t.url);

  for (const auto& ip : c.allowed_ips) {
    if (ip == "any") {
      phone->allowed_ips_.clear();
      break;
    }
    phone->allowed_ips_.push_back(net::ip::make_address(ip).to_string());
  }

  const tcp::endpoint endpoint(net::ip::make_address(c.bind_address), c.port);
  std::weak_ptr<Phone> weak = phone;
  auto listener = Listener::Open(
      ioc, endpoint, "phonesim/" + std::string(FamilyName(c.family)),
      [weak](ListenerRequest request, Respond respond) {
        auto self = weak.lock();
        if (!self) return;
        std::lock_guard lock(self->mu_);
        if (self->released_) return;
        net::post(*self->strand_,
                  [self, request = std::move(request), respond = std::move(respond)]() mutable {
                    self->HandleRequest(std::move(request), std::move(respond));
                  });
      });
  if (!listener.ok()) return listener.status();
  phone->listener_ = std::move(*listener);
  phone->endpoint_ = phone->listener_->local_endpoint();
  phone->sender_ =
      std::make_shared<ActionUrlSender>(*phone->strand_, UserAgent(c), c.action_url_timeout);
  return phone;
}

Phone::Phone(net::io_context& ioc, PhoneConfig config, Observers observers, size_t max_records)
    : ioc_(ioc),
      config_(std::move(config)),
      observers_(std::move(observers)),
      max_records_(max_records),
      strand_(net::make_strand(ioc)),
      login_(std::make_unique<WebLogin>(config_)),
      random_(std::random_device{}()),
      failure_(config_.failure),
      failure_status_(config_.failure_status),
      response_delay_(config_.response_delay) {}

Phone::~Phone() = default;

void Phone::Start() { listener_->Start(); }

void Phone::Stop() {
  std::lock_guard lock(mu_);
  if (released_) return;
  listener_->Stop();
  net::post(*strand_, [self = shared_from_this()] {
    for (auto& call : self->calls_) self->Disarm(*call);
    self->sender_->Stop();
  });
}

void Phone::Release() {
  std::lock_guard lock(mu_);
  if (released_) return;
  released_ = true;
  listener_.reset();
  if (sender_) sender_->Stop();
  sender_.reset();
  for (auto& call : calls_) Disarm(*call);
  calls_.clear();
  strand_.reset();
  changed_.notify_all();
}

// ---- Records ---------------------------------------------------------------------------------

std::vector<RequestRecord> Phone::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<FiredActionUrl> Phone::Fired() const {
  std::lock_guard lock(mu_);
  return fired_;
}

std::vector<CallInfo> Phone::Calls() const {
  std::lock_guard lock(mu_);
  std::vector<CallInfo> out;
  out.reserve(call_order_.size());
  for (const auto& id : call_order_) out.push_back(call_log_.at(id));
  return out;
}

Counters Phone::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

bool Phone::dnd() const {
  std::lock_guard lock(mu_);
  return dnd_;
}

void Phone::ClearRecords() {
  std::lock_guard lock(mu_);
  requests_.clear();
  fired_.clear();
  call_log_.clear();
  call_order_.clear();
  counters_ = {};
}

bool Phone::WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    std::unique_lock lock(mu_);
    // Woken by every change; the short bound covers a change between done() and the wait.
    changed_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(20)));
  }
  return true;
}

void Phone::Record(RequestRecord record) {
  {
    std::lock_guard lock(mu_);
    Counters& c = counters_;
    ++c.requests;
    if (record.status == 0) {
      ++c.unanswered;
    } else {
      ++c.answered;
    }
    if (record.status >= 200 && record.status < 400) ++c.succeeded;
    if (record.status == 401) ++c.unauthorized;
    if (record.status == 403) ++c.forbidden;
    if (record.status == 404) ++c.not_found;
    if (record.auth == AuthOutcome::kRejected) ++c.failed_logins;
    c.lockouts = static_cast<uint64_t>(login_->lockouts());
    if (record.command && record.command->kind != CommandKind::kWebPage) ++c.commands;
    if (max_records_ > 0 && requests_.size() >= max_records_) {
      requests_.erase(requests_.begin(),
                      requests_.begin() + static_cast<long>(EvictionCount(max_records_)));
    }
    requests_.push_back(record);
    changed_.notify_all();
  }
  if (observers_.on_request) observers_.on_request(config_, record);
}

void Phone::RecordFired(FiredActionUrl fired) {
  {
    std::lock_guard lock(mu_);
    if (fired.status >= 200 && fired.status < 300) {
      ++counters_.action_urls_ok;
    } else {
      ++counters_.action_urls_failed;
    }
    if (max_records_ > 0 && fired_.size() >= max_records_) {
      fired_.erase(fired_.begin(), fired_.begin() + static_cast<long>(EvictionCount(max_records_)));
    }
    fired_.push_back(fired);
    changed_.notify_all();
  }
  if (observers_.on_action_url) observers_.on_action_url(config_, fired);
}

void Phone::Publish(const Call& call, bool is_new) {
  std::lock_guard lock(mu_);
  if (is_new) ++counters_.calls;  // not on insertion: an evicted call still going comes back
  auto [it, inserted] = call_log_.insert_or_assign(call.info.id, call.info);
  if (inserted) {
    call_order_.push_back(call.info.id);
    if (max_records_ > 0 && call_order_.size() > max_records_) {
      const auto drop = static_cast<long>(EvictionCount(max_records_));
      for (auto i = call_order_.begin(); i != call_order_.begin() + drop; ++i) call_log_.erase(*i);
      call_order_.erase(call_order_.begin(), call_order_.begin() + drop);
    }
  }
  changed_.notify_all();
}

// ---- Test controls ---------------------------------------------------------------------------

void Phone::Ring(std::string number, std::string display_name) {
  std::lock_guard lock(mu_);
  if (released_) return;
  net::post(*strand_, [self = shared_from_this(), number = std::move(number),
                       display_name = std::move(display_name)]() mutable {
    self->StartRinging(std::move(number), std::move(display_name));
  });
}

void Phone::SetFailure(Failure failure, unsigned status) {
  std::lock_guard lock(mu_);
  failure_ = failure;
  failure_status_ = status;
}

void Phone::SetResponseDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  response_delay_ = delay;
}

// ---- The web server --------------------------------------------------------------------------

void Phone::HandleRequest(ListenerRequest request, Respond respond) {
  RequestRecord record;
  record.time = system_clock::now();
  record.source = request.peer_ip;
  record.method = request.method;
  record.target = request.target;

  Failure failure;
  unsigned failure_status;
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mu_);
    failure = failure_;
    failure_status = failure_status_;
    delay = response_delay_;
  }

  ListenerResponse response;
  const auto refuse = [&](unsigned status, std::string why) {
    response.status = status;
    response.content_type = "text/plain";
    response.body = why + "\n";
    record.note = std::move(why);
  };
  const bool source_allowed =
      allowed_ips_.empty() ||
      std::find(allowed_ips_.begin(), allowed_ips_.end(), request.peer_ip) != allowed_ips_.end();

  if (failure == Failure::kHang) {
    response.action = ListenerResponse::Action::kHang;
    record.note = "failure mode: hang";
  } else if (failure == Failure::kClose) {
    response.action = ListenerResponse::Action::kClose;
    record.note = "failure mode: close";
  } else if (failure == Failure::kStatus) {
    refuse(failure_status, "failure mode: status " + std::to_string(failure_status));
  } else if (request.method != "GET") {
    refuse(405, "only GET is served");
  } else if (!source_allowed) {
    // Yealink checks features.action_uri_limit_ip before it looks at credentials.
    refuse(403, "remote control is not allowed from " + request.peer_ip);
  } else {
    auto login = login_->Check(request.method, request.target, request.authorization,
                               std::chrono::steady_clock::now());
    record.auth = login.outcome;
    record.user = login.user;
    switch (login.outcome) {
      case AuthOutcome::kLockedOut:
        refuse(403,
               login.reason + "; try again in " + std::to_string(login.locked_for.count()) + " s");
        break;
      case AuthOutcome::kMissing:
      case AuthOutcome::kStale:
      case AuthOutcome::kRejected:
        refuse(401, login.reason);
        response.headers.emplace_back("WWW-Authenticate", login.www_authenticate);
        break;
      case AuthOutcome::kNotRequired:
      case AuthOutcome::kAccepted:
      case AuthOutcome::kNotChecked: {
        auto command = DecodeCommand(config_.family, request.target);
        if (!command.ok()) {
          refuse(HttpStatusFor(command.status()), std::string(command.status().message()));
        } else {
          response = Execute(*command, record);
        }
        break;
      }
    }
  }
  record.status = response.action == ListenerResponse::Action::kAnswer ? response.status : 0;
  Record(std::move(record));

  if (delay.count() > 0 && response.action != ListenerResponse::Action::kHang) {
    // The command took effect already; only the answer is late, as with a slow phone, so a
    // client that gives up cannot tell whether it happened.
    auto timer = std::make_shared<net::steady_timer>(*strand_, delay);
    timer->async_wait([timer, respond = std::move(respond),
                       response = std::move(response)](beast::error_code ec) mutable {
      if (!ec) respond(std::move(response));
    });
    return;
  }
  respond(std::move(response));
}

ListenerResponse Phone::Execute(const Command& command, RequestRecord& record) {
  record.command = command;
  record.note = Apply(command);
  ListenerResponse response;
  response.status = 200;
  switch (VendorOf(config_.family)) {
    case Vendor::kYealink:
      response.body = "<html><body>OK</body></html>\n";
      break;
    case Vendor::kSnom:
      if (command.kind == CommandKind::kWebPage) {
        response.body = "<html><head><title>snom " + config_.model +
                        "</title></head><body>Status</body></html>\n";
      } else {
        // SNOM's command.htm answers with a redirect to its status page.
        response.status = 302;
        response.headers.emplace_back("Location", "/index.htm");
        response.body = "<html><body><a href=\"/index.htm\">index.htm</a></body></html>\n";
      }
      break;
    case Vendor::kSoftphone:
      response.content_type = "text/plain";
      response.body = "OK\n";
      break;
  }
  return response;
}

// ---- The call model --------------------------------------------------------------------------

std::string Phone::Apply(const Command& command) {
  switch (command.kind) {
    case CommandKind::kDial: {
      const auto call =
          PlaceCall(command.number, command.account.empty() ? config_.account : command.account);
      return "placed call " + call->info.id + " to " + command.number;
    }
    case CommandKind::kKeys: {
      std::string notes;
      for (const auto& key : command.keys) {
        const std::string note = PressKey(key);
        if (note.empty()) continue;
        if (!notes.empty()) notes.append("; ");
        notes.append(note);
      }
      return notes;
    }
    case CommandKind::kDtmf:
      return Current() != nullptr ? "sent DTMF" : "DTMF without a call";
    case CommandKind::kReleaseAllCalls: {
      const auto calls = calls_;
      for (const auto& call : calls) EndCall(call, "released", Event::kTerminated);
      return "released " + std::to_string(calls.size()) + " calls";
    }
    case CommandKind::kWebPage:
      return {};
  }
  return {};
}

// What a key does on this phone, in the vendor's key names (PROTOCOLS.md 2.1, 2.2). Keys
// without an effect in this model (volume, menus, soft keys) are accepted and do nothing.
std::string Phone::PressKey(const std::string& key) {
  const std::string k = Upper(key);
  const bool yealink = VendorOf(config_.family) == Vendor::kYealink;
  const auto ringing = [&]() -> std::shared_ptr<Call> {
    for (auto it = calls_.rbegin(); it != calls_.rend(); ++it) {
      if ((*it)->info.state == CallState::kRinging) return *it;
    }
    return nullptr;
  };

  if (yealink) {
    // Call-specific forms of newer firmware: ASW:<call_id>, CANCEL:<call_id>, HOLD:<call_id>.
    const auto colon = k.find(':');
    if (colon != std::string::npos) {
      const std::string verb = k.substr(0, colon);
      const auto call = FindCall(std::string_view(key).substr(colon + 1));
      if (verb == "ASW" || verb == "CANCEL" || verb == "HOLD") {
        if (call == nullptr) return "no call " + key.substr(colon + 1);
        if (verb == "ASW" && call->info.state == CallState::kRinging) {
          Establish(call);
          return "answered call " + call->info.id;
        }
        if (verb == "CANCEL") {
          const bool was_ringing = call->info.state == CallState::kRinging;
          EndCall(call, was_ringing ? "rejected" : "hangup",
                  was_ringing ? Event::kRejected : Event::kTerminated);
          return (was_ringing ? "rejected call " : "ended call ") + call->info.id;
        }
        if (verb == "HOLD" && call->info.state == CallState::kConnected) {
          SetHold(call, true);
          return "held call " + call->info.id;
        }
        return "call " + call->info.id + " is " + std::string(CallStateName(call->info.state));
      }
    }
  }

  std::string digits;
  if (yealink && k == "POUND") digits = "#";
  if (!digits.empty() || IsDialString(key, &digits)) {
    dial_buffer_ += digits;
    if (!transferring_) collecting_ = true;
    return {};
  }

  const bool off_hook = yealink ? (k == "F_HANDFREE" || k == "SPEAKER" || k == "HEADSET" ||
                                   k == "F_HEADSET" || k == "OFFHOOK")
                                : (k == "OFFHOOK" || k == "SPEAKER" || k == "HEADSET");
  const bool confirm = yealink ? (k == "OK" || k == "ENTER") : (k == "ENTER" || k == "OK");
  const bool end = yealink ? k == "X" : (k == "CANCEL" || k == "ONHOOK" || k == "DISCONNECT");
  const bool hold = yealink ? k == "F_HOLD" : (k == "F_HOLD" || k == "F_R");
  const bool transfer = yealink ? k == "F_TRANSFER" : k == "TRANSFER";
  const auto current = Current();

  if (off_hook) {
    // Lifting the handset (or pressing the speaker key) answers a ringing call.
    if (const auto call = ringing()) {
      Establish(call);
      return "answered call " + call->info.id;
    }
    collecting_ = true;
    return "off hook";
  }
  if (confirm || (transfer && transferring_)) {
    if (transferring_ && !dial_buffer_.empty() && current != nullptr) {
      const std::string number = std::exchange(dial_buffer_, {});
      transferring_ = false;
      return Transfer(current, number);
    }
    if (confirm && collecting_ && !dial_buffer_.empty()) {
      const auto call = PlaceCall(dial_buffer_, config_.account);
      return "placed call " + call->info.id + " to " + call->info.number;
    }
    if (confirm) {
      if (const auto call = ringing()) {
        Establish(call);
        return "answered call " + call->info.id;
      }
    }
    return {};
  }
  if (end) {
    if (transferring_) {
      transferring_ = false;
      dial_buffer_.clear();
      return "transfer cancelled";
    }
    if (!dial_buffer_.empty() || (collecting_ && current == nullptr)) {
      collecting_ = false;
      dial_buffer_.clear();
      return "dialing abandoned";
    }
    if (current == nullptr) return {};
    if (current->info.state == CallState::kRinging) {
      EndCall(current, "rejected", Event::kRejected);
      return "rejected call " + current->info.id;
    }
    EndCall(current, "hangup", Event::kTerminated);
    return "ended call " + current->info.id;
  }
  if (hold) {
    if (current == nullptr) return {};
    if (current->info.state == CallState::kConnected) {
      SetHold(current, true);
      return "held call " + current->info.id;
    }
    if (current->info.state == CallState::kHeld) {
      SetHold(current, false);
      return "resumed call " + current->info.id;
    }
    return {};
  }
  if (transfer) {
    if (current != nullptr &&
        (current->info.state == CallState::kConnected || current->info.state == CallState::kHeld)) {
      transferring_ = true;
      dial_buffer_.clear();
      return "transfer started";
    }
    return {};
  }
  if (k == "MUTE") {
    if (current == nullptr || current->info.state != CallState::kConnected) return {};
    current->info.muted = !current->info.muted;
    Publish(*current);
    Fire(current->info.muted ? Event::kMute : Event::kUnmute, current.get());
    return current->info.muted ? "muted" : "unmuted";
  }
  if (yealink && (k == "DNDON" || k == "DNDOFF")) {
    SetDnd(k == "DNDON");
    return k == "DNDON" ? "DND on" : "DND off";
  }
  if (!yealink && k == "DND") {
    const bool on = !dnd();
    SetDnd(on);
    return on ? "DND on" : "DND off";
  }
  if (!yealink && k == "REDIAL" && !last_dialed_.empty()) {
    const auto call = PlaceCall(last_dialed_, config_.account);
    return "placed call " + call->info.id + " to " + call->info.number;
  }
  return {};
}

std::string Phone::NewCallId() {
  ++call_counter_;
  switch (VendorOf(config_.family)) {
    case Vendor::kYealink:
      return std::to_string(call_counter_);
    case Vendor::kSnom:
      // A SIP Call-ID, as SNOM's $call-id is.
      return Hex(random_(), 16) + "-" + std::to_string(call_counter_) + "@" + config_.reported_ip;
    case Vendor::kSoftphone: {
      const uint64_t a = random_();
      const uint64_t b = random_();
      return Hex(a >> 32, 8) + "-" + Hex(a >> 16, 4) + "-4" + Hex(a, 3) + "-" +
             Hex(8 | (b >> 62), 1) + Hex(b >> 48, 3) + "-" + Hex(b, 12);
    }
  }
  return std::to_string(call_counter_);
}

std::shared_ptr<Phone::Call> Phone::Current() const {
  return calls_.empty() ? nullptr : calls_.back();
}

std::shared_ptr<Phone::Call> Phone::FindCall(std::string_view id) const {
  for (const auto& call : calls_) {
    if (call->info.id == id) return call;
  }
  return nullptr;
}

void Phone::Arm(const std::shared_ptr<Call>& call, std::chrono::milliseconds delay,
                std::function<void()> fire) {
  const uint64_t generation = ++call->timer_generation;
  call->timer.expires_after(delay);
  call->timer.async_wait(
      [self = shared_from_this(), call, generation, fire = std::move(fire)](beast::error_code ec) {
        if (ec || call->timer_generation != generation) return;
        fire();
      });
}

void Phone::Disarm(Call& call) {
  ++call.timer_generation;
  call.timer.cancel();
}

std::shared_ptr<Phone::Call> Phone::PlaceCall(std::string number, std::string account) {
  collecting_ = false;
  transferring_ = false;
  dial_buffer_.clear();
  last_dialed_ = number;  // by value: `number` may be the dial buffer cleared above
  auto call = std::make_shared<Call>(*strand_);
  call->index = call_counter_ + 1;
  call->info.id = NewCallId();
  call->info.direction = Direction::kOutbound;
  call->info.display_name = number;  // what the far end's PBX usually shows back
  call->info.number = std::move(number);
  call->info.account = std::move(account);
  call->info.state = CallState::kDialing;
  call->info.created = system_clock::now();
  calls_.push_back(call);
  Publish(*call, /*is_new=*/true);
  Fire(Event::kOutgoing, call.get());
  std::weak_ptr<Call> weak = call;
  Arm(call, config_.timing.answer_delay, [this, weak] {
    if (auto c = weak.lock(); c && c->info.state == CallState::kDialing) Establish(c);
  });
  return call;
}

void Phone::StartRinging(std::string number, std::string display_name) {
  auto call = std::make_shared<Call>(*strand_);
  call->index = call_counter_ + 1;
  call->info.id = NewCallId();
  call->info.direction = Direction::kInbound;
  call->info.number = std::move(number);
  call->info.display_name = std::move(display_name);
  call->info.account = config_.account;
  call->info.created = system_clock::now();
  if (dnd()) {
    // DND turns the call away before it rings: nothing to report.
    call->info.state = CallState::kEnded;
    call->info.end_reason = "dnd";
    call->info.ended = call->info.created;
    Publish(*call, /*is_new=*/true);
    return;
  }
  call->info.state = CallState::kRinging;
  calls_.push_back(call);
  Publish(*call, /*is_new=*/true);
  Fire(Event::kIncoming, call.get());
  if (config_.timing.ring_time.count() > 0) {
    std::weak_ptr<Call> weak = call;
    Arm(call, config_.timing.ring_time, [this, weak] {
      if (auto c = weak.lock(); c && c->info.state == CallState::kRinging) {
        EndCall(c, "missed", Event::kMissed);
      }
    });
  }
}

void Phone::Establish(const std::shared_ptr<Call>& call) {
  Disarm(*call);
  call->info.state = CallState::kConnected;
  call->info.connected = system_clock::now();
  Publish(*call);
  Fire(Event::kEstablished, call.get());
  if (config_.timing.talk_time.count() > 0) {
    std::weak_ptr<Call> weak = call;
    Arm(call, config_.timing.talk_time, [this, weak] {
      if (auto c = weak.lock()) EndCall(c, "remote_hangup", Event::kTerminated);
    });
  }
}

void Phone::EndCall(const std::shared_ptr<Call>& call, std::string reason, Event event) {
  if (call->info.state == CallState::kEnded) return;
  Disarm(*call);
  call->info.state = CallState::kEnded;
  call->info.end_reason = std::move(reason);
  call->info.ended = system_clock::now();
  calls_.erase(std::remove(calls_.begin(), calls_.end(), call), calls_.end());
  Publish(*call);
  Fire(event, call.get());
}

void Phone::SetHold(const std::shared_ptr<Call>& call, bool held) {
  call->info.state = held ? CallState::kHeld : CallState::kConnected;
  Publish(*call);
  Fire(held ? Event::kHold : Event::kUnhold, call.get());
}

void Phone::SetDnd(bool on) {
  {
    std::lock_guard lock(mu_);
    if (dnd_ == on) return;  // phones report changes, not key presses
    dnd_ = on;
  }
  Fire(on ? Event::kDndOn : Event::kDndOff, nullptr);
}

std::string Phone::Transfer(const std::shared_ptr<Call>& call, const std::string& number) {
  Fire(Event::kBlindTransfer, call.get());
  Fire(Event::kTransferFinished, call.get());
  EndCall(call, "transferred", Event::kTerminated);
  return "transferred call " + call->info.id + " to " + number;
}

// ---- Action URLs -----------------------------------------------------------------------------

// Which provisioning slot a phone of this vendor fires for each event; empty where the vendor
// has none (SNOM reports neither a rejected call nor mute; the softphone has five slots only).
std::string_view Phone::Slot(Event event) const {
  struct Row {
    Event event;
    std::string_view yealink, snom, softphone;
  };
  static constexpr Row kSlots[] = {
      {Event::kIncoming, "incoming_call", "action_incoming_url", "incoming"},
      {Event::kOutgoing, "outgoing_call", "action_outgoing_url", "outgoing"},
      {Event::kEstablished, "call_established", "action_connected_url", "connected"},
      {Event::kTerminated, "call_terminated", "action_disconnected_url", "disconnected"},
      {Event::kMissed, "missed_call", "action_missed_url", "disconnected"},
      {Event::kRejected, "reject_incoming_call", "", "disconnected"},
      {Event::kHold, "hold", "action_hold", "hold"},
      {Event::kUnhold, "unhold", "action_unhold", "hold"},
      {Event::kMute, "mute", "", ""},
      {Event::kUnmute, "unmute", "", ""},
      {Event::kDndOn, "dnd_on", "action_dnd_on_url", ""},
      {Event::kDndOff, "dnd_off", "action_dnd_off_url", ""},
      {Event::kBlindTransfer, "blind_transfer_call", "action_blind_transfer", ""},
      {Event::kTransferFinished, "transfer_finished", "", ""},
  };
  for (const Row& row : kSlots) {
    if (row.event != event) continue;
    switch (VendorOf(config_.family)) {
      case Vendor::kYealink:
        return row.yealink;
      case Vendor::kSnom:
        return row.snom;
      case Vendor::kSoftphone:
        return row.softphone;
    }
  }
  return {};
}

Variables Phone::VariablesFor(Event event, const Call* call) const {
  Variables v;
  const PhoneConfig& c = config_;
  const std::string account = call != nullptr ? call->info.account : c.account;
  const auto [user, host] = SplitAccount(account);
  const auto sip = [](const std::string& s) { return s.empty() ? s : "sip:" + s; };
  size_t ongoing = 0;
  for (const auto& other : calls_) ongoing += other->info.state != CallState::kEnded ? 1 : 0;

  switch (VendorOf(c.family)) {
    case Vendor::kYealink:
      v["mac"] = c.id;
      v["ip"] = c.reported_ip;
      v["model"] = c.model;
      v["firmware"] = c.firmware;
      v["active_url"] = account;
      v["active_user"] = user;
      v["active_host"] = host;
      v["local"] = account;
      v["display_local"] = c.display_name;
      if (call != nullptr) {
        const bool inbound = call->info.direction == Direction::kInbound;
        v["remote"] = call->info.number;
        v["display_remote"] = call->info.display_name;
        v["call_id"] = call->info.id;
        v["callerID"] = inbound ? call->info.number : user;
        v["calledNumber"] = inbound ? user : call->info.number;
      }
      break;
    case Vendor::kSnom:
      v["mac"] = Upper(c.id);
      v["phone_ip"] = c.reported_ip;
      v["local_ip"] = c.reported_ip;
      v["active_url"] = sip(account);
      v["active_user"] = user;
      v["active_host"] = host;
      v["local"] = sip(account);
      v["display_local"] = c.display_name;
      v["nr_ongoing_calls"] = std::to_string(ongoing);
      if (call != nullptr) {
        v["remote"] = host.empty() ? call->info.number : "sip:" + call->info.number + "@" + host;
        v["display_remote"] = call->info.display_name;
        v["call-id"] = call->info.id;
        v["csta_id"] = std::to_string(call->index);
        if (event == Event::kMissed) v["cancel_reason"] = "timeout";
      }
      break;
    case Vendor::kSoftphone:
      v["action"] = std::string(Slot(event));
      v["local_party"] = account;
      v["local_alias"] = c.display_name;
      if (call != nullptr) {
        const CallInfo& info = call->info;
        v["call_direction"] = info.direction == Direction::kInbound ? "inbound" : "outbound";
        v["remote_party"] = info.number;
        v["remote_alias"] = info.display_name;
        v["hold_state"] = info.state == CallState::kHeld ? "on_hold" : "off_hold";
        v["call_guid"] = info.id;
        v["call_created_time"] = SoftphoneTime(info.created);
        if (info.connected) {
          v["call_connected_time"] = SoftphoneTime(*info.connected);
          const auto until = info.ended.value_or(system_clock::now());
          v["call_duration_seconds"] = std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(until - *info.connected).count());
        }
        if (info.ended) v["call_disconnected_time"] = SoftphoneTime(*info.ended);
      }
      break;
  }
  return v;
}

void Phone::Fire(Event event, const Call* call) {
  const std::string_view slot = Slot(event);
  if (slot.empty()) return;
  const auto it = template_by_event_.find(slot);
  if (it == template_by_event_.end()) return;  // not provisioned: a phone fires nothing
  FiredActionUrl fired;
  fired.time = system_clock::now();
  fired.event = std::string(slot);
  if (call != nullptr) fired.call_id = call->info.id;
  fired.url = Fill(it->second, VariablesFor(event, call)).url;
  const std::string url = fired.url;
  sender_->Send(url, [self = shared_from_this(), fired = std::move(fired)](
                         unsigned status, std::string error) mutable {
    fired.status = status;
    fired.error = std::move(error);
    self->RecordFired(std::move(fired));
  });
}

}  // namespace phonebus::phonesim
