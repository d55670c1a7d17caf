// spec.topTier in the planner: a top tier per zone (or one for the fabric) with its own hosts,
// cluster IDs from its own pool, no BGPPeers; dropping it waits for the racks' flat mesh.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "planner/planner.h"
#include "unit/operator/planner/builders.h"

namespace rr::planner {
namespace {

using testing::Cluster;
using testing::fabric;
using testing::node;

const std::string kZone = "topology.kubernetes.io/zone";
const std::string kTopHost = "rr.bgp.dev/top-tier-reflector";

FabricSpec tiered(bool zoned) {
  FabricSpec spec = fabric();
  TopTier top;
  if (zoned) top.zone_label = kZone;
  spec.top_tier = top;
  return spec;
}

// Racks a, b in zone z1 and c in z2, three nodes each (two may host rack reflectors); two
// top-tier hosts per zone, outside every rack.
Cluster zoned_cluster(FabricSpec spec = tiered(true)) {
  Cluster c(std::move(spec));
  c.rack("a", 3, 2).rack("b", 3, 2).rack("c", 3, 2);
  for (auto& n : c.in.nodes) {
    NodeInfo copy = *n;
    copy.labels[kZone] = copy.labels[testing::kRackLabel] == "c" ? "z2" : "z1";
    n = testing::shared(std::move(copy));
  }
  for (const std::string zone : {"z1", "z2"}) {
    for (int i = 0; i < 2; ++i) {
      c.add(node("top-" + zone + "-" + std::to_string(i), "").label(kZone, zone).label(kTopHost, "true").ip(
          "10.9." + std::string(zone == "z1" ? "1." : "2.") + std::to_string(i + 1)));
    }
  }
  return c;
}

std::vector<std::string> top_pods(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& d : p.pods) {
    if (d.tier == Tier::Top) out.push_back(d.zone + "/" + d.node + "@" + d.cluster_id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void expect_invariants(const PlanInput& in, const Plan& p) {
  for (const auto& v : testing::invariant_violations(in, p)) ADD_FAILURE() << "invariant: " << v;
}

TEST(TopTier, EachZoneGetsItsTopTierOnItsOwnHostsWithIdsFromItsOwnPool) {
  Cluster c = zoned_cluster();
  const Plan p = plan(c.input());
  expect_invariants(c.input(), p);
  EXPECT_EQ(top_pods(p), (std::vector<std::string>{"z1/top-z1-0@10.254.0.1", "z1/top-z1-1@10.254.0.1",
                                                    "z2/top-z2-0@10.254.0.2", "z2/top-z2-1@10.254.0.2"}));
  ASSERT_EQ(p.top_tier.size(), 2u);
  EXPECT_EQ(p.top_tier[0].name, "z1");
  EXPECT_EQ(p.top_tier[0].reflectors_wanted, 2);
  EXPECT_EQ(p.reflectors_wanted, 3 * 2 + 2 * 2);
  // Rack reflectors keep their own pool; no BGPPeer points a node at the top tier.
  EXPECT_EQ(testing::cluster_ids(p).at("a"), "10.255.0.1");
  for (const auto& d : p.pods) EXPECT_EQ(d.tier == Tier::Top, d.node.rfind("top-", 0) == 0) << d.node;
}

TEST(TopTier, OneTopTierForTheFabricWithoutAZoneLabel) {
  Cluster c = zoned_cluster(tiered(false));
  const Plan p = plan(c.input());
  expect_invariants(c.input(), p);
  ASSERT_EQ(p.top_tier.size(), 1u);
  EXPECT_EQ(p.top_tier[0].name, "");
  EXPECT_EQ(top_pods(p).size(), 2u);
  for (const auto& t : top_pods(p)) EXPECT_EQ(t.substr(t.find('@')), "@10.254.0.1");
}

TEST(TopTier, TopTierIdsAndHostsAreStableAcrossPlans) {
  Cluster c = zoned_cluster();
  c.top_reflector("z2", "top-z2-1", "10.254.0.7").live();
  c.in.recorded_top_tier.push_back({"z1", "10.254.0.9", {"top-z1-1"}});
  const Plan p = plan(c.input());
  expect_invariants(c.input(), p);
  EXPECT_EQ(top_pods(p), (std::vector<std::string>{"z1/top-z1-0@10.254.0.9", "z1/top-z1-1@10.254.0.9",
                                                    "z2/top-z2-0@10.254.0.7", "z2/top-z2-1@10.254.0.7"}));
  EXPECT_TRUE(p.pods_to_delete.empty());
}

TEST(TopTier, ARackWithoutAZoneIsNamedAndKeepsTheFlatMesh) {
  Cluster c = zoned_cluster();
  c.rack("d", 2, 2);  // no zone label
  const Plan p = plan(c.input());
  expect_invariants(c.input(), p);
  const Condition* degraded = testing::find_condition(p, "Degraded");
  ASSERT_NE(degraded, nullptr);
  EXPECT_TRUE(degraded->status);
  EXPECT_EQ(degraded->reason, Reason::kRacksWithoutZone);
  EXPECT_NE(degraded->message.find("racks d carries " + kZone), std::string::npos) << degraded->message;
  // Still planned: its reflectors run and serve its nodes.
  EXPECT_EQ(testing::cluster_ids(p).count("d"), 1u);
}

TEST(TopTier, TooFewTopTierHostsIsNamedByItsSelector) {
  Cluster c = zoned_cluster();
  c.in.spec.top_tier->per_zone = 3;
  const Plan p = plan(c.input());
  expect_invariants(c.input(), p);
  bool named = false;
  for (const auto& problem : p.problems) named = named || problem.field == "spec.topTier.nodeSelector";
  EXPECT_TRUE(named);
  EXPECT_EQ(testing::find_condition(p, "Ready")->reason, Reason::kNoEligibleHosts);
}

TEST(TopTier, ATopTierPoolOverlappingAnOlderFabricsPoolIsAConflict) {
  Cluster c = zoned_cluster();
  FabricClaims older;
  older.name = "older";
  older.cluster_id_pool = "10.200.0.0/16";
  older.top_tier_cluster_id_pool = "10.254.0.0/16";
  c.in.older_fabrics.push_back(older);
  const Plan p = plan(c.input());
  EXPECT_TRUE(p.hold);
  ASSERT_FALSE(p.problems.empty());
  EXPECT_EQ(p.problems[0].field, "spec.topTier.clusterIDPool");
  EXPECT_NE(p.problems[0].message.find("older"), std::string::npos) << p.problems[0].message;
}

TEST(TopTier, APoolOverlappingTheRacksPoolHoldsTheFabric) {
  FabricSpec spec = tiered(true);
  spec.top_tier->cluster_id_pool = "10.255.1.0/24";  // inside 10.255.0.0/16
  Cluster c = zoned_cluster(spec);
  const Plan p = plan(c.input());
  EXPECT_TRUE(p.hold);
  ASSERT_FALSE(p.problems.empty());
  EXPECT_EQ(p.problems[0].field, "spec.topTier.clusterIDPool");
}

// A fabric whose racks are all served and whose top tier is live.
Cluster live_tiered(bool racks_complete) {
  Cluster c = zoned_cluster();
  int k = 1;
  for (const std::string rack : {"a", "b", "c"}) {
    for (int i = 0; i < 2; ++i) {
      auto r = c.reflector(rack, rack + "-n" + std::to_string(i), "10.255.0." + std::to_string(k));
      if (racks_complete) {
        r.live();
      } else {
        r.sessions(3, 4);  // its flat mesh is still coming up
      }
    }
    ++k;
  }
  c.top_reflector("z1", "top-z1-0", "10.254.0.1").live();
  c.top_reflector("z1", "top-z1-1", "10.254.0.1").live();
  c.top_reflector("z2", "top-z2-0", "10.254.0.2").live();
  c.top_reflector("z2", "top-z2-1", "10.254.0.2").live();
  return c;
}

TEST(TopTier, ALiveTieredFabricIsReadyAndChangesNothing) {
  Cluster c = live_tiered(true);
  const Plan p = plan(c.input());
  expect_invariants(c.input(), p);
  EXPECT_TRUE(p.pods_to_delete.empty());
  EXPECT_EQ(p.pods.size(), 10u);
  EXPECT_EQ(p.peers.size(), 6u);  // the racks' reflectors only
  EXPECT_EQ(p.reflectors_ready, 10);
  EXPECT_EQ(testing::find_condition(p, "Ready")->reason, Reason::kFabricReady);
}

TEST(TopTier, ADroppedTopTierStaysUntilTheRacksFlatMeshIsComplete) {
  Cluster c = live_tiered(false);
  c.in.spec.top_tier.reset();  // the user goes back to the flat mesh
  const Plan waiting = plan(c.input());
  expect_invariants(c.input(), waiting);
  EXPECT_TRUE(waiting.pods_to_delete.empty()) << "the top tier went before the flat mesh carried the routes";
  EXPECT_EQ(top_pods(waiting).size(), 4u);
  EXPECT_EQ(testing::find_condition(waiting, "Progressing")->status, true);

  Cluster done = live_tiered(true);
  done.in.spec.top_tier.reset();
  const Plan gone = plan(done.input());
  expect_invariants(done.input(), gone);
  EXPECT_EQ(gone.pods_to_delete.size(), 4u);
  EXPECT_TRUE(top_pods(gone).empty());
  for (const auto& d : gone.pods) EXPECT_EQ(d.tier, Tier::Rack);
}

TEST(TopTier, ADroppedTopTierWaitsForCountsOfTheNewGeneration) {
  Cluster c = live_tiered(true);
  c.in.spec.top_tier.reset();
  c.in.spec.generation = 2;  // the edit that dropped it: every Lease still reports generation 1
  const Plan waiting = plan(c.input());
  EXPECT_TRUE(waiting.pods_to_delete.empty())
      << "the rack reflectors' complete counts are from before they opened the flat mesh";
  for (auto& l : c.in.leases) {
    if (l.tier == Tier::Rack) l.observed_generation = 2;
  }
  EXPECT_EQ(plan(c.input()).pods_to_delete.size(), 4u);
}

TEST(TopTier, AddingATopTierRollsNoRackReflector) {
  Cluster flat = live_tiered(true);
  flat.in.spec.top_tier.reset();
  std::erase_if(flat.in.pods, [](const ReflectorPod& p) { return p.tier == Tier::Top; });
  std::erase_if(flat.in.leases, [](const ReflectorLease& l) { return l.tier == Tier::Top; });
  Cluster tiered_now = flat;
  tiered_now.in.spec.top_tier = tiered(true).top_tier;
  const Plan before = plan(flat.input());
  const Plan after = plan(tiered_now.input());
  expect_invariants(tiered_now.input(), after);
  EXPECT_TRUE(after.pods_to_delete.empty());
  std::vector<DesiredPod> racks_after;
  for (const auto& d : after.pods) {
    if (d.tier == Tier::Rack) racks_after.push_back(d);
  }
  EXPECT_EQ(racks_after, before.pods);
  EXPECT_EQ(after.peers, before.peers);
  EXPECT_EQ(top_pods(after).size(), 4u);
}

TEST(TopTier, ADeadTopTierReflectorIsReplacedOnAnotherHostOfItsZone) {
  Cluster c = zoned_cluster();
  c.add(node("top-z1-2", "").label(kZone, "z1").label(kTopHost, "true"));
  c.top_reflector("z1", "top-z1-0", "10.254.0.1").live();
  c.top_reflector("z1", "top-z1-1", "10.254.0.1").lease_expired();
  const Plan p = plan(c.input());
  expect_invariants(c.input(), p);
  ASSERT_EQ(p.pods_to_delete.size(), 1u);
  const auto tops = top_pods(p);
  EXPECT_NE(std::find(tops.begin(), tops.end(), "z1/top-z1-2@10.254.0.1"), tops.end());
}

}  // namespace
}  // namespace rr::planner
