// Idempotency by request_id: within a window, a repeated mutating request
// gets the first request's outcome and nothing is sent to the phone again,
// so a client that lost a Dial's reply can retry without the phone ringing
// twice. A repeat that arrives while the first is still running waits for it.
//
// Only outcomes after which the phone may have acted are remembered; a request
// refused before anything was sent (bad field, unknown device, phone
// unreachable) may be retried with the same id and is then really tried.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
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
  // Request ids and fingerprints are kept as the first 128 bits of their
  // SHA-256: fixed size and no allocation per entry, and two different ones
  // collide about as often as someone guesses a random 128-bit number. With
  // the outcome kept serialised, an entry needs ~240 bytes instead of ~660:
  // at 5,000 commands/s a 60 s window holds 300,000 of them.
  using Digest = std::array<uint64_t, 2>;
  struct DigestHash {
    size_t operator()(const Digest& d) const { return d[0]; }  // already uniform
  };
  static Digest DigestOf(const std::string& text);
  struct Entry {
    Digest fingerprint;
    Clock::time_point at;
    std::string result;  // the outcome (CommandResult), serialised, once finished
    bool finished = false;
  };
  void Expire(Clock::time_point now);

  const std::chrono::milliseconds window_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<Digest, Entry, DigestHash> entries_;
  // Repeats waiting for a running request's outcome (rare: kept apart).
  std::unordered_map<Digest, std::vector<Done>, DigestHash> waiters_;
  // Finished entries, oldest outcome first; running ones are never expired.
  std::deque<std::pair<Clock::time_point, Digest>> order_;
};

}  // namespace phonebus::command
