#include "outbox_publisher.h"

#include <chrono>
#include <cstring>

#include "log.h"

namespace phonebus::outbox {
namespace {

constexpr uint8_t kRecordVersion = 1;

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
                     .With({})) {
  registry.AddGaugeCallback("phonebus_mqtt_connected", "1 while connected to a broker",
                            [this] { return connected_ ? 1.0 : 0.0; });
  client_.OnDelivered([this](uint64_t seq, bool ok) { OnDelivered(seq, ok); });
  client_.OnConnectionLost([this](const std::string& cause) {
    log::Warn("MQTT connection lost", {{"cause", cause}});
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
void Publisher::OnDelivered(uint64_t seq, bool ok) {
  int64_t accepted_at = 0;
  {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(seq);
    if (it == in_flight_.end()) return;  // from before a reconnect
    accepted_at = it->second;
    in_flight_.erase(it);
  }
  if (ok) {
    outbox_.Ack(seq);
    published_.Inc();
    latency_.Observe(static_cast<double>(NowMicros() - accepted_at) / 1e6);
  } else {
    // Left unacknowledged: re-sent from the outbox after a reconnect.
    failures_.Inc();
    lost_ = true;
    outbox_.Wake();
  }
  cv_.notify_all();
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

void Publisher::Run() {
  auto backoff = std::chrono::milliseconds(200);
  while (!stop_) {
    if (lost_) {
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
      cv_.wait_for(lock, std::chrono::milliseconds(100),
                   [&] { return stop_ || lost_ || in_flight_.size() < max_inflight_; });
      room = max_inflight_ > in_flight_.size() ? max_inflight_ - in_flight_.size() : 0;
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
        in_flight_.emplace(entry.seq, record->accepted_at_us);
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
