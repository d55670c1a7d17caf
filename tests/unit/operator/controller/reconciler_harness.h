#pragma once
// FabricReconciler on the stateful fake API with real informers feeding its
// caches, wired as FabricController wires them (without the work queue), so a
// test decides when and on which threads reconciles run.
#include <functional>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "api/observed.h"
#include "contract/well_known.h"
#include "controller/fabric_reconciler.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "unit/operator/controller/operator_namespace.h"

namespace rr::controller::testing {

using namespace std::chrono_literals;
using kube::Json;
using kube::testing::FakeClock;
using kube::testing::FakeKubeClient;

inline Json Labels(const std::string& fabric) {
  return {{std::string(contract::kManagedByLabel), std::string(contract::kManagedByValue)},
          {std::string(contract::kClusterLabel), fabric},
          {std::string(contract::kNameLabel), std::string(contract::kNameValue)}};
}

inline Json Fabric(const std::string& name, Json spec) {
  return {{"apiVersion", std::string(contract::kApiVersion)},
          {"kind", std::string(contract::kKind)},
          {"metadata", {{"name", name}, {"finalizers", {std::string(contract::kMeshRestoreFinalizer)}}}},
          {"spec", std::move(spec)}};
}

inline Json Node(const std::string& name, const std::string& rack, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"labels", {{"topology.kubernetes.io/rack", rack}, {"rr.bgp.dev/reflector", "true"}}},
            {"annotations", {{std::string(contract::kCalicoIPv4Annotation), ip + "/24"}}}}},
          {"status",
           {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
            {"addresses", {{{"type", "InternalIP"}, {"address", ip}}}}}}};
}

// Informers over the fake feeding a reconciler, as FabricController wires them.
struct Harness {
  // record_events: the reconciler records Events through a real EventRecorder on the fake.
  explicit Harness(ReconcilerOptions options = {}, bool record_events = false) {
    if (record_events) events = std::make_unique<kube::EventRecorder>(api, kube::EventSource{"rr-operator", "test"}, clock);
    auto opts = [](std::string selector) {
      kube::InformerOptions o;
      o.watch.label_selector = std::move(selector);
      return o;
    };
    const std::string reflectors = std::string(contract::kNameLabel) + "=" + std::string(contract::kNameValue);
    const std::string managed = std::string(contract::kManagedByLabel) + "=" + std::string(contract::kManagedByValue);
    fabrics = std::make_unique<kube::Informer<Json>>(api, contract::route_reflector_clusters(), opts(""),
                                                     kube::keep_whole_object, clock);
    nodes = std::make_unique<kube::Informer<planner::NodeInfo>>(api, kube::resources::nodes(), opts(""),
                                                                api::node_info_from, clock);
    pods = std::make_unique<kube::Informer<Json>>(api, kube::resources::pods(), opts(reflectors + "," + managed),
                                                  kube::keep_whole_object, clock);
    leases = std::make_unique<kube::Informer<Json>>(api, kube::resources::leases(), opts(reflectors),
                                                    kube::keep_whole_object, clock);
    peers = std::make_unique<kube::Informer<Json>>(api, contract::calico_crd_bgp_peers(), opts(managed),
                                                   kube::keep_whole_object, clock);
    configs = std::make_unique<kube::Informer<Json>>(api, contract::calico_crd_bgp_configurations(), opts(""),
                                                     kube::keep_whole_object, clock);
    roles = std::make_unique<kube::Informer<Json>>(api, contract::roles(), opts(managed), kube::keep_whole_object, clock);
    bindings = std::make_unique<kube::Informer<Json>>(api, contract::role_bindings(), opts(managed),
                                                      kube::keep_whole_object, clock);
    reconciler = std::make_unique<FabricReconciler>(caches(), api, applier, liveness, events.get(), clock, options);
  }
  // The caches as FabricController hands them over.
  FabricCaches caches() const {
    FabricCaches c{&fabrics->store(), &nodes->store(), &pods->store(),
                   &leases->store(),  &peers->store(), &configs->store()};
    c.roles = &roles->store();
    c.role_bindings = &bindings->store();
    return c;
  }
  std::vector<kube::Informer<Json>*> json_informers() const {
    return {fabrics.get(), pods.get(), leases.get(), peers.get(), configs.get(), roles.get(), bindings.get()};
  }
  ~Harness() {
    for (auto* i : json_informers()) i->stop();
    nodes->stop();
  }
  void start() {
    for (auto* i : json_informers()) i->start();
    nodes->start();
    for (auto* i : json_informers()) ASSERT_TRUE(i->wait_for_sync(5000ms));
    ASSERT_TRUE(nodes->wait_for_sync(5000ms));
  }
  // Reconciles until `done` holds, moving fake time on between passes (requeues, settle times)
  // and giving the informers real time to catch up. Bounded.
  bool reconcile_until(const std::string& fabric, const std::function<bool()>& done) {
    for (int i = 0; i < 400; ++i) {
      if (done()) return true;
      auto r = reconciler->reconcile(fabric);
      (void)r;
      clock.advance(500ms);
      std::this_thread::sleep_for(5ms);
    }
    return done();
  }

  FakeClock clock;
  FakeKubeClient api{clock};
  contract::LivenessTracker liveness{clock, 120s};
  Applier applier{api};
  std::unique_ptr<kube::EventRecorder> events;
  std::unique_ptr<kube::Informer<Json>> fabrics, pods, leases, peers, configs, roles, bindings;
  std::unique_ptr<kube::Informer<planner::NodeInfo>> nodes;
  std::unique_ptr<FabricReconciler> reconciler;
};

}  // namespace rr::controller::testing
