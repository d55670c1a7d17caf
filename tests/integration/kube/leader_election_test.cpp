// Leader election and Events against the real kube-apiserver: two candidates,
// each with its own client, on one Lease. Exactly one leads; a leader that dies
// without releasing is replaced, and no sooner than leaseDuration after its last
// renewal; a clean stop releases the Lease, so the standby takes over before the
// Lease could have expired. The bounds are causal (before/after expiry), not a
// race against the clock: a busy machine may slow a step, never reorder these.
#include <iostream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "kube/event_recorder.h"
#include "kube/leader_elector.h"
#include "support/control_plane.h"
#include "support/eventually.h"

namespace {

using rr::testing::eventually;

using namespace std::chrono_literals;
using kube::Json;
using Steady = std::chrono::steady_clock;
namespace res = kube::resources;

struct Timing {
  std::chrono::milliseconds lease_duration;
  std::chrono::milliseconds renew_deadline;
  std::chrono::milliseconds retry_period;
};
// A dead leader's Lease expires soon: the takeover test waits for it.
constexpr Timing kShortLease{4s, 3s, 500ms};
// Nothing expires while a test looks: a leader steps down only if renewals fail for 20 s (a
// sanitizer build on a busy machine has taken 3 s for one), and a takeover within the lease can
// only follow a release.
constexpr Timing kLongLease{30s, 20s, 500ms};

double seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

// One candidate: its own client (so it shares no connection or rate limiter
// with the other), an elector, and the times it started leading and last wrote.
class Candidate {
 public:
  Candidate(const rr::testing::ControlPlane& cp, const std::string& ns, const std::string& identity,
            bool release_on_cancel, Timing timing) {
    kube::RestClientOptions options;
    // The elector writes only its Lease, so every successful update is a renewal (or the release).
    options.observe = [this](const kube::ApiAttempt& a) {
      if (a.verb != "update" || a.code != 200) return;
      const auto done = Steady::now();
      std::lock_guard lock(mu_);
      last_write_sent_ = done - a.took;
      last_write_done_ = done;
    };
    client_ = cp.admin_client(options);

    kube::LeaderElectionConfig config;
    config.lease_namespace = ns;
    config.lease_name = "rr-it-leader";
    config.identity = identity;
    config.lease_duration = timing.lease_duration;
    config.renew_deadline = timing.renew_deadline;
    config.retry_period = timing.retry_period;
    config.release_on_cancel = release_on_cancel;
    config.on_started_leading = [this](std::stop_token leading) {
      {
        std::lock_guard lock(mu_);
        started_leading_ = Steady::now();
        ++terms_;
      }
      while (!leading.stop_requested()) std::this_thread::sleep_for(10ms);
    };
    config.on_stopped_leading = [] {};
    // No jitter: acquire attempts come every retryPeriod.
    elector_ = std::make_unique<kube::LeaderElector>(*client_, config, kube::RealClock::instance(),
                                                     [] { return 0.0; });
  }
  ~Candidate() { stop(); }

  void start() {
    thread_ = std::jthread([this](std::stop_token stop) { elector_->run(stop); });
  }
  // Ends run(): with release_on_cancel=false this is a leader dying between renewals.
  void stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }

  bool is_leader() const { return elector_->is_leader(); }
  std::string observed_leader() const { return elector_->observed_leader(); }
  // Terms started: is_leader() turns true just before on_started_leading runs on its own thread, so
  // wait on this one before reading started_leading().
  int terms() const {
    std::lock_guard lock(mu_);
    return terms_;
  }
  Steady::time_point started_leading() const {
    std::lock_guard lock(mu_);
    return started_leading_;
  }
  Steady::time_point last_write_sent() const {
    std::lock_guard lock(mu_);
    return last_write_sent_;
  }
  Steady::time_point last_write_done() const {
    std::lock_guard lock(mu_);
    return last_write_done_;
  }

 private:
  mutable std::mutex mu_;
  Steady::time_point started_leading_{};
  Steady::time_point last_write_sent_{};
  Steady::time_point last_write_done_{};
  int terms_ = 0;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::unique_ptr<kube::LeaderElector> elector_;
  std::jthread thread_;  // last: stopped before the elector goes
};

