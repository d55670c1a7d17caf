// The operator's liveness judgement of reflector Pods: a Pod is judged only by
// renewals it made itself (its UID holds the Lease), so a replacement of the
// same name never inherits its predecessor's lapsed Lease.
#include "contract/liveness_tracker.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"

namespace rr::contract {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClock;

constexpr char kKey[] = "rr-system/rr-fab-r1-n1";
constexpr char kName[] = "rr-fab-r1-n1";
constexpr auto kDuration = 10s;
constexpr auto kGrace = 20s;

class LivenessTrackerTest : public ::testing::Test {
 protected:
  // One renewal by `holder` (each call a new renewTime).
  void renew(const std::string& holder) {
    tracker_.observe_lease(kKey, holder, "t" + std::to_string(++renewals_), 10);
  }

  FakeClock clock_;
  LivenessTracker tracker_{clock_, kGrace};
  int renewals_ = 0;
};

TEST_F(LivenessTrackerTest, APodIsAliveWhileItsOwnRenewalsContinueAndLapsesADurationAfterTheyStop) {
  tracker_.observe_pod(kKey, "uid-1");
  renew("uid-1");
  for (int i = 0; i < 5; ++i) {
    clock_.advance(3s);
    renew("uid-1");
    auto v = tracker_.judge_pod(kKey, kDuration);
    EXPECT_TRUE(v.lease.known);
    EXPECT_TRUE(v.lease.fresh);
    EXPECT_FALSE(v.lapsed);
    ASSERT_TRUE(v.deadline);
    EXPECT_EQ(*v.deadline, kDuration);
  }
  EXPECT_TRUE(tracker_.held_by_pod(kKey));
  clock_.advance(kDuration - 1ms);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  clock_.advance(1ms);
  auto v = tracker_.judge_pod(kKey, kDuration);
  EXPECT_TRUE(v.lapsed) << "renewed, then silent for a whole duration (a frozen agent)";
  EXPECT_FALSE(v.deadline);
}

TEST_F(LivenessTrackerTest, AReplacementOfTheSameNameIsNotJudgedByItsPredecessorsLapsedLease) {
  tracker_.observe_pod(kKey, "uid-1");
  renew("uid-1");
  clock_.advance(kDuration);
  ASSERT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed);

  // The operator replaced the Pod: same name, same key, a new UID; the Lease still says uid-1.
  tracker_.forget_pod(kKey);
  clock_.advance(100ms);
  tracker_.observe_pod(kKey, "uid-2");
  auto v = tracker_.judge_pod(kKey, kDuration);
  EXPECT_FALSE(v.lapsed) << "the predecessor's Lease must not judge the new Pod dead";
  EXPECT_FALSE(v.lease.known) << "uid-1's renewals are not uid-2's";
  ASSERT_TRUE(v.deadline);
  EXPECT_EQ(*v.deadline, kDuration + kGrace) << "the start-up grace starts anew for the new UID";
  EXPECT_FALSE(tracker_.held_by_pod(kKey));

  // The predecessor's Lease lapses further (or even renews, a partitioned old agent): still not uid-2's.
  clock_.advance(kDuration);
  renew("uid-1");
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lease.known);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);

  // The new agent takes the Lease over: its renewals count from now on.
  renew("uid-2");
  v = tracker_.judge_pod(kKey, kDuration);
  EXPECT_TRUE(v.lease.fresh);
  EXPECT_FALSE(v.lapsed);
  EXPECT_TRUE(tracker_.held_by_pod(kKey));
}

TEST_F(LivenessTrackerTest, AUidChangeSeenAsAnUpdateStartsTheGraceAnew) {
  // A relist may deliver the replacement as an update of the same key, without a delete.
  tracker_.observe_pod(kKey, "uid-1");
  clock_.advance(kDuration + kGrace);
  ASSERT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed) << "no Lease within the duration + grace";
  tracker_.observe_pod(kKey, "uid-2");
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  tracker_.observe_pod(kKey, "");  // an observation without a UID keeps the one known
  clock_.advance(kDuration + kGrace - 1ms);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  clock_.advance(1ms);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed) << "uid-2 never renewed within its own grace";
}

TEST_F(LivenessTrackerTest, APartitionedPredecessorWritingInTurnDoesNotHideTheNewPodsRenewals) {
  tracker_.observe_pod(kKey, "uid-2");
  for (int i = 0; i < 6; ++i) {
    renew("uid-2");
    clock_.advance(1s);
    renew("uid-1");  // the old agent, its Pod force-deleted, still writes
    clock_.advance(2s);
    auto v = tracker_.judge_pod(kKey, kDuration);
    EXPECT_TRUE(v.lease.fresh) << "round " << i;
    EXPECT_FALSE(v.lapsed);
  }
}

