// Calico's node-to-node mesh is one setting for the whole cluster (issue 11 G5):
// it goes off only when every Calico node is served by a Ready fabric, and once off
// it comes back on for a node left with no reflector at all. decide_mesh is pure:
// table cases of Nodes and fabrics' coverage.
#include <gtest/gtest.h>

#include "unit/operator/planner/builders.h"

namespace rr::planner {
namespace {

using testing::Cluster;
using testing::fabric;
using testing::kRackLabel;
using testing::node;
using Strings = std::vector<std::string>;

FabricCoverage covering(std::string name, std::set<std::string> racks, bool ready = true, Labels selector = {}) {
  FabricCoverage f;
  f.name = std::move(name);
  f.node_selector = std::move(selector);
  f.rack_label = kRackLabel;
  f.ready = ready;
  f.served_racks = std::move(racks);
  return f;
}

std::vector<std::shared_ptr<const NodeInfo>> nodes(const std::vector<NodeInfo>& list) {
  std::vector<std::shared_ptr<const NodeInfo>> out;
  for (const auto& n : list) out.push_back(testing::shared(n));
  return out;
}

struct MeshCase {
  std::string name;
  std::vector<NodeInfo> nodes;
  std::vector<FabricCoverage> fabrics;
  bool mesh_enabled = true;
  std::optional<bool> set_enabled;
  bool disabled = false;
  std::string reason;
  int uncovered = 0;
  Strings examples;
};

TEST(MeshDecisionTest, TheMeshGoesOffOnlyWhenEveryCalicoNodeIsCovered) {
  const NodeInfo a1 = node("a1", "a"), a2 = node("a2", "a"), b1 = node("b1", "b");
  const NodeInfo lone = node("lone", "");
  FabricCoverage dedicated = covering("f", {"a", "b"});
  dedicated.reflector_hosts = {"lone"};
  const std::vector<MeshCase> cases = {
      {"every node served by a Ready fabric: off", {a1, a2, b1}, {covering("f", {"a", "b"})}, true,
       false, true, "AllNodesCovered", 0, {}},
      {"a node with no rack label holds it on and is named", {a1, lone, b1}, {covering("f", {"a", "b"})}, true,
       std::nullopt, false, "UncoveredNodes", 1, {"lone"}},
      {"a node outside the fabric's nodeSelector holds it on",
       {node("a1", "a").label("tier", "x"), node("a9", "a")}, {covering("f", {"a"}, true, {{"tier", "x"}})}, true,
       std::nullopt, false, "UncoveredNodes", 1, {"a9"}},
      {"a node of another fabric that is not Ready: waiting",
       {a1, node("c1", "c").label("fab", "g")},
       {covering("f", {"a"}, true, {}), covering("g", {"c"}, false, {{"fab", "g"}})}, true, std::nullopt, false,
       "WaitingForReflectors", 1, {"c1"}},
      {"a rack whose reflectors have no BGPPeer yet: waiting", {a1, b1}, {covering("f", {"a"})}, true,
       std::nullopt, false, "WaitingForReflectors", 1, {"b1"}},
      {"nodes labelled rr.bgp.dev/calico-node=false need no BGP", {a1, node("lone", "").label(kCalicoNodeLabel, "false")},
       {covering("f", {"a"})}, true, false, true, "AllNodesCovered", 0, {}},
      {"Dedicated reflector hosts run no calico-node", {a1, lone}, {dedicated}, true, false, true,
       "AllNodesCovered", 0, {}},
      {"two fabrics, each covering its racks: off",
       {node("a1", "a").label("fab", "f"), node("c1", "c").label("fab", "g")},
       {covering("f", {"a"}, true, {{"fab", "f"}}), covering("g", {"c"}, true, {{"fab", "g"}})}, true, false, true,
       "AllNodesCovered", 0, {}},
      {"no fabric at all: the mesh stays on", {a1, b1}, {}, true, std::nullopt, false, "UncoveredNodes", 2,
       {"a1", "b1"}},
      {"no Calico node (every node hosts a Dedicated reflector), a Ready fabric: off", {lone}, {dedicated}, true,
       false, true, "AllNodesCovered", 0, {}},
      {"no Calico node and no Ready fabric: nothing decides it off", {}, {covering("f", {"a"}, false)}, true,
       std::nullopt, false, "WaitingForReflectors", 0, {}},
      {"off, every node still served though a fabric is not Ready (a rollout): stays off", {a1, a2, b1},
       {covering("f", {"a", "b"}, false)}, false, std::nullopt, true, "AllNodesCovered", 0, {}},
      {"off, a node joins with no rack label: back on", {a1, lone, b1}, {covering("f", {"a", "b"})}, false, true,
       false, "UncoveredNodes", 1, {"lone"}},
      {"off, a rack loses every reflector: back on", {a1, b1}, {covering("f", {"a"})}, false, true, false,
       "UncoveredNodes", 1, {"b1"}},
      {"a few examples, sorted; the count is all of them",
       {node("e", ""), node("d", ""), node("c", ""), node("b", ""), node("a", ""), a1}, {covering("f", {"a"})}, true,
       std::nullopt, false, "UncoveredNodes", 5, {"a", "b", "c"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    MeshDecision d = decide_mesh(nodes(c.nodes), c.fabrics, c.mesh_enabled);
    EXPECT_EQ(d.set_enabled, c.set_enabled);
    EXPECT_EQ(d.disabled, c.disabled);
    EXPECT_EQ(d.reason, c.reason);
    EXPECT_EQ(d.uncovered, c.uncovered);
    EXPECT_EQ(d.examples, c.examples);
    for (const auto& e : c.examples) EXPECT_NE(d.message.find(e), std::string::npos) << d.message;
    if (c.uncovered > 0) {
      EXPECT_NE(d.message.find(std::to_string(c.uncovered) + " Calico nodes"), std::string::npos) << d.message;
    }
  }
}

std::string mesh_condition(const Plan& p) {
  const Condition* c = testing::find_condition(p, "MeshDisabled");
  if (!c) return "<missing>";
  return std::string(c->status ? "True" : "False") + "/" + std::string(c->reason.name());
}

// Two racks of four nodes, reflectors on n0 and n1 of each, live and complete.
Cluster ready_two_racks(FabricSpec spec = fabric()) {
  Cluster c(std::move(spec));
  c.rack("a", 4, 2, "10.0.1.").rack("b", 4, 2, "10.0.2.");
  c.record("a", "10.255.0.1").record("b", "10.255.0.2");
  for (const std::string rack : {"a", "b"}) {
    for (int i = 0; i < 2; ++i) c.reflector(rack, rack + "-n" + std::to_string(i), rack == "a" ? "10.255.0.1" : "10.255.0.2").live();
  }
  return c;
}

TEST(MeshDecisionTest, ThePlanDecidesForTheWholeClusterThisFabricIncluded) {
  {
    SCOPED_TRACE("Ready and every node in a rack: off");
    Plan p = plan(ready_two_racks().input());
    EXPECT_EQ(p.node_to_node_mesh, std::optional<bool>(false));
    EXPECT_EQ(mesh_condition(p), "True/AllNodesCovered");
  }
  {
    SCOPED_TRACE("Ready, but a node without the rack label: stays on, named");
    Cluster c = ready_two_racks();
    c.add(node("lone", ""));
    Plan p = plan(c.input());
    EXPECT_EQ(mesh_condition(p), "False/UncoveredNodes");
    EXPECT_EQ(p.node_to_node_mesh, std::nullopt);
    EXPECT_EQ(p.mesh.uncovered, 1);
    EXPECT_NE(testing::find_condition(p, "MeshDisabled")->message.find("lone"), std::string::npos);
  }
  {
    SCOPED_TRACE("another fabric's nodes, that fabric not Ready: waiting");
    FabricSpec spec = fabric();
    spec.node_selector = {{"fab", "f"}};
    Cluster c(spec);
    c.add(node("a-n0", "a").eligible().label("fab", "f")).add(node("a-n1", "a").eligible().label("fab", "f"));
    c.add(node("a-n2", "a").label("fab", "f"));
    c.record("a", "10.255.0.1");
    c.reflector("a", "a-n0", "10.255.0.1").live();
    c.reflector("a", "a-n1", "10.255.0.1").live();
    c.add(node("g1", "g").label("fab", "g"));
    c.in.other_fabrics = {covering("other", {"g"}, /*ready=*/false, {{"fab", "g"}})};
    Plan p = plan(c.input());
    EXPECT_EQ(testing::find_condition(p, "Ready")->reason, "FabricReady");
    EXPECT_EQ(mesh_condition(p), "False/WaitingForReflectors");
    EXPECT_EQ(p.node_to_node_mesh, std::nullopt);
  }
  {
    SCOPED_TRACE("the mesh is off and a node joins without a rack label: back on");
    Cluster c = ready_two_racks();
    c.in.node_to_node_mesh_enabled = false;
    c.add(node("late", ""));
    Plan p = plan(c.input());
    EXPECT_EQ(p.node_to_node_mesh, std::optional<bool>(true));
    EXPECT_EQ(mesh_condition(p), "False/UncoveredNodes");
    EXPECT_EQ(p.mesh.uncovered, 1);
  }
  {
    SCOPED_TRACE("manageNodeToNodeMesh false: never written, said so");
    FabricSpec spec = fabric();
    spec.manage_node_to_node_mesh = false;
    Cluster c = ready_two_racks(spec);
    c.in.node_to_node_mesh_enabled = false;
    c.add(node("late", ""));
    Plan p = plan(c.input());
    EXPECT_EQ(p.node_to_node_mesh, std::nullopt);
    EXPECT_EQ(mesh_condition(p), "True/NotManaged");
  }
}

// The fabric's MeshDisabled condition is the same before the setting is written (mesh on,
// every node covered: turn it off) and after (mesh off, still covered): a fabric's status is
// not written again only because BGPConfiguration caught up with its decision.
TEST(MeshDecisionTest, TurningTheMeshOffAndKeepingItOffReportTheSameCondition) {
  const auto all = nodes({node("a1", "a"), node("b1", "b")});
  const std::vector<FabricCoverage> fabrics = {covering("f", {"a", "b"})};
  const MeshDecision turning_off = decide_mesh(all, fabrics, /*mesh_enabled=*/true);
  const MeshDecision kept_off = decide_mesh(all, fabrics, /*mesh_enabled=*/false);
  ASSERT_EQ(turning_off.set_enabled, std::optional<bool>(false));
  ASSERT_EQ(kept_off.set_enabled, std::nullopt);
  EXPECT_TRUE(turning_off.disabled && kept_off.disabled);
  EXPECT_EQ(turning_off.reason.name(), kept_off.reason.name());
  EXPECT_EQ(turning_off.message, kept_off.message);
}

}  // namespace
}  // namespace rr::planner
