// The controller (informers, liveness tracker, reconciler, applier) on a fake
// API and a fake clock, with the test playing kubelet and the reflector's
// agent: an agent that stops renewing while its Pod lives (frozen) gets its Pod
// replaced exactly once; the replacement, same name on the same host, is not
// judged by its predecessor's lapsed Lease, and that Lease goes with its Pod.
#include <atomic>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "one_reflector_fixture.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using namespace rr::controller::testing;
using kube::Json;

class ReplacedReflectorTest : public testing::OneReflectorControllerTest {
 protected:
  void configure(ControllerOptions& options, Json& /*spec*/) override {
    options.on_reconciled = [this](const std::string&, const ReconcileOutcome&) { ++reconciled_; };
  }
  std::atomic<int> reconciled_{0};  // reconciles that succeeded
};

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

// The API goes away for longer than the lease (a kube-apiserver restart): every watch and
// renewal fails meanwhile, and the operator's Lease watch, backing off to 30 s between tries,
// answers again up to 30 s after its last failure. The agent renews once it reaches the API
// again. Neither the outage nor the watch's way back is a lapse: nothing is replaced.
TEST_F(ReplacedReflectorTest, AnApiOutageLongerThanTheLeaseReplacesNothing) {
  std::string uid;
  ASSERT_NO_FATAL_FAILURE(ready_reflector(uid));
  const int watches = api_.open_watch_count();

  api_.set_unavailable(true);
  pass(120);  // 60 s: six lease durations
  api_.set_unavailable(false);
  // The agent's own retries reach the API again within its renew period, and it renews every
  // period while the operator's watches come back one by one (up to 30 s); the kubelet
  // reports its Pod again, which the operator hears of as soon as its Pod watch is back.
  for (int i = 0; i < 20 && api_.open_watch_count() < watches; ++i) {
    pass(2 * kLeaseSeconds / 3);
    ASSERT_TRUE(renew(uid, nullptr, /*wait=*/false));
    ASSERT_TRUE(run_pod(uid)) << "replaced while the watches came back";
  }
  ASSERT_GE(api_.open_watch_count(), watches) << "the watches did not open again";
  ASSERT_TRUE(renew(uid));
  for (int i = 0; i < 6; ++i) {
    pass(2 * kLeaseSeconds / 3);
    ASSERT_TRUE(renew(uid)) << "renewal " << i << "; Pod now " << pod_uid();
  }
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; }))
      << state() << "; Pod " << pod_uid() << " (was " << uid << "), deleted "
      << count("delete pods " + std::string(kNs) + "/" + pod_) << " times";
  EXPECT_EQ(pod_uid(), uid) << "replaced after the outage";
  EXPECT_EQ(count("delete pods " + std::string(kNs) + "/" + pod_), 0);

  // And still judged: an agent that stops renewing now is replaced. Each step of fake time
  // waits a little real time for the replacement too: pass() waits only for the threads that
  // sleep on the fake clock, and the reconcile that replaces the Pod is not one of them (on a
  // loaded machine 200 steps went by in a second before it ran).
  std::string next;
  for (int i = 0; i < 200 && next.empty(); ++i) {
    pass(1);
    eventually([&] {
      const std::string now = pod_uid();
      if (!now.empty() && now != uid) next = now;
      return !next.empty();
    }, 100ms);
  }
  EXPECT_FALSE(next.empty()) << "a reflector that stopped renewing after the outage was never replaced";
}

