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

// Pods as a kubelet reports them once they are up: Ready.
std::vector<Json> Ready(std::vector<Json> pods) {
  for (auto& pod : pods) pod["status"] = {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}}};
  return pods;
}

// The plan's Pods made on `api`, listed back as a kubelet reports them once they are up.
std::vector<Json> MadeReady(FakeKubeClient& api, const planner::FabricSpec& spec, const planner::Plan& plan) {
  Applier setup(api);
  EXPECT_TRUE(setup.apply_pods(spec, plan, {}).ok());
  auto live = api.list(kube::resources::pods(), "rr-system", {});
  EXPECT_TRUE(live.ok());
  return live.ok() ? Ready(live->items) : std::vector<Json>{};
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
  ASSERT_TRUE(roll.apply_pods(spec, plan, Live(Ready(live->items))).ok());
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

// The plan is made from one read of the cache and the applier reads it again: a deletion seen
// only by the second read (the previous pass's rollout, say) still holds the rack's rollout,
// whichever of the two Pods comes first by name.
TEST(ApplierTest, APodTheLiveObjectsShowDeletingHoldsItsRacksRolloutThoughThePlanCountedItReady) {
  for (const char* deleting : {"f-r1-a", "f-r1-b"}) {
    SCOPED_TRACE(deleting);
    FakeKubeClient api;
    auto spec = Spec();
    auto plan = TwoReflectorRack(planner::ReflectorState::Ready);
    auto live = MadeReady(api, spec, plan);
    for (auto& pod : live) {
      if (kube::name_of(pod) == deleting) pod["metadata"]["deletionTimestamp"] = "2026-12-05T15:45:38Z";
    }
    spec.image = "rr-agent:2";
    Applier roll(api);
    ASSERT_TRUE(roll.apply_pods(spec, plan, Live(live)).ok());
    int deletes = 0;
    for (const auto& w : api.write_log()) deletes += w.rfind("delete pods", 0) == 0;
    EXPECT_EQ(deletes, 0) << "the rack's other reflector is already going: none more may go";
  }
}

// Likewise a reflector the live objects show not Ready (its probe failed since the plan's read).
TEST(ApplierTest, APodTheLiveObjectsShowNotReadyHoldsItsRacksRollout) {
  FakeKubeClient api;
  auto spec = Spec();
  auto plan = TwoReflectorRack(planner::ReflectorState::Ready);
  auto live = MadeReady(api, spec, plan);
  ASSERT_EQ(live.size(), 2u);
  live[1]["status"]["conditions"][0]["status"] = "False";
  spec.image = "rr-agent:2";
  Applier roll(api);
  ASSERT_TRUE(roll.apply_pods(spec, plan, Live(live)).ok());
  EXPECT_EQ(api.list(kube::resources::pods(), "rr-system", {})->items.size(), 2u);
}

// A zone's top tier rolls to a new image as a rack does: one of its reflectors at a time.
TEST(ApplierTest, ATopTierRollsToANewImageOnePerZone) {
  FakeKubeClient api;
  auto spec = Spec();
  planner::Plan plan;
  plan.pods = {{"f-top-z1-a", "", "n1", "10.254.0.1", "", planner::Tier::Top, "z1"},
               {"f-top-z1-b", "", "n2", "10.254.0.1", "", planner::Tier::Top, "z1"}};
  planner::RackStatus zone;
  zone.name = "z1";
  zone.reflectors = {{"f-top-z1-a", "n1", "10.0.0.1", planner::ReflectorState::Ready, 3, 3},
                     {"f-top-z1-b", "n2", "10.0.0.2", planner::ReflectorState::Ready, 3, 3}};
  plan.top_tier = {zone};
  auto live = MadeReady(api, spec, plan);
  ASSERT_EQ(live.size(), 2u);
  spec.image = "rr-agent:2";
  Applier roll(api);
  ASSERT_TRUE(roll.apply_pods(spec, plan, Live(live)).ok());
  auto after = api.list(kube::resources::pods(), "rr-system", {});
  EXPECT_EQ(after->items.size(), 1u) << "one top-tier reflector of the zone is replaced, not none, not both";
}

// A Pod whose controller reference names an earlier incarnation of the fabric (deleted and
// made again under the same name) gets the current one by a metadata patch, not a new Pod;
// anyone else's ownerReference stays.
TEST(ApplierTest, APodOfAnEarlierIncarnationOfTheFabricIsPatchedToTheCurrentOne) {
  FakeKubeClient api;
  auto spec = Spec();
  auto plan = TwoReflectorRack(planner::ReflectorState::Ready);
  Applier setup(api);
  ASSERT_TRUE(setup.apply_pods(spec, plan, {}).ok());
  const Json owners = Json::parse(R"([
      {"apiVersion": "rr.bgp.dev/v1alpha1", "kind": "RouteReflectorCluster", "name": "f", "uid": "uid-f-before",
       "controller": true, "blockOwnerDeletion": true},
      {"apiVersion": "example.com/v1", "kind": "Inventory", "name": "x", "uid": "u-x"}])");
  auto before = api.get(kube::resources::pods(), "rr-system", "f-r1-a");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(api.patch(kube::resources::pods(), "rr-system", "f-r1-a", kube::PatchType::Merge,
                        {{"metadata", {{"ownerReferences", owners}}}}, {})
                  .ok());
  auto live = api.list(kube::resources::pods(), "rr-system", {});
  Applier apply(api);
  ASSERT_TRUE(apply.apply_pods(spec, plan, Live(Ready(live->items))).ok());
  auto after = api.get(kube::resources::pods(), "rr-system", "f-r1-a");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(kube::uid_of(*after), kube::uid_of(*before)) << "a metadata change must not replace the Pod";
  ASSERT_EQ((*after)["metadata"]["ownerReferences"].size(), 2u);
  EXPECT_EQ((*after)["metadata"]["ownerReferences"][0]["uid"], "uid-f");
  EXPECT_EQ((*after)["metadata"]["ownerReferences"][1]["kind"], "Inventory");
  EXPECT_EQ(apply.writes(), 1);
}

}  // namespace
}  // namespace rr::controller
