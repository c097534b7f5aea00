#include "request_log.h"

#include <cstring>

#include "secret_digest.h"

namespace phonebus::command {

RequestLog::RequestLog(std::chrono::milliseconds window, size_t max_entries)
    : window_(window), max_entries_(max_entries) {}

RequestLog::Digest RequestLog::DigestOf(const std::string& text) {
  const SecretDigest full = Sha256(text);
  Digest d;
  std::memcpy(d.data(), full.data(), sizeof d);
  return d;
}

RequestLog::Claim RequestLog::Begin(const std::string& key, const std::string& fingerprint,
                                    Done done) {
  const Digest id = DigestOf(key);
  const Digest asked = DigestOf(fingerprint);
  std::unique_lock lock(mu_);
  const auto now = Clock::now();
  Expire(now);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    // Forgetting an outcome still inside the window could ring a phone twice.
    if (entries_.size() >= max_entries_) return Claim::kFull;
    entries_.emplace(id, Entry{asked, now, {}, false});
    return Claim::kFirst;
  }
  Entry& e = it->second;
  if (e.fingerprint != asked) return Claim::kMismatch;
  if (!e.finished) {
    waiters_[id].push_back(std::move(done));
    return Claim::kWaiting;
  }
  v1::CommandResult first;
  first.ParseFromString(e.result);  // our own serialisation
  lock.unlock();
  done(first);
  return Claim::kRepeat;
}

void RequestLog::Finish(const std::string& key, const v1::CommandResult& result, bool remember) {
  const Digest id = DigestOf(key);
  std::vector<Done> waiters;
  {
    std::lock_guard lock(mu_);
    const auto it = entries_.find(id);
    if (it == entries_.end()) return;
    if (auto w = waiters_.find(id); w != waiters_.end()) {
      waiters.swap(w->second);
      waiters_.erase(w);
    }
    if (remember) {
      // The window counts from the outcome, which a repeat returns.
      it->second.finished = true;
      it->second.result = result.SerializeAsString();
      it->second.at = Clock::now();
      order_.emplace_back(it->second.at, id);
    } else {
      entries_.erase(it);  // its order_ entry is skipped when it expires
    }
  }
  for (auto& w : waiters) w(result);
}

void RequestLog::Expire(Clock::time_point now) {
  while (!order_.empty() && now - order_.front().first > window_) {
    const auto it = entries_.find(order_.front().second);
    // A record is stale when its entry was forgotten and the id claimed again.
    if (it != entries_.end() && it->second.finished && it->second.at == order_.front().first) {
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

size_t RequestLog::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace phonebus::command
