// The reconciler on the stateful fake API, with real informers feeding its caches:
// deletion whatever the spec says (issue 11 G2).
#include <gtest/gtest.h>

#include "unit/operator/controller/reconciler_harness.h"

namespace rr::controller {
namespace {

using namespace rr::controller::testing;
using kube::Json;
using kube::testing::FakeKubeClient;

// A fabric that ran (a Pod, a Lease, a BGPPeer, Calico's mesh off), then is deleted with `spec`.
void SeedARunningFabricBeingDeleted(FakeKubeClient& api, const Json& spec) {
  api.seed(kube::resources::nodes(), Node("n1", "r1", "10.0.0.1"));
  api.seed(api::route_reflector_clusters(), Fabric("f", spec));
  api.seed(kube::resources::pods(), Json{{"apiVersion", "v1"},
                                         {"kind", "Pod"},
                                         {"metadata", {{"name", "f-r1-n1"}, {"namespace", kNs}, {"labels", Labels("f")}}},
                                         {"spec", {{"nodeName", "n1"}}}});
  api.seed(kube::resources::leases(), Json{{"apiVersion", "coordination.k8s.io/v1"},
                                           {"kind", "Lease"},
                                           {"metadata", {{"name", "f-r1-n1"}, {"namespace", kNs}, {"labels", Labels("f")}}},
                                           {"spec", {{"holderIdentity", "f-r1-n1"}}}});
  api.seed(api::calico_crd_bgp_peers(), Json{{"apiVersion", "crd.projectcalico.org/v1"},
                                             {"kind", "BGPPeer"},
                                             {"metadata", {{"name", "f-r1-n1"}, {"labels", Labels("f")}}},
                                             {"spec", {{"peerIP", "10.0.0.1"}, {"asNumber", 64512}}}});
  api.seed(api::calico_crd_bgp_configurations(), Json{{"apiVersion", "crd.projectcalico.org/v1"},
                                                      {"kind", "BGPConfiguration"},
                                                      {"metadata", {{"name", "default"}}},
                                                      {"spec", {{"nodeToNodeMeshEnabled", false}}}});
  ASSERT_TRUE(api.remove(api::route_reflector_clusters(), "", "f", {}).ok());
  ASSERT_TRUE(api.peek(api::route_reflector_clusters(), "", "f").has_value()) << "the finalizer holds it";
}

void ExpectEverythingGoneAndTheMeshOn(Harness& h) {
  EXPECT_TRUE(h.reconcile_until("f", [&] { return !h.api.peek(api::route_reflector_clusters(), "", "f"); }))
      << "the fabric is never deleted: " << h.api.peek(api::route_reflector_clusters(), "", "f")->dump();
  EXPECT_FALSE(h.api.peek(api::calico_crd_bgp_peers(), "", "f-r1-n1"));
  EXPECT_FALSE(h.api.peek(kube::resources::pods(), kNs, "f-r1-n1"));
  EXPECT_FALSE(h.api.peek(kube::resources::leases(), kNs, "f-r1-n1"));
  auto config = h.api.peek(api::calico_crd_bgp_configurations(), "", "default");
  ASSERT_TRUE(config);
  EXPECT_TRUE((*config)["spec"].value("nodeToNodeMeshEnabled", false)) << config->dump();
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

}  // namespace
}  // namespace rr::controller
