#include "latest_retained.h"

#include <algorithm>

namespace phonebus::outbox {

void LatestRetained::Durable(std::string_view topic, uint64_t seq) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = newest_.try_emplace(std::string(topic), seq);
  if (!inserted) it->second = std::max(it->second, seq);
}

bool LatestRetained::Superseded(std::string_view topic, uint64_t seq) {
  std::lock_guard lock(mu_);
  const auto it = newest_.find(std::string(topic));
  if (it == newest_.end()) return false;
  if (it->second <= seq) {
    // The newest (or noted only after the publisher read it): nothing to skip.
    newest_.erase(it);
    return false;
  }
  return true;
}

}  // namespace phonebus::outbox
