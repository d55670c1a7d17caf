#pragma once
// A clock that moves only when a test advances it. Sleepers wake when the fake
// time passes their deadline or when they are stopped.

#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>

#include "kube/clock.h"

namespace kube::testing {

class FakeClock final : public Clock {
 public:
  FakeClock() : now_(TimePoint{} + std::chrono::hours(1)), wall_(WallTime{} + std::chrono::hours(24 * 365 * 50)) {}

  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  WallTime wall_now() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  bool sleep_until(TimePoint deadline, std::stop_token stop) override {
    // Declared before the lock: the callback takes the mutex, and its destructor waits for a running callback.
    std::stop_callback wake_on_stop(stop, [this] {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    });
    std::unique_lock lock(mu_);
    auto entry = deadlines_.insert(deadline);
    cv_.notify_all();
    cv_.wait(lock, [&] { return now_ >= deadline || stop.stop_requested(); });
    deadlines_.erase(entry);
    cv_.notify_all();
    return !stop.stop_requested();
  }

  void advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    cv_.notify_all();
  }
  // Moves wall time only: models a skewed or stepped system clock.
  void step_wall(std::chrono::system_clock::duration d) {
    std::lock_guard lock(mu_);
    wall_ += d;
  }
  // Blocks until at least `n` threads sleep towards a deadline still in the
  // future (bounded by real time). Sleepers already due but not yet scheduled
  // do not count, so advancing after this always wakes someone new.
  bool wait_for_sleepers(int n, std::chrono::milliseconds real_limit = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, real_limit, [&] { return pending_locked() >= n; });
  }
  int sleepers() const {
    std::lock_guard lock(mu_);
    return pending_locked();
  }
  // The earliest future deadline anyone sleeps towards, if any.
  std::optional<TimePoint> next_deadline() const {
    std::lock_guard lock(mu_);
    auto it = deadlines_.upper_bound(now_);
    if (it == deadlines_.end()) return std::nullopt;
    return *it;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  TimePoint now_;
  WallTime wall_;
  std::multiset<TimePoint> deadlines_;

  int pending_locked() const {
    return static_cast<int>(std::distance(deadlines_.upper_bound(now_), deadlines_.end()));
  }
};

}  // namespace kube::testing
