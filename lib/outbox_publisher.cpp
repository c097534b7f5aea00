#include "outbox_publisher.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "log.h"

namespace phonebus::outbox {
namespace {

constexpr uint8_t kRecordVersion = 1;
// A refusal with a reason that says neither "for good" nor "busy" (0x80,
// 0x83): after this many for one message, it is treated as for good.
constexpr int kMaxUnclearRefusals = 5;
// A broker may close the connection over a message instead of refusing it
// (mosquitto 2.0.11 resets it after some ACL refusals, and the PUBACK with
// the reason can be lost with it). After this many losses with the same
// oldest record in flight, it is sent alone, so that a refusal reaches us
// without others in flight. It is never dead-lettered without a reason from
// the broker: a broker that keeps restarting looks just the same, and its
// messages must reach the bus.
constexpr int kLossesBeforeAlone = 2;
// Before sending again after a transient refusal.
constexpr auto kRefusalPause = std::chrono::seconds(1);
// The dead-letter file's share of the outbox's bound (at least 64 KiB).
constexpr uint64_t kDeadLetterShare = 4;

std::string EventId(const mqtt_client::Message& m) {
  for (const auto& [k, v] : m.user_properties) {
    if (k == "event_id") return v;
  }
  return "";
}

std::string Hex(int reason_code) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", reason_code & 0xff);
  return hex;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void PutString(std::string& out, std::string_view s) {
  Put(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Get(T* v) {
    if (in_.size() < sizeof(T)) return false;
    std::memcpy(v, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool GetString(std::string* s) {
    uint32_t n;
    if (!Get(&n) || in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view in_;
};

}  // namespace

std::string EncodeRecord(const Record& r) {
  const auto& m = r.message;
  std::string out;
  out.reserve(m.topic.size() + m.payload.size() + 64);
  Put(out, kRecordVersion);
  Put(out, static_cast<uint8_t>((m.qos & 3) | (m.retained ? 4 : 0)));
  Put(out, r.accepted_at_us);
  PutString(out, m.topic);
  PutString(out, m.content_type);
  Put(out, static_cast<uint32_t>(m.user_properties.size()));
  for (const auto& [k, v] : m.user_properties) {
    PutString(out, k);
    PutString(out, v);
  }
  PutString(out, m.payload);
  return out;
}

absl::StatusOr<Record> DecodeRecord(std::string_view bytes) {
  Reader in(bytes);
  Record r;
  uint8_t version, flags;
  uint32_t props;
  if (!in.Get(&version) || version != kRecordVersion || !in.Get(&flags) ||
      !in.Get(&r.accepted_at_us) || !in.GetString(&r.message.topic) ||
      !in.GetString(&r.message.content_type) || !in.Get(&props) || props > 64) {
    return absl::DataLossError("outbox record header is damaged");
  }
  r.message.qos = flags & 3;
  r.message.retained = (flags & 4) != 0;
  for (uint32_t i = 0; i < props; ++i) {
    std::string k, v;
    if (!in.GetString(&k) || !in.GetString(&v)) return absl::DataLossError("damaged property");
    r.message.user_properties.emplace_back(std::move(k), std::move(v));
  }
  if (!in.GetString(&r.message.payload)) return absl::DataLossError("damaged payload");
  return r;
}

Publisher::Publisher(Outbox& outbox, mqtt_client::Client& client, int max_inflight,
                     metrics::Registry& registry)
    : outbox_(outbox),
      client_(client),
      max_inflight_(static_cast<size_t>(max_inflight)),
      latency_(registry
                   .AddHistogram("phonebus_publish_latency_seconds",
                                 "Time from accepting an event to the broker's PUBACK",
                                 metrics::LatencyBuckets())
                   .With({})),
      published_(registry.AddCounter("phonebus_published_total", "Messages the broker acknowledged")
                     .With({})),
      failures_(registry
                    .AddCounter("phonebus_publish_failures_total",
                                "Publishes that failed and will be retried")
                    .With({})),
      coalesced_(registry
                     .AddCounter("phonebus_retained_coalesced_total",
                                 "Retained messages not sent: a newer one for the topic was queued")
                     .With({})),
      dead_letters_total_(registry.AddCounter(
          "phonebus_dead_letters_total",
          "Messages the broker refused for good, moved to the dead-letter file, by reason")),
      dead_letters_(outbox.dir() + "/dead-letters.jsonl",
                    std::max<uint64_t>(outbox.max_bytes() / kDeadLetterShare, 64u << 10)) {
  registry.AddGaugeCallback("phonebus_mqtt_connected", "1 while connected to a broker",
                            [this] { return connected_ ? 1.0 : 0.0; });
  client_.OnDelivery(
      [this](uint64_t seq, mqtt_client::Delivery delivery) { OnDelivered(seq, delivery); });
  client_.OnConnectionLost([this](const std::string& cause) {
    log::Warn("MQTT connection lost", {{"cause", cause}});
    {
      std::lock_guard lock(mu_);
      for (const auto& [seq, record] : in_flight_) oldest_lost_ = std::min(oldest_lost_, seq);
    }
    connected_ = false;
    lost_ = true;
    outbox_.Wake();
    cv_.notify_all();
  });
}

Publisher::~Publisher() { Stop(std::chrono::milliseconds(0)); }

void Publisher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Publisher::Stop(std::chrono::milliseconds timeout) {
  if (!thread_.joinable()) return;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (outbox_.depth() > 0 && connected_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop_ = true;
  outbox_.Wake();
  cv_.notify_all();
  thread_.join();
  client_.Close();
  connected_ = false;
}

// Called on a paho thread: bookkeeping only.
void Publisher::OnDelivered(uint64_t seq, mqtt_client::Delivery delivery) {
  const auto refusal = mqtt_client::ClassifyRefusal(delivery.reason_code);
  std::optional<Record> record;
  bool for_good = false;
  {
    std::lock_guard lock(mu_);
    if (auto it = in_flight_.find(seq); it != in_flight_.end()) {
      record = std::move(it->second);
      in_flight_.erase(it);
    }
    if (refusal == mqtt_client::Refusal::kUnknown) {
      for_good = ++refusals_[seq] >= kMaxUnclearRefusals;
    } else {
      for_good = refusal == mqtt_client::Refusal::kPermanent;
    }
    if (for_good) {
      if (record) {
        refused_.push_back({seq, std::move(*record), delivery.reason_code});
      } else {
        // paho drops the connection after a refused PUBACK, and the
        // reconnect may have cleared the in-flight record first: the
        // refusal is remembered for when the record is read again.
        refused_seqs_[seq] = delivery.reason_code;
      }
    }
  }
  if (for_good) {
    cv_.notify_all();
    return;
  }
  if (!record) return;  // from before a reconnect
  if (delivery.ok) {
    outbox_.Ack(seq);
    published_.Inc();
    latency_.Observe(static_cast<double>(NowMicros() - record->accepted_at_us) / 1e6);
    std::lock_guard lock(mu_);
    refusals_.erase(seq);
    if (seq == suspect_) ForgetSuspect();  // it was not the message after all
  } else {
    failures_.Inc();
    {
      std::lock_guard lock(mu_);
      oldest_lost_ = std::min(oldest_lost_, seq);
    }
    if (refusal != mqtt_client::Refusal::kNone) {
      log::Warn("MQTT broker refused a message; sending it again shortly",
                {{"topic", record->message.topic},
                 {"reason_code", Hex(delivery.reason_code)},
                 {"reason", mqtt_client::ReasonName(delivery.reason_code)}});
      pause_ = true;
    }
    // Left unacknowledged: re-sent from the outbox after a reconnect.
    lost_ = true;
    outbox_.Wake();
  }
  cv_.notify_all();
}

void Publisher::MoveRefusedToDeadLetters() {
  std::vector<Refused> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(refused_);
  }
  for (auto& [seq, record, reason_code] : batch) {
    const auto& m = record.message;
    if (seq < outbox_.oldest_unacknowledged() || dead_lettered_.count(seq) > 0) {
      // Already delivered or dead-lettered, refused again as a re-send (a
      // refusal arriving after a reconnect): written once is enough.
      outbox_.Ack(seq);
      continue;
    }
    if (auto st = dead_letters_.Add(m, reason_code, record.accepted_at_us); !st.ok()) {
      // Kept in the outbox: refused again after the pause, and written then.
      log::Error("cannot write a dead letter; the message stays in the outbox",
                 {{"topic", m.topic}, {"error", std::string(st.message())}});
      pause_ = true;
      lost_ = true;
      continue;
    }
    // The payload stays out of the log: it may carry phone numbers.
    log::Error("MQTT broker refused a message for good; moved to the dead-letter file",
               {{"topic", m.topic},
                {"reason_code", Hex(reason_code)},
                {"reason", mqtt_client::ReasonName(reason_code)},
                {"event_id", EventId(m)},
                {"file", dead_letters_.path()}});
    dead_letters_total_.With({{"reason", mqtt_client::ReasonName(reason_code)}}).Inc();
    const bool acked = outbox_.Ack(seq);
    dead_lettered_.insert(seq);
    // Older than the oldest unacknowledged record: never read again.
    std::erase_if(dead_lettered_, [&](uint64_t s) { return s < outbox_.oldest_unacknowledged(); });
    std::lock_guard lock(mu_);
    refusals_.erase(seq);
    if (seq == suspect_) ForgetSuspect();
    if (!acked) dead_.insert(seq);
  }
}

bool Publisher::Reconnect() {
  if (client_.IsConnected()) {
    // A failed publish on a live connection: start over on a fresh one.
    client_.Close(std::chrono::milliseconds(500));
  }
  connected_ = false;
  {
    std::lock_guard lock(mu_);
    in_flight_.clear();
    NoteLoss(std::exchange(oldest_lost_, kNoSeq));
  }
  // Cleared before connecting, never after: a loss reported while the new
  // connection is being set up (the broker stopping right after CONNACK)
  // must not be overwritten, or the publisher would wait on a dead one.
  lost_ = false;
  if (auto st = client_.Connect(); !st.ok()) {
    log::Warn("MQTT broker unreachable; events stay in the outbox",
              {{"error", std::string(st.message())}, {"pending", std::to_string(outbox_.depth())}});
    lost_ = true;
    return false;
  }
  connected_ = !lost_;
  if (on_connected_) on_connected_();
  outbox_.Rewind();
  log::Info("MQTT connected", {{"pending", std::to_string(outbox_.depth())}});
  return true;
}

// A connection lost with `oldest` the oldest record in flight (mu_ held).
void Publisher::NoteLoss(uint64_t oldest) {
  if (oldest == kNoSeq) return;  // nothing was in flight: not about a message
  if (oldest != suspect_) {
    ForgetSuspect();
    suspect_ = oldest;
  }
  ++suspect_losses_;
  if (suspect_losses_ == kLossesBeforeAlone) {
    alone_ = true;
    log::Warn("MQTT connection lost repeatedly with the same message in flight; sending it alone",
              {{"seq", std::to_string(oldest)}});
  }
  if (suspect_losses_ > kLossesBeforeAlone) {
    log::Error(
        "MQTT connection lost again with only this message in flight; it stays in the "
        "outbox and is sent again",
        {{"seq", std::to_string(oldest)}, {"losses", std::to_string(suspect_losses_)}});
  }
}

void Publisher::ForgetSuspect() {
  suspect_ = kNoSeq;
  suspect_losses_ = 0;
  alone_ = false;
}

void Publisher::Run() {
  auto backoff = std::chrono::milliseconds(200);
  while (!stop_) {
    MoveRefusedToDeadLetters();
    if (lost_) {
      if (pause_.exchange(false)) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, kRefusalPause, [&] { return stop_.load(); });
        if (stop_) break;
      }
      if (!Reconnect()) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, backoff, [&] { return stop_.load(); });
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      backoff = std::chrono::milliseconds(200);
    }
    size_t room;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] {
        return stop_ || lost_ || !refused_.empty() || in_flight_.size() < max_inflight_;
      });
      const size_t window = alone_ ? 1 : max_inflight_;
      room = window > in_flight_.size() ? window - in_flight_.size() : 0;
    }
    if (stop_ || lost_ || room == 0) continue;
    for (auto& entry : outbox_.Read(room, std::chrono::milliseconds(100))) {
      if (lost_) break;
      auto record = DecodeRecord(entry.data);
      if (!record.ok()) {
        // Cannot happen short of disk corruption past the CRC; never block the queue on it.
        log::Error("dropping undecodable outbox record", {{"seq", std::to_string(entry.seq)}});
        outbox_.Ack(entry.seq);
        continue;
      }
      if (record->message.retained &&
          latest_retained_.Superseded(record->message.topic, entry.seq)) {
        outbox_.Ack(entry.seq);
        coalesced_.Inc();
        continue;
      }
      {
        std::lock_guard lock(mu_);
        if (dead_.erase(entry.seq) > 0) {
          outbox_.Ack(entry.seq);
          continue;
        }
        if (auto it = refused_seqs_.find(entry.seq); it != refused_seqs_.end()) {
          refused_.push_back({entry.seq, std::move(*record), it->second});
          refused_seqs_.erase(it);
          continue;
        }
        in_flight_.emplace(entry.seq, *record);
      }
      if (auto st = client_.Publish(record->message, entry.seq); !st.ok()) {
        failures_.Inc();
        lost_ = true;
        break;
      }
    }
  }
}

}  // namespace phonebus::outbox
