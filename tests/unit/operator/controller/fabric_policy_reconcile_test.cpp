// A RouteReflectorCluster is cluster-scoped: whoever may create one must not thereby choose
// what image runs with host networking, nor where. A spec outside the operator's policy
// (ReconcilerOptions::policy, from its flags) is held: nothing running changes, and the
// status and an Event say which field and what is allowed.
#include <gtest/gtest.h>

#include "api/fabric_policy.h"
#include "planner/names.h"
#include "unit/operator/controller/fabric_status.h"
#include "unit/operator/controller/reconciler_harness.h"

namespace rr::controller {
namespace {

using namespace rr::controller::testing;
using kube::Json;

std::string condition(Harness& h, const std::string& type, std::string* message = nullptr) {
  return fabric_condition(h.api, "f", type, message);
}

std::vector<Json> events_about(Harness& h, const std::string& reason) {
  std::vector<Json> out;
  if (h.events) {
    EXPECT_TRUE(h.events->flush());
  }
  auto events = h.api.list(kube::resources::events(), "default", {});
  if (!events.ok()) return out;
  for (const auto& e : events->items) {
    if (e["involvedObject"].value("name", "") == "f" && e.value("reason", "") == reason) out.push_back(e);
  }
  return out;
}

ReconcilerOptions Options() {
  ReconcilerOptions o;
  o.default_image = "rr-agent:0.1.0";
  o.policy.namespaces = {kNs};
  o.policy.images = {"registry.example/rr-agent:0.2.0"};
  return o;
}

TEST(FabricPolicyReconcile, ARunningFabricEditedToAForeignImageIsHeldAndKeepsItsReflector) {
  Harness h(Options(), /*record_events=*/true);
  h.api.seed(kube::resources::nodes(), Node("n1", "r1", "10.0.0.1"));
  h.api.seed(contract::route_reflector_clusters(), Fabric("f", Json{{"namespace", kNs}, {"reflectors", {{"perRack", 1}}}}));
  h.start();
  const std::string pod = planner::reflector_pod_name("f", "r1", "n1");
  ASSERT_TRUE(h.reconcile_until("f", [&] { return h.api.peek(kube::resources::pods(), kNs, pod).has_value(); }))
      << "the operator's default image is always allowed";
  const Json before = *h.api.peek(kube::resources::pods(), kNs, pod);
  EXPECT_EQ(before["spec"]["containers"][0].value("image", ""), "rr-agent:0.1.0");

  ASSERT_TRUE(h.api.patch(contract::route_reflector_clusters(), "", "f", kube::PatchType::Merge,
                          Json{{"spec", {{"reflectors", {{"image", "evil.example/miner:latest"}}}}}}, {})
                  .ok());
  h.api.reset_counters();
  std::string message;
  ASSERT_TRUE(h.reconcile_until("f", [&] { return condition(h, "Ready", &message) == "False/ImageNotAllowed"; }))
      << h.api.peek(contract::route_reflector_clusters(), "", "f")->dump(2);
  EXPECT_EQ(condition(h, "Degraded"), "True/ImageNotAllowed");
  EXPECT_NE(message.find("spec.reflectors.image: \"evil.example/miner:latest\" is not allowed"), std::string::npos)
      << message;
  EXPECT_NE(message.find("rr-agent:0.1.0"), std::string::npos) << "names the allowed set: " << message;
  EXPECT_NE(message.find("registry.example/rr-agent:0.2.0"), std::string::npos) << message;
  EXPECT_NE(message.find("--allowed-reflector-images"), std::string::npos) << message;
  // Held: the running reflector is untouched, only status (and Events) are written.
  for (const auto& write : h.api.write_log()) {
    EXPECT_EQ(write.find("pods"), std::string::npos) << write;
    EXPECT_EQ(write.find("bgppeers"), std::string::npos) << write;
    EXPECT_EQ(write.find("leases"), std::string::npos) << write;
  }
  auto after = h.api.peek(kube::resources::pods(), kNs, pod);
  ASSERT_TRUE(after);
  EXPECT_EQ(kube::resource_version_of(*after), kube::resource_version_of(before));
  auto events = events_about(h, "ImageNotAllowed");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].value("type", ""), "Warning");
  EXPECT_NE(events[0].value("message", "").find("spec.reflectors.image"), std::string::npos);

