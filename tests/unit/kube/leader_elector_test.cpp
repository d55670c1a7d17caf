#include "kube/leader_elector.h"

#include <atomic>
#include <condition_variable>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeKubeClient;

constexpr char kNamespace[] = "rr-system";
constexpr char kLease[] = "rr-operator";

// One candidate's link to the shared fake API: it can be cut (calls fail
// Transient) or hang (calls block until released, bounded in real time).
class PartitionableClient final : public KubeClient {
 public:
  explicit PartitionableClient(KubeClient& inner) : inner_(inner) {}

  void set_partitioned(bool partitioned) {
    std::lock_guard lock(mu_);
    partitioned_ = partitioned;
  }
  void set_hung(bool hung) {
    std::lock_guard lock(mu_);
    hung_ = hung;
    cv_.notify_all();
  }
  int blocked() const {
    std::lock_guard lock(mu_);
    return blocked_;
  }
  bool wait_for_blocked(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return blocked_ >= n; });
  }

  Result<Json> get(const ResourceType& t, const std::string& ns, const std::string& name) override {
    if (auto e = gate()) return *e;
    return inner_.get(t, ns, name);
  }
  Result<ObjectList> list(const ResourceType& t, const std::string& ns, const ListOptions& o) override {
    if (auto e = gate()) return *e;
    return inner_.list(t, ns, o);
  }
  Result<Json> create(const ResourceType& t, const std::string& ns, const Json& obj) override {
    if (auto e = gate()) return *e;
    return inner_.create(t, ns, obj);
  }
  Result<Json> update(const ResourceType& t, const Json& obj) override {
    if (auto e = gate()) return *e;
    return inner_.update(t, obj);
  }
  Result<Json> update_status(const ResourceType& t, const Json& obj) override {
    if (auto e = gate()) return *e;
    return inner_.update_status(t, obj);
  }
  Result<Json> patch(const ResourceType& t, const std::string& ns, const std::string& name, PatchType pt,
                     const Json& p, const PatchOptions& o) override {
    if (auto e = gate()) return *e;
    return inner_.patch(t, ns, name, pt, p, o);
  }
  Status remove(const ResourceType& t, const std::string& ns, const std::string& name,
                const DeleteOptions& o) override {
    if (auto e = gate()) return *e;
    return inner_.remove(t, ns, name, o);
  }
  Result<std::unique_ptr<WatchStream>> watch(const ResourceType& t, const std::string& ns,
                                             const WatchOptions& o) override {
    if (auto e = gate()) return *e;
    return inner_.watch(t, ns, o);
  }

 private:
  std::optional<Error> gate() {
    std::unique_lock lock(mu_);
    if (hung_) {
      ++blocked_;
      cv_.notify_all();
      cv_.wait_for(lock, 10s, [&] { return !hung_; });
      --blocked_;
      return make_error(ErrorKind::Transient, "request timed out");
    }
    if (partitioned_) return make_error(ErrorKind::Transient, "connection refused");
    return std::nullopt;
  }

  KubeClient& inner_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool partitioned_ = false;
  bool hung_ = false;
  int blocked_ = 0;
};

LeaderElectionConfig base_config(const std::string& identity) {
  LeaderElectionConfig c;
  c.lease_namespace = kNamespace;
  c.lease_name = kLease;
  c.identity = identity;
  c.on_started_leading = [](std::stop_token) {};
  c.on_stopped_leading = [] {};
  return c;  // 15 s / 10 s / 2 s
}

// An elector running on its own thread, with everything its callbacks saw.
class Candidate {
 public:
  Candidate(KubeClient& api, FakeClock& clock, const std::string& identity, bool release_on_cancel = true,
            Watchdog* watchdog = nullptr)
      : clock_(clock),
        client(api),
        elector(client, config(identity, release_on_cancel, watchdog), clock, [] { return 0.0; }) {
    elector.set_on_error([this](const Error& e) {
      std::lock_guard lock(mu_);
      errors_.push_back(e.kind);
    });
  }

  void start() {
    thread_ = std::jthread([this](std::stop_token stop) {
      elector.run(stop);
      done_ = true;
    });
  }
  void stop() {
    thread_.request_stop();
    thread_.join();
  }
  bool done() const { return done_; }

