#include "agent/lease_keeper.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "contract/well_known.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"
#include "kube/resource_type.h"

namespace rr::agent {
namespace {

using namespace std::chrono_literals;
using kube::ErrorKind;
using kube::Json;
using kube::testing::FakeClock;
using kube::testing::FakeKubeClient;

const kube::ResourceType& leases() { return kube::resources::leases(); }

AgentIdentity identity() {
  AgentIdentity id;
  id.pod = "rr-fab-r1-0";
  id.ns = "rr-system";
  id.node = "node-1";
  id.fabric = "fab";
  id.rack = "r1";
  id.cluster_id = "10.255.0.1";
  id.address = "10.0.0.1";
  id.port = 1179;
  id.lease_duration_seconds = 15;
  return id;
}

std::string annotation(const Json& lease, std::string_view key) {
  auto a = kube::annotations_of(lease);
  auto it = a.find(std::string(key));
  return it == a.end() ? "<absent>" : it->second;
}

class LeaseKeeperTest : public ::testing::Test {
 protected:
  Json stored() {
    auto lease = api_.peek(leases(), "rr-system", "rr-fab-r1-0");
    EXPECT_TRUE(lease.has_value());
    return lease.value_or(Json::object());
  }
  int lease_writes() {
    int n = 0;
    for (const auto& entry : api_.write_log()) {
      if (entry.find("leases rr-system/rr-fab-r1-0") != std::string::npos) ++n;
    }
    return n;
  }

