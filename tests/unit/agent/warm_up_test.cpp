#include "agent/warm_up.h"

#include <gtest/gtest.h>

namespace rr::agent {
namespace {

using namespace std::chrono_literals;
using TimePoint = kube::Clock::TimePoint;

const TimePoint start{};

TEST(WarmUpTest, AReflectorIsWarmOnceEverySessionIsSettled) {
  WarmUp w(60s);
  w.configured(start);
  w.polled({.established = 1, .settled = 1, .total = 3}, start + 1s);
  EXPECT_FALSE(w.warm());
  EXPECT_NE(w.waiting_for().find("1 of 3 BGP sessions Established and settled"), std::string::npos)
      << w.waiting_for();
  w.polled({.established = 3, .settled = 2, .total = 3}, start + 2s);
  EXPECT_FALSE(w.warm()) << "a session still exchanging its first routes holds it back";
  w.polled({.established = 3, .settled = 3, .total = 3}, start + 3s);
  EXPECT_TRUE(w.warm());
}

TEST(WarmUpTest, APeerThatIsNotThereDoesNotHoldItBack) {
  WarmUp w(60s);
  w.configured(start);
  w.polled({.established = 2, .settled = 2, .total = 3, .unreachable = 1}, start + 1s);
  EXPECT_TRUE(w.warm());
}

TEST(WarmUpTest, AfterTheGraceItIsWarmWhateverItsSessionsSay) {
  WarmUp w(10s);
  w.configured(start);
  w.polled({.established = 0, .total = 2}, start + 9s);
  EXPECT_FALSE(w.warm());
  w.polled({.established = 0, .total = 2}, start + 10s);
  EXPECT_TRUE(w.warm());
}

TEST(WarmUpTest, TheGraceRunsFromTheFirstConfigurationNotTheLatest) {
  WarmUp w(10s);
  w.configured(start);
  w.configured(start + 8s);  // a reload: no new grace
  w.polled({.established = 0, .total = 2}, start + 10s);
  EXPECT_TRUE(w.warm());
}

TEST(WarmUpTest, APollBeforeAnyConfigurationSaysNothing) {
  WarmUp w(0s);
  w.polled({.established = 0, .total = 0}, start);
  EXPECT_FALSE(w.warm());
  EXPECT_NE(w.waiting_for().find("not read"), std::string::npos) << w.waiting_for();
  w.configured(start + 1s);
  EXPECT_FALSE(w.warm());  // configured, but no session read since
  w.polled({.established = 0, .total = 0}, start + 1s);
  EXPECT_TRUE(w.warm());  // no peers at all: nothing to wait for
}

TEST(WarmUpTest, OnceWarmAClientThatFailsLaterDoesNotMakeItUnready) {
  WarmUp w(60s);
  w.configured(start);
  w.polled({.established = 2, .settled = 2, .total = 2}, start + 1s);
  ASSERT_TRUE(w.warm());
  w.polled({.established = 2, .settled = 2, .total = 5}, start + 2s);  // three new clients, not up yet
  EXPECT_TRUE(w.warm());
}

}  // namespace
}  // namespace rr::agent
