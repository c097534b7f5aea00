// "The same event can arrive twice" (PROTOCOLS.md 1.1): a phone configured
// with one Action URL in two places, or retrying one it thinks was lost,
// fires the identical request again within moments. Published twice, it
// would carry two event ids, and consumers could not tell it from two events.
//
// The filter remembers each source's last accepted request (its whole target,
// compared byte for byte) and its event id. The same target again from the
// same source within the window is a repeat: it is answered with the first
// event id and not published again. Only a request right after the same one
// counts, so "offhook, onhook, offhook" stays three events; and only one that
// was accepted (durable), so a phone retrying a refused event is heard.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace phonebus::adapter {

class RepeatFilter {
 public:
  using Clock = std::chrono::steady_clock;

  // window 0: nothing is a repeat. At most `max_sources` sources are
  // remembered; past that, the ones older than the window are forgotten first.
  RepeatFilter(std::chrono::milliseconds window, size_t max_sources);

  // The event id `target` from `source` was accepted under, when it is that
  // source's last accepted request and within the window.
  std::optional<std::string> Repeat(std::string_view source, std::string_view target,
                                    Clock::time_point now);
  // `target` from `source` was accepted (is durable) as `event_id`.
  void Accepted(std::string_view source, std::string_view target, std::string event_id,
                Clock::time_point now);

 private:
  struct Last {
    std::string target;
    std::string event_id;
    Clock::time_point at;
  };
  const std::chrono::milliseconds window_;
  const size_t max_sources_;
  std::mutex mu_;
  std::unordered_map<std::string, Last> last_;  // by source address
};

}  // namespace phonebus::adapter
