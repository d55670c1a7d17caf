// kubectl rr plan over the stateful fake API: the operator's reconcile, its writes recorded
// and never sent, reported as a table, JSON and a Graphviz picture.
#include "preview/preview.h"

#include <gtest/gtest.h>

#include <set>

#include "contract/well_known.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"
#include "preview/plan_report.h"

namespace rr::preview {
namespace {

using kube::Json;

Json node(const std::string& name, const std::string& rack, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"labels", {{"topology.kubernetes.io/rack", rack}, {"rr.bgp.dev/reflector", "true"}}}}},
          {"status",
           {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})},
            {"addresses", Json::array({{{"type", "InternalIP"}, {"address", ip}}})}}}};
}

Json fabric(Json spec) {
  return {{"apiVersion", "rr.bgp.dev/v1alpha1"},
          {"kind", "RouteReflectorCluster"},
          {"metadata", {{"name", "fab"}}},
          {"spec", std::move(spec)}};
}

class PreviewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.seed(kube::resources::nodes(), node("n1", "rack-1", "192.0.2.1"));
    api_.seed(kube::resources::nodes(), node("n2", "rack-1", "192.0.2.2"));
    api_.seed(kube::resources::nodes(), node("n3", "rack-2", "192.0.2.3"));
    options_.reconciler.policy.namespaces = {"rr-system"};
    options_.sync_timeout = std::chrono::seconds(10);
    options_.clock = &clock_;  // the fake API's timestamps are the fake clock's
  }

  Json spec(int per_rack) {
    return {{"asNumber", 64512}, {"clusterIDPool", "10.255.0.0/24"}, {"reflectors", {{"perRack", per_rack}}}};
  }

  kube::testing::FakeClock clock_;
  kube::testing::FakeKubeClient api_{clock_};
  PreviewOptions options_;
};

TEST_F(PreviewTest, ANewFabricShowsItsRacksAndPodsAndWritesNothing) {
  api_.reset_counters();
  auto p = preview_fabric(api_, fabric(spec(1)), options_);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->exists);
  EXPECT_EQ(p->result, "success");
  EXPECT_EQ(exit_code(*p), 1);
  ASSERT_EQ(p->plan.racks.size(), 2u);
  EXPECT_EQ(p->plan.racks[0].cluster_id, "10.255.0.1");
  int pods = 0;
  for (const auto& c : p->changes) {
    if (c.kind == "Pod") {
      ++pods;
      EXPECT_EQ(c.verb, "create");
      EXPECT_EQ(c.ns, "rr-system");
    }
  }
  EXPECT_EQ(pods, 2) << "one reflector per rack";
  // The reconcile after, once those two run: one BGPPeer each, at its host's address,
  // selecting its rack's nodes.
  std::set<std::string> peer_ips;
  for (const auto& c : p->once_running) {
    if (c.kind != "BGPPeer") continue;
    EXPECT_EQ(c.verb, "create");
    peer_ips.insert(c.object["spec"].value("peerIP", ""));
    EXPECT_NE(c.object["spec"].value("nodeSelector", "").find("rack-"), std::string::npos) << c.object.dump();
  }
  EXPECT_EQ(peer_ips, (std::set<std::string>{"192.0.2.1", "192.0.2.3"})) << render_table(*p);
  EXPECT_NE(render_table(*p).find("Then, once the new reflectors run"), std::string::npos) << render_table(*p);
  // Every Calico node (n2; n1 and n3 host Dedicated reflectors) then has its rack's reflector:
  // the mesh goes off, though not yet now.
  EXPECT_FALSE(p->plan.node_to_node_mesh.value_or(false)) << render_table(*p);
  ASSERT_TRUE(p->mesh_set_once_running) << render_table(*p);
  EXPECT_FALSE(*p->mesh_set_once_running) << render_table(*p);
  EXPECT_EQ(p->mesh_once_running.reason, planner::Reason::kAllNodesCovered) << render_table(*p);
  EXPECT_EQ(render_json(*p)["onceRunning"]["changes"].size(), p->once_running.size());
  EXPECT_EQ(api_.writes(), 0) << "a preview writes nothing";
  EXPECT_FALSE(api_.peek(contract::route_reflector_clusters(), "", "fab")) << "nor applies the fabric";

  const std::string table = render_table(*p);
  EXPECT_NE(table.find("a new fabric"), std::string::npos) << table;
  EXPECT_NE(table.find("rack-1  10.255.0.1  2"), std::string::npos) << table;
  EXPECT_NE(table.find("+ Pod rr-system/"), std::string::npos) << table;
  const Json json = render_json(*p);
  EXPECT_EQ(json["exitCode"], 1);
  EXPECT_EQ(json["racks"][0]["reflectors"][0]["change"], "create") << json.dump(2);
  const std::string dot = render_dot(*p);
  EXPECT_EQ(dot.rfind("digraph ", 0), 0u) << dot;
  EXPECT_NE(dot.find("subgraph cluster_1"), std::string::npos) << dot;
  EXPECT_NE(dot.find("#c8f0c8"), std::string::npos) << "new reflectors are green\n" << dot;
  EXPECT_EQ(std::count(dot.begin(), dot.end(), '{'), std::count(dot.begin(), dot.end(), '}')) << dot;
}