class LeaderElectionIT : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    admin_ = cp_->admin_client();
    ASSERT_TRUE(admin_);
    ns_ = cp_->create_namespace(*admin_, "leader-it");
  }

  void start_both(bool release_on_cancel, Timing timing) {
    a_ = std::make_unique<Candidate>(*cp_, ns_, "a", release_on_cancel, timing);
    b_ = std::make_unique<Candidate>(*cp_, ns_, "b", release_on_cancel, timing);
    a_->start();
    b_->start();
    ASSERT_TRUE(eventually([&] { return a_->terms() + b_->terms() > 0; }, 30s)) << "nobody acquired the Lease";
  }
  Candidate& leader() { return a_->is_leader() ? *a_ : *b_; }
  Candidate& standby() { return a_->is_leader() ? *b_ : *a_; }

  Json lease_spec() {
    auto got = admin_->get(res::leases(), ns_, "rr-it-leader");
    EXPECT_TRUE(got.ok()) << got.error().describe();
    return got.ok() ? (*got)["spec"] : Json::object();
  }

  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> admin_;
  std::string ns_;
  std::unique_ptr<Candidate> a_;
  std::unique_ptr<Candidate> b_;
};

TEST_F(LeaderElectionIT, ExactlyOneOfTwoCandidatesLeads) {
  start_both(/*release_on_cancel=*/true, kLongLease);
  const std::string holder = a_->is_leader() ? "a" : "b";
  // Several renewals (every 500 ms) and several failed acquire attempts by the standby.
  for (auto until = Steady::now() + 4s; Steady::now() < until; std::this_thread::sleep_for(50ms)) {
    const bool a = a_->is_leader();
    const bool b = b_->is_leader();
    ASSERT_FALSE(a && b) << "both candidates lead at once";
    ASSERT_TRUE(a || b) << "the leader " << holder << " stepped down although nothing failed";
  }
  EXPECT_EQ(leader().terms(), 1);
  EXPECT_EQ(standby().terms(), 0);
  EXPECT_EQ(standby().observed_leader(), holder);
  EXPECT_EQ(lease_spec().value("holderIdentity", ""), holder);
}

TEST_F(LeaderElectionIT, StandbyTakesOverFromADeadLeaderAfterTheLeaseExpires) {
  start_both(/*release_on_cancel=*/false, kShortLease);
  // The leader dies after a renewal the standby can see (a term begins with a create or a
  // takeover): waited for, not slept for. Under TSan on a busy machine a first leader has
  // missed its 3 s renew deadline before renewing once, and the other candidate took over;
  // whoever leads and has renewed in its term is the one that dies.
  const auto renewed_in_term = [](const Candidate& c) {
    return c.is_leader() && c.last_write_done() > c.started_leading();
  };
  ASSERT_TRUE(eventually([&] { return renewed_in_term(*a_) || renewed_in_term(*b_); },
                         kShortLease.renew_deadline + 30s))
      << "no leader renewed";
  Candidate& old_leader = renewed_in_term(*a_) ? *a_ : *b_;
  Candidate& next = &old_leader == a_.get() ? *b_ : *a_;
  const std::string next_identity = &next == a_.get() ? "a" : "b";
  const int transitions_before = lease_spec().value("leaseTransitions", -1);
  const int next_terms_before = next.terms();

  old_leader.stop();  // no release: the Lease still names it
  const auto last_renew_sent = old_leader.last_write_sent();
  const auto last_renew_done = old_leader.last_write_done();
  EXPECT_NE(lease_spec().value("holderIdentity", ""), "") << "stopped without release, yet the Lease was released";

  // Sample as the standby waits: the stopped leader must not lead, nor both.
  ASSERT_TRUE(eventually(
      [&] {
        EXPECT_FALSE(old_leader.is_leader());
        return next.terms() > next_terms_before;
      },
      kShortLease.lease_duration + 30s))
      << "the standby never took over";

  const auto took_from_sent = next.started_leading() - last_renew_sent;
  const auto took_from_done = next.started_leading() - last_renew_done;
  std::cout << "takeover after the last renewal: " << seconds(took_from_done) << " s (" << seconds(took_from_sent)
            << " s from when it was sent); leaseDuration " << seconds(kShortLease.lease_duration)
            << " s, retryPeriod " << seconds(kShortLease.retry_period) << " s\n";
  // The standby saw the last renewal no earlier than it was sent, and waits a whole leaseDuration from then.
  EXPECT_GE(took_from_sent, kShortLease.lease_duration) << "took over before the dead leader's Lease expired";

  auto spec = lease_spec();
  EXPECT_EQ(spec.value("holderIdentity", ""), next_identity);
  EXPECT_EQ(spec.value("leaseTransitions", -1), transitions_before + 1);
  EXPECT_EQ(next.terms(), next_terms_before + 1);
}

