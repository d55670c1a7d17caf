#include "kube/token_bucket.h"

#include <algorithm>

namespace kube {

TokenBucket::TokenBucket(double qps, int burst, Clock& clock)
    : qps_(qps), burst_(std::max(1, burst)), clock_(clock), tokens_(std::max(1, burst)), last_(clock.now()) {}

Clock::Duration TokenBucket::reserve() {
  if (qps_ <= 0) return Clock::Duration::zero();
  std::lock_guard lock(mu_);
  auto now = clock_.now();
  double elapsed = std::chrono::duration<double>(now - last_).count();
  if (elapsed > 0) {
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1.0;  // may go negative: later callers queue behind this one
  if (tokens_ >= 0) return Clock::Duration::zero();
  return std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(-tokens_ / qps_));
}

bool TokenBucket::acquire(std::stop_token stop) {
  auto wait = reserve();
  if (wait == Clock::Duration::zero()) return true;
  return clock_.sleep_for(wait, std::move(stop));
}

}  // namespace kube
