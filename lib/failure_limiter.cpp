#include "failure_limiter.h"

namespace phonebus {

bool FailureLimiter::Refused(const std::string& source, Clock::time_point now) {
  std::lock_guard lock(mu_);
  const auto it = index_.find(source);
  return it != index_.end() && now < it->second->refused_until;
}

bool FailureLimiter::Fail(const std::string& source, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = index_.find(source);
  if (it == index_.end()) {
    if (lru_.size() >= options_.capacity && !lru_.empty()) {
      index_.erase(lru_.back().source);
      lru_.pop_back();
    }
    lru_.push_front({source, 0, now, {}});
    it = index_.emplace(source, lru_.begin()).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  Entry& e = *it->second;
  if (now < e.refused_until) return false;
  if (now - e.window_start >= options_.window) {
    e.window_start = now;
    e.failures = 0;
  }
  if (++e.failures < options_.max_failures) return false;
  e.refused_until = now + options_.hold_off;
  e.failures = 0;
  e.window_start = e.refused_until;
  return true;
}

size_t FailureLimiter::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace phonebus
