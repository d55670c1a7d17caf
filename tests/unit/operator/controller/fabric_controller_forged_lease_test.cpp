// Reflector Leases are written by agents, so the controller reads them as
// outside input: a Lease whose spec fields have the wrong type (found while
// writing fuzz/lease_fuzzer.cpp) used to throw nlohmann::json::type_error from
// Json::value() inside the Lease informer's handler, ending the operator with
// std::terminate. Now such a field reads as absent.
//
// And a compromised agent can write any Lease of its namespace, its own or
// another reflector's: the address BGPPeers point at comes from the kubelet
// (the Pod's status.hostIP), and a Lease revision its Pod contradicts (another
// holder, rack, cluster ID, fabric or address) counts for no liveness and is
// reported: a log line, a Warning Event on the fabric and a counter.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "contract/well_known.h"
#include "controller/fabric_controller.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"
#include "one_reflector_fixture.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using kube::Json;
using kube::testing::FakeClock;
using kube::testing::FakeKubeClient;

Json forged_lease(const std::string& name, Json spec) {
  return Json{{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata",
               {{"name", name},
                {"namespace", "rr-system"},
                {"labels", {{std::string(contract::kNameLabel), std::string(contract::kNameValue)}}}}},
              {"spec", std::move(spec)}};
}

TEST(FabricControllerForgedLease, LeaseFieldsOfTheWrongTypeReadAsAbsentInsteadOfEndingTheOperator) {
  FakeClock clock;
  FakeKubeClient api(clock);
  ASSERT_TRUE(api.create(kube::resources::leases(), "rr-system",
                         forged_lease("holder-number", Json{{"holderIdentity", 5}, {"leaseDurationSeconds", 15}}))
                  .ok());
  ASSERT_TRUE(api.create(kube::resources::leases(), "rr-system",
                         forged_lease("duration-text", Json{{"holderIdentity", "p"}, {"leaseDurationSeconds", "15"},
                                                            {"renewTime", Json::array()}}))
                  .ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> reconciled;
  auto record = [&](const std::string& fabric) {
    std::lock_guard lock(mu);
    reconciled.push_back(fabric);
    cv.notify_all();
  };
  ControllerOptions options;
  options.workers = 1;
  options.on_reconciled = [&](const std::string& fabric, const ReconcileOutcome&) { record(fabric); };
  options.on_error = [&](const std::string& fabric, const kube::Error&) { record(fabric); };
  FabricController controller(api, options, clock);
  controller.start_informers();
  // The initial list hands both Leases to the add handler before the informer reports synced.
  ASSERT_TRUE(controller.wait_for_sync(5000ms));
  std::jthread running([&](std::stop_token stop) { controller.run(stop); });

  // An update goes through the update handler, which compares the old and new holders; the
  // fabric label it adds makes the handler queue fabric "f", so its reconcile shows the
  // handler ran to the end.
  auto live = api.get(kube::resources::leases(), "rr-system", "holder-number");
  ASSERT_TRUE(live.ok());
  Json update = forged_lease("holder-number", Json{{"holderIdentity", Json::object()}, {"leaseDurationSeconds", 1.5}});
  update["metadata"]["labels"][std::string(contract::kClusterLabel)] = "f";
  update["metadata"]["resourceVersion"] = kube::resource_version_of(*live);
  ASSERT_TRUE(api.update(kube::resources::leases(), update).ok());
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return !reconciled.empty(); })) << "the Lease update was never handled";
  if (!reconciled.empty()) {
    EXPECT_EQ(reconciled.front(), "f");
  }
  lock.unlock();
  running.request_stop();
}

class ForgedLeaseTest : public testing::OneReflectorControllerTest {
 protected:
  // The Pod runs, its agent renews honestly, the operator peers the rack with it.
  std::string ready_reflector() {
    EXPECT_TRUE(testing::eventually([&] { return !pod_uid().empty(); })) << "the operator never created " << pod_;
    const std::string uid = pod_uid();
    EXPECT_TRUE(run_pod(uid));
    EXPECT_TRUE(renew(uid));
    EXPECT_TRUE(testing::eventually([&] { return state() == "Ready" && peer_ip() == "192.0.2.1"; }))
        << state() << " " << peer_ip();
    return uid;
  }
  std::string peer_ip() {
    auto peer = api_.peek(contract::calico_crd_bgp_peers(), "", pod_);
    return peer ? peer->value("spec", Json::object()).value("peerIP", "") : "";
  }
  // The reflector's entry in the fabric's status (null when not listed).
  Json status_entry() {
    auto fabric = api_.peek(contract::route_reflector_clusters(), "", testing::kFabric);
    if (!fabric) return nullptr;
    for (const auto& rack : fabric->value("status", Json::object()).value("racks", Json::array())) {
      for (const auto& r : rack.value("reflectors", Json::array())) {
        if (r.value("pod", "") == pod_) return r;
      }
    }
    return nullptr;
  }
  std::string status_address() {
    const Json r = status_entry();
    return r.is_object() ? r.value("address", "") : "";
  }
  int status_sessions() {
    const Json r = status_entry();
    return r.is_object() ? r.value("sessionsEstablished", -1) : -1;
  }
  // Warning Events with reason ForgedLease on the fabric (cluster-scoped: namespace default).
  std::vector<std::string> forged_lease_events() {
    std::vector<std::string> out;
    events_.flush();
    auto list = api_.list(kube::resources::events(), "default", {});
    if (!list.ok()) return out;
    for (const auto& e : list->items) {
      if (e.value("reason", "") != "ForgedLease") continue;
      EXPECT_EQ(e.value("type", ""), "Warning");
      EXPECT_EQ(e.value("involvedObject", Json::object()).value("name", ""), testing::kFabric);
      out.push_back(e.value("message", ""));
    }
    return out;
  }
  std::string lease_key() const { return std::string(testing::kNs) + "/" + pod_; }
  static void forge_address(Json& lease) { lease["metadata"]["annotations"]["rr.bgp.dev/address"] = "203.0.113.66"; }
};