  // Threads this candidate has asleep on the fake clock once it is idle:
  // acquiring 1, leading 2 (renew loop + watchdog), finished 0; -1 while it
  // is not idle yet: a new leader whose on_started_leading has not run, or a
  // former leader winding down.
  int expected_sleepers() {
    if (done_) return 0;
    if (elector.is_leader()) {
      led_ = true;
      if (started() == 0) return -1;
      return 2 - client.blocked();
    }
    if (led_) return -1;
    return 1 - client.blocked();
  }

  int started() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(started_at_.size());
  }
  int stopped() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(stopped_at_.size());
  }
  Clock::TimePoint stopped_at() const {
    std::lock_guard lock(mu_);
    return stopped_at_.at(0);
  }
  std::stop_token leading_token() const {
    std::lock_guard lock(mu_);
    return token_;
  }
  std::vector<std::string> new_leaders() const {
    std::lock_guard lock(mu_);
    return new_leaders_;
  }
  std::vector<ErrorKind> errors() const {
    std::lock_guard lock(mu_);
    return errors_;
  }

 private:
  LeaderElectionConfig config(const std::string& identity, bool release_on_cancel, Watchdog* watchdog) {
    auto c = base_config(identity);
    c.release_on_cancel = release_on_cancel;
    c.watchdog = watchdog;
    c.on_started_leading = [this](std::stop_token leading) {
      std::lock_guard lock(mu_);
      started_at_.push_back(clock_.now());
      token_ = leading;
      led_ = true;
    };
    c.on_stopped_leading = [this] {
      std::lock_guard lock(mu_);
      stopped_at_.push_back(clock_.now());
    };
    c.on_new_leader = [this](const std::string& id) {
      std::lock_guard lock(mu_);
      new_leaders_.push_back(id);
    };
    return c;
  }

  FakeClock& clock_;
  mutable std::mutex mu_;
  std::vector<Clock::TimePoint> started_at_;
  std::vector<Clock::TimePoint> stopped_at_;
  std::stop_token token_;
  std::vector<std::string> new_leaders_;
  std::vector<ErrorKind> errors_;
  std::atomic<bool> led_{false};
  std::atomic<bool> done_{false};

 public:
  PartitionableClient client;
  LeaderElector elector;

 private:
  std::jthread thread_;  // last: joined before the rest goes away
};

// Waits (bounded, real time) until every candidate is idle on the fake clock.
// Expectations are read before and after the sleeper count so that a
// candidate changing state in between is not mistaken for an idle one.
bool settle(FakeClock& clock, std::initializer_list<Candidate*> candidates) {
  auto expected = [&]() -> int {
    int sum = 0;
    for (auto* c : candidates) {
      int e = c->expected_sleepers();
      if (e < 0) return -1;
      sum += e;
    }
    return sum;
  };
  auto limit = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < limit) {
    int before = expected();
    int sleeping = clock.sleepers();
    int after = expected();
    if (before >= 0 && before == after && sleeping == before) return true;
    std::this_thread::sleep_for(100us);
  }
  return false;
}

struct Fixture {
  FakeClock clock;
  FakeKubeClient api{clock};
  Clock::TimePoint t0 = clock.now();

  // Seconds of fake time since the test began.
  long elapsed() const { return std::chrono::duration_cast<std::chrono::seconds>(clock.now() - t0).count(); }
  long elapsed(Clock::TimePoint t) const { return std::chrono::duration_cast<std::chrono::seconds>(t - t0).count(); }
  // Steps fake time one second at a time up to `second`, letting everyone settle first.
  void run_to(long second, std::initializer_list<Candidate*> candidates) {
    if (::testing::Test::HasFatalFailure()) return;  // a timed-out settle already failed the test
    while (elapsed() < second) {
      ASSERT_TRUE(settle(clock, candidates)) << "at t=" << elapsed();
      clock.advance(1s);
    }
    ASSERT_TRUE(settle(clock, candidates)) << "at t=" << elapsed();
  }
  Json lease() const { return api.peek(resources::leases(), kNamespace, kLease).value_or(Json()); }
  std::string holder() const { return lease()["spec"].value("holderIdentity", "<none>"); }
};

