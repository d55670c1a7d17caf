// The controller (informers, liveness tracker, reconciler, applier) on a fake
// API and a fake clock, with the test playing kubelet and the reflector's
// agent: an agent that stops renewing while its Pod lives (frozen) gets its Pod
// replaced exactly once; the replacement, same name on the same host, is not
// judged by its predecessor's lapsed Lease, and that Lease goes with its Pod.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "one_reflector_fixture.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using namespace rr::controller::testing;
using kube::Json;

class ReplacedReflectorTest : public testing::OneReflectorControllerTest {};

TEST_F(ReplacedReflectorTest, AFrozenAgentsPodIsReplacedOnceAndTheReplacementIsNotKilledByTheOldLease) {
  ASSERT_TRUE(eventually([&] { return !pod_uid().empty(); })) << "the operator never created " << pod_;
  const std::string first = pod_uid();
  ASSERT_TRUE(run_pod(first));
  ASSERT_TRUE(renew(first));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();

  // The agent freezes: its process (and Pod) live on, its Lease is no longer renewed.
  // Time passes until the operator has replaced the Pod (same name, same host).
  std::string second;
  for (int i = 0; i < 200 && second.empty(); ++i) {
    clock_.advance(500ms);
    // A short real-time pace per step of fake time; the loop as a whole is what is bounded.
    eventually([&] {
      const std::string uid = pod_uid();
      if (!uid.empty() && uid != first) second = uid;
      return !second.empty();
    }, 100ms);
  }
  ASSERT_FALSE(second.empty()) << "the frozen reflector was never replaced; state " << state();

  // The replacement's container starts; the operator sees it running before its agent has
  // renewed anything (a real agent needs a while to start): it must keep it as Starting.
  ASSERT_TRUE(run_pod(second)) << "the replacement " << second << " is gone already (now " << pod_uid() << ")";
  ASSERT_TRUE(eventually([&] { return state() == "Starting"; }))
      << "state " << state() << ", Pod " << pod_uid() << " (the replacement was " << second << ")";
  ASSERT_EQ(pod_uid(), second) << "the replacement was deleted before its agent could start";
  // Its agent takes the Lease over under its own UID.
  ASSERT_TRUE(renew(second));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();
  // A few lease periods of renewals by the replacement: it stays.
  for (int i = 0; i < 10; ++i) {
    clock_.advance(std::chrono::seconds(kLeaseSeconds) / 3);
    ASSERT_TRUE(renew(second)) << "renewal " << i;
  }
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();

  EXPECT_EQ(pod_uid(), second) << "the replacement was replaced";
  const std::string key = std::string(kNs) + "/" + pod_;
  EXPECT_EQ(count("create pods " + key), 2) << "one Pod, then exactly one replacement";
  EXPECT_EQ(count("delete pods " + key), 1) << "only the frozen reflector's Pod was deleted";
  EXPECT_EQ(count("delete leases " + key), 1) << "the lapsed reflector's Lease goes with it";
}

TEST_F(ReplacedReflectorTest, AnOrphanedLapsedLeaseIsDeletedAndAFreshOneIsLeftAlone) {
  ASSERT_TRUE(eventually([&] { return !pod_uid().empty(); }));
  const std::string uid = pod_uid();
  ASSERT_TRUE(run_pod(uid));
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();

  // A Lease of this fabric whose Pod does not exist (a reflector gone while the operator was down).
  const std::string orphan = planner::reflector_pod_name(kFabric, kRack, "gone");
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata",
                 {{"name", orphan},
                  {"namespace", kNs},
                  {"labels",
                   {{std::string(contract::kNameLabel), std::string(contract::kNameValue)},
                    {std::string(contract::kManagedByLabel), std::string(contract::kManagedByValue)},
                    {std::string(contract::kClusterLabel), kFabric}}}}},
                {"spec",
                 {{"holderIdentity", "uid-of-a-gone-pod"},
                  {"leaseDurationSeconds", kLeaseSeconds},
                  {"renewTime", kube::format_micro_time(clock_.wall_now())}}}};
  ASSERT_TRUE(api_.create(kube::resources::leases(), kNs, lease).ok());
  // Within its duration it may still be someone's (an agent whose Pod the cache has not seen).
  clock_.advance(std::chrono::seconds(kLeaseSeconds) / 2);
  ASSERT_TRUE(renew(uid));
  EXPECT_TRUE(api_.peek(kube::resources::leases(), kNs, orphan)) << "a fresh Lease is not the operator's to delete";

  // Lapsed: it goes; the live reflector's Lease stays.
  for (int i = 0; i < 40 && api_.peek(kube::resources::leases(), kNs, orphan); ++i) {
    clock_.advance(std::chrono::seconds(kLeaseSeconds) / 4);
    ASSERT_TRUE(renew(uid));
    eventually([&] { return !api_.peek(kube::resources::leases(), kNs, orphan); }, 200ms, 2ms);
  }
  EXPECT_FALSE(api_.peek(kube::resources::leases(), kNs, orphan)) << "the orphaned lapsed Lease was kept";
  EXPECT_TRUE(api_.peek(kube::resources::leases(), kNs, pod_));
  EXPECT_EQ(pod_uid(), uid);
  EXPECT_EQ(state(), "Ready");
}

}  // namespace
}  // namespace rr::controller
