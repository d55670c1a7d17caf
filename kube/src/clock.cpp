#include "kube/clock.h"

namespace kube {

// std::condition_variable plus a stop_callback rather than condition_variable_any's
// stop_token overloads, which lost wake-ups under libstdc++ 12 in our tests.
bool RealClock::sleep_until(TimePoint deadline, std::stop_token stop) {
  std::stop_callback wake_on_stop(stop, [this] {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  });
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return stop.stop_requested(); });
  return !stop.stop_requested();
}

RealClock& RealClock::instance() {
  static RealClock clock;
  return clock;
}

}  // namespace kube
