#pragma once
// Time comes from an injected Clock so that timing logic is testable; only
// RealClock reads the system clocks.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace kube {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time: for every deadline, timeout and expiry judgement.
  virtual TimePoint now() const = 0;
  // Wall time: only for timestamps written into API objects.
  virtual WallTime wall_now() const = 0;
  // Blocks until `deadline` or until `stop` is requested. False when stopped.
  virtual bool sleep_until(TimePoint deadline, std::stop_token stop) = 0;

  bool sleep_for(Duration d, std::stop_token stop) { return sleep_until(now() + d, std::move(stop)); }
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  bool sleep_until(TimePoint deadline, std::stop_token stop) override;

  static RealClock& instance();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace kube
