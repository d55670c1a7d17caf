#include "kube/backoff.h"

#include <algorithm>
#include <mutex>

namespace kube {

RandomSource default_random_source() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  auto mu = std::make_shared<std::mutex>();
  return [engine, mu] {
    std::lock_guard lock(*mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
  };
}

Backoff::Backoff(BackoffPolicy policy, RandomSource random) : policy_(policy), random_(std::move(random)) {}

Clock::Duration Backoff::next() {
  if (attempts_ == 0) {
    current_ = policy_.initial;
  } else {
    auto grown = std::chrono::duration_cast<Clock::Duration>(current_ * policy_.factor);
    current_ = std::min(grown, policy_.max);
  }
  ++attempts_;
  double stretch = 1.0 + policy_.jitter * (random_ ? random_() : 0.0);
  return std::chrono::duration_cast<Clock::Duration>(current_ * stretch);
}

void Backoff::reset() {
  attempts_ = 0;
  current_ = {};
}

}  // namespace kube
