#include "kube/watchdog.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

constexpr auto kThreshold = 60s;

TEST(Watchdog, NoLoopsIsHealthy) {
  FakeClock clock;
  Watchdog watchdog(clock, kThreshold);
  clock.advance(1h);
  EXPECT_TRUE(watchdog.check().ok);
}

TEST(Watchdog, ALoopThatKeepsBeatingStaysHealthy) {
  FakeClock clock;
  Watchdog watchdog(clock, kThreshold);
  auto loop = watchdog.watch("main loop");
  for (int i = 0; i < 10; ++i) {
    clock.advance(50s);
    loop.beat();
    EXPECT_TRUE(watchdog.check().ok) << "beat " << i;
  }
}

TEST(Watchdog, ALoopWithoutProgressPastTheThresholdFailsByName) {
  FakeClock clock;
  Watchdog watchdog(clock, kThreshold);
  auto loop = watchdog.watch("main loop");
  clock.advance(kThreshold);
  EXPECT_TRUE(watchdog.check().ok) << "exactly the threshold is still in time";
  clock.advance(15s);
  auto verdict = watchdog.check();
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.reason, "main loop made no progress for 75 s (threshold 60 s)");

  loop.beat();  // it got going again: healthy at once
  EXPECT_TRUE(watchdog.check().ok);
}

TEST(Watchdog, ANewLoopCountsAsHavingJustBeaten) {
  FakeClock clock;
  Watchdog watchdog(clock, kThreshold);
  clock.advance(10min);
  auto loop = watchdog.watch("late starter");
  clock.advance(kThreshold - 1s);
  EXPECT_TRUE(watchdog.check().ok);
  clock.advance(2s);
  EXPECT_FALSE(watchdog.check().ok);
}

TEST(Watchdog, AnIdleLoopIsNotJudgedUntilItBeatsAgain) {
  FakeClock clock;
  Watchdog watchdog(clock, kThreshold);
  auto worker = watchdog.watch("reconcile worker");
  worker.idle();  // an empty queue: nothing to do for as long as it takes
  clock.advance(1h);
  EXPECT_TRUE(watchdog.check().ok);

  worker.beat();  // took a key: judged from now
  clock.advance(kThreshold + 1s);
  auto verdict = watchdog.check();
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.reason, "reconcile worker made no progress for 61 s (threshold 60 s)");
}

TEST(Watchdog, OnlyTheOverdueLoopsAreNamed) {
  FakeClock clock;
  Watchdog watchdog(clock, kThreshold);
  auto election = watchdog.watch("leader election");
  auto first = watchdog.watch("reconcile worker");
  auto second = watchdog.watch("reconcile worker");
  clock.advance(40s);
  election.beat();
  first.idle();
  clock.advance(30s);  // second: 70 s busy without progress; election: 30 s; first: idle
  auto verdict = watchdog.check();
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.reason, "reconcile worker made no progress for 70 s (threshold 60 s)");

  clock.advance(40s);  // election now overdue too
  verdict = watchdog.check();
  EXPECT_EQ(verdict.reason,
            "leader election made no progress for 70 s; reconcile worker made no progress for 110 s (threshold 60 s)");
}

TEST(Watchdog, ALoopThatEndedIsForgotten) {
  FakeClock clock;
  Watchdog watchdog(clock, kThreshold);
  {
    auto loop = watchdog.watch("leading term");
    clock.advance(kThreshold + 1s);
    EXPECT_FALSE(watchdog.check().ok);
  }
  EXPECT_TRUE(watchdog.check().ok) << "a loop that returned cannot be wedged";
}

TEST(Watchdog, AMovedLoopIsWatchedOnceAndForgottenWithItsLastOwner) {
  FakeClock clock;
  Watchdog watchdog(clock, kThreshold);
  Watchdog::Loop outer;
  {
    auto inner = watchdog.watch("moved");
    outer = std::move(inner);
  }
  clock.advance(kThreshold + 1s);
  EXPECT_EQ(watchdog.check().reason, "moved made no progress for 61 s (threshold 60 s)");
  outer.beat();
  EXPECT_TRUE(watchdog.check().ok);

  outer = watchdog.watch("replacement");  // the old one goes
  clock.advance(kThreshold + 1s);
  EXPECT_EQ(watchdog.check().reason, "replacement made no progress for 61 s (threshold 60 s)");
}

TEST(Watchdog, RejectsANonPositiveThreshold) {
  FakeClock clock;
  EXPECT_THROW(Watchdog(clock, 0s), std::invalid_argument);
}

}  // namespace
}  // namespace kube