// Only the operator's Lease watch is broken (it fails 8 times, its backoff growing past the
// lease duration); everything else answers: the agent keeps renewing and the kubelet keeps
// reporting its Pod, which the operator hears of. While it cannot see the renewals it must
// not judge them missing.
TEST_F(ReplacedReflectorTest, ALeaseWatchThatCannotReconnectLapsesNoOne) {
  std::string uid;
  ASSERT_NO_FATAL_FAILURE(ready_reflector(uid));
  const int watches = api_.open_watch_count();

  api_.inject_error("watch", kube::resources::leases(), kube::make_error(kube::ErrorKind::Transient, "lease watch broken"), 8);
  api_.fail_watches(kube::make_error(kube::ErrorKind::Transient, "connection reset"));
  for (int i = 0; i < 40 && (i < 20 || api_.open_watch_count() < watches); ++i) {
    pass(2 * kLeaseSeconds / 3);
    ASSERT_TRUE(renew(uid, nullptr, /*wait=*/false));
    ASSERT_TRUE(run_pod(uid)) << "replaced while its Lease watch was broken, after " << i << " renewals";
  }
  ASSERT_GE(api_.open_watch_count(), watches) << "the Lease watch did not open again";
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();
  EXPECT_EQ(pod_uid(), uid);
  EXPECT_EQ(count("delete pods " + std::string(kNs) + "/" + pod_), 0);
}

// A reconnect attempt that hangs (a kube-apiserver that accepts connections while it starts,
// but answers no TLS handshake until its client times out): no failure is reported while time
// passes, longer than the lease. Here: every watch has failed once and sleeps; fake time jumps
// past the lease in one step while the API comes back. The agent has not renewed yet (its own
// attempts hung too). That time was as unobserved as the outage: nothing is replaced.
TEST_F(ReplacedReflectorTest, TimeAWatchSpendsReconnectingWithoutAFailureLapsesNoOne) {
  std::string uid;
  ASSERT_NO_FATAL_FAILURE(ready_reflector(uid));
  const int watches = api_.open_watch_count();
  const int asleep = clock_.sleepers();

  api_.set_unavailable(true);
  ASSERT_TRUE(eventually([&] { return api_.open_watch_count() == 0; })) << "the watches did not drop";
  // Every watcher has reported its failure and sleeps in its backoff, beside the timers that
  // slept before: a watcher that had not yet read its failure when fake time jumped reported
  // it only after a reconcile had judged the Lease by the jump (4 runs in 60 on a busy machine).
  ASSERT_TRUE(clock_.wait_for_sleepers(asleep + watches, std::chrono::seconds(30)))
      << "every watcher fails and backs off";
  api_.set_unavailable(false);
  clock_.advance(std::chrono::seconds(2 * kLeaseSeconds));
  // Whatever still backs off gets a little more fake time, at most half a lease in all: fake
  // time that ran on per real-time poll ran past the lease on a busy machine (the Lease watch
  // back, the agent not yet renewing) and the reflector was replaced for the test's pacing.
  for (int i = 0; i < 50 && api_.open_watch_count() < watches; ++i) {
    clock_.advance(100ms);
    api_.wait_for_open_watches(watches, 100ms);
  }
  ASSERT_TRUE(api_.wait_for_open_watches(watches)) << "the watches did not open again";
  // The Pod informer's relist and the requeue deadline that passed have reconciled meanwhile.
  ASSERT_TRUE(eventually([&] { return !state().empty(); }));
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; }))
      << state() << "; Pod " << pod_uid() << " (was " << uid << ")";
  EXPECT_EQ(pod_uid(), uid) << "replaced after a reconnect that hung";
  EXPECT_EQ(count("delete pods " + std::string(kNs) + "/" + pod_), 0);
}

