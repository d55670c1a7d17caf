#pragma once
// Exponential backoff with jitter, for reconnects and retries.

#include <functional>
#include <random>

#include "kube/clock.h"

namespace kube {

// Uniform in [0, 1). Injected so tests are deterministic.
using RandomSource = std::function<double()>;
RandomSource default_random_source();

struct BackoffPolicy {
  Clock::Duration initial = std::chrono::milliseconds(200);
  Clock::Duration max = std::chrono::seconds(30);
  double factor = 2.0;
  double jitter = 0.2;  // each delay is stretched by up to this fraction
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}, RandomSource random = default_random_source());
  Clock::Duration next();  // the delay before the next attempt
  void reset();
  int attempts() const { return attempts_; }

 private:
  BackoffPolicy policy_;
  RandomSource random_;
  Clock::Duration current_{};
  int attempts_ = 0;
};

}  // namespace kube
