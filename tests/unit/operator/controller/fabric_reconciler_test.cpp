// The reconciler on the stateful fake API, with real informers feeding its caches:
// deletion whatever the spec says (issue 11 G2).
#include <gtest/gtest.h>

#include <map>

#include "kube/event_recorder.h"
#include "unit/operator/controller/reconciler_harness.h"

namespace rr::controller {
namespace {

using namespace rr::controller::testing;
using kube::Json;
using kube::testing::FakeKubeClient;

// A fabric that ran (a Pod, a Lease, a BGPPeer, Calico's mesh off), then is deleted with `spec`.
void SeedARunningFabricBeingDeleted(FakeKubeClient& api, const Json& spec) {
  api.seed(kube::resources::nodes(), Node("n1", "r1", "10.0.0.1"));
  api.seed(contract::route_reflector_clusters(), Fabric("f", spec));
  api.seed(kube::resources::pods(), Json{{"apiVersion", "v1"},
                                         {"kind", "Pod"},
                                         {"metadata", {{"name", "f-r1-n1"}, {"namespace", kNs}, {"labels", Labels("f")}}},
                                         {"spec", {{"nodeName", "n1"}}}});
  api.seed(kube::resources::leases(), Json{{"apiVersion", "coordination.k8s.io/v1"},
                                           {"kind", "Lease"},
                                           {"metadata", {{"name", "f-r1-n1"}, {"namespace", kNs}, {"labels", Labels("f")}}},
                                           {"spec", {{"holderIdentity", "f-r1-n1"}}}});
  api.seed(contract::calico_crd_bgp_peers(), Json{{"apiVersion", "crd.projectcalico.org/v1"},
                                             {"kind", "BGPPeer"},
                                             {"metadata", {{"name", "f-r1-n1"}, {"labels", Labels("f")}}},
                                             {"spec", {{"peerIP", "10.0.0.1"}, {"asNumber", 64512}}}});
  api.seed(contract::calico_crd_bgp_configurations(), Json{{"apiVersion", "crd.projectcalico.org/v1"},
                                                      {"kind", "BGPConfiguration"},
                                                      {"metadata", {{"name", "default"}}},
                                                      {"spec", {{"nodeToNodeMeshEnabled", false}}}});
  ASSERT_TRUE(api.remove(contract::route_reflector_clusters(), "", "f", {}).ok());
  ASSERT_TRUE(api.peek(contract::route_reflector_clusters(), "", "f").has_value()) << "the finalizer holds it";
}

void ExpectEverythingGoneAndTheMeshOn(Harness& h) {
  EXPECT_TRUE(h.reconcile_until("f", [&] { return !h.api.peek(contract::route_reflector_clusters(), "", "f"); }))
      << "the fabric is never deleted: " << h.api.peek(contract::route_reflector_clusters(), "", "f")->dump();
  EXPECT_FALSE(h.api.peek(contract::calico_crd_bgp_peers(), "", "f-r1-n1"));
  EXPECT_FALSE(h.api.peek(kube::resources::pods(), kNs, "f-r1-n1"));
  EXPECT_FALSE(h.api.peek(kube::resources::leases(), kNs, "f-r1-n1"));
  auto config = h.api.peek(contract::calico_crd_bgp_configurations(), "", "default");
  ASSERT_TRUE(config);
  EXPECT_TRUE((*config)["spec"].value("nodeToNodeMeshEnabled", false)) << config->dump();
}

// The fabric informer's store holds a spec before its handler has widened the Node cache's label
// keys: a reconcile that reads it then must plan nothing (the Nodes lack the new label, so a
// plan would move reflectors off hosts that carry it) and say so; the relist enqueues it later.
TEST(FabricReconcilerNodeLabels, ASpecReadingALabelTheNodeCacheDoesNotKeepYetPlansNothing) {
  Harness h;
  h.api.seed(kube::resources::nodes(), Node("n1", "r1", "10.0.0.1"));
  h.api.seed(contract::route_reflector_clusters(),
             Fabric("f", {{"asNumber", 64512},
                          {"reflectors", {{"perRack", 1}, {"nodeSelector", {{"rr.bgp.dev/reflector", "true"}, {"site", "a"}}}}}}));
  h.start();
  bool site_kept = false;
  FabricCaches caches = h.caches();
  caches.nodes_keep = [&](const planner::LabelKeys& keys) { return site_kept || !keys.count("site"); };
  FabricReconciler reconciler(caches, h.api, h.applier, h.liveness, nullptr, h.clock, {});

  auto waiting = reconciler.reconcile("f");
  ASSERT_TRUE(waiting.ok()) << waiting.error().message;
  EXPECT_TRUE(waiting->nodes_pending);
  EXPECT_TRUE(h.api.write_log().empty()) << "planned on Nodes listed without the label: " << h.api.write_log().front();

  site_kept = true;  // the relist is in
  auto planned = reconciler.reconcile("f");
  ASSERT_TRUE(planned.ok()) << planned.error().message;
  EXPECT_FALSE(planned->nodes_pending);
  EXPECT_FALSE(h.api.write_log().empty()) << "the fabric is reconciled once the Nodes carry what it reads";
}

TEST(FabricReconcilerDeletion, AnInvalidSpecStillDeletesEverythingAndRestoresTheMesh) {
  Harness h;
  // The schema admits it; the operator rejects it (keepalive must be below hold).
  SeedARunningFabricBeingDeleted(h.api, Json{{"namespace", kNs}, {"bgp", {{"holdTimeSeconds", 10}, {"keepaliveSeconds", 20}}}});
  h.start();
  ExpectEverythingGoneAndTheMeshOn(h);
}

TEST(FabricReconcilerDeletion, ACalicoApiMismatchDoesNotBlockDeletion) {
  Harness h;  // the operator watches crd.projectcalico.org/v1
  SeedARunningFabricBeingDeleted(h.api, Json{{"namespace", kNs}, {"calicoAPI", "projectcalico.org/v3"}});
  h.start();
  ExpectEverythingGoneAndTheMeshOn(h);
}

// A spec.namespace that does not exist: the API answers the Pod create 404. The status
// says so (not "no eligible hosts"), names the field, and an Event does too.
TEST(FabricReconcilerNamespace, AMissingNamespaceIsReportedAsSuchNamingTheField) {
  Harness h;
  kube::EventRecorder events(h.api, kube::EventSource{"rr-operator", "test"}, h.clock);
  h.reconciler = std::make_unique<FabricReconciler>(
      FabricCaches{&h.fabrics->store(), &h.nodes->store(), &h.pods->store(), &h.leases->store(), &h.peers->store(),
                   &h.configs->store()},
      h.api, h.applier, h.liveness, &events, h.clock, [] {
        ReconcilerOptions o;
        o.policy.namespaces = {"rr-system", "absent"};  // allowed, but not there
        return o;
      }());
  h.api.seed(kube::resources::nodes(), Node("n1", "r1", "10.0.0.1"));
  h.api.seed(kube::resources::nodes(), Node("n2", "r1", "10.0.0.2"));
  h.api.seed(contract::route_reflector_clusters(), Fabric("f", Json{{"namespace", "absent"}}));
  // What kube-apiserver answers a create in a namespace that does not exist.
  kube::Error not_found = kube::make_error(kube::ErrorKind::NotFound, "namespaces \"absent\" not found");
  not_found.http_status = 404;
  h.api.inject_error("create", kube::resources::pods(), not_found, 1000);
  h.start();

  auto outcome = h.reconciler->reconcile("f");
  ASSERT_TRUE(outcome.ok()) << "a status to report, not an error to retry: " << outcome.error().describe();
  EXPECT_TRUE(outcome->requeue_after.has_value()) << "no informer watches Namespaces: it must look again";
  auto fabric = h.api.peek(contract::route_reflector_clusters(), "", "f");
  ASSERT_TRUE(fabric);
  std::map<std::string, Json> conditions;
  for (const auto& c : (*fabric)["status"]["conditions"]) conditions[c["type"]] = c;
  EXPECT_EQ(conditions["Ready"].value("status", ""), "False");
  EXPECT_EQ(conditions["Ready"].value("reason", ""), "NamespaceNotFound") << fabric->dump(2);
  EXPECT_EQ(conditions["Degraded"].value("status", ""), "True");
  EXPECT_EQ(conditions["Degraded"].value("reason", ""), "NamespaceNotFound");
  const std::string message = conditions["Ready"].value("message", "");
  for (const char* words : {"spec.namespace", "\"absent\"", "does not exist"}) {
    EXPECT_NE(message.find(words), std::string::npos) << words << " not in: " << message;
  }
  EXPECT_EQ(message.find("eligible"), std::string::npos) << message;

  ASSERT_TRUE(events.flush());
  kube::ListOptions all;
  auto written = h.api.list(kube::resources::events(), "", all);
  ASSERT_TRUE(written.ok());
  bool found = false;
  for (const auto& e : written->items) {
    found = found || (e.value("reason", "") == "NamespaceNotFound" &&
                      e.value("message", "").find("spec.namespace") != std::string::npos);
  }
  EXPECT_TRUE(found) << "no Warning Event NamespaceNotFound naming spec.namespace";
}

}  // namespace
}  // namespace rr::controller