  FakeClock clock_;
  FakeKubeClient api_{clock_};
  LeaseKeeper keeper_{api_, identity(), clock_, [] { return 0.0; }};
};

TEST_F(LeaseKeeperTest, CreatesTheLeaseWithLabelsAnnotationsAndSpec) {
  ASSERT_TRUE(keeper_.renew({3, 5, "line 4: syntax error"}).ok());
  const Json lease = stored();
  EXPECT_EQ(api_.write_log(), std::vector<std::string>{"create leases rr-system/rr-fab-r1-0"});
  const auto labels = kube::labels_of(lease);
  EXPECT_EQ(labels.at(std::string(contract::kNameLabel)), contract::kNameValue);
  EXPECT_EQ(labels.at(std::string(contract::kManagedByLabel)), "rr-operator");
  EXPECT_EQ(labels.at(std::string(contract::kClusterLabel)), "fab");
  EXPECT_EQ(labels.at(std::string(contract::kRackLabel)), "r1");
  EXPECT_EQ(annotation(lease, contract::kAddressAnnotation), "10.0.0.1");
  EXPECT_EQ(annotation(lease, contract::kPortAnnotation), "1179");
  EXPECT_EQ(annotation(lease, contract::kRackAnnotation), "r1");
  EXPECT_EQ(annotation(lease, contract::kClusterIdAnnotation), "10.255.0.1");
  EXPECT_EQ(annotation(lease, contract::kSessionsEstablishedAnnotation), "3");
  EXPECT_EQ(annotation(lease, contract::kSessionsTotalAnnotation), "5");
  EXPECT_EQ(annotation(lease, contract::kConfigErrorAnnotation), "line 4: syntax error");
  EXPECT_EQ(annotation(lease, contract::kAddressV6Annotation), "<absent>") << "a single-stack reflector";
  const Json& spec = lease["spec"];
  EXPECT_EQ(spec["holderIdentity"], "rr-fab-r1-0");
  EXPECT_EQ(spec["leaseDurationSeconds"], 15);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_EQ(spec["renewTime"], kube::format_micro_time(clock_.wall_now()));
  EXPECT_EQ(spec["acquireTime"], spec["renewTime"]);
  EXPECT_FALSE(lease["metadata"].contains("ownerReferences"));
  EXPECT_EQ(keeper_.renewals_ok(), 1);
  EXPECT_TRUE(keeper_.healthy());
}

// The other reflectors' IPv6 mesh sessions reach a dual-stack reflector at this address.
TEST(LeaseKeeperDualStackTest, PublishesTheIPv6Address) {
  FakeClock clock;
  FakeKubeClient api{clock};
  AgentIdentity self = identity();
  self.address_v6 = "fd00::1";
  LeaseKeeper keeper{api, self, clock, [] { return 0.0; }};
  ASSERT_TRUE(keeper.renew({0, 0, ""}).ok());
  auto lease = api.peek(leases(), "rr-system", "rr-fab-r1-0");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(annotation(*lease, contract::kAddressV6Annotation), "fd00::1");
}

TEST_F(LeaseKeeperTest, RenewalMovesRenewTimeAndKeepsTheTerm) {
  ASSERT_TRUE(keeper_.renew({3, 5, "refused"}).ok());
  const Json first = stored();
  clock_.advance(5s);
  ASSERT_TRUE(keeper_.renew({5, 5, ""}).ok());
  const Json second = stored();
  EXPECT_NE(second["spec"]["renewTime"], first["spec"]["renewTime"]);
  EXPECT_EQ(second["spec"]["renewTime"], kube::format_micro_time(clock_.wall_now()));
  EXPECT_EQ(second["spec"]["acquireTime"], first["spec"]["acquireTime"]);
  EXPECT_EQ(second["spec"]["holderIdentity"], "rr-fab-r1-0");
  EXPECT_EQ(second["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(annotation(second, contract::kSessionsEstablishedAnnotation), "5");
  EXPECT_EQ(annotation(second, contract::kConfigErrorAnnotation), "<absent>");
  EXPECT_EQ(api_.write_log(), (std::vector<std::string>{"create leases rr-system/rr-fab-r1-0",
                                                        "update leases rr-system/rr-fab-r1-0"}));
}

TEST_F(LeaseKeeperTest, KeepsLabelsAndAnnotationsItDoesNotOwn) {
  api_.seed(leases(), {{"metadata",
                        {{"name", "rr-fab-r1-0"},
                         {"namespace", "rr-system"},
                         {"labels", {{"team", "net"}}},
                         {"annotations", {{"note", "hi"}, {std::string(contract::kConfigErrorAnnotation), "old"}}}}},
                       {"spec", {{"holderIdentity", "rr-fab-r1-0"}, {"leaseDurationSeconds", 15}}}});
  ASSERT_TRUE(keeper_.renew({}).ok());
  const Json lease = stored();
  EXPECT_EQ(kube::labels_of(lease).at("team"), "net");
  EXPECT_EQ(annotation(lease, "note"), "hi");
  EXPECT_EQ(annotation(lease, contract::kConfigErrorAnnotation), "<absent>");
}

TEST_F(LeaseKeeperTest, TakesOverALeaseHeldByAnotherHolder) {
  const std::string then = kube::format_micro_time(clock_.wall_now());
  api_.seed(leases(), {{"metadata", {{"name", "rr-fab-r1-0"}, {"namespace", "rr-system"}}},
                       {"spec",
                        {{"holderIdentity", "someone-else"},
                         {"leaseDurationSeconds", 15},
                         {"acquireTime", then},
                         {"renewTime", then},
                         {"leaseTransitions", 3}}}});
  clock_.advance(20s);
  ASSERT_TRUE(keeper_.renew({}).ok());
  const Json spec = stored()["spec"];
  EXPECT_EQ(spec["holderIdentity"], "rr-fab-r1-0");
  EXPECT_EQ(spec["leaseTransitions"], 4);
  EXPECT_EQ(spec["acquireTime"], kube::format_micro_time(clock_.wall_now()));
  EXPECT_EQ(spec["renewTime"], spec["acquireTime"]);
  // Its own renewals are no transitions.
  clock_.advance(5s);
  ASSERT_TRUE(keeper_.renew({}).ok());
  EXPECT_EQ(stored()["spec"]["leaseTransitions"], 4);
}

// A replacement Pod of the same name (a new UID) takes over its predecessor's Lease:
// the holder becomes its own UID, so the operator counts only its renewals.
TEST_F(LeaseKeeperTest, AReplacementOfTheSameNameTakesOverItsPredecessorsLeaseUnderItsUid) {
  AgentIdentity first = identity();
  first.uid = "uid-1";
  LeaseKeeper predecessor(api_, first, clock_, [] { return 0.0; });
  ASSERT_TRUE(predecessor.renew({}).ok());
  EXPECT_EQ(stored()["spec"]["holderIdentity"], "uid-1");
  EXPECT_EQ(stored()["spec"]["leaseTransitions"], 0);

  clock_.advance(20s);  // it froze; its Pod was replaced
  AgentIdentity second = identity();
  second.uid = "uid-2";
  LeaseKeeper replacement(api_, second, clock_, [] { return 0.0; });
  ASSERT_TRUE(replacement.renew({}).ok());
  const Json spec = stored()["spec"];
  EXPECT_EQ(spec["holderIdentity"], "uid-2");
  EXPECT_EQ(spec["leaseTransitions"], 1);
  EXPECT_EQ(spec["acquireTime"], kube::format_micro_time(clock_.wall_now()));
}

TEST_F(LeaseKeeperTest, ConflictRereadsAndWritesOnceMore) {
  struct Case {
    std::string name;
    bool warm;  // a previous renewal left a copy to update directly
    int conflicts;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"cold, one conflict", false, 1, true},
      {"warm, one conflict", true, 1, true},
      {"cold, two conflicts", false, 2, false},
      {"warm, two conflicts", true, 2, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FakeClock clock;
    FakeKubeClient api(clock);
    api.seed(leases(), {{"metadata", {{"name", "rr-fab-r1-0"}, {"namespace", "rr-system"}}},
                        {"spec", {{"holderIdentity", "rr-fab-r1-0"}}}});
    LeaseKeeper keeper(api, identity(), clock, [] { return 0.0; });
    if (c.warm) {
      ASSERT_TRUE(keeper.renew({}).ok());
    }
    api.inject_error("update", leases(), kube::make_error(ErrorKind::Conflict, "the object has been modified"),
                     c.conflicts);
    clock.advance(5s);
    auto status = keeper.renew({1, 1, ""});
    EXPECT_EQ(status.ok(), c.ok);
    if (!c.ok) {
      EXPECT_TRUE(status.is(ErrorKind::Conflict));
    } else {
      auto lease = api.peek(leases(), "rr-system", "rr-fab-r1-0");
      ASSERT_TRUE(lease);
      EXPECT_EQ((*lease)["spec"]["renewTime"], kube::format_micro_time(clock.wall_now()));
    }
  }
}

TEST_F(LeaseKeeperTest, RecreatesALeaseDeletedUnderIt) {
  ASSERT_TRUE(keeper_.renew({}).ok());
  ASSERT_TRUE(api_.remove(leases(), "rr-system", "rr-fab-r1-0", {}).ok());
  ASSERT_TRUE(keeper_.renew({}).ok());
  EXPECT_EQ(stored()["spec"]["holderIdentity"], "rr-fab-r1-0");
}

TEST_F(LeaseKeeperTest, UnavailableApiFailsTheRenewal) {
  std::vector<std::pair<bool, std::string>> results;
  keeper_.set_on_result([&](bool ok, const kube::Error* error) {
    results.emplace_back(ok, error ? std::string(kube::to_string(error->kind)) : "");
  });
  ASSERT_TRUE(keeper_.renew({}).ok());
  api_.set_unavailable(true);
  auto status = keeper_.renew({});
  EXPECT_TRUE(status.is(ErrorKind::Transient));
  api_.inject_error("get", leases(), kube::make_error(ErrorKind::Forbidden, "no"));
  EXPECT_FALSE(keeper_.renew({}).ok());
  EXPECT_EQ(keeper_.renewals_ok(), 1);
  EXPECT_EQ(keeper_.renewals_failed(), 2);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0], std::make_pair(true, std::string()));
  EXPECT_EQ(results[1], std::make_pair(false, std::string(kube::to_string(ErrorKind::Transient))));
}

TEST_F(LeaseKeeperTest, HealthyFollowsTheLastGoodRenewal) {
  EXPECT_FALSE(keeper_.healthy()) << "no renewal yet";
  ASSERT_TRUE(keeper_.renew({}).ok());
  EXPECT_TRUE(keeper_.healthy());
  api_.set_unavailable(true);
  clock_.advance(5s);
  EXPECT_FALSE(keeper_.renew({}).ok());
  clock_.advance(9s);
  EXPECT_TRUE(keeper_.healthy()) << "14 s since the last renewal";
  clock_.advance(1s);
  EXPECT_FALSE(keeper_.healthy()) << "15 s: the operator may consider the Lease lapsed";
  api_.set_unavailable(false);
  ASSERT_TRUE(keeper_.renew({}).ok());
  EXPECT_TRUE(keeper_.healthy());
}

class RunningKeeper {
 public:
  RunningKeeper(LeaseKeeper& keeper, std::function<LeaseReport()> report)
      : thread_([&keeper, report = std::move(report)](std::stop_token stop) { keeper.run(report, stop); }) {}
  ~RunningKeeper() { thread_.request_stop(); }

