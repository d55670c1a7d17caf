#include "kube/work_queue.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "kube/rate_limiter.h"

namespace kube {
namespace {

using namespace std::chrono_literals;

// Bounded real wait for a condition another thread makes true; never a timing assertion.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5s) {
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

WorkQueueOptions no_overall_limit() {
  WorkQueueOptions options;
  options.overall_qps = 0;
  return options;
}

// Everything got is also done, so the queue is left with no key in processing.
std::vector<std::string> drain(WorkQueue& q) {
  std::vector<std::string> keys;
  while (q.len() > 0) {
    auto key = q.get();
    if (!key) break;
    keys.push_back(*key);
    q.done(*key);
  }
  return keys;
}

TEST(WorkQueueTest, DeduplicatesWaitingKeysAndKeepsFifoOrder) {
  struct Case {
    std::string name;
    std::vector<std::string> adds;
    std::vector<std::string> handed_out;
  };
  const std::vector<Case> cases = {
      {"distinct keys come out in order", {"a", "b", "c"}, {"a", "b", "c"}},
      {"a waiting key is not added twice", {"a", "a", "a"}, {"a"}},
      {"a duplicate keeps its first place", {"a", "b", "a", "c", "b"}, {"a", "b", "c"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    testing::FakeClock clock;
    WorkQueue q({}, clock);
    for (const auto& key : c.adds) q.add(key);
    EXPECT_EQ(q.len(), c.handed_out.size());
    EXPECT_EQ(drain(q), c.handed_out);
  }
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsQueuedAgainOnDone) {
  testing::FakeClock clock;
  WorkQueue q({}, clock);
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  q.add("a");
  q.add("a");
  EXPECT_EQ(q.len(), 0u) << "must not be handed out while it is being processed";
  q.done("a");
  EXPECT_EQ(q.len(), 1u);
  ASSERT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueueTest, DoneWithoutReAddDoesNotQueueAgain) {
  testing::FakeClock clock;
  WorkQueue q({}, clock);
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  q.done("a");
  q.done("a");  // a stray done is ignored
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueueTest, TwoWorkersNeverProcessTheSameKeyAtOnce) {
  testing::FakeClock clock;
  WorkQueue q({}, clock);
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> processed;  // guarded by mu, appended at done()
  bool first_started = false;
  bool release_first = false;

  auto worker = [&] {
    while (auto key = q.get()) {
      int now = ++in_flight;
      int seen = max_in_flight.load();
      while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
      }
      {
        std::unique_lock lock(mu);
        if (!first_started) {
          first_started = true;
          cv.notify_all();
          cv.wait(lock, [&] { return release_first; });
        }
      }
      --in_flight;
      {
        std::lock_guard lock(mu);
        processed.push_back(*key);
      }
      q.done(*key);
      cv.notify_all();
    }
  };

  q.add("a");
  std::jthread w1(worker);
  std::jthread w2(worker);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return first_started; }));
  }
  q.add("a");
  EXPECT_EQ(q.len(), 0u) << "the idle worker must not see the key being processed";
  {
    std::lock_guard lock(mu);
    release_first = true;
  }
  cv.notify_all();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return processed.size() == 2; }));
  }
  // FIFO: a third, wrong "a" would already be queued ahead of this sentinel.
  q.add("z");
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return processed.size() >= 3; }));
    EXPECT_EQ(processed, (std::vector<std::string>{"a", "a", "z"}));
  }
  q.shut_down();
  w1.join();
  w2.join();
  EXPECT_EQ(max_in_flight.load(), 1);
}

