#pragma once
// Bounded waiting for the integration tests: poll a condition until it holds
// or a deadline passes. A correctness bound, never a performance assertion.

#include <chrono>
#include <thread>

namespace rr::testing {

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(30),
                std::chrono::milliseconds step = std::chrono::milliseconds(100)) {
  for (auto waited = std::chrono::milliseconds(0); waited < limit; waited += step) {
    if (pred()) return true;
    std::this_thread::sleep_for(step);
  }
  return pred();
}

}  // namespace rr::testing
