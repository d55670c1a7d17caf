#include "agent/warm_up.h"

namespace rr::agent {

void WarmUp::configured(kube::Clock::TimePoint now) {
  if (!configured_at_) configured_at_ = now;
}

void WarmUp::polled(const SessionCounts& counts, kube::Clock::TimePoint now) {
  if (warm_ || !configured_at_) return;  // a poll before any configuration says nothing
  last_ = counts;
  polled_ = true;
  const bool settled = counts.settled + counts.unreachable >= counts.total;
  if (settled || now - *configured_at_ >= grace_) warm_ = true;
}

std::string WarmUp::waiting_for() const {
  const auto grace_s = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(grace_).count());
  if (!polled_) return "warming up: BGP sessions not read since the configuration loaded";
  return "warming up: " + std::to_string(last_.settled) + " of " + std::to_string(last_.total) +
         " BGP sessions Established and settled, " + std::to_string(last_.unreachable) +
         " peers unreachable (Ready once every session is one or the other, or " + grace_s +
         "s after the first configuration: --ready-grace)";
}

}  // namespace rr::agent