TEST_F(ForgedLeaseTest, AForgedAddressNeverReachesTheBGPPeerAndIsReported) {
  const std::string uid = ready_reflector();
  ASSERT_EQ(metrics_.forged_leases("address"), 0);

  // Written under the Pod's own UID (any agent can read it from the Lease), with another address.
  ASSERT_TRUE(renew(uid, forge_address));
  ASSERT_TRUE(testing::eventually([&] { return metrics_.forged_leases("address") == 1; }))
      << "the forged revision was not counted";
  EXPECT_EQ(forged_log(), std::vector<std::string>{lease_key() + " fab address"});
  ASSERT_TRUE(testing::eventually([&] { return !forged_lease_events().empty(); })) << "no Warning Event";
  const auto events = forged_lease_events();
  EXPECT_NE(events.front().find(lease_key()), std::string::npos) << events.front();
  EXPECT_NE(events.front().find("203.0.113.66"), std::string::npos) << events.front();

  // The reconcile that read the forged revision shows none of its counts (the honest agent
  // reported 1 session); it applied the BGPPeer before the status: still the kubelet's hostIP.
  ASSERT_TRUE(testing::eventually([&] { return status_sessions() == 0; })) << status_entry().dump();
  EXPECT_EQ(peer_ip(), "192.0.2.1");
  EXPECT_EQ(status_address(), "192.0.2.1");
  EXPECT_EQ(state(), "Ready") << "its own renewals still count";

  ASSERT_TRUE(renew(uid));  // the honest agent writes again: its counts are back
  ASSERT_TRUE(testing::eventually([&] { return status_sessions() == 1; })) << status_entry().dump();
  EXPECT_EQ(peer_ip(), "192.0.2.1");
  EXPECT_EQ(metrics_.forged_leases("address"), 1);
  EXPECT_EQ(metrics_.forged_leases("holder"), 0);
}

TEST_F(ForgedLeaseTest, ForgedRenewalsDoNotKeepADeadReflectorAlive) {
  const std::string uid = ready_reflector();
  // Its agent is gone; another agent keeps renewing the Lease in its name, under its UID,
  // claiming another rack (or any other field the Pod contradicts).
  std::string replacement;
  for (int i = 0; i < 200 && replacement.empty(); ++i) {
    clock_.advance(500ms);
    if (i % 4 == 0) {
      renew(uid, [](Json& lease) { lease["metadata"]["annotations"]["rr.bgp.dev/rack"] = "r9"; });
    }
    testing::eventually([&] {
      const std::string now = pod_uid();
      if (!now.empty() && now != uid) replacement = now;
      return !replacement.empty();
    }, 100ms);
  }
  EXPECT_FALSE(replacement.empty()) << "forged renewals kept the dead reflector's Pod; state " << state();
  EXPECT_GT(metrics_.forged_leases("rack"), 0);
}

TEST_F(ForgedLeaseTest, AnotherHolderIsReportedAndIgnored) {
  const std::string uid = ready_reflector();
  ASSERT_TRUE(renew("uid-of-someone-else", forge_address));
  ASSERT_TRUE(testing::eventually([&] { return metrics_.forged_leases("holder") == 1; }));
  EXPECT_EQ(forged_log(), std::vector<std::string>{lease_key() + " fab holder"});
  EXPECT_EQ(metrics_.forged_leases("address"), 0) << "one revision, reported once, by its holder";
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(testing::eventually([&] { return state() == "Ready"; })) << state();
  EXPECT_EQ(peer_ip(), "192.0.2.1");
}

TEST(LeaseRecord, ReadsTheSpecTypeChecked) {
  auto record = contract::lease_record_from(
      Json{{"spec", {{"holderIdentity", "pod-a"}, {"renewTime", "2026-11-27T10:31:28.123456Z"}, {"leaseDurationSeconds", 15}}}});
  EXPECT_EQ(record.holder, "pod-a");
  EXPECT_EQ(record.renew_time, "2026-11-27T10:31:28.123456Z");
  EXPECT_EQ(record.duration_seconds, 15);
  for (const Json& lease : {Json(), Json::array(), Json{{"spec", 5}},
                            Json{{"spec", {{"holderIdentity", 5}, {"renewTime", false}, {"leaseDurationSeconds", "15"}}}},
                            Json{{"spec", {{"leaseDurationSeconds", -1}}}},
                            Json{{"spec", {{"leaseDurationSeconds", 4294967296ll}}}},
                            Json{{"spec", {{"leaseDurationSeconds", 15.5}}}}}) {
    auto bad = contract::lease_record_from(lease);
    EXPECT_EQ(bad.holder, "") << lease;
    EXPECT_EQ(bad.renew_time, "") << lease;
    EXPECT_EQ(bad.duration_seconds, 0) << lease;
  }
}

}  // namespace
}  // namespace rr::controller
