#include "kube/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kube {

RateLimiter::RateLimiter(RateLimiterOptions options, Clock& clock)
    : options_(options), overall_(options.overall_qps, options.overall_burst, clock) {}

Clock::Duration RateLimiter::per_key_delay(int previous_failures) const {
  // In double: 2^failures overflows any integer long before a key is forgotten.
  double delay = std::ldexp(static_cast<double>(options_.base_delay.count()), previous_failures);
  if (!(delay < static_cast<double>(options_.max_delay.count()))) return options_.max_delay;
  return Clock::Duration(static_cast<Clock::Duration::rep>(delay));
}

Clock::Duration RateLimiter::when(const std::string& key) {
  int previous;
  {
    std::lock_guard lock(mu_);
    int& count = failures_[key];
    previous = count;
    if (count < std::numeric_limits<int>::max()) ++count;
  }
  return std::max(per_key_delay(previous), overall_.reserve());
}

void RateLimiter::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int RateLimiter::failures(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

}  // namespace kube