TEST(LeaderElectorConfig, ValidateTable) {
  struct Case {
    std::string name;
    std::function<void(LeaderElectionConfig&)> change;
    std::string error;  // "" = valid
  };
  const std::vector<Case> cases = {
      {"defaults", [](auto&) {}, ""},
      {"no namespace", [](auto& c) { c.lease_namespace.clear(); }, "lease_namespace"},
      {"no name", [](auto& c) { c.lease_name.clear(); }, "lease_name"},
      {"no identity", [](auto& c) { c.identity.clear(); }, "identity"},
      {"zero lease duration", [](auto& c) { c.lease_duration = 0s; }, "lease_duration"},
      {"zero renew deadline", [](auto& c) { c.renew_deadline = 0s; }, "renew_deadline"},
      {"negative retry period", [](auto& c) { c.retry_period = -1s; }, "retry_period"},
      {"fractional lease duration", [](auto& c) { c.lease_duration = 15500ms; }, "lease_duration"},
      {"lease duration equals renew deadline", [](auto& c) { c.lease_duration = 10s; }, "lease_duration"},
      {"renew deadline is 1.2 x retry period", [](auto& c) { c.renew_deadline = 2400ms; }, "renew_deadline"},
      {"renew deadline just above 1.2 x retry period", [](auto& c) { c.renew_deadline = 2500ms; }, ""},
      {"no on_started_leading", [](auto& c) { c.on_started_leading = nullptr; }, "on_started_leading"},
      {"no on_stopped_leading", [](auto& c) { c.on_stopped_leading = nullptr; }, "on_stopped_leading"},
      {"no on_new_leader is fine", [](auto& c) { c.on_new_leader = nullptr; }, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto config = base_config("a");
    c.change(config);
    auto status = validate(config);
    if (c.error.empty()) {
      EXPECT_TRUE(status.ok()) << status.error().message;
    } else {
      ASSERT_FALSE(status.ok());
      EXPECT_EQ(status.error().kind, ErrorKind::Invalid);
      EXPECT_NE(status.error().message.find(c.error), std::string::npos) << status.error().message;
    }
  }
  FakeKubeClient api;
  auto bad = base_config("a");
  bad.renew_deadline = 20s;
  EXPECT_THROW({ LeaderElector elector(api, bad); }, std::invalid_argument);
}

TEST(LeaderElector, AcquiresAFreeLeaseAndRenewsIt) {
  Fixture f;
  Candidate a(f.api, f.clock, "a");
  a.start();
  f.run_to(0, {&a});
  ASSERT_TRUE(a.elector.is_leader());
  EXPECT_EQ(a.elector.observed_leader(), "a");
  EXPECT_EQ(a.new_leaders(), std::vector<std::string>{"a"});

  const Json created = f.lease();
  const std::string t0 = format_micro_time(f.clock.wall_now());
  EXPECT_EQ(created["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(created["kind"], "Lease");
  EXPECT_EQ(created["spec"]["holderIdentity"], "a");
  EXPECT_EQ(created["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(created["spec"]["acquireTime"], t0);
  EXPECT_EQ(created["spec"]["renewTime"], t0);
  EXPECT_EQ(created["spec"]["leaseTransitions"], 0);

  f.run_to(2, {&a});
  const Json renewed = f.lease();
  EXPECT_EQ(renewed["spec"]["renewTime"], format_micro_time(f.clock.wall_now()));
  EXPECT_EQ(renewed["spec"]["acquireTime"], t0);
  EXPECT_EQ(renewed["spec"]["leaseTransitions"], 0);
  EXPECT_NE(resource_version_of(renewed), resource_version_of(created));
  EXPECT_EQ(f.api.write_log(), (std::vector<std::string>{"create leases rr-system/rr-operator",
                                                          "update leases rr-system/rr-operator"}));
  EXPECT_TRUE(a.errors().empty());

  f.run_to(5, {&a});
  EXPECT_EQ(a.started(), 1);
  EXPECT_FALSE(a.leading_token().stop_requested());
  a.stop();
  EXPECT_EQ(a.stopped(), 1);
  EXPECT_TRUE(a.leading_token().stop_requested());
  EXPECT_FALSE(a.elector.is_leader());
}

TEST(LeaderElector, TwoCandidatesOnOneLeaseExactlyOneLeads) {
  Fixture f;
  Candidate a(f.api, f.clock, "a");
  Candidate b(f.api, f.clock, "b");
  a.start();
  b.start();
  ASSERT_TRUE(settle(f.clock, {&a, &b}));
  const bool a_leads = a.elector.is_leader();
  Candidate& leader = a_leads ? a : b;
  Candidate& standby = a_leads ? b : a;
  for (long t = 0; t <= 40; ++t) {
    SCOPED_TRACE("t=" + std::to_string(t));
    f.run_to(t, {&a, &b});
    ASSERT_TRUE(leader.elector.is_leader());
    ASSERT_FALSE(standby.elector.is_leader());
  }
  const std::string id = a_leads ? "a" : "b";
  EXPECT_EQ(f.holder(), id);
  EXPECT_EQ(standby.elector.observed_leader(), id);
  EXPECT_EQ(f.lease()["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(leader.started(), 1);
  EXPECT_EQ(standby.started(), 0);
}

// A leads from t=0 and renews at even seconds; B starts at t=1 and polls at odd
// seconds, so B sees A's renewal at t=4 at t=5. A is cut off from the API at
// t=5: its last good renewal is t=4.
struct LeaderElectorTakeover : ::testing::Test, Fixture {
  static constexpr long kLastRenew = 4, kObserved = 5, kLeaseDuration = 15, kRenewDeadline = 10, kRetry = 2;

  void start_pair(Candidate& a, Candidate& b) {
    a.start();
    run_to(1, {&a});
    ASSERT_TRUE(a.elector.is_leader());
    b.start();
    run_to(kObserved, {&a, &b});
    ASSERT_TRUE(a.elector.is_leader());
    ASSERT_EQ(b.elector.observed_leader(), "a");
  }
  // Steps until B leads, checking it never does so early; returns the second it took over.
  long wait_for_takeover(Candidate& a, Candidate& b) {
    for (long t = elapsed(); t < 60; ++t) {
      run_to(t, {&a, &b});
      if (HasFatalFailure()) return -1;
      if (b.elector.is_leader()) return t;
    }
    return -1;
  }
};

TEST_F(LeaderElectorTakeover, PartitionedLeaderStepsDownBeforeStandbyTakesOver) {
  Candidate a(api, clock, "a");
  Candidate b(api, clock, "b");
  start_pair(a, b);
  a.client.set_partitioned(true);

  long took_over = wait_for_takeover(a, b);
  ASSERT_EQ(a.stopped(), 1);
  const long stepped_down = elapsed(a.stopped_at());
  EXPECT_LE(stepped_down, kLastRenew + kRenewDeadline);
  EXPECT_GE(stepped_down, kLastRenew + kRenewDeadline - kRetry);  // not before its renewals had a chance
  EXPECT_TRUE(a.leading_token().stop_requested());
  EXPECT_TRUE(a.done());

  EXPECT_GE(took_over, kObserved + kLeaseDuration);
  EXPECT_LE(took_over, kObserved + kLeaseDuration + kRetry);
  EXPECT_LT(stepped_down, took_over);
  EXPECT_EQ(holder(), "b");
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
  EXPECT_EQ(b.new_leaders(), (std::vector<std::string>{"a", "b"}));
  for (auto kind : a.errors()) EXPECT_EQ(kind, ErrorKind::Transient);
  EXPECT_FALSE(a.errors().empty());
}

TEST_F(LeaderElectorTakeover, LeaderStoppedWithoutReleaseIsReplacedAfterLeaseDuration) {
  Candidate a(api, clock, "a", /*release_on_cancel=*/false);
  Candidate b(api, clock, "b");
  start_pair(a, b);
  a.stop();
  EXPECT_EQ(a.stopped(), 1);
  EXPECT_TRUE(a.leading_token().stop_requested());
  EXPECT_EQ(holder(), "a");  // no release

  long took_over = wait_for_takeover(a, b);
  EXPECT_GE(took_over, kObserved + kLeaseDuration);
  EXPECT_LE(took_over, kObserved + kLeaseDuration + kRetry);
  EXPECT_EQ(holder(), "b");
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
}

TEST_F(LeaderElectorTakeover, ReleaseOnCleanStopLetsStandbyTakeOverWithinRetryPeriod) {
  Candidate a(api, clock, "a");
  Candidate b(api, clock, "b");
  start_pair(a, b);
  a.stop();
  EXPECT_EQ(a.stopped(), 1);
  EXPECT_EQ(holder(), "");
  EXPECT_EQ(lease()["spec"]["leaseDurationSeconds"], 1);

  long took_over = wait_for_takeover(a, b);
  EXPECT_LE(took_over, kObserved + kRetry);
  EXPECT_EQ(holder(), "b");
  EXPECT_EQ(lease()["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
}

TEST(LeaderElector, ApiUnavailableStopsLeadingByRenewDeadlineOnce) {
  Fixture f;
  Candidate a(f.api, f.clock, "a");
  a.start();
  f.run_to(3, {&a});  // last good renewal at t=2
  f.api.set_unavailable(true);
  for (long t = 4; t <= 20 && !a.done(); ++t) f.run_to(t, {&a});
  ASSERT_TRUE(a.done());
  ASSERT_EQ(a.stopped(), 1);
  EXPECT_EQ(f.elapsed(a.stopped_at()), 2 + 10);
  EXPECT_TRUE(a.leading_token().stop_requested());
  EXPECT_FALSE(a.elector.is_leader());

  f.api.set_unavailable(false);
  f.run_to(40, {&a});
  EXPECT_EQ(a.stopped(), 1);
  EXPECT_EQ(a.started(), 1);
}

TEST(LeaderElector, HungRenewalDoesNotDelaySteppingDown) {
  Fixture f;
  Candidate a(f.api, f.clock, "a");
  a.start();
  f.run_to(3, {&a});  // last good renewal at t=2
  a.client.set_hung(true);
  f.run_to(4, {&a});
  ASSERT_TRUE(a.client.wait_for_blocked(1));
  f.run_to(11, {&a});
  EXPECT_TRUE(a.elector.is_leader());
  f.clock.advance(1s);  // t=12: the renew deadline passes while the call still hangs

  auto limit = std::chrono::steady_clock::now() + 5s;
  while (a.stopped() == 0 && std::chrono::steady_clock::now() < limit) std::this_thread::sleep_for(100us);
  ASSERT_EQ(a.stopped(), 1);
  EXPECT_EQ(f.elapsed(a.stopped_at()), 12);
  EXPECT_TRUE(a.leading_token().stop_requested());
  EXPECT_FALSE(a.elector.is_leader());
  EXPECT_FALSE(a.done());  // run() still waits for the hung call

  const int writes = f.api.writes();
  a.client.set_hung(false);
  a.stop();
  EXPECT_EQ(a.stopped(), 1);
  EXPECT_EQ(f.api.writes(), writes);  // a leader that stepped down writes nothing more
}

TEST(LeaderElector, AHungCallShowsOnTheWatchdogUntilItReturns) {
  Fixture f;
  Watchdog watchdog(f.clock, 5s);
  Candidate a(f.api, f.clock, "a", /*release_on_cancel=*/true, &watchdog);
  a.start();
  for (long t = 1; t <= 31; ++t) {  // acquired at t=0, renewed every 2 s: six thresholds go by
    f.run_to(t, {&a});
    ASSERT_TRUE(watchdog.check().ok) << "t=" << t << ": " << watchdog.check().reason;
  }
  a.client.set_hung(true);  // the renewal at t=32 hangs
  f.run_to(32, {&a});
  ASSERT_TRUE(a.client.wait_for_blocked(1));
  f.run_to(35, {&a});
  EXPECT_TRUE(watchdog.check().ok) << "5 s since the last renewal at t=30: " << watchdog.check().reason;
  f.run_to(36, {&a});
  EXPECT_EQ(watchdog.check().reason, "leader election made no progress for 6 s (threshold 5 s)");

  a.client.set_hung(false);  // the call returns: the loop goes round again
  for (auto until = std::chrono::steady_clock::now() + 5s;
       a.client.blocked() > 0 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(100us);  // until then, settling counts it as blocked, not as due to sleep
  }
  f.run_to(37, {&a});
  EXPECT_TRUE(watchdog.check().ok) << watchdog.check().reason;
  EXPECT_TRUE(a.elector.is_leader());
  a.stop();
  EXPECT_TRUE(watchdog.check().ok) << "an election that returned is not watched";
}

TEST(LeaderElector, AStandbyKeepsTheWatchdogHappyWhileItWaits) {
  Fixture f;
  Watchdog watchdog(f.clock, 5s);
  Candidate a(f.api, f.clock, "a");
  Candidate b(f.api, f.clock, "b", /*release_on_cancel=*/true, &watchdog);
  a.start();
  f.run_to(1, {&a});
  b.start();
  for (long t = 2; t <= 30; ++t) {  // b tries every retry period and never acquires
    f.run_to(t, {&a, &b});
    ASSERT_TRUE(watchdog.check().ok) << "t=" << t << ": " << watchdog.check().reason;
  }
  EXPECT_EQ(b.started(), 0);
}

TEST(LeaderElector, WallClockSkewDoesNotCauseTakeover) {
  Fixture f;
  Candidate a(f.api, f.clock, "a");
  Candidate b(f.api, f.clock, "b");
  a.start();
  f.run_to(1, {&a});
  b.start();
  f.run_to(5, {&a, &b});
  // A's wall clock (shared here) jumps years back, then years ahead: renewTime
  // says the lease expired long ago, but B saw it change recently.
  f.clock.step_wall(-std::chrono::hours(24 * 365 * 10));
  f.run_to(20, {&a, &b});
  f.clock.step_wall(std::chrono::hours(24 * 365 * 20));
  for (long t = 21; t <= 60; ++t) {
    f.run_to(t, {&a, &b});
    ASSERT_TRUE(a.elector.is_leader()) << "t=" << t;
    ASSERT_FALSE(b.elector.is_leader()) << "t=" << t;
  }
  EXPECT_EQ(f.holder(), "a");
}

TEST(LeaderElector, AncientRenewTimeCountsFromWhenWeObservedIt) {
  Fixture f;
  // A holder that renewed "in 2001" by its own wall clock; we have just seen the record.
  f.api.seed(resources::leases(), {{"metadata", {{"name", kLease}, {"namespace", kNamespace}}},
                                   {"spec",
                                    {{"holderIdentity", "ghost"},
                                     {"leaseDurationSeconds", 15},
                                     {"acquireTime", "2001-01-01T00:00:00.000000Z"},
                                     {"renewTime", "2001-01-01T00:00:00.000000Z"},
                                     {"leaseTransitions", 3}}}});
  Candidate b(f.api, f.clock, "b");
  b.start();
  for (long t = 0; t < 15; ++t) {
    f.run_to(t, {&b});
    ASSERT_FALSE(b.elector.is_leader()) << "t=" << t;
  }
  EXPECT_EQ(b.elector.observed_leader(), "ghost");
  f.run_to(15 + 2, {&b});
  EXPECT_TRUE(b.elector.is_leader());
  EXPECT_EQ(f.holder(), "b");
  EXPECT_EQ(f.lease()["spec"]["leaseTransitions"], 4);
}

TEST(LeaderElector, ConflictOnRenewFallsBackToReadingTheLease) {
  Fixture f;
  Candidate a(f.api, f.clock, "a");
  a.start();
  f.run_to(1, {&a});
  f.api.inject_error("update", resources::leases(), make_error(ErrorKind::Conflict, "the object has been modified"));
  f.run_to(2, {&a});
  EXPECT_TRUE(a.elector.is_leader());
  EXPECT_EQ(f.lease()["spec"]["renewTime"], format_micro_time(f.clock.wall_now()));
  EXPECT_EQ(a.errors(), std::vector<ErrorKind>{ErrorKind::Conflict});
  f.run_to(30, {&a});
  EXPECT_TRUE(a.elector.is_leader());
  EXPECT_EQ(a.stopped(), 0);
}

TEST(LeaderElector, LeaseTakenByAnotherStopsLeadingAtOnce) {
  Fixture f;
  Candidate a(f.api, f.clock, "a");
  a.start();
  f.run_to(1, {&a});
  Json stolen = f.lease();
  stolen["spec"]["holderIdentity"] = "intruder";
  ASSERT_TRUE(f.api.update(resources::leases(), stolen).ok());

  f.run_to(2, {&a});  // the renewal gets 409, re-reads, and finds another holder
  ASSERT_TRUE(a.done());
  EXPECT_EQ(a.stopped(), 1);
  EXPECT_EQ(f.elapsed(a.stopped_at()), 2);
  EXPECT_TRUE(a.leading_token().stop_requested());
  EXPECT_EQ(f.holder(), "intruder");
  EXPECT_EQ(a.errors(), std::vector<ErrorKind>{ErrorKind::Conflict});
}

TEST(LeaderElector, StopBeforeAcquiringCallsOnStoppedLeadingOnce) {
  Fixture f;
  f.api.seed(resources::leases(), {{"metadata", {{"name", kLease}, {"namespace", kNamespace}}},
                                   {"spec", {{"holderIdentity", "other"}, {"leaseDurationSeconds", 15}}}});
  Candidate b(f.api, f.clock, "b");
  b.start();
  f.run_to(3, {&b});
  f.api.reset_counters();
  b.stop();
  EXPECT_EQ(b.started(), 0);
  EXPECT_EQ(b.stopped(), 1);
  EXPECT_EQ(f.api.writes(), 0);  // nothing to release
  EXPECT_EQ(f.holder(), "other");
}

}  // namespace
}  // namespace kube