// A kube-apiserver shutting down keeps its watches open, silent, while it refuses new
// requests: the agent's renewals fail, and the operator's watches report nothing. Past the
// lease, the caches say the reflector lapsed; the operator reads the Lease before acting on
// that, and gets no answer: nothing is replaced. When the API answers again, that blind time
// counts against no one (as when a watch fails): the agent gets a whole lease to renew, even
// when the operator looks again before the agent has.
TEST_F(ReplacedReflectorTest, ALapseSeenThroughASilentWatchIsNotActedOnWhileTheApiDoesNotAnswer) {
  std::string uid;
  ASSERT_NO_FATAL_FAILURE(ready_reflector(uid));
  const int watches = api_.open_watch_count();

  api_.set_unavailable(true, /*drop_watches=*/false);
  pass(8 * kLeaseSeconds);  // four lease durations
  ASSERT_EQ(api_.open_watch_count(), watches) << "the watches were to stay open";
  EXPECT_EQ(pod_uid(), uid) << "replaced while the API did not answer";

  // The API answers; the operator looks again (a Node changed) before the agent renews.
  api_.set_unavailable(false);
  const int before = reconciled_;
  auto n2 = api_.get(kube::resources::nodes(), "", "n2");
  ASSERT_TRUE(n2.ok());
  (*n2)["status"]["conditions"][0]["status"] = "False";
  ASSERT_TRUE(api_.update_status(kube::resources::nodes(), *n2).ok());
  ASSERT_TRUE(eventually([&] { return reconciled_ > before; })) << "the operator did not look again";
  EXPECT_EQ(pod_uid(), uid) << "replaced as soon as the API answered, before its agent could renew";
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; }))
      << state() << "; Pod " << pod_uid() << " (was " << uid << ")";
  EXPECT_EQ(pod_uid(), uid);
  EXPECT_EQ(count("delete pods " + std::string(kNs) + "/" + pod_), 0);
}

// A Lease watch goes silent for good while the API answers (a connection dropped without a
// reset): the caches miss the agent's renewals and, past the lease, say the reflector lapsed.
// The operator reads the Lease before acting on that, finds the renewals its watch missed, and
// watches the Leases anew: nothing is replaced, and renewals reach the cache again.
TEST_F(ReplacedReflectorTest, ALapseSeenThroughASeveredLeaseWatchIsReadFromTheApiAndNotActedOn) {
  std::string uid;
  ASSERT_NO_FATAL_FAILURE(ready_reflector(uid));
  api_.sever_watches(kube::resources::leases());
  for (int i = 0; i < 2 * kLeaseSeconds; ++i) {  // four lease durations, a renewal every second
    ASSERT_TRUE(renew(uid, nullptr, /*wait=*/false));
    pass(2);
  }
  EXPECT_EQ(pod_uid(), uid) << "replaced although its agent renewed all along";
  EXPECT_EQ(count("delete pods " + std::string(kNs) + "/" + pod_), 0);
  ASSERT_TRUE(renew(uid)) << "the operator's Lease cache never saw a renewal again";
  EXPECT_EQ(state(), "Ready");
}

// The agent's container is killed and the kubelet restarts it, slowly (a busy node): the
// Lease goes unrenewed past its duration. The kubelet is already starting the agent again:
// the operator leaves the Pod to it (a start-up grace from the restart), and does not replace it.
TEST_F(ReplacedReflectorTest, AContainerTheKubeletRestartsIsNotReplacedWhileItStartsAgain) {
  ASSERT_TRUE(eventually([&] { return !pod_uid().empty(); })) << "the operator never created " << pod_;
  const std::string uid = pod_uid();
  ASSERT_TRUE(run_pod(uid));
  ASSERT_TRUE(report_container(uid, 0, true));
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();

  ASSERT_TRUE(report_container(uid, 0, false));  // killed
  for (int i = 0; i < 6 * kLeaseSeconds; ++i) {   // three lease durations, in steps
    if (i == 4 * kLeaseSeconds) {
      ASSERT_TRUE(report_container(uid, 1, true));  // running again
    }
    pass(1);
    ASSERT_EQ(pod_uid(), uid) << "replaced while the kubelet restarted it, " << (i + 1) / 2 << " s after the kill";
  }
  ASSERT_TRUE(eventually([&] { return state() == "Starting"; })) << state();
  // Its agent renews again: that alone (the same reported state) brings it back, at once.
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();
  EXPECT_EQ(pod_uid(), uid);
  EXPECT_EQ(count("delete pods " + std::string(kNs) + "/" + pod_), 0);
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