TEST_F(LeaderElectionIT, CleanStopReleasesSoTheStandbyTakesOverBeforeTheLeaseExpires) {
  start_both(/*release_on_cancel=*/true, kLongLease);
  Candidate& old_leader = leader();
  Candidate& next = standby();
  const std::string old_identity = &old_leader == a_.get() ? "a" : "b";
  ASSERT_TRUE(eventually([&] { return old_leader.terms() == 1; }));
  // Every renewal comes after this, so an unreleased Lease expires no sooner than
  // lease_duration after it: a takeover before then can only follow the release.
  const auto expires_earliest = old_leader.started_leading() + kLongLease.lease_duration;
  std::this_thread::sleep_for(1s);

  old_leader.stop();  // run() returns after the release was written
  EXPECT_FALSE(old_leader.is_leader());
  EXPECT_NE(lease_spec().value("holderIdentity", ""), old_identity)
      << "the stopped leader's Lease still names it: the release was not written";
  ASSERT_TRUE(eventually([&] { return next.terms() > 0; }, 60s)) << "the standby never took over";

  const auto released = old_leader.last_write_done();
  std::cout << "takeover after release: " << seconds(next.started_leading() - released) << " s (retryPeriod "
            << seconds(kLongLease.retry_period) << " s, leaseDuration " << seconds(kLongLease.lease_duration)
            << " s)\n";
  EXPECT_LT(next.started_leading(), expires_earliest) << "the standby waited for the Lease to expire: "
                                                      << seconds(next.started_leading() - expires_earliest)
                                                      << " s past the earliest expiry";
}

TEST(EventRecorderIT, RepeatsOfAnEventBecomeOneEventWithACount) {
  auto cp = rr::testing::ControlPlane::from_environment();
  ASSERT_TRUE(cp);
  auto client = cp->admin_client();
  ASSERT_TRUE(client);
  const std::string ns = cp->create_namespace(*client, "events-it");
  auto lease = client->create(res::leases(), ns,
                              Json{{"apiVersion", "coordination.k8s.io/v1"},
                                   {"kind", "Lease"},
                                   {"metadata", {{"name", "subject"}, {"namespace", ns}}},
                                   {"spec", {{"holderIdentity", "x"}}}});
  ASSERT_TRUE(lease.ok()) << lease.error().describe();

  std::vector<std::string> errors;
  std::mutex mu;
  {
    kube::EventRecorder recorder(*client, {"rr-it", "host-1"});
    recorder.set_on_error([&](const kube::Error& e) {
      std::lock_guard lock(mu);
      errors.push_back(e.describe());
    });
    for (int i = 0; i < 3; ++i) recorder.record(*lease, "Normal", "Elected", "a leads");
    ASSERT_TRUE(recorder.flush(10s));
  }
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(errors.empty()) << errors.front();
  }

  kube::ListOptions options;
  options.field_selector = "involvedObject.name=subject";
  auto listed = client->list(res::events(), ns, options);
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->items.size(), 1u) << Json(listed->items).dump();
  const Json& event = listed->items.front();
  EXPECT_EQ(event.value("count", 0), 3);
  EXPECT_EQ(event.value("reason", ""), "Elected");
  EXPECT_EQ(event.value("message", ""), "a leads");
  EXPECT_EQ(event.value("type", ""), "Normal");
  EXPECT_EQ(event["involvedObject"].value("kind", ""), "Lease");
  EXPECT_EQ(event["involvedObject"].value("uid", ""), kube::uid_of(*lease));
  EXPECT_EQ(event["source"].value("component", ""), "rr-it");
  EXPECT_FALSE(event.value("firstTimestamp", "").empty());
  EXPECT_GE(event.value("lastTimestamp", ""), event.value("firstTimestamp", ""));
}

}  // namespace
