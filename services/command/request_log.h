// Idempotency by request_id: within a window, a repeated mutating request
// gets the first request's outcome and nothing is sent to the phone again,
// so a client that lost a Dial's reply can retry without the phone ringing
// twice. A repeat that arrives while the first is still running waits for it.
//
// Only outcomes after which the phone may have acted are remembered; a request
// refused before anything was sent (bad field, unknown device, phone
// unreachable) may be retried with the same id and is then really tried.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "phonebus/v1/control.pb.h"

namespace phonebus::command {

class RequestLog {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(const v1::CommandResult& first)>;

  RequestLog(std::chrono::milliseconds window, size_t max_entries);

  enum class Claim {
    kFirst,     // run the request, then call Finish
    kRepeat,    // `done` was called (inline) with the first outcome
    kWaiting,   // the first is still running: `done` is called from its Finish
    kMismatch,  // the id was used for a different request: refuse it
    kFull,      // max_entries ids are within the window: refuse rather than forget one
  };
  // `key` identifies the request id (site + id); `fingerprint` what was asked
  // (command, device, arguments).
  Claim Begin(const std::string& key, const std::string& fingerprint, Done done);
  // Completes a kFirst claim. `remember` false forgets the id (nothing was
  // sent); waiters get this outcome either way.
  void Finish(const std::string& key, const v1::CommandResult& result, bool remember);

  size_t size() const;

 private:
  struct Entry {
    std::string fingerprint;
    bool finished = false;
    v1::CommandResult result;
    std::vector<Done> waiters;
    Clock::time_point at;
  };
  void Expire(Clock::time_point now);

  const std::chrono::milliseconds window_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  // Finished entries, oldest outcome first; running ones are never expired.
  std::deque<std::pair<Clock::time_point, std::string>> order_;
};

}  // namespace phonebus::command