TEST_F(PreviewTest, ATieredFabricShowsItsTopTierAndItsReflectorsBecomeReady) {
  Json top = node("t1", "", "192.0.2.9");
  top["metadata"]["labels"] = {{"rr.bgp.dev/top-tier-reflector", "true"}, {"rr.bgp.dev/calico-node", "false"}};
  api_.seed(kube::resources::nodes(), top);
  Json s = spec(1);
  s["topTier"] = {{"perZone", 1}};
  auto p = preview_fabric(api_, fabric(s), options_);
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->plan.top_tier.size(), 1u);
  const std::string table = render_table(*p);
  EXPECT_NE(table.find("top     10.254.0.1"), std::string::npos) << table;
  // Once running (the top-tier reflector's Lease as its agent writes it), nothing is forged and
  // the fabric is Ready: the mesh goes off.
  ASSERT_TRUE(p->mesh_set_once_running) << table;
  EXPECT_FALSE(*p->mesh_set_once_running) << table;
  EXPECT_EQ(table.find("ForgedLease"), std::string::npos) << table;
}

TEST_F(PreviewTest, TheFabricOnTheClusterUnchangedIsExitCodeZero) {
  // The fabric on the cluster, its reflector Pods made as the preview showed them: previewing
  // the same spec again shows nothing to do.
  Json live = fabric(spec(1));
  live["metadata"]["finalizers"] = Json::array({"rr.bgp.dev/cleanup"});
  api_.seed(contract::route_reflector_clusters(), live);
  auto first = preview_fabric(api_, fabric(spec(1)), options_);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->exists);
  EXPECT_EQ(exit_code(*first), 1);
  for (const auto& c : first->changes) {
    if (c.kind == "Pod" && c.verb == "create") api_.seed(kube::resources::pods(), c.object);
  }
  auto again = preview_fabric(api_, fabric(spec(1)), options_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->exists);
  std::string shown;
  for (const auto& c : again->changes) shown += c.verb + " " + c.kind + " " + c.name + " " + c.object.dump() + "\n";
  EXPECT_TRUE(again->changes.empty()) << shown << render_table(*again);
  EXPECT_EQ(exit_code(*again), 0) << shown;

  // perRack 2: one more Pod in rack-1 (two hosts), none possible in rack-2 (one host).
  auto more = preview_fabric(api_, fabric(spec(2)), options_);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(exit_code(*more), 1);
  ASSERT_EQ(more->changes.size(), 1u);
  EXPECT_EQ(more->changes[0].kind, "Pod");
  EXPECT_NE(render_table(*more).find("+n2 (new)"), std::string::npos) << render_table(*more);
}

TEST_F(PreviewTest, AnInvalidSpecIsHeldWithItsFieldAndExitCodeThree) {
  Json bad = spec(1);
  bad["clusterIDPool"] = "10.255.0.0/31";
  auto p = preview_fabric(api_, fabric(bad), options_);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->result, "invalid");
  EXPECT_EQ(exit_code(*p), 3);
  EXPECT_TRUE(p->changes.empty());
  const std::string table = render_table(*p);
  EXPECT_NE(table.find("Would be HELD"), std::string::npos) << table;
  EXPECT_NE(table.find("spec.clusterIDPool"), std::string::npos) << table;
}

TEST_F(PreviewTest, ANamespaceThePolicyRefusesIsHeld) {
  Json elsewhere = spec(1);
  elsewhere["namespace"] = "kube-system";
  auto p = preview_fabric(api_, fabric(elsewhere), options_);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(exit_code(*p), 3);
  EXPECT_NE(render_table(*p).find("NamespaceNotAllowed"), std::string::npos) << render_table(*p);
}

TEST_F(PreviewTest, ASecretTheCallerMayNotReadIsAssumedAndSaidSo) {
  Json with_password = spec(1);
  with_password["bgp"] = {{"passwordSecretRef", {{"name", "bgp-auth"}, {"key", "password"}}}};
  kube::Error forbidden = kube::make_error(kube::ErrorKind::Forbidden, "secrets \"bgp-auth\" is forbidden");
  forbidden.http_status = 403;
  api_.inject_error("get", kube::resources::secrets(), forbidden, 1);
  auto p = preview_fabric(api_, fabric(with_password), options_);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->result, "success") << render_table(*p);
  ASSERT_EQ(p->assumptions.size(), 1u);
  EXPECT_NE(p->assumptions[0].find("Secret rr-system/bgp-auth could not be read"), std::string::npos)
      << p->assumptions[0];
  EXPECT_NE(render_table(*p).find("Assumed:"), std::string::npos);

  // A Secret that is readable and lacks the key is the problem it is.
  api_.seed(kube::resources::secrets(), Json{{"apiVersion", "v1"},
                                             {"kind", "Secret"},
                                             {"metadata", {{"name", "bgp-auth"}, {"namespace", "rr-system"}}},
                                             {"data", {{"other", "eA=="}}}});
  auto missing = preview_fabric(api_, fabric(with_password), options_);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(exit_code(*missing), 3);
  EXPECT_TRUE(missing->assumptions.empty());
  EXPECT_NE(render_table(*missing).find("has no key \"password\""), std::string::npos) << render_table(*missing);
}

TEST_F(PreviewTest, NotARouteReflectorClusterIsAnError) {
  Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}}}};
  auto p = preview_fabric(api_, pod, options_);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("not a RouteReflectorCluster"), std::string::npos) << p.error().message;
}

}  // namespace
}  // namespace rr::preview
