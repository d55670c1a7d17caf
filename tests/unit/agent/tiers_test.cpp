// The agent's side of spec.topTier: who each reflector has sessions with, and when a rack
// reflector's flat-mesh session may go (routes between the two racks cross the top tier).

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "agent/config_builder.h"
#include "bird/config_renderer.h"
#include "bird/config_validator.h"
#include "fakes/real_bird.h"

namespace rr::agent {
namespace {

const std::string kRackLabel = "topology.kubernetes.io/rack";
const std::string kZone = "topology.kubernetes.io/zone";

contract::ReflectorLease rack_lease(std::string name, std::string address, std::string rack, std::string zone,
                                    std::string cluster_id, std::vector<std::string> upstream = {}) {
  contract::ReflectorLease l;
  l.name = std::move(name);
  l.address = std::move(address);
  l.rack = std::move(rack);
  l.zone = std::move(zone);
  l.cluster_id = std::move(cluster_id);
  l.upstream = std::move(upstream);
  l.fresh = true;
  return l;
}

contract::ReflectorLease top_lease(std::string name, std::string address, std::string zone, std::string cluster_id,
                                   std::vector<std::string> upstream = {}) {
  contract::ReflectorLease l = rack_lease(std::move(name), std::move(address), "", std::move(zone),
                                          std::move(cluster_id), std::move(upstream));
  l.tier = contract::Tier::Top;
  return l;
}

std::shared_ptr<const contract::NodeInfo> rack_node(std::string name, std::string rack, std::string zone,
                                                    std::string ip) {
  contract::NodeInfo n;
  n.name = std::move(name);
  n.ready = true;
  n.labels[kRackLabel] = std::move(rack);
  if (!zone.empty()) n.labels[kZone] = std::move(zone);
  n.internal_ip = std::move(ip);
  return std::make_shared<const contract::NodeInfo>(std::move(n));
}

// Rack reflector ra-0 (rack a, zone z1) of a zoned fabric: racks a, b in z1, c in z2; top
// tier t1-0, t1-1 (z1, 10.254.0.1) and t2-0 (z2, 10.254.0.2).
AgentInputs rack_a(bool tiered = true) {
  AgentInputs in;
  in.self.pod = "ra-0";
  in.self.node = "a-0";
  in.self.fabric = "fab";
  in.self.rack = "a";
  in.self.cluster_id = "10.255.0.1";
  in.self.address = "10.0.1.10";
  in.spec.name = "fab";
  if (tiered) {
    contract::TopTier top;
    top.zone_label = kZone;
    in.spec.top_tier = top;
  }
  in.nodes = {rack_node("a-0", "a", "z1", "10.0.1.10"), rack_node("a-1", "a", "z1", "10.0.1.11"),
              rack_node("a-2", "a", "z1", "10.0.1.12")};
  in.mesh = {rack_lease("ra-0", "10.0.1.10", "a", "z1", "10.255.0.1"),
             rack_lease("rb-0", "10.0.2.10", "b", "z1", "10.255.0.2"),
             rack_lease("rc-0", "10.0.3.10", "c", "z2", "10.255.0.3"),
             top_lease("t1-0", "10.9.1.1", "z1", "10.254.0.1"),
             top_lease("t1-1", "10.9.1.2", "z1", "10.254.0.1"),
             top_lease("t2-0", "10.9.2.1", "z2", "10.254.0.2")};
  return in;
}

contract::ReflectorLease& lease_of(AgentInputs& in, const std::string& name) {
  for (auto& l : in.mesh) {
    if (l.name == name) return l;
  }
  throw std::runtime_error("no lease " + name);
}

std::vector<std::string> names(const std::vector<const contract::ReflectorLease*>& leases) {
  std::vector<std::string> out;
  for (const auto* l : leases) out.push_back(l->name);
  return out;
}

using Names = std::vector<std::string>;

TEST(AgentTiers, FlatFabricMeshesWithEveryReflector) {
  AgentInputs in = rack_a(false);
  const auto n = reflector_neighbors(in);
  EXPECT_EQ(names(n.mesh), (Names{"rb-0", "rc-0", "t1-0", "t1-1", "t2-0"}))
      << "a dropped top tier stays an upstream until it goes";
  EXPECT_TRUE(n.clients.empty());
  EXPECT_EQ(n.zone, "");
}

TEST(AgentTiers, ARackReflectorKeepsTheFlatMeshUntilRoutesCrossTheTopTier) {
  AgentInputs in = rack_a();
  // Nothing established with the top tier yet: the flat mesh stays, the zone's top tier is added.
  auto n = reflector_neighbors(in);
  EXPECT_EQ(n.zone, "z1");
  EXPECT_EQ(names(n.mesh), (Names{"rb-0", "rc-0", "t1-0", "t1-1"}));

  // a and b both reach t1-0: routes between them cross it, so that flat session goes.
  lease_of(in, "ra-0").upstream = {"t1-0", "t1-1"};
  lease_of(in, "rb-0").upstream = {"t1-0"};
  n = reflector_neighbors(in);
  EXPECT_EQ(names(n.mesh), (Names{"rc-0", "t1-0", "t1-1"}));

  // c reaches t2-0 in zone z2, but t2-0 has no session with z1's top tier yet.
  lease_of(in, "rc-0").upstream = {"t2-0"};
  EXPECT_EQ(names(reflector_neighbors(in).mesh), (Names{"rc-0", "t1-0", "t1-1"}));
  // Once t1-1 and t2-0 are up with each other, a's routes reach c through both top tiers.
  lease_of(in, "t1-1").upstream = {"t2-0"};
  EXPECT_EQ(names(reflector_neighbors(in).mesh), (Names{"t1-0", "t1-1"}));
}

TEST(AgentTiers, AReflectorOfTheSameRackStaysInTheMeshAndIsNeverTakenForAClient) {
  AgentInputs in = rack_a();
  in.nodes.push_back(rack_node("a-3", "a", "z1", "10.0.1.13"));  // the rack-mate's Dedicated host
  in.mesh.push_back(rack_lease("ra-1", "10.0.1.13", "a", "z1", "10.255.0.1", {"t1-0"}));
  lease_of(in, "ra-0").upstream = {"t1-0"};
  lease_of(in, "rb-0").upstream = {"t1-0"};
  EXPECT_EQ(names(reflector_neighbors(in).mesh), (Names{"ra-1", "rc-0", "t1-0", "t1-1"}));
  auto built = build_reflector_config(in);
  ASSERT_TRUE(built.ok()) << built.error().message;
  for (const auto& p : built->config.peers) {
    if (p.address == "10.0.1.13") {
      EXPECT_EQ(p.role, bird::PeerRole::Mesh) << p.name;
    }
  }
}

TEST(AgentTiers, TwoTopTierReflectorsOfOneClusterIdDoNotCarryRoutesBetweenTheirClients) {
  AgentInputs in = rack_a();
  lease_of(in, "ra-0").upstream = {"t1-0"};
  lease_of(in, "rb-0").upstream = {"t1-1"};
  lease_of(in, "t1-0").upstream = {"t1-1"};
  // t1-0 would reflect a's routes to t1-1 with its cluster ID, which t1-1 shares and so drops.
  EXPECT_EQ(names(reflector_neighbors(in).mesh), (Names{"rb-0", "rc-0", "t1-0", "t1-1"}));
}

TEST(AgentTiers, ALapsedTopTierReflectorBringsTheFlatMeshBack) {
  AgentInputs in = rack_a();
  lease_of(in, "ra-0").upstream = {"t1-0"};
  lease_of(in, "rb-0").upstream = {"t1-0"};
  EXPECT_EQ(names(reflector_neighbors(in).mesh), (Names{"rc-0", "t1-0", "t1-1"}));
  // t1-0 stops renewing: the agent's mesh list drops its Lease.
  std::erase_if(in.mesh, [](const contract::ReflectorLease& l) { return l.name == "t1-0"; });
  EXPECT_EQ(names(reflector_neighbors(in).mesh), (Names{"rb-0", "rc-0", "t1-1"}));
}

TEST(AgentTiers, TheDecisionIsTheSameFromBothEnds) {
  AgentInputs a = rack_a();
  lease_of(a, "ra-0").upstream = {"t1-0"};
  lease_of(a, "rb-0").upstream = {"t1-0"};
  AgentInputs b = a;
  b.self.pod = "rb-0";
  b.self.rack = "b";
  b.self.address = "10.0.2.10";
  b.nodes = {rack_node("b-0", "b", "z1", "10.0.2.10")};
  auto has = [](const ReflectorNeighbors& n, const std::string& name) {
    for (const auto* l : n.mesh) {
      if (l->name == name) return true;
    }
    return false;
  };
  EXPECT_EQ(has(reflector_neighbors(a), "rb-0"), has(reflector_neighbors(b), "ra-0"));
  lease_of(a, "rb-0").upstream.clear();
  lease_of(b, "rb-0").upstream.clear();
  EXPECT_TRUE(has(reflector_neighbors(a), "rb-0"));
  EXPECT_TRUE(has(reflector_neighbors(b), "ra-0"));
}

TEST(AgentTiers, ATopTierReflectorServesItsZonesRackReflectorsAndMeshesWithTheTopTier) {
  AgentInputs in = rack_a();
  in.self.pod = "t1-0";
  in.self.tier = contract::Tier::Top;
  in.self.rack.clear();
  in.self.zone = "z1";
  in.self.node = "top-1";
  in.self.address = "10.9.1.1";
  in.self.cluster_id = "10.254.0.1";
  const auto n = reflector_neighbors(in);
  EXPECT_EQ(names(n.clients), (Names{"ra-0", "rb-0"}));
  EXPECT_EQ(names(n.mesh), (Names{"t1-1", "t2-0"}));

  auto built = build_reflector_config(in);
  ASSERT_TRUE(built.ok()) << built.error().message;
  int rr_clients = 0;
  for (const auto& p : built->config.peers) {
    EXPECT_EQ(p.role, bird::PeerRole::Mesh) << p.name << ": a top tier has no node clients or external peers";
    if (p.rr_client) ++rr_clients;
  }
  EXPECT_EQ(rr_clients, 2);
  // BIRD takes it: the rack reflectors are `rr client` sessions on the mesh template.
  const std::string text = bird::render_bird_config(built->config);
  EXPECT_NE(text.find("rr client;"), std::string::npos);
  const kube::testing::TempDir scratch("rr-tiers-check");
  bird::BirdValidatorOptions options;
  options.scratch_dir = scratch.path();
  const kube::Status parsed = bird::check_with_bird(text, options);
  EXPECT_TRUE(parsed.ok()) << parsed.error().describe();
}

TEST(AgentTiers, WithoutZonesEveryRackReflectorIsAClientOfTheOneTopTier) {
  AgentInputs in = rack_a();
  in.spec.top_tier->zone_label.clear();
  for (auto& l : in.mesh) l.zone.clear();
  in.self.pod = "t2-0";
  in.self.tier = contract::Tier::Top;
  in.self.rack.clear();
  in.self.address = "10.9.2.1";
  const auto n = reflector_neighbors(in);
  EXPECT_EQ(names(n.clients), (Names{"ra-0", "rb-0", "rc-0"}));
  AgentInputs rack = rack_a();
  rack.spec.top_tier->zone_label.clear();
  EXPECT_EQ(reflector_neighbors(rack).zone, "");
  EXPECT_EQ(names(reflector_neighbors(rack).mesh), (Names{"rb-0", "rc-0", "t1-0", "t1-1", "t2-0"}));
}

}  // namespace
}  // namespace rr::agent
