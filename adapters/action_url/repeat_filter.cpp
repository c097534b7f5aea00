#include "repeat_filter.h"

#include <iterator>

namespace phonebus::adapter {

RepeatFilter::RepeatFilter(std::chrono::milliseconds window, size_t max_sources)
    : window_(window), max_sources_(max_sources) {}

std::optional<std::string> RepeatFilter::Repeat(std::string_view source, std::string_view target,
                                                Clock::time_point now) {
  if (window_.count() == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  const auto it = last_.find(std::string(source));
  if (it == last_.end() || now - it->second.at > window_ || it->second.target != target) {
    return std::nullopt;
  }
  return it->second.event_id;
}

void RepeatFilter::Accepted(std::string_view source, std::string_view target, std::string event_id,
                            Clock::time_point now) {
  if (window_.count() == 0) return;
  std::lock_guard lock(mu_);
  auto it = last_.find(std::string(source));
  if (it == last_.end()) {
    if (last_.size() >= max_sources_) {
      for (auto old = last_.begin(); old != last_.end();) {
        old = now - old->second.at > window_ ? last_.erase(old) : std::next(old);
      }
      if (last_.size() >= max_sources_) last_.clear();  // a flood of sources: start over
    }
    it = last_.emplace(std::string(source), Last{}).first;
  }
  it->second = Last{std::string(target), std::move(event_id), now};
}

}  // namespace phonebus::adapter
