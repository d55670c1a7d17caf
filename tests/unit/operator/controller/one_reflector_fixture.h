#pragma once
// The controller (informers, liveness tracker, reconciler, applier) on a fake
// API and a fake clock, with one fabric of one reflector slot on host n1; the
// test plays kubelet and the reflector's agent.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "contract/well_known.h"
#include "controller/fabric_controller.h"
#include "controller/operator_metrics.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"
#include "integration/support/eventually.h"
#include "kube/event_recorder.h"
#include "planner/names.h"
#include "unit/operator/controller/fabric_status.h"
#include "unit/operator/controller/operator_namespace.h"

namespace rr::controller::testing {

using namespace std::chrono_literals;
using kube::Json;
using kube::testing::FakeClock;
using kube::testing::FakeKubeClient;

constexpr char kFabric[] = "fab";
constexpr char kRack[] = "r1";
constexpr int kLeaseSeconds = 10;

// Bounded in real time: the controller's threads act on their own schedule.
using rr::testing::eventually;

inline Json node(const std::string& name, bool reflector_host, const std::string& ip) {
  Json labels = {{"topology.kubernetes.io/rack", kRack}, {"kubernetes.io/hostname", name}};
  if (reflector_host) labels["rr.bgp.dev/reflector"] = "true";
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"status",
           {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})},
            {"addresses", Json::array({{{"type", "InternalIP"}, {"address", ip}}})}}}};
}

class OneReflectorControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.seed(kube::resources::nodes(), node("n1", true, "192.0.2.1"));
    api_.seed(kube::resources::nodes(), node("n2", false, "192.0.2.2"));
    ControllerOptions options;
    options.workers = 1;
    options.on_forged_lease = [this](const std::string& lease, const std::string& fabric, const std::string& field,
                                     const std::string&) {
      std::lock_guard lock(mu_);
      forged_log_.push_back(lease + " " + fabric + " " + field);
    };
    Json spec = {{"asNumber", 64512},
                 {"reflectors", {{"perRack", 1}}},
                 {"lease", {{"durationSeconds", kLeaseSeconds}}}};
    configure(options, spec);
    controller_ = std::make_unique<FabricController>(client(), options, clock_, &metrics_, &events_);
    controller_->start_informers();
    ASSERT_TRUE(controller_->wait_for_sync(5000ms));
    running_ = std::jthread([this](std::stop_token stop) { controller_->run(stop); });
    ASSERT_TRUE(api_.create(contract::route_reflector_clusters(), "",
                            Json{{"apiVersion", "rr.bgp.dev/v1alpha1"},
                                 {"kind", "RouteReflectorCluster"},
                                 {"metadata", {{"name", kFabric}}},
                                 {"spec", spec}})
                    .ok());
  }

  // For derived fixtures, before the controller starts: the client it talks through (the
  // fake itself, or a wrapper of it), and its options and the fabric's spec.
  virtual kube::KubeClient& client() { return api_; }
  virtual void configure(ControllerOptions& /*options*/, Json& /*spec*/) {}

  void TearDown() override {
    running_.request_stop();
    if (running_.joinable()) running_.join();
    controller_.reset();
  }

  std::vector<std::string> forged_log() {
    std::lock_guard lock(mu_);
    return forged_log_;
  }

  std::string pod_uid() {
    auto pod = api_.peek(kube::resources::pods(), kNs, pod_);
    return pod ? kube::uid_of(*pod) : "";
  }

  // kubelet: the Pod runs on its host (hostIP 192.0.2.1).
  bool run_pod(const std::string& uid) {
    auto pod = api_.get(kube::resources::pods(), kNs, pod_);
    if (!pod.ok() || kube::uid_of(*pod) != uid) return false;
    Json p = *pod;
    p["status"]["phase"] = "Running";
    p["status"]["hostIP"] = "192.0.2.1";
    p["status"]["conditions"] = Json::array({{{"type", "Ready"}, {"status", "True"}}});
    return api_.update_status(kube::resources::pods(), p).ok();
  }

  // Fake time in steps of 500 ms, each with real time for the controller's threads to act on
  // it: until the threads the step woke sleep again (bounded: one that blocks elsewhere now).
  void pass(int steps) {
    for (int i = 0; i < steps; ++i) {
      // What was written so far (a renewal) is seen at this time, not some steps later.
      api_.wait_for_delivery(std::chrono::milliseconds(100));
      const int asleep = clock_.sleepers();
      clock_.advance(std::chrono::milliseconds(500));
      clock_.wait_for_sleepers(asleep, std::chrono::milliseconds(50));
    }
  }

  // The operator's reflector Pod running, its agent renewing, the fabric Ready: its UID.
  void ready_reflector(std::string& uid) {
    ASSERT_TRUE(eventually([&] { return !pod_uid().empty(); })) << "the operator never created " << pod_;
    uid = pod_uid();
    ASSERT_TRUE(run_pod(uid));
    ASSERT_TRUE(renew(uid));
    ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();
  }

  // kubelet: the Pod's one container, `restarts` restarts so far, running or not (terminated).
  bool report_container(const std::string& uid, int restarts, bool running) {
    auto pod = api_.get(kube::resources::pods(), kNs, pod_);
    if (!pod.ok() || kube::uid_of(*pod) != uid) return false;
    Json p = *pod;
    Json state = running ? Json{{"running", {{"startedAt", "2026-01-01T00:00:00Z"}}}}
                         : Json{{"terminated", {{"exitCode", 137}, {"reason", "Error"}}}};
    p["status"]["containerStatuses"] =
        Json::array({{{"name", "reflector"}, {"restartCount", restarts}, {"ready", running}, {"state", state}}});
    return api_.update_status(kube::resources::pods(), p).ok();
  }

  // The agent of the Pod with `uid`: one renewal of its Lease, as LeaseKeeper writes it;
  // `forge` edits it first (a compromised agent's write). `wait`: until the operator has seen
  // it (below); without, true once written.
  bool renew(const std::string& uid, const std::function<void(Json&)>& forge = nullptr, bool wait = true) {
    const auto& leases = kube::resources::leases();
    const std::string live_pod = pod_uid();
    auto current = api_.get(leases, kNs, pod_);
    Json lease = current.ok() ? *current : Json{{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}};
    lease["metadata"]["name"] = pod_;
    lease["metadata"]["namespace"] = kNs;
    lease["metadata"]["labels"] = {{std::string(contract::kNameLabel), std::string(contract::kNameValue)},
                                   {std::string(contract::kManagedByLabel), std::string(contract::kManagedByValue)},
                                   {std::string(contract::kClusterLabel), kFabric},
                                   {std::string(contract::kRackLabel), kRack}};
    lease["metadata"]["annotations"] = {{std::string(contract::kAddressAnnotation), "192.0.2.1"},
                                        {std::string(contract::kPortAnnotation), "179"},
                                        {std::string(contract::kRackAnnotation), kRack},
                                        {std::string(contract::kClusterIdAnnotation), "10.255.0.1"},
                                        {std::string(contract::kSessionsEstablishedAnnotation), "1"},
                                        {std::string(contract::kSessionsTotalAnnotation), "1"}};
    lease["spec"]["holderIdentity"] = uid;
    lease["spec"]["leaseDurationSeconds"] = kLeaseSeconds;
    lease["spec"]["renewTime"] = kube::format_micro_time(clock_.wall_now());
    if (forge) forge(lease);
    auto written = current.ok() ? api_.update(leases, lease) : api_.create(leases, kNs, lease);
    if (!written.ok()) return false;
    if (!wait) return true;
    // The operator judges liveness by when it sees a renewal: let it see this one before the
    // test moves fake time on, or a busy machine makes a live agent look lapsed. Unless the
    // Pod is replaced meanwhile: the operator then deletes its Lease, and nothing will ever
    // see this write (a wait for it took the 30 s bound whenever a replacement raced it).
    const std::string version = kube::resource_version_of(*written);
    bool seen = false;
    eventually([&] {
      auto lease = controller_->leases().get(std::string(kNs) + "/" + pod_);
      seen = lease && kube::resource_version_of(*lease) == version;
      return seen || pod_uid() != live_pod;
    });
    return seen;
  }

  // The reflector's state in the fabric's status ("" when not listed).
  std::string state() {
    auto fabric = api_.peek(contract::route_reflector_clusters(), "", kFabric);
    if (!fabric) return "";
    for (const auto& rack : fabric->value("status", Json::object()).value("racks", Json::array())) {
      for (const auto& r : rack.value("reflectors", Json::array())) {
        if (r.value("pod", "") == pod_) return r.value("state", "");
      }
    }
    return "";
  }

  // The fabric's condition `type` as "Status/Reason" ("" when it has none).
  std::string condition(const std::string& type) { return fabric_condition(api_, kFabric, type); }

  // Deletes the fabric and moves fake time on until its finalizer has let it go (bounded).
  bool delete_fabric() {
    if (!api_.remove(contract::route_reflector_clusters(), "", kFabric, {}).ok()) return false;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      clock_.advance(500ms);
      gone = eventually([&] { return !api_.peek(contract::route_reflector_clusters(), "", kFabric); }, 100ms, 5ms);
    }
    return gone;
  }

  int count(const std::string& entry) {
    int n = 0;
    for (const auto& e : api_.write_log()) n += e == entry;
    return n;
  }

  FakeClock clock_;
  FakeKubeClient api_{clock_};
  prometheus::Registry registry_;
  OperatorMetrics metrics_{registry_};
  kube::EventRecorder events_{api_, kube::EventSource{"rr-operator", "test"}, clock_};
  std::mutex mu_;
  std::vector<std::string> forged_log_;
  std::unique_ptr<FabricController> controller_;
  std::jthread running_;
  const std::string pod_ = planner::reflector_pod_name(kFabric, kRack, "n1");
};

}  // namespace rr::controller::testing