TEST(WorkQueueTest, ConcurrentProducersAndWorkersKeepOneWorkerPerKey) {
  testing::FakeClock clock;
  WorkQueue q({}, clock);
  constexpr int kKeys = 4;
  std::array<std::atomic<int>, kKeys> in_flight{};
  std::atomic<bool> overlap{false};
  std::atomic<int> handled{0};

  auto worker = [&] {
    while (auto key = q.get()) {
      int i = std::stoi(key->substr(1));
      if (++in_flight[i] > 1) overlap = true;
      std::this_thread::yield();
      --in_flight[i];
      ++handled;
      q.done(*key);
    }
  };
  auto producer = [&](int seed, bool delayed) {
    for (int n = 0; n < 2000; ++n) {
      std::string key = "k" + std::to_string((n * 7 + seed) % kKeys);
      if (delayed) {
        q.add_after(key, std::chrono::microseconds(1 + n % 3));
      } else {
        q.add(key);
      }
    }
  };

  std::vector<std::jthread> workers;
  workers.emplace_back(worker);
  workers.emplace_back(worker);
  {
    std::jthread p1(producer, 1, false);
    std::jthread p2(producer, 2, true);
    for (int n = 0; n < 200; ++n) clock.advance(1us);
  }
  clock.advance(1s);
  EXPECT_TRUE(eventually([&] { return handled.load() > 0 && q.len() == 0; }));
  q.shut_down();
  workers.clear();
  EXPECT_FALSE(overlap.load());
}

TEST(WorkQueueTest, AddAfterFiresOnlyOnceTheClockPassesTheDelay) {
  struct Case {
    std::string name;
    Clock::Duration first;
    std::optional<Clock::Duration> second;
    Clock::Duration fires_after;
  };
  const std::vector<Case> cases = {
      {"single delay", 10ms, std::nullopt, 10ms},
      {"an earlier re-add wins", 10s, 1s, 1s},
      {"a later re-add is ignored", 1s, 10s, 1s},
      {"an equal re-add changes nothing", 1s, 1s, 1s},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    testing::FakeClock clock;
    WorkQueue q({}, clock);
    q.add_after("a", c.first);
    ASSERT_TRUE(clock.wait_for_sleepers(1));
    if (c.second) {
      q.add_after("a", *c.second);
      ASSERT_TRUE(clock.wait_for_sleepers(1));
    }
    EXPECT_EQ(q.len(), 0u);
    clock.advance(c.fires_after - 1ns);
    ASSERT_TRUE(clock.wait_for_sleepers(1));
    EXPECT_EQ(q.len(), 0u) << "fired before its deadline";
    clock.advance(1ns);
    ASSERT_TRUE(eventually([&] { return q.len() == 1; }));
    EXPECT_EQ(drain(q), std::vector<std::string>{"a"});
    // The losing delayed add was merged, not kept for later.
    clock.advance(1h);
    EXPECT_EQ(clock.sleepers(), 0);
    EXPECT_EQ(q.len(), 0u);
  }
}

TEST(WorkQueueTest, AddAfterWithoutDelayAddsNow) {
  testing::FakeClock clock;
  WorkQueue q({}, clock);
  q.add_after("a", 0s);
  q.add_after("b", -1s);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"a", "b"}));
}

TEST(WorkQueueTest, DelayedKeysFireInDeadlineOrder) {
  testing::FakeClock clock;
  WorkQueue q({}, clock);
  q.add_after("late", 3s);
  q.add_after("early", 1s);
  q.add_after("middle", 2s);
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  clock.advance(5s);
  ASSERT_TRUE(eventually([&] { return q.len() == 3; }));
  EXPECT_EQ(drain(q), (std::vector<std::string>{"early", "middle", "late"}));
}

