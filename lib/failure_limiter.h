// Refuses a source that keeps failing: after max_failures failures within
// window, the source is refused for hold_off without its requests being
// evaluated, so guessing a URL secret gets nowhere and costs us nothing.
//
// Memory is bounded: at most `capacity` sources are remembered; beyond it the
// one whose last failure is oldest is forgotten (an attacker with many
// addresses can at worst make us forget a source earlier, never grow the
// table). Pure and thread-safe; the caller passes the time.
#pragma once

#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace phonebus {

class FailureLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    int max_failures = 10;
    Clock::duration window = std::chrono::seconds(60);
    Clock::duration hold_off = std::chrono::seconds(300);
    size_t capacity = 16384;
  };

  explicit FailureLimiter(Options options) : options_(options) {}

  // True while `source` is being refused.
  bool Refused(const std::string& source, Clock::time_point now);
  // Counts a failure; true when it is the one that starts the hold-off.
  bool Fail(const std::string& source, Clock::time_point now);
  size_t size() const;

 private:
  struct Entry {
    std::string source;
    int failures = 0;
    Clock::time_point window_start;
    Clock::time_point refused_until;
  };
  using Lru = std::list<Entry>;  // front: most recent failure

  const Options options_;
  mutable std::mutex mu_;
  Lru lru_;
  std::unordered_map<std::string, Lru::iterator> index_;
};

}  // namespace phonebus