 private:
  std::jthread thread_;
};

TEST_F(LeaseKeeperTest, RunRenewsEveryThirdOfTheDuration) {
  std::atomic<int> reports{0};
  RunningKeeper running(keeper_, [&] {
    ++reports;
    return LeaseReport{reports.load(), 7, ""};
  });
  ASSERT_TRUE(clock_.wait_for_sleepers(1));
  EXPECT_EQ(lease_writes(), 1);
  EXPECT_EQ(*clock_.next_deadline() - clock_.now(), 5s);
  clock_.advance(4900ms);
  EXPECT_EQ(lease_writes(), 1);
  for (int i = 2; i <= 4; ++i) {
    clock_.advance(i == 2 ? 100ms : 5s);
    ASSERT_TRUE(clock_.wait_for_sleepers(1));
    EXPECT_EQ(lease_writes(), i);
  }
  EXPECT_EQ(annotation(stored(), contract::kSessionsEstablishedAnnotation), std::to_string(reports.load()));
  EXPECT_EQ(keeper_.renewals_ok(), 4);
}

TEST_F(LeaseKeeperTest, RunRetriesSoonerAfterAFailure) {
  api_.set_unavailable(true);
  RunningKeeper running(keeper_, [] { return LeaseReport{}; });
  // Backoff from duration/30, doubling, capped at duration/3.
  for (auto expected : {500ms, 1000ms, 2000ms, 4000ms, 5000ms, 5000ms}) {
    ASSERT_TRUE(clock_.wait_for_sleepers(1));
    EXPECT_EQ(*clock_.next_deadline() - clock_.now(), expected);
    clock_.advance(expected);
  }
  ASSERT_TRUE(clock_.wait_for_sleepers(1));
  EXPECT_EQ(keeper_.renewals_failed(), 7);
  api_.set_unavailable(false);
  clock_.advance(5s);
  ASSERT_TRUE(clock_.wait_for_sleepers(1));
  EXPECT_TRUE(keeper_.healthy());
  EXPECT_EQ(*clock_.next_deadline() - clock_.now(), 5s) << "back to the normal period";
}

TEST_F(LeaseKeeperTest, RunSurvivesAThrowingReport) {
  std::atomic<int> calls{0};
  RunningKeeper running(keeper_, [&]() -> LeaseReport {
    if (++calls == 2) throw std::runtime_error("bird socket gone");
    return LeaseReport{2, 2, ""};
  });
  ASSERT_TRUE(clock_.wait_for_sleepers(1));
  clock_.advance(5s);
  ASSERT_TRUE(clock_.wait_for_sleepers(1));
  EXPECT_EQ(keeper_.renewals_ok(), 2);
  EXPECT_EQ(annotation(stored(), contract::kSessionsEstablishedAnnotation), "2");
}

TEST_F(LeaseKeeperTest, ConfigErrorIsCutAndPrintable) {
  std::string message(5000, 'x');
  message[0] = '\n';
  message[1] = '\xff';
  ASSERT_TRUE(keeper_.renew({0, 0, message}).ok());
  const std::string stored_error = annotation(stored(), contract::kConfigErrorAnnotation);
  EXPECT_EQ(stored_error.size(), 1024u);
  EXPECT_EQ(stored_error.substr(0, 3), "  x");
}

}  // namespace
}  // namespace rr::agent