TEST_F(LivenessTrackerTest, AnAgentOfThePreviousVersionHoldingByNameCountsOnlyWithRenewalsSinceItsPodAppeared) {
  tracker_.observe_pod(kKey, "uid-1");
  renew(kName);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lease.fresh) << "the name holds it: an agent of the previous version";
  clock_.advance(kDuration);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed);

  // Replaced: the lapsed by-name Lease was renewed before uid-2 appeared, so it is not uid-2's.
  tracker_.forget_pod(kKey);
  clock_.advance(1s);
  tracker_.observe_pod(kKey, "uid-2");
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lease.known);
  // A watch that failed and answers again restarts the Lease's clock; it still is no
  // renewal by the new Pod.
  tracker_.observation_lost("leases");
  tracker_.observation_resumed("leases");
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lease.known);
  // The new Pod's (old-version) agent renews under the name: that counts.
  clock_.advance(1s);
  renew(kName);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lease.fresh);
  EXPECT_TRUE(tracker_.held_by_pod(kKey));
}

TEST_F(LivenessTrackerTest, RemembersTheUidsOfEarlierPodsOfTheSameName) {
  EXPECT_FALSE(tracker_.former_pod_uid(kKey, "uid-1"));
  tracker_.observe_pod(kKey, "uid-1");
  EXPECT_FALSE(tracker_.former_pod_uid(kKey, "uid-1")) << "the Pod seen now is no predecessor";
  tracker_.forget_pod(kKey);  // deleted, then replaced
  tracker_.observe_pod(kKey, "uid-2");
  EXPECT_TRUE(tracker_.former_pod_uid(kKey, "uid-1"));
  tracker_.observe_pod(kKey, "uid-3");  // replaced again, seen only as an update (a relist)
  EXPECT_TRUE(tracker_.former_pod_uid(kKey, "uid-2"));
  EXPECT_FALSE(tracker_.former_pod_uid(kKey, "uid-3"));
  EXPECT_FALSE(tracker_.former_pod_uid(kKey, "a-uid-never-seen"));
  EXPECT_FALSE(tracker_.former_pod_uid("rr-system/another", "uid-1")) << "per name";
  for (int i = 4; i < 10; ++i) tracker_.observe_pod(kKey, "uid-" + std::to_string(i));
  EXPECT_FALSE(tracker_.former_pod_uid(kKey, "uid-1")) << "only the last few are kept";
  EXPECT_TRUE(tracker_.former_pod_uid(kKey, "uid-8"));
}

// An API outage longer than the lease: the watch fails at once, then retries with a backoff
// that grows to 30 s, so it answers again up to 30 s after its last failure. None of that
// time counts: not while it fails, not between its last failure and its first answer.
TEST_F(LivenessTrackerTest, BlindTimeOfABrokenWatchDoesNotLapseAPod) {
  tracker_.observe_pod(kKey, "uid-1");
  renew("uid-1");
  clock_.advance(kDuration - 1s);
  tracker_.observation_lost("leases");
  for (int retry = 0; retry < 4; ++retry) {
    clock_.advance(kDuration);
    tracker_.observation_lost("leases");  // every retry fails again
  }
  clock_.advance(30s);  // the last backoff, then the watch opens
  auto blind = tracker_.judge_pod(kKey, kDuration);
  EXPECT_FALSE(blind.lapsed) << "judged as if just observed";
  EXPECT_TRUE(blind.lease.fresh);
  ASSERT_TRUE(blind.deadline);
  EXPECT_EQ(*blind.deadline, kDuration) << "no verdict is due while nothing can be seen";
  EXPECT_TRUE(tracker_.judge_lease(kKey).fresh);
  tracker_.observation_resumed("leases");
  // The agent, cut off as the operator was, gets a whole duration to be seen renewing.
  clock_.advance(kDuration - 1s);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  clock_.advance(1s);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed) << "no renewal since: lapsed as before";
}

// A watch stream can go silent before it fails (a server shutting down keeps it open while it
// refuses new requests): what looked like a lapse just before the failure may be that silence.
// Blind, no one is judged lapsed; once the watch answers, a reflector that does not renew
// lapses a lease duration later.
TEST_F(LivenessTrackerTest, NoOneLapsesWhileBlindAndALapseIsJudgedAgainAfter) {
  tracker_.observe_pod(kKey, "uid-1");
  renew("uid-1");
  clock_.advance(kDuration + 1s);
  ASSERT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed);
  tracker_.observation_lost("leases");
  clock_.advance(10 * kDuration);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  EXPECT_TRUE(tracker_.judge_lease(kKey).fresh);
  tracker_.observation_resumed("leases");
  clock_.advance(kDuration - 1s);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  clock_.advance(1s);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed);
  EXPECT_FALSE(tracker_.judge_lease(kKey).fresh);
}

// One watch per namespace feeds one tracker: verdicts stay held until the last lost one answers.
TEST_F(LivenessTrackerTest, ObservationResumesWhenEveryLostWatchAnswers) {
  tracker_.observe_pod(kKey, "uid-1");
  renew("uid-1");
  tracker_.observation_lost("ns-a");
  tracker_.observation_lost("ns-b");
  clock_.advance(3 * kDuration);
  tracker_.observation_resumed("ns-a");
  tracker_.observation_resumed("never-lost");  // an answer after a refusal, say: no change
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed) << "ns-b still fails";
  clock_.advance(3 * kDuration);
  tracker_.observation_resumed("ns-b");
  clock_.advance(kDuration - 1s);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  clock_.advance(1s);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed);
}

