#pragma once
// The controller work queue, with client-go / controller-runtime semantics:
// keys are deduplicated while they wait, a key is never handed to two workers
// at once, and a key added while it is being processed is queued again when
// its worker calls done(). Delayed and rate-limited adds wait on the injected
// Clock in one background thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "kube/clock.h"
#include "kube/rate_limiter.h"

namespace kube {

struct WorkQueueOptions {
  Clock::Duration base_delay = std::chrono::milliseconds(5);  // per-key exponential: base * 2^failures
  Clock::Duration max_delay = std::chrono::seconds(300);
  double overall_qps = 10;  // bucket applied to add_rate_limited; <= 0 disables it
  int overall_burst = 100;
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {}, Clock& clock = RealClock::instance());
  ~WorkQueue();  // shuts down and joins the delay thread; pending delayed keys are dropped

  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // A key already waiting is not added twice; a key being processed is queued
  // again only when its worker calls done().
  void add(const std::string& key);
  // Adds the key once `delay` has passed on the clock. If the key already has a
  // pending delayed add, the earlier deadline wins. delay <= 0 adds now.
  void add_after(const std::string& key, Clock::Duration delay);
  // add_after with max(per-key exponential backoff, overall token bucket).
  void add_rate_limited(const std::string& key);
  // Resets the key's failure count (call after a successful reconcile).
  void forget(const std::string& key);
  int failures(const std::string& key) const;

  // Blocks until a key is ready. Returns nullopt as soon as the queue is shut
  // down, even if keys are still queued: shutdown does not drain.
  std::optional<std::string> get();
  // Must follow every get() that returned a key.
  void done(const std::string& key);

  // Wakes all getters and stops the delay thread; later adds are ignored.
  void shut_down();
  bool shutting_down() const;
  size_t len() const;  // keys ready to be handed out

 private:
  struct Waiting {
    Clock::TimePoint deadline;
    std::uint64_t seq;  // keeps equal deadlines in the order they were added
    auto operator<=>(const Waiting&) const = default;
  };

  void add_locked(const std::string& key);
  void run_delays();

  Clock& clock_;
  RateLimiter limiter_;

  mutable std::mutex mu_;
  std::condition_variable getters_cv_;
  bool shutting_down_ = false;
  std::deque<std::string> queue_;             // ready, in FIFO order
  std::unordered_set<std::string> dirty_;     // needs processing (queued, or re-added while processing)
  std::unordered_set<std::string> processing_;

  // Delayed adds: one entry per key, ordered by deadline.
  std::unordered_map<std::string, Waiting> waiting_by_key_;
  std::map<Waiting, std::string> waiting_;
  std::uint64_t next_seq_ = 0;
  // The delay thread waits here when nothing is delayed, and on the clock otherwise.
  std::condition_variable delay_cv_;
  // Set while the delay thread sleeps on the clock. FakeClock wakes sleepers only on
  // advance or stop, so an earlier deadline stops the sleep and the thread sleeps again.
  std::optional<std::stop_source> sleep_stop_;
  Clock::TimePoint sleep_deadline_{};

  std::thread delay_thread_;  // last: starts once everything above is initialised
};

}  // namespace kube
