#pragma once
// The retry delay of the work queue, as client-go's default controller rate
// limiter: the larger of a per-key exponential backoff (base * 2^failures,
// capped) and an overall token bucket shared by all keys.

#include <mutex>
#include <string>
#include <unordered_map>

#include "kube/clock.h"
#include "kube/token_bucket.h"

namespace kube {

struct RateLimiterOptions {
  Clock::Duration base_delay = std::chrono::milliseconds(5);
  Clock::Duration max_delay = std::chrono::seconds(300);
  double overall_qps = 10;  // <= 0 disables the overall bucket
  int overall_burst = 100;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimiterOptions options, Clock& clock);

  // Records one more failure of `key` and returns how long to wait before retrying it.
  // Also takes a token from the overall bucket, as every retry counts against it.
  Clock::Duration when(const std::string& key);
  // Resets the key's failure count; the next when() returns base_delay again.
  void forget(const std::string& key);
  int failures(const std::string& key) const;

 private:
  Clock::Duration per_key_delay(int previous_failures) const;

  RateLimiterOptions options_;
  TokenBucket overall_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> failures_;
};

}  // namespace kube