// A Pod that has not renewed yet (its agent starting): its start-up grace pauses while blind.
TEST_F(LivenessTrackerTest, AStartingPodsGracePausesWhileBlind) {
  tracker_.observe_pod(kKey, "uid-1");
  const auto allowed = kDuration + kGrace;
  clock_.advance(allowed / 2);
  tracker_.observation_lost("leases");
  clock_.advance(10 * allowed);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  tracker_.observation_resumed("leases");
  clock_.advance(allowed - allowed / 2 - 1s);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  clock_.advance(1s);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed);
}

TEST_F(LivenessTrackerTest, APodNotSeenYetIsNotJudged) {
  renew("uid-1");
  auto v = tracker_.judge_pod(kKey, kDuration);
  EXPECT_FALSE(v.lapsed);
  EXPECT_FALSE(v.lease.known);
  EXPECT_FALSE(tracker_.held_by_pod(kKey));
  EXPECT_TRUE(tracker_.judge_lease(kKey).fresh) << "the Lease itself, as its holder keeps it";
}

// kubectl rr plan watches no renewal happen: it dates a Lease by its renewTime, and a Pod by
// its creation, and the verdicts are the ones an operator that watched would reach.
TEST_F(LivenessTrackerTest, ObservationsDatedInThePastAreJudgedFromThen) {
  const std::string uid = "uid-1";
  tracker_.observe_pod(kKey, uid, clock_.now() - 5min);
  tracker_.observe_lease(kKey, uid, "t-old", 10, clock_.now() - 25s);
  auto stale = tracker_.judge_pod(kKey, kDuration);
  EXPECT_TRUE(stale.lease.known);
  EXPECT_FALSE(stale.lease.fresh) << "renewed 25 s ago with a 10 s lease";
  EXPECT_TRUE(stale.lapsed);

  tracker_.observe_lease(kKey, uid, "t-new", 10, clock_.now() - 3s);
  auto fresh = tracker_.judge_pod(kKey, kDuration);
  EXPECT_TRUE(fresh.lease.fresh);
  EXPECT_EQ(fresh.lease.remaining, 7s);
  EXPECT_FALSE(fresh.lapsed);
}

// A Pod first seen long ago that never renewed is past its grace; one seen just now is not.
TEST_F(LivenessTrackerTest, AnOldPodThatNeverRenewedIsPastItsGraceAtOnce) {
  tracker_.observe_pod(kKey, "old", clock_.now() - (kDuration + kGrace + 1s));
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed);
  tracker_.forget_pod(kKey);
  tracker_.observe_pod(kKey, "new", clock_.now() - 1s);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
}

// The kubelet restarts a reflector's killed container: the agent starts again, as in a new
// Pod, and gets a start-up grace from the restart the kubelet reported; a restart seen before
// its last renewal gives nothing; the first report of a Pod is no restart.
TEST_F(LivenessTrackerTest, AContainerRestartAfterTheLastRenewalStartsAGraceOfItsOwn) {
  tracker_.observe_pod(kKey, "uid-1");
  tracker_.observe_containers(kKey, {0, true});
  renew("uid-1");
  clock_.advance(2s);
  tracker_.observe_containers(kKey, {0, false});  // killed: the kubelet reports it terminated
  clock_.advance(kDuration);
  auto restarting = tracker_.judge_pod(kKey, kDuration);
  EXPECT_FALSE(restarting.lapsed) << "the kubelet is starting it again";
  EXPECT_FALSE(restarting.lease.fresh);
  ASSERT_TRUE(restarting.deadline);
  EXPECT_EQ(*restarting.deadline, kGrace) << "lease duration + grace from the restart";
  tracker_.observe_containers(kKey, {1, true});  // running again
  clock_.advance(kDuration + kGrace - 1s);
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed);
  clock_.advance(1s);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed) << "no renewal since the restart: lapsed";

  // Renewing after a restart: judged by its renewals again.
  renew("uid-1");
  clock_.advance(kDuration);
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed) << "the restart before its last renewal counts no more";
}

TEST_F(LivenessTrackerTest, TheFirstReportOfAPodsContainersIsNoRestart) {
  tracker_.observe_pod(kKey, "uid-1");
  renew("uid-1");
  clock_.advance(kDuration);
  tracker_.observe_containers(kKey, {3, false});
  EXPECT_TRUE(tracker_.judge_pod(kKey, kDuration).lapsed);
  // A replacement of the same name starts with nothing known of its containers.
  tracker_.observe_pod(kKey, "uid-2");
  tracker_.observe_containers(kKey, {0, true});
  EXPECT_FALSE(tracker_.judge_pod(kKey, kDuration).lapsed) << "in its start-up grace";
}


}  // namespace
}  // namespace rr::contract
