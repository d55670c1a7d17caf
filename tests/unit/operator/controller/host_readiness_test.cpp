#include "controller/host_readiness.h"

#include <chrono>

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;

class HostReadinessTest : public ::testing::Test {
 protected:
  kube::testing::FakeClock clock_;
  HostReadiness hosts_{clock_, 30s};
};

TEST_F(HostReadinessTest, ANodeIsWithinItsGraceFromWhenItWasFirstSeenNotReady) {
  hosts_.observe("n1", true);
  EXPECT_TRUE(hosts_.within_grace().empty()) << "Ready: no grace to run";
  hosts_.observe("n1", false);
  clock_.advance(10s);
  hosts_.observe("n1", false);  // a later update while still NotReady keeps the first time
  auto left = hosts_.within_grace();
  ASSERT_EQ(left.count("n1"), 1u);
  EXPECT_EQ(left["n1"], 20s);
  clock_.advance(20s);
  EXPECT_TRUE(hosts_.within_grace().empty()) << "NotReady for the whole grace";
}

TEST_F(HostReadinessTest, ReadyAgainStartsTheGraceOverAndARemovedNodeIsForgotten) {
  hosts_.observe("n1", false);
  clock_.advance(25s);
  hosts_.observe("n1", true);  // the kubelet renewed: Ready again before the grace ran out
  clock_.advance(1s);
  hosts_.observe("n1", false);
  clock_.advance(25s);
  ASSERT_EQ(hosts_.within_grace().count("n1"), 1u) << "a new NotReady spell gets a whole grace";
  hosts_.observe("n2", false);
  hosts_.forget("n2");
  EXPECT_EQ(hosts_.within_grace().count("n2"), 0u);
}

}  // namespace
}  // namespace rr::controller
