#include "controller/applier.h"

#include <gtest/gtest.h>

#include "api/render.h"
#include "fakes/fake_kube_client.h"

namespace rr::controller {
namespace {

using kube::Json;
using kube::testing::FakeKubeClient;

planner::FabricSpec Spec() {
  planner::FabricSpec s;
  s.name = "f";
  s.uid = "uid-f";
  s.ns = "rr-system";
  s.image = "rr-agent:1";
  return s;
}

planner::Plan TwoReflectorRack(planner::ReflectorState second) {
  planner::Plan plan;
  plan.pods = {{"f-r1-a", "r1", "n1", "10.255.0.1"}, {"f-r1-b", "r1", "n2", "10.255.0.1"}};
  planner::RackStatus rack;
  rack.name = "r1";
  rack.reflectors = {{"f-r1-a", "n1", "10.0.0.1", planner::ReflectorState::Ready, 3, 3},
                     {"f-r1-b", "n2", "10.0.0.2", second, 3, 3}};
  plan.racks = {rack};
  plan.peers = {{"f-r1-a", "f-r1-a", "r1", "rack == 'r1'", "10.0.0.1", 64512, std::nullopt}};
  return plan;
}

// What a list returned, shared as the informer caches hand objects to the applier.
LiveObjects Live(const std::vector<Json>& items) {
  LiveObjects out;
  for (const auto& item : items) out.push_back(std::make_shared<const Json>(item));
  return out;
}

TEST(ApplierTest, CreatesWhatIsMissingThenMakesNoWrites) {
  FakeKubeClient api;
  Applier applier(api);
  auto spec = Spec();
  auto plan = TwoReflectorRack(planner::ReflectorState::Ready);
  ASSERT_TRUE(applier.apply_pods(spec, plan, {}).ok());
  ASSERT_TRUE(applier.apply_peers(spec, plan, {}).ok());
  EXPECT_EQ(applier.writes(), 3);

  auto pods = api.list(kube::resources::pods(), "rr-system", {});
  auto peers = api.list({"crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", false}, "", {});
  ASSERT_TRUE(pods.ok() && peers.ok());
  Applier again(api);
  ASSERT_TRUE(again.apply_pods(spec, plan, Live(pods->items)).ok());
  ASSERT_TRUE(again.apply_peers(spec, plan, Live(peers->items)).ok());
  EXPECT_EQ(again.writes(), 0) << "steady state must cost no write";
}

TEST(ApplierTest, DeletesOnlyOwnedPeersAndRollsPodsOnePerRack) {
  FakeKubeClient api;
  auto spec = Spec();
  auto plan = TwoReflectorRack(planner::ReflectorState::Ready);
  Applier setup(api);
  ASSERT_TRUE(setup.apply_pods(spec, plan, {}).ok());
  // Someone else's BGPPeer must survive; ours that the plan no longer wants must go.
  const kube::ResourceType peers{"crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", false};
  Json foreign = {{"apiVersion", "crd.projectcalico.org/v1"}, {"kind", "BGPPeer"}, {"metadata", {{"name", "tor"}}},
                  {"spec", {{"peerIP", "192.0.2.1"}}}};
  ASSERT_TRUE(api.create(peers, "", foreign).ok());
  Json stale = api::render_bgp_peer(spec, {"f-old", "f-old", "r1", "rack == 'r1'", "10.0.0.9", 64512, std::nullopt});
  ASSERT_TRUE(api.create(peers, "", stale).ok());
  auto live_peers = api.list(peers, "", {});
  Applier applier(api);
  ASSERT_TRUE(applier.apply_peers(spec, plan, Live(live_peers->items)).ok());
  EXPECT_TRUE(api.get(peers, "", "tor").ok());
  EXPECT_TRUE(api.get(peers, "", "f-old").is(kube::ErrorKind::NotFound));

  // A new image: both Pods differ, but only one of the rack's two is replaced per pass.
  spec.image = "rr-agent:2";
  auto live = api.list(kube::resources::pods(), "rr-system", {});
  Applier roll(api);
  ASSERT_TRUE(roll.apply_pods(spec, plan, Live(live->items)).ok());
  auto after = api.list(kube::resources::pods(), "rr-system", {});
  EXPECT_EQ(after->items.size(), 1u) << "a rack must never lose both reflectors to a rollout";
  // While the rack is not all Ready, nothing more is replaced.
  auto degraded = TwoReflectorRack(planner::ReflectorState::Starting);
  Applier wait(api);
  ASSERT_TRUE(wait.apply_pods(spec, degraded, Live(after->items)).ok());
  int deletes = 0;
  for (const auto& w : api.write_log()) deletes += w.rfind("delete pods", 0) == 0;
  EXPECT_EQ(deletes, 1);
}

}  // namespace
}  // namespace rr::controller
