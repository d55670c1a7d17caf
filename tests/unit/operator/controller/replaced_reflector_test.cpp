// The controller (informers, liveness tracker, reconciler, applier) on a fake
// API and a fake clock, with the test playing kubelet and the reflector's
// agent: an agent that stops renewing while its Pod lives (frozen) gets its Pod
// replaced exactly once; the replacement, same name on the same host, is not
// judged by its predecessor's lapsed Lease, and that Lease goes with its Pod.
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "api/well_known.h"
#include "controller/fabric_controller.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"
#include "integration/support/eventually.h"
#include "planner/names.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using kube::Json;
using kube::testing::FakeClock;
using kube::testing::FakeKubeClient;

constexpr char kNs[] = "rr-system";
constexpr char kFabric[] = "fab";
constexpr char kRack[] = "r1";
constexpr int kLeaseSeconds = 10;

// Bounded in real time: the controller's threads act on their own schedule.
using rr::testing::eventually;

Json node(const std::string& name, bool reflector_host, const std::string& ip) {
  Json labels = {{"topology.kubernetes.io/rack", kRack}, {"kubernetes.io/hostname", name}};
  if (reflector_host) labels["rr.bgp.dev/reflector"] = "true";
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"status",
           {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})},
            {"addresses", Json::array({{{"type", "InternalIP"}, {"address", ip}}})}}}};
}

class ReplacedReflectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.seed(kube::resources::nodes(), node("n1", true, "192.0.2.1"));
    api_.seed(kube::resources::nodes(), node("n2", false, "192.0.2.2"));
    ControllerOptions options;
    options.workers = 1;
    controller_ = std::make_unique<FabricController>(api_, options, clock_);
    controller_->start_informers();
    ASSERT_TRUE(controller_->wait_for_sync(5000ms));
    running_ = std::jthread([this](std::stop_token stop) { controller_->run(stop); });
    ASSERT_TRUE(api_.create(api::route_reflector_clusters(), "",
                            Json{{"apiVersion", "rr.bgp.dev/v1alpha1"},
                                 {"kind", "RouteReflectorCluster"},
                                 {"metadata", {{"name", kFabric}}},
                                 {"spec",
                                  {{"asNumber", 64512},
                                   {"reflectors", {{"perRack", 1}}},
                                   {"lease", {{"durationSeconds", kLeaseSeconds}}}}}})
                    .ok());
  }

  void TearDown() override {
    running_.request_stop();
    if (running_.joinable()) running_.join();
    controller_.reset();
  }

  std::string pod_uid() {
    auto pod = api_.peek(kube::resources::pods(), kNs, pod_);
    return pod ? kube::uid_of(*pod) : "";
  }

  // kubelet: the Pod runs on its host.
  bool run_pod(const std::string& uid) {
    auto pod = api_.get(kube::resources::pods(), kNs, pod_);
    if (!pod.ok() || kube::uid_of(*pod) != uid) return false;
    Json p = *pod;
    p["status"]["phase"] = "Running";
    p["status"]["hostIP"] = "192.0.2.1";
    p["status"]["conditions"] = Json::array({{{"type", "Ready"}, {"status", "True"}}});
    return api_.update_status(kube::resources::pods(), p).ok();
  }

  // The agent of the Pod with `uid`: one renewal of its Lease, as LeaseKeeper writes it.
  bool renew(const std::string& uid) {
    const auto& leases = kube::resources::leases();
    auto current = api_.get(leases, kNs, pod_);
    Json lease = current.ok() ? *current : Json{{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}};
    lease["metadata"]["name"] = pod_;
    lease["metadata"]["namespace"] = kNs;
    lease["metadata"]["labels"] = {{std::string(api::kNameLabel), std::string(api::kNameValue)},
                                   {std::string(api::kManagedByLabel), std::string(api::kManagedByValue)},
                                   {std::string(api::kClusterLabel), kFabric},
                                   {std::string(api::kRackLabel), kRack}};
    lease["metadata"]["annotations"] = {{std::string(api::kAddressAnnotation), "192.0.2.1"},
                                        {std::string(api::kPortAnnotation), "179"},
                                        {std::string(api::kRackAnnotation), kRack},
                                        {std::string(api::kClusterIdAnnotation), "10.255.0.1"},
                                        {std::string(api::kSessionsEstablishedAnnotation), "1"},
                                        {std::string(api::kSessionsTotalAnnotation), "1"}};
    lease["spec"]["holderIdentity"] = uid;
    lease["spec"]["leaseDurationSeconds"] = kLeaseSeconds;
    lease["spec"]["renewTime"] = kube::format_micro_time(clock_.wall_now());
    auto written = current.ok() ? api_.update(leases, lease) : api_.create(leases, kNs, lease);
    return written.ok();
  }

  // The reflector's state in the fabric's status ("" when not listed).
  std::string state() {
    auto fabric = api_.peek(api::route_reflector_clusters(), "", kFabric);
    if (!fabric) return "";
    for (const auto& rack : fabric->value("status", Json::object()).value("racks", Json::array())) {
      for (const auto& r : rack.value("reflectors", Json::array())) {
        if (r.value("pod", "") == pod_) return r.value("state", "");
      }
    }
    return "";
  }

  int count(const std::string& entry) {
    int n = 0;
    for (const auto& e : api_.write_log()) n += e == entry;
    return n;
  }

  FakeClock clock_;
  FakeKubeClient api_{clock_};
  std::unique_ptr<FabricController> controller_;
  std::jthread running_;
  const std::string pod_ = planner::reflector_pod_name(kFabric, kRack, "n1");
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
                   {{std::string(api::kNameLabel), std::string(api::kNameValue)},
                    {std::string(api::kManagedByLabel), std::string(api::kManagedByValue)},
                    {std::string(api::kClusterLabel), kFabric}}}}},
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