TEST(RateLimiterTest, PerKeyBackoffDoublesUpToTheCap) {
  struct Case {
    std::string name;
    RateLimiterOptions options;
    std::vector<Clock::Duration> delays;  // returned by successive when() calls
  };
  const std::vector<Case> cases = {
      {"doubles from base", {5ms, 300s, 0, 1}, {5ms, 10ms, 20ms, 40ms, 80ms}},
      {"capped at max", {5ms, 40ms, 0, 1}, {5ms, 10ms, 20ms, 40ms, 40ms, 40ms}},
      {"max below base", {5ms, 2ms, 0, 1}, {2ms, 2ms}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    testing::FakeClock clock;
    RateLimiter limiter(c.options, clock);
    for (size_t i = 0; i < c.delays.size(); ++i) {
      SCOPED_TRACE("call " + std::to_string(i));
      EXPECT_EQ(limiter.when("a"), c.delays[i]);
      EXPECT_EQ(limiter.failures("a"), static_cast<int>(i + 1));
    }
    EXPECT_EQ(limiter.when("b"), c.delays[0]) << "keys back off independently";
    limiter.forget("a");
    EXPECT_EQ(limiter.failures("a"), 0);
    EXPECT_EQ(limiter.when("a"), c.delays[0]);
  }
}

TEST(RateLimiterTest, DefaultCapIsReachedAndNeverOverflows) {
  testing::FakeClock clock;
  RateLimiter limiter({5ms, 300s, 0, 1}, clock);
  for (int i = 0; i < 16; ++i) EXPECT_LT(limiter.when("a"), 300s);  // 5ms * 2^15 = 163.84s
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(limiter.when("a"), 300s);
}

TEST(RateLimiterTest, OverallBucketDelaysBeyondTheBurst) {
  testing::FakeClock clock;
  RateLimiter limiter({5ms, 300s, 10, 100}, clock);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(limiter.when("k" + std::to_string(i)), 5ms);
  EXPECT_NEAR(std::chrono::duration<double>(limiter.when("k100")).count(), 0.1, 1e-6);
  EXPECT_NEAR(std::chrono::duration<double>(limiter.when("k101")).count(), 0.2, 1e-6);
}

TEST(WorkQueueTest, RateLimitedAddsBackOffPerKeyAndForgetResets) {
  testing::FakeClock clock;
  WorkQueue q(no_overall_limit(), clock);
  auto fails_then_fires_after = [&](Clock::Duration expected) {
    q.add_rate_limited("a");
    ASSERT_TRUE(clock.wait_for_sleepers(1));
    clock.advance(expected - 1ns);
    ASSERT_TRUE(clock.wait_for_sleepers(1));
    EXPECT_EQ(q.len(), 0u);
    clock.advance(1ns);
    ASSERT_TRUE(eventually([&] { return q.len() == 1; }));
    EXPECT_EQ(drain(q), std::vector<std::string>{"a"});
  };
  const std::vector<Clock::Duration> expected = {5ms, 10ms, 20ms, 40ms};
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("failure " + std::to_string(i + 1));
    fails_then_fires_after(expected[i]);
    EXPECT_EQ(q.failures("a"), static_cast<int>(i + 1));
  }
  q.forget("a");
  EXPECT_EQ(q.failures("a"), 0);
  fails_then_fires_after(5ms);
}

TEST(WorkQueueTest, OverallBucketDelaysTheAddAfterTheBurst) {
  testing::FakeClock clock;
  WorkQueueOptions options;
  options.overall_qps = 10;
  options.overall_burst = 5;
  WorkQueue q(options, clock);
  for (int i = 0; i <= options.overall_burst; ++i) q.add_rate_limited("k" + std::to_string(i));
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  clock.advance(5ms);
  ASSERT_TRUE(eventually([&] { return q.len() == 5; }));
  clock.advance(94ms);  // 99ms in all: the sixth key waits for 1/qps = 100ms
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_EQ(q.len(), 5u);
  clock.advance(2ms);
  ASSERT_TRUE(eventually([&] { return q.len() == 6; }));
  EXPECT_EQ(drain(q).back(), "k5");
}

TEST(WorkQueueTest, ShutDownWakesABlockedGet) {
  testing::FakeClock clock;
  WorkQueue q({}, clock);
  std::optional<std::string> got = "unset";
  std::jthread getter([&] { got = q.get(); });
  q.shut_down();
  getter.join();
  EXPECT_EQ(got, std::nullopt);
  EXPECT_TRUE(q.shutting_down());
}

TEST(WorkQueueTest, AfterShutDownAddsAreIgnoredAndGetDoesNotDrain) {
  testing::FakeClock clock;
  WorkQueue q({}, clock);
  q.add("queued");
  q.shut_down();
  q.add("a");
  q.add_after("b", 1s);
  q.add_rate_limited("c");
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(q.get(), std::nullopt);
  EXPECT_EQ(q.get(), std::nullopt);
}

TEST(WorkQueueTest, DestructorWithPendingDelayedKeysDoesNotHang) {
  {
    testing::FakeClock clock;
    {
      WorkQueue q({}, clock);
      q.add_after("a", 1h);
      q.add_rate_limited("b");
      ASSERT_TRUE(clock.wait_for_sleepers(1));
    }
    EXPECT_EQ(clock.sleepers(), 0);
  }
  {
    WorkQueue q;  // the real clock: the sleep must be stopped, not waited out
    q.add_after("a", 1h);
  }
}

}  // namespace
}  // namespace kube
