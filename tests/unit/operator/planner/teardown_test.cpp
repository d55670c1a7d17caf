// Deletion and holds are outcomes of the plan (issue 11 G12): a fabric being deleted gets its
// next teardown step from plan(), whatever its spec says, and one held before planning gets a
// plan that changes nothing. Table cases over what the controller gathered.
#include <gtest/gtest.h>

#include "unit/operator/planner/builders.h"

namespace rr::planner {
namespace {

using testing::Cluster;
using testing::fabric;
using testing::kRackLabel;

struct TeardownCase {
  std::string name;
  bool manage_mesh = true;
  bool others_cover = false;  // another Ready fabric serves every rack
  TeardownInput t;
  TeardownStep want;
  std::optional<bool> set_mesh = std::nullopt;
};

TeardownInput with(bool mesh_on, bool settled, bool peers, bool pods) {
  TeardownInput t;
  t.mesh_on = mesh_on;
  t.mesh_settled = settled;
  t.peers_left = peers;
  t.pods_left = pods;
  return t;
}

class TeardownTest : public ::testing::TestWithParam<TeardownCase> {};

TEST_P(TeardownTest, DeletionTakesItsStepsInOrder) {
  const TeardownCase& c = GetParam();
  Cluster cluster;
  cluster.rack("a", 3, 2).rack("b", 3, 2);
  cluster.in.spec.manage_node_to_node_mesh = c.manage_mesh;
  if (c.others_cover) {
    FabricCoverage other;
    other.name = "other";
    other.rack_label = kRackLabel;
    other.ready = true;
    other.served_racks = {"a", "b"};
    cluster.in.other_fabrics.push_back(other);
  }
  cluster.in.teardown = c.t;
  // A precondition and pods in view change nothing: deletion finishes whatever the spec says.
  cluster.in.precondition = Precondition{Reason::kInvalidSpec, "spec.racks: not a list"};
  cluster.reflector("a", "a-n0", "10.255.0.1").live();

  Plan p = plan(cluster.input());
  ASSERT_TRUE(p.teardown.has_value());
  EXPECT_EQ(*p.teardown, c.want);
  EXPECT_EQ(p.node_to_node_mesh, c.set_mesh);
  EXPECT_FALSE(p.hold);
  EXPECT_TRUE(p.pods.empty());
  EXPECT_TRUE(p.peers.empty());
  EXPECT_TRUE(p.pods_to_delete.empty());
  EXPECT_TRUE(p.conditions.empty());  // deletion writes no status
}

INSTANTIATE_TEST_SUITE_P(
    Steps, TeardownTest,
    ::testing::Values(
        // The mesh comes back before anything goes, then carries routes for the settle time.
        TeardownCase{"MeshOffComesBackFirst", true, false, with(false, false, true, true), TeardownStep::EnableMesh,
                     true},
        TeardownCase{"MeshOnButNotSettledWaits", true, false, with(true, false, true, true), TeardownStep::AwaitMesh},
        TeardownCase{"MeshSettledPeersGo", true, false, with(true, true, true, true), TeardownStep::DeletePeers},
        // Once the BGPPeers are gone nothing waits for the mesh any more.
        TeardownCase{"NoPeersLeftNoWaitForTheMesh", true, false, with(true, false, false, true),
                     TeardownStep::DeletePods},
        TeardownCase{"PodsGoAfterPeers", true, false, with(true, true, false, true), TeardownStep::DeletePods},
        TeardownCase{"NothingLeftReleases", true, false, with(true, true, false, false), TeardownStep::Release},
        // Other fabrics cover every Calico node: the mesh stays off and nothing waits for it.
        TeardownCase{"OthersCoverTheMeshStaysOff", true, true, with(false, false, true, true),
                     TeardownStep::DeletePeers},
        // A fabric that does not manage the mesh leaves it as it is.
        TeardownCase{"UnmanagedMeshIsLeftAlone", false, false, with(false, false, true, true),
                     TeardownStep::DeletePeers},
        TeardownCase{"UnmanagedReleases", false, false, with(false, false, false, false), TeardownStep::Release}),
    [](const auto& info) { return info.param.name; });

TEST(PreconditionTest, AHeldFabricChangesNothingAndSaysWhyOnEveryCondition) {
  Cluster cluster;
  cluster.rack("a", 3, 2);
  cluster.reflector("a", "a-n0", "10.255.0.1").live();
  cluster.in.precondition = Precondition{Reason::kCalicoAPIUnavailable, "spec.calicoAPI is crd.projectcalico.org/v1"};

  Plan p = plan(cluster.input());
  EXPECT_TRUE(p.hold);
  EXPECT_FALSE(p.teardown.has_value());
  EXPECT_TRUE(p.pods.empty());
  EXPECT_TRUE(p.pods_to_delete.empty());
  EXPECT_TRUE(p.peers.empty());
  EXPECT_FALSE(p.node_to_node_mesh.has_value());
  ASSERT_EQ(p.conditions.size(), 3u);
  for (const auto& c : p.conditions) {
    EXPECT_EQ(c.reason, Reason::kCalicoAPIUnavailable) << c.type;
    EXPECT_NE(c.message.find("spec.calicoAPI is crd.projectcalico.org/v1"), std::string::npos) << c.type;
    EXPECT_NE(c.message.find("nothing running was changed"), std::string::npos) << c.type;
  }
}

TEST(PreconditionTest, WithoutOneTheSameInputIsPlanned) {
  Cluster cluster;
  cluster.rack("a", 3, 2);
  Plan p = plan(cluster.input());
  EXPECT_FALSE(p.hold);
  EXPECT_FALSE(p.teardown.has_value());
  EXPECT_EQ(p.pods.size(), 2u);
}

}  // namespace
}  // namespace rr::planner