  // An image the policy lists is accepted: the fabric is no longer held.
  ASSERT_TRUE(h.api.patch(contract::route_reflector_clusters(), "", "f", kube::PatchType::Merge,
                          Json{{"spec", {{"reflectors", {{"image", "registry.example/rr-agent:0.2.0"}}}}}}, {})
                  .ok());
  EXPECT_TRUE(h.reconcile_until("f", [&] {
    const std::string ready = condition(h, "Ready");
    return !ready.empty() && ready != "False/ImageNotAllowed";
  })) << condition(h, "Ready");
}

TEST(FabricPolicyReconcile, AFabricInAForeignNamespaceIsHeldAndCreatesNothing) {
  Harness h(Options(), /*record_events=*/true);
  h.api.seed(kube::resources::nodes(), Node("n1", "r1", "10.0.0.1"));
  Json fabric = Fabric("f", Json{{"namespace", "kube-system"}, {"reflectors", {{"perRack", 1}}}});
  fabric["metadata"].erase("finalizers");  // just created
  h.api.seed(contract::route_reflector_clusters(), fabric);
  h.start();
  std::string message;
  ASSERT_TRUE(h.reconcile_until("f", [&] { return condition(h, "Ready", &message) == "False/NamespaceNotAllowed"; }))
      << h.api.peek(contract::route_reflector_clusters(), "", "f")->dump(2);
  EXPECT_EQ(condition(h, "Degraded"), "True/NamespaceNotAllowed");
  EXPECT_NE(message.find("spec.namespace: \"kube-system\" is not allowed (allowed: " + kNs), std::string::npos)
      << message;
  for (const auto& write : h.api.write_log()) {
    EXPECT_EQ(write.find("pods"), std::string::npos) << write;
    EXPECT_EQ(write.find("bgppeers"), std::string::npos) << write;
    EXPECT_EQ(write.find("bgpconfigurations"), std::string::npos) << write;
  }
  auto f = h.api.peek(contract::route_reflector_clusters(), "", "f");
  EXPECT_FALSE(f->value("metadata", Json::object()).contains("finalizers")) << "nothing to clean up, no finalizer";
  EXPECT_EQ(events_about(h, "NamespaceNotAllowed").size(), 1u);
}

// A held fabric runs nothing new, so, like an invalid one, it claims no nodes: a younger
// allowed fabric on the same nodes is not a Conflict.
TEST(FabricPolicyReconcile, AHeldFabricClaimsNoNodes) {
  Harness h(Options());
  h.api.seed(kube::resources::nodes(), Node("n1", "r1", "10.0.0.1"));
  Json older = Fabric("e", Json{{"namespace", kNs}, {"reflectors", {{"perRack", 1}, {"image", "evil.example/x:1"}}}});
  older["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z";
  h.api.seed(contract::route_reflector_clusters(), older);
  Json younger = Fabric("f", Json{{"namespace", kNs}, {"reflectors", {{"perRack", 1}}}});
  younger["metadata"]["creationTimestamp"] = "2024-01-02T00:00:00Z";
  h.api.seed(contract::route_reflector_clusters(), younger);
  h.start();
  EXPECT_TRUE(h.reconcile_until("f", [&] {
    return h.api.peek(kube::resources::pods(), kNs, planner::reflector_pod_name("f", "r1", "n1")).has_value();
  }))
      << condition(h, "Ready");
  EXPECT_NE(condition(h, "Ready"), "False/Conflict");
}

}  // namespace
}  // namespace rr::controller
