#pragma once
// Tells a wedged process from a busy or an idle one, for /healthz. Each loop
// of the process that must keep going (a reconcile worker, leader election,
// an agent's main loop) holds a Watchdog::Loop and beats it as it goes round;
// a loop that blocks waiting for work says so (idle) and is not judged until
// its next beat. check() fails, naming the loop, when a loop that is not idle
// has not beaten within the threshold: it hangs in a call, a lock or a child.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "kube/clock.h"
#include "kube/probe_server.h"

namespace kube {

class Watchdog {
 public:
  // threshold > 0: how long a loop may go without a beat while it is not idle.
  Watchdog(Clock& clock, Clock::Duration threshold);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // A watched loop for as long as it lives. Default-constructed: watches nothing
  // (for code that runs with or without a watchdog).
  class Loop {
   public:
    Loop() = default;
    Loop(Loop&& other) noexcept;
    Loop& operator=(Loop&& other) noexcept;
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    ~Loop();

    // The loop made progress: it is judged from now on.
    void beat();
    // The loop waits for work that may be far away (an empty queue): not judged until the next beat().
    void idle();

   private:
    friend class Watchdog;
    Loop(Watchdog* watchdog, std::uint64_t id) : watchdog_(watchdog), id_(id) {}
    Watchdog* watchdog_ = nullptr;
    std::uint64_t id_ = 0;
  };

  // Starts watching a loop, as if it had just beaten. The Watchdog must outlive it.
  [[nodiscard]] Loop watch(std::string name);

  // ok, or the overdue loops with how long each has gone without progress.
  ProbeResult check() const;
  Clock::Duration threshold() const { return threshold_; }

 private:
  struct Entry {
    std::string name;
    Clock::TimePoint last_beat;
    bool idle = false;
  };
  void beat(std::uint64_t id);
  void idle(std::uint64_t id);
  void forget(std::uint64_t id);

  Clock& clock_;
  const Clock::Duration threshold_;
  mutable std::mutex mu_;
  std::map<std::uint64_t, Entry> loops_;
  std::uint64_t next_id_ = 1;
};

}  // namespace kube
