#pragma once
// A token bucket on an injected clock: the client-side QPS/burst limiter of
// the REST client and the overall limit of the work queue.

#include <mutex>
#include <stop_token>

#include "kube/clock.h"

namespace kube {

class TokenBucket {
 public:
  // qps <= 0 disables limiting.
  TokenBucket(double qps, int burst, Clock& clock);

  // Takes one token, sleeping until one is available. False if stopped first.
  bool acquire(std::stop_token stop = {});
  // Reserves one token and returns how long the caller must wait before using it.
  Clock::Duration reserve();

 private:
  double qps_;
  double burst_;
  Clock& clock_;
  std::mutex mu_;
  double tokens_;
  Clock::TimePoint last_;
};

}  // namespace kube
