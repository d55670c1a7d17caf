// Tables of named cases for the pure planner: a cluster described with the
// builders, the Plan it must produce. Every case also checks the invariants every
// Plan keeps (builders.h: invariant_violations).

#include "planner/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "unit/operator/planner/builders.h"

// Cases name only the fields they check (designated initializers); the rest stay unset on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace rr::planner {
namespace {

using testing::Cluster;
using testing::fabric;
using testing::node;
using testing::ReflectorBuilder;
using Strings = std::vector<std::string>;

std::string id(int n) { return "10.255.0." + std::to_string(n); }

// Only the fields set are checked.
struct Expect {
  std::optional<bool> hold;
  std::optional<Strings> pods;            // "rack/node@clusterID"
  std::optional<Strings> deleted;         // "rack/node" of the input Pod
  std::optional<Strings> peers;           // "rack/node peerIP"
  std::optional<Strings> peer_selectors;  // sorted
  std::optional<std::map<std::string, std::string>> cluster_ids;  // rack -> ID, from status
  std::optional<std::optional<bool>> mesh;
  std::optional<std::string> ready;        // "True/Reason" or "False/Reason"
  std::optional<std::string> progressing;
  std::optional<std::string> degraded;
  std::optional<std::string> problem_field;  // some problem names this field
  std::optional<std::string> message_has;    // the Ready message contains this
};

struct Case {
  std::string name;
  PlanInput in;
  Expect want;
};

std::string condition_of(const Plan& p, const std::string& type) {
  const Condition* c = testing::find_condition(p, type);
  if (!c) return "<missing>";
  return std::string(c->status ? "True" : "False") + "/" + std::string(c->reason.name());
}

std::string show(const Strings& v) {
  std::string out = "{";
  for (const auto& s : v) out += (out.size() > 1 ? ", " : "") + s;
  return out + "}";
}

void check(const Case& c) {
  SCOPED_TRACE(c.name);
  const Plan p = plan(c.in);
  for (const auto& v : testing::invariant_violations(c.in, p)) ADD_FAILURE() << "invariant: " << v;
  const Expect& w = c.want;
  if (w.hold) {
    EXPECT_EQ(p.hold, *w.hold);
  }
  if (w.pods) {
    EXPECT_EQ(testing::pod_placements(p), *w.pods);
  }
  if (w.deleted) {
    EXPECT_EQ(testing::deletions(p, c.in), *w.deleted);
  }
  if (w.peers) {
    EXPECT_EQ(testing::peer_summaries(p), *w.peers);
  }
  if (w.peer_selectors) {
    Strings selectors;
    for (const auto& peer : p.peers) selectors.push_back(peer.node_selector);
    std::sort(selectors.begin(), selectors.end());
    EXPECT_EQ(selectors, *w.peer_selectors);
  }
  if (w.cluster_ids) {
    EXPECT_EQ(testing::cluster_ids(p), *w.cluster_ids);
  }
  if (w.mesh) {
    EXPECT_EQ(p.node_to_node_mesh, *w.mesh);
  }
  if (w.ready) {
    EXPECT_EQ(condition_of(p, "Ready"), *w.ready);
  }
  if (w.progressing) {
    EXPECT_EQ(condition_of(p, "Progressing"), *w.progressing);
  }
  if (w.degraded) {
    EXPECT_EQ(condition_of(p, "Degraded"), *w.degraded);
  }
  if (w.problem_field) {
    Strings fields;
    for (const auto& pr : p.problems) fields.push_back(pr.field);
    EXPECT_TRUE(std::find(fields.begin(), fields.end(), *w.problem_field) != fields.end())
        << "want a problem about " << *w.problem_field << ", problems name " << show(fields);
  }
  if (w.message_has) {
    const Condition* ready = testing::find_condition(p, "Ready");
    ASSERT_NE(ready, nullptr);
    EXPECT_TRUE(ready->message.find(*w.message_has) != std::string::npos)
        << "want \"" << *w.message_has << "\" in the Ready message: " << ready->message;
  }
}

// Racks c, a, b (added out of name order) of 4 nodes, the first 2 eligible;
// node <r>-n<i> has address 10.0.<a=1,b=2,c=3>.<i+1>. With `state`, each rack
// already has reflectors on n0 and n1 with IDs a=.1, b=.2, c=.3, recorded in status.
Cluster three_racks(const std::function<void(ReflectorBuilder&)>& state = nullptr,
                    FabricSpec spec = fabric()) {
  Cluster c(std::move(spec));
  c.rack("c", 4, 2, "10.0.3.").rack("a", 4, 2, "10.0.1.").rack("b", 4, 2, "10.0.2.");
  if (state) {
    for (auto [rack, n] : std::vector<std::pair<std::string, int>>{{"a", 1}, {"b", 2}, {"c", 3}}) {
      c.record(rack, id(n));
      for (int i = 0; i < 2; ++i) {
        auto r = c.reflector(rack, rack + "-n" + std::to_string(i), id(n));
        state(r);
      }
    }
  }
  return c;
}

const Strings kSixPods = {"a/a-n0@" + id(1), "a/a-n1@" + id(1), "b/b-n0@" + id(2),
                          "b/b-n1@" + id(2), "c/c-n0@" + id(3), "c/c-n1@" + id(3)};
const Strings kSixPeers = {"a/a-n0 10.0.1.1", "a/a-n1 10.0.1.2", "b/b-n0 10.0.2.1",
                           "b/b-n1 10.0.2.2", "c/c-n0 10.0.3.1", "c/c-n1 10.0.3.2"};
const std::map<std::string, std::string> kThreeIds = {{"a", id(1)}, {"b", id(2)}, {"c", id(3)}};

TEST(PlannerTopologyTest, RacksReflectorsPeersAndTheMesh) {
  auto live = [](ReflectorBuilder& r) { r.live(); };
  auto with_mesh = [](Cluster c, std::optional<bool> enabled) {
    c.in.node_to_node_mesh_enabled = enabled;
    return c.input();
  };
  FabricSpec unmanaged = fabric();
  unmanaged.manage_node_to_node_mesh = false;

  const std::vector<Case> cases = {
      {"empty cluster has no racks",
       Cluster().input(),
       {.pods = Strings{},
        .peers = Strings{},
        .cluster_ids = std::map<std::string, std::string>{},
        .mesh = std::optional<bool>{},
        .ready = "False/NoRacks",
        .progressing = "False/NoRacks",
        .degraded = "True/NoRacks"}},
      {"nodes without the rack label form no rack",
       Cluster().add(node("n0", "").eligible()).add(node("n1", "").eligible()).input(),
       {.pods = Strings{}, .ready = "False/NoRacks"}},
      {"3 racks x 4 nodes, 2 eligible each: 6 pods, IDs in rack-name order, no peers yet",
       three_racks().input(),
       {.hold = false,
        .pods = kSixPods,
        .deleted = Strings{},
        .peers = Strings{},
        .cluster_ids = kThreeIds,
        .mesh = std::optional<bool>{},
        .ready = "False/ReflectorsNotReady",
        .progressing = "True/ReflectorsNotReady",
        .degraded = "False/AsExpected"}},
      {"pods running but leases not fresh yet: no peers, still Progressing",
       three_racks([](ReflectorBuilder& r) { r.starting(); }).input(),
       {.pods = kSixPods,
        .deleted = Strings{},
        .peers = Strings{},
        .mesh = std::optional<bool>{},
        .ready = "False/ReflectorsNotReady",
        .progressing = "True/ReflectorsNotReady"}},
      {"all leases fresh, sessions complete: 6 peers, Ready, mesh off",
       three_racks(live).input(),
       {.hold = false,
        .pods = kSixPods,
        .deleted = Strings{},
        .peers = kSixPeers,
        .cluster_ids = kThreeIds,
        .mesh = std::optional<bool>{false},
        .ready = "True/FabricReady",
        .progressing = "False/FabricReady",
        .degraded = "False/AsExpected"}},
      {"mesh explicitly enabled is turned off once Ready",
       with_mesh(three_racks(live), true),
       {.mesh = std::optional<bool>{false}, .ready = "True/FabricReady"}},
      {"mesh already disabled is left alone",
       with_mesh(three_racks(live), false),
       {.peers = kSixPeers, .mesh = std::optional<bool>{}, .ready = "True/FabricReady"}},
      {"manageNodeToNodeMesh=false leaves the mesh alone",
       three_racks(live, unmanaged).input(),
       {.peers = kSixPeers, .mesh = std::optional<bool>{}, .ready = "True/FabricReady"}},
      {"sessions incomplete: Ready False SessionsNotEstablished, mesh untouched",
       [&] {
         auto c = three_racks(live);
         ReflectorBuilder(c, 2, 2).sessions(3, 4);  // b-n0
         return c.input();
       }(),
       {.deleted = Strings{},
        .peers = kSixPeers,
        .mesh = std::optional<bool>{},
        .ready = "False/SessionsNotEstablished",
        .progressing = "True/SessionsNotEstablished",
        .degraded = "False/AsExpected"}},
      {"a reflector with no sessions at all counts as incomplete",
       [&] {
         auto c = three_racks(live);
         ReflectorBuilder(c, 5, 5).sessions(0, 0);  // c-n1
         return c.input();
       }(),
       {.mesh = std::optional<bool>{}, .ready = "False/SessionsNotEstablished"}},
      {"a rack with no ready reflector keeps the mesh on",
       [&] {
         auto c = three_racks(live);
         ReflectorBuilder(c, 4, 4).starting();  // c-n0
         ReflectorBuilder(c, 5, 5).starting();  // c-n1
         return c.input();
       }(),
       {.peers = Strings{"a/a-n0 10.0.1.1", "a/a-n1 10.0.1.2", "b/b-n0 10.0.2.1", "b/b-n1 10.0.2.2"},
        .mesh = std::optional<bool>{},
        .ready = "False/ReflectorsNotReady"}},
  };
  for (const auto& c : cases) check(c);
}

// Rack a of 5 eligible nodes a-n0..a-n4, ID .1 recorded.
Cluster rack_a(int nodes = 5, FabricSpec spec = fabric()) {
  Cluster c(std::move(spec));
  c.rack("a", nodes, nodes, "10.0.1.").record("a", id(1));
  return c;
}

TEST(PlannerLivenessTest, DeadReflectorsLoseTheirPeerAndAreReplaced) {
  const std::vector<Case> cases = {
      {"lapsed pod: deleted, no peer, replaced on a free host, not a busy or terminating one",
       [] {
         auto c = rack_a();
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).lapsed().terminating();
         c.reflector("a", "a-n3", id(1)).lapsed();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n2@" + id(1)},
        .deleted = Strings{"a/a-n3"},
        .peers = Strings{"a/a-n0 10.0.1.1"},
        .mesh = std::optional<bool>{},
        .ready = "False/ReflectorsNotReady",
        .progressing = "True/ReflectorsNotReady"}},
      {"expired lease counts as lapsed",
       [] {
         auto c = rack_a();
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n3", id(1)).lease_expired();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)},
        .deleted = Strings{"a/a-n3"},
        .peers = Strings{"a/a-n0 10.0.1.1"}}},
      // DESIGN: "its slot gets a new Pod". Pod names are derived from the host, so
      // placing the replacement on the lapsed pod's host asks to create the very
      // Pod being deleted; another free host must be used.
      {"lapsed pod's host is not reused while the old pod is still there",
       [] {
         auto c = rack_a(3);
         c.reflector("a", "a-n0", id(1)).lapsed();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)},
        .deleted = Strings{"a/a-n0"},
        .peers = Strings{"a/a-n1 10.0.1.2"}}},
      {"failed pod is replaced",
       [] {
         auto c = rack_a(4);
         c.reflector("a", "a-n1", id(1)).live();
         c.reflector("a", "a-n3", id(1)).failed();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)},
        .deleted = Strings{"a/a-n3"},
        .peers = Strings{"a/a-n1 10.0.1.2"}}},
      {"pod on a node that no longer exists is deleted and replaced",
       [] {
         auto c = rack_a(3);
         c.reflector("a", "a-n1", id(1)).live();
         c.reflector("a", "a-gone", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)},
        .deleted = Strings{"a/a-gone"},
        .peers = Strings{"a/a-n1 10.0.1.2"}}},
      {"terminating dead pod is not deleted again and its host stays busy",
       [] {
         auto c = rack_a(3);
         c.reflector("a", "a-n0", id(1)).lapsed().terminating();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)},
        .deleted = Strings{},
        .peers = Strings{"a/a-n1 10.0.1.2"}}},
      // A replacement renews its Lease before the kubelet's readiness probe passes. Until the
      // kubelet says Ready it serves (keeps its peer) but does not count as Ready, so a rollout
      // waits for it before replacing its rack's next reflector.
      {"renewing but not Ready by the kubelet: it keeps its peer but is not Ready",
       [] {
         auto c = rack_a(3);
         c.reflector("a", "a-n0", id(1)).unready();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)},
        .deleted = Strings{},
        .peers = Strings{"a/a-n0 10.0.1.1", "a/a-n1 10.0.1.2"},
        .ready = "False/ReflectorsNotReady"}},
      {"pod whose Lease has not appeared yet is kept (the grace is the controller's verdict)",
       [] {
         auto c = rack_a(3);
         c.reflector("a", "a-n0", id(1)).starting().no_lease();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)},
        .deleted = Strings{},
        .peers = Strings{"a/a-n1 10.0.1.2"},
        .ready = "False/ReflectorsNotReady"}},
  };
  for (const auto& c : cases) check(c);
}

// A reflector whose node stops reporting (kubelet stopped, node partitioned) may still
// route, but nothing can restart, upgrade or reschedule it: make before break. It keeps
// its peer while its Lease is live, a replacement goes to a free host, and it is deleted
// only once its rack has every other reflector Ready.
TEST(PlannerLivenessTest, AReflectorOnANotReadyNodeIsReplacedBeforeItIsRemoved) {
  const std::vector<Case> cases = {
      {"host NotReady: it keeps serving and its peer, a replacement goes to a free host",
       [] {
         auto c = rack_a(4);
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         c.node_not_ready("a-n0");
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1), "a/a-n2@" + id(1)},
        .deleted = Strings{},
        .peers = Strings{"a/a-n0 10.0.1.1", "a/a-n1 10.0.1.2"},
        .ready = "False/ReflectorsNotReady",
        .progressing = "True/ReflectorsNotReady"}},
      {"replacement Ready: the reflector on the NotReady host is deleted",
       [] {
         auto c = rack_a(4);
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         c.reflector("a", "a-n2", id(1)).live();
         c.node_not_ready("a-n0");
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)},
        .deleted = Strings{"a/a-n0"},
        .peers = Strings{"a/a-n1 10.0.1.2", "a/a-n2 10.0.1.3"}}},
      {"replacement still starting: the reflector on the NotReady host stays",
       [] {
         auto c = rack_a(4);
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         c.reflector("a", "a-n2", id(1)).starting();
         c.node_not_ready("a-n0");
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1), "a/a-n2@" + id(1)},
        .deleted = Strings{},
        .peers = Strings{"a/a-n0 10.0.1.1", "a/a-n1 10.0.1.2"}}},
      {"no free host: the reflector on the NotReady host keeps serving and the rack says why",
       [] {
         auto c = rack_a(2);
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         c.node_not_ready("a-n0");
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)},
        .deleted = Strings{},
        .peers = Strings{"a/a-n0 10.0.1.1", "a/a-n1 10.0.1.2"},
        .ready = "False/NoEligibleHosts",
        .problem_field = "spec.reflectors.nodeSelector"}},
      {"host NotReady for less than the controller's grace: nothing changes yet",
       [] {
         auto c = rack_a(4);
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         c.node_not_ready("a-n0");
         auto in = c.input();
         in.hosts_not_ready_within_grace.insert("a-n0");
         return in;
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)},
        .deleted = Strings{},
        .peers = Strings{"a/a-n0 10.0.1.1", "a/a-n1 10.0.1.2"}}},
      {"its Lease lapsed too: deleted at once, like any dead reflector",
       [] {
         auto c = rack_a(4);
         c.reflector("a", "a-n0", id(1)).lapsed();
         c.reflector("a", "a-n1", id(1)).live();
         c.node_not_ready("a-n0");
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)},
        .deleted = Strings{"a/a-n0"},
        .peers = Strings{"a/a-n1 10.0.1.2"}}},
      {"the host is Ready again before the replacement is: one too many, the newest by name goes",
       [] {
         auto c = rack_a(4);
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         c.reflector("a", "a-n2", id(1)).starting();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)},
        .deleted = Strings{"a/a-n2"}}},
  };
  for (const auto& c : cases) check(c);
}

// docs/operations.md: a rollout (or a kubectl delete) replaces a reflector on the same host
// under the same name and BGPPeer, not on a spare host under new ones.
TEST(PlannerPlacementTest, AReplacedReflectorComesBackOnItsHost) {
  const std::vector<Case> cases = {
      {"a healthy reflector terminating on an eligible host keeps its slot: nothing placed elsewhere",
       [] {
         auto c = rack_a(4);
         c.reflector("a", "a-n0", id(1)).live().terminating();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1)},
        .deleted = Strings{},
        .peers = Strings{"a/a-n1 10.0.1.2"},
        .ready = "False/ReflectorsNotReady"}},
      {"once it is gone, the slot goes to the host status recorded for the rack, so the same name",
       [] {
         auto c = rack_a(4);
         c.record("a", id(1), {"a-n1", "a-n2"});
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)}, .deleted = Strings{}}},
      {"a recorded host that is no longer eligible is passed over",
       [] {
         auto c = rack_a(4);
         c.record("a", id(1), {"a-n1", "a-gone", "a-n9"});
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)}, .deleted = Strings{}}},
      {"a reflector evicted from a cordoned host does not hold its slot",
       [] {
         Cluster c;
         c.add(node("a-n0", "a").eligible().unschedulable()).add(node("a-n1", "a").eligible());
         c.add(node("a-n2", "a").eligible());
         c.record("a", id(1), {"a-n0", "a-n1"});
         c.reflector("a", "a-n0", id(1)).live().terminating();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)}, .deleted = Strings{}}},
      {"a failed reflector being deleted does not hold its slot",
       [] {
         auto c = rack_a(3);
         c.reflector("a", "a-n0", id(1)).failed().terminating();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)}, .deleted = Strings{}}},
  };
  for (const auto& c : cases) check(c);
}

TEST(PlannerLivenessTest, TheStatusNamesAReflectorWhoseHostIsNotReady) {
  auto c = rack_a(4);
  c.reflector("a", "a-n0", id(1)).live();
  c.reflector("a", "a-n1", id(1)).live();
  c.node_not_ready("a-n0");
  const Plan p = plan(c.input());
  ASSERT_EQ(p.racks.size(), 1u);
  std::map<std::string, ReflectorState> states;
  for (const auto& r : p.racks[0].reflectors) states[r.node] = r.state;
  EXPECT_EQ(states["a-n0"], ReflectorState::HostNotReady);
  EXPECT_EQ(states["a-n1"], ReflectorState::Ready);
  EXPECT_EQ(states["a-n2"], ReflectorState::Pending);
  EXPECT_EQ(p.racks[0].reflectors_ready, 1) << "a reflector nothing can manage is not counted Ready";
}

// The kubelet's readiness (the agent's /readyz: BIRD up and configured) is part of Ready: a
// rollout replaces a rack's next reflector only once its replacement is Ready by both measures.
TEST(PlannerLivenessTest, AReflectorTheKubeletDoesNotReportReadyIsStarting) {
  auto c = rack_a(3);
  c.reflector("a", "a-n0", id(1)).unready();
  c.reflector("a", "a-n1", id(1)).live();
  const Plan p = plan(c.input());
  ASSERT_EQ(p.racks.size(), 1u);
  std::map<std::string, ReflectorState> states;
  for (const auto& r : p.racks[0].reflectors) states[r.node] = r.state;
  EXPECT_EQ(states["a-n0"], ReflectorState::Starting);
  EXPECT_EQ(states["a-n1"], ReflectorState::Ready);
  EXPECT_EQ(p.racks[0].reflectors_ready, 1);
}

TEST(PlannerPlacementTest, PicksEligibleHostsAndKeepsPlacements) {
  FabricSpec tolerate_exists = fabric();
  tolerate_exists.tolerations = {Toleration{.key = "dedicated", .op = "Exists"}};
  FabricSpec tolerate_equal = fabric();
  tolerate_equal.tolerations = {Toleration{.key = "dedicated", .op = "Equal", .value = "rr"}};
  FabricSpec tolerate_noschedule_only = fabric();
  tolerate_noschedule_only.tolerations = {Toleration{.key = "dedicated", .op = "Exists", .effect = "NoSchedule"}};
  FabricSpec scoped = fabric();
  scoped.node_selector = {{"env", "prod"}};

  const std::vector<Case> cases = {
      {"existing placements are kept when a lexically smaller host becomes eligible",
       [] {
         auto c = rack_a(4);
         c.reflector("a", "a-n2", id(1)).live();
         c.reflector("a", "a-n3", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n2@" + id(1), "a/a-n3@" + id(1)}, .deleted = Strings{}, .ready = "True/FabricReady"}},
      {"a live reflector stays on a host that is no longer eligible (cordoned, label removed)",
       [] {
         Cluster c;
         c.add(node("a-n0", "a").eligible().unschedulable()).add(node("a-n1", "a")).add(node("a-n2", "a").eligible());
         c.add(node("a-n3", "a").eligible());
         c.record("a", id(1));
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)}, .deleted = Strings{}}},
      {"untolerated taints, NotReady, unschedulable and selector mismatch are skipped",
       [] {
         Cluster c;
         c.add(node("a-n0", "a").eligible().taint("dedicated", "rr", "NoSchedule"));
         c.add(node("a-n1", "a").eligible().taint("maintenance", "", "NoExecute"));
         c.add(node("a-n2", "a").eligible().not_ready());
         c.add(node("a-n3", "a").eligible().unschedulable());
         c.add(node("a-n4", "a").label(testing::kReflectorLabel, "false"));
         c.add(node("a-n5", "a").eligible());
         c.add(node("a-n6", "a").eligible());
         return c.input();
       }(),
       {.pods = Strings{"a/a-n5@" + id(1), "a/a-n6@" + id(1)}, .degraded = "False/AsExpected"}},
      {"PreferNoSchedule is only a preference",
       [] {
         Cluster c;
         c.add(node("a-n0", "a").eligible().taint("busy", "yes", "PreferNoSchedule"));
         c.add(node("a-n1", "a").eligible());
         c.add(node("a-n2", "a").eligible());
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1)}}},
      {"Exists toleration covers any value of its key, and only its key",
       [&] {
         Cluster c(tolerate_exists);
         c.add(node("a-n0", "a").eligible().taint("dedicated", "rr", "NoSchedule"));
         c.add(node("a-n1", "a").eligible().taint("other", "x", "NoSchedule"));
         c.add(node("a-n2", "a").eligible().taint("dedicated", "anything", "NoExecute"));
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n2@" + id(1)}}},
      {"Equal toleration needs the same value",
       [&] {
         Cluster c(tolerate_equal);
         c.add(node("a-n0", "a").eligible().taint("dedicated", "other", "NoSchedule"));
         c.add(node("a-n1", "a").eligible().taint("dedicated", "rr", "NoSchedule"));
         c.add(node("a-n2", "a").eligible());
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)}}},
      {"toleration limited to one effect does not cover another",
       [&] {
         Cluster c(tolerate_noschedule_only);
         c.add(node("a-n0", "a").eligible().taint("dedicated", "rr", "NoExecute"));
         c.add(node("a-n1", "a").eligible().taint("dedicated", "rr", "NoSchedule"));
         c.add(node("a-n2", "a").eligible());
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)}}},
      {"not enough eligible hosts: Degraded NoEligibleHosts, still creates what it can",
       [] {
         Cluster c;
         c.rack("a", 3, 1).rack("b", 2, 2);
         return c.input();
       }(),
       {.hold = false,
        .pods = Strings{"a/a-n0@" + id(1), "b/b-n0@" + id(2), "b/b-n1@" + id(2)},
        .ready = "False/NoEligibleHosts",
        .progressing = "True/ReflectorsChanging",
        .degraded = "True/NoEligibleHosts",
        .problem_field = "spec.reflectors.nodeSelector",
        .message_has = "spec.reflectors.nodeSelector"}},
      // DESIGN: racks are the nodes spec.nodeSelector selects, and hosts are picked
      // from "the rack's eligible nodes"; a node outside the fabric is not one.
      {"a host outside spec.nodeSelector is not in the rack and hosts nothing",
       [&] {
         Cluster c(scoped);
         c.add(node("a-n0", "a").eligible());
         c.add(node("a-n1", "a").eligible().label("env", "prod"));
         c.add(node("a-n2", "a").eligible().label("env", "prod"));
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1), "a/a-n2@" + id(1)}}},
      // DESIGN: "spread one reflector per host" (they all use host networking and the same port).
      {"a node relabelled into another rack keeps its reflector and gets no second one",
       [] {
         Cluster c;
         c.add(node("a-n0", "a").eligible()).add(node("a-n1", "a").eligible());
         c.add(node("b-n0", "b").eligible()).add(node("b-n1", "b").eligible()).add(node("b-n2", "b").eligible());
         c.record("a", id(1)).record("b", id(2));
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "b-n0", id(1)).live();  // b-n0 was in rack a when it got this pod
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/b-n0@" + id(1), "b/b-n1@" + id(2), "b/b-n2@" + id(2)},
        .deleted = Strings{}}},
  };
  for (const auto& c : cases) check(c);
}

TEST(PlannerScaleTest, PerRackChanges) {
  FabricSpec one = fabric();
  one.per_rack = 1;
  FabricSpec three = fabric();
  three.per_rack = 3;
  // Which of a-n0 / a-n1 carries the pod name that sorts last.
  const bool n0_last = reflector_pod_name("fab", "a", "a-n0") > reflector_pod_name("fab", "a", "a-n1");
  const std::string first = n0_last ? "a-n1" : "a-n0", last = n0_last ? "a-n0" : "a-n1";
  const std::vector<Case> cases = {
      {"perRack lowered: the not-ready extra goes first",
       [&] {
         auto c = rack_a(3, one);
         c.reflector("a", "a-n0", id(1)).starting();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n1@" + id(1)}, .deleted = Strings{"a/a-n0"}, .peers = Strings{"a/a-n1 10.0.1.2"}}},
      {"perRack lowered, all ready: the last by Pod name goes",
       [&] {
         auto c = rack_a(3, one);
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/" + first + "@" + id(1)},
        .deleted = Strings{"a/" + last},
        .peers = Strings{"a/" + first + " " + (first == "a-n0" ? "10.0.1.1" : "10.0.1.2")}}},
      {"perRack raised: one more pod, none replaced",
       [&] {
         auto c = rack_a(4, three);
         c.reflector("a", "a-n1", id(1)).live();
         c.reflector("a", "a-n3", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1), "a/a-n3@" + id(1)},
        .deleted = Strings{},
        .progressing = "True/ReflectorsNotReady"}},
  };
  for (const auto& c : cases) check(c);
}

TEST(PlannerClusterIdTest, StableAllocatedRecoveredAndFreed) {
  FabricSpec three = fabric();
  three.per_rack = 3;
  const std::vector<Case> cases = {
      {"drained rack: its pods are deleted, its ID still reported and not reused while they remain",
       [] {
         Cluster c;
         c.rack("b", 2, 2);
         c.record("a", id(1));
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live().terminating();
         return c.input();
       }(),
       {.pods = Strings{"b/b-n0@" + id(2), "b/b-n1@" + id(2)},
        .deleted = Strings{"a/a-n0"},
        .peers = Strings{},
        .cluster_ids = std::map<std::string, std::string>{{"a", id(1)}, {"b", id(2)}}}},
      {"drained rack's ID is freed once its pods are gone",
       [] {
         Cluster c;
         c.rack("b", 2, 2);
         c.record("a", id(1));
         return c.input();
       }(),
       {.pods = Strings{"b/b-n0@" + id(1), "b/b-n1@" + id(1)},
        .cluster_ids = std::map<std::string, std::string>{{"b", id(1)}}}},
      {"status lost: IDs recovered from the reflectors, new racks skip them",
       [] {
         Cluster c;
         c.rack("a", 2, 2).rack("b", 2, 2).rack("c", 2, 2);
         c.reflector("a", "a-n0", id(7)).live();
         c.reflector("a", "a-n1", id(7)).live();
         c.reflector("b", "b-n0", id(1)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(7), "a/a-n1@" + id(7), "b/b-n0@" + id(1), "b/b-n1@" + id(1),
                        "c/c-n0@" + id(2), "c/c-n1@" + id(2)},
        .deleted = Strings{},
        .cluster_ids = std::map<std::string, std::string>{{"a", id(7)}, {"b", id(1)}, {"c", id(2)}}}},
      {"recorded status honoured for a rack with no pods",
       [] {
         Cluster c;
         c.rack("a", 2, 2).rack("b", 2, 2);
         c.record("b", id(1));
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(2), "a/a-n1@" + id(2), "b/b-n0@" + id(1), "b/b-n1@" + id(1)},
        .cluster_ids = std::map<std::string, std::string>{{"a", id(2)}, {"b", id(1)}}}},
      {"recorded ID outside the pool is not honoured for a rack with no pods",
       [] {
         Cluster c;
         c.rack("a", 2, 2);
         c.record("a", "10.1.0.9");
         return c.input();
       }(),
       {.cluster_ids = std::map<std::string, std::string>{{"a", id(1)}}}},
      {"live reflectors win over a stale status entry: the ID never changes under them",
       [] {
         Cluster c;
         c.rack("a", 2, 2);
         c.record("a", id(2));
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         return c.input();
       }(),
       {.deleted = Strings{}, .cluster_ids = std::map<std::string, std::string>{{"a", id(1)}}}},
      {"a reflector with another cluster ID than its rack's is deleted",
       [&] {
         auto c = rack_a(4, three);
         c.reflector("a", "a-n0", id(1)).live();
         c.reflector("a", "a-n1", id(1)).live();
         c.reflector("a", "a-n3", id(5)).live();
         return c.input();
       }(),
       {.pods = Strings{"a/a-n0@" + id(1), "a/a-n1@" + id(1), "a/a-n2@" + id(1)},
        .deleted = Strings{"a/a-n3"},
        .cluster_ids = std::map<std::string, std::string>{{"a", id(1)}}}},
      {"IDs an older fabric holds are never handed out",
       [] {
         Cluster c;
         c.rack("a", 2, 2);
         c.in.older_fabrics.push_back(
             FabricClaims{"older", {"x-n0"}, {"x"}, {id(1), "10.254.0.1"}, "10.254.0.0/16"});
         return c.input();
       }(),
       {.hold = false, .cluster_ids = std::map<std::string, std::string>{{"a", id(2)}}}},
  };
  for (const auto& c : cases) check(c);
}

TEST(PlannerPeerTest, SelectorsAndPeerAddresses) {
  FabricSpec colocated = fabric();
  colocated.placement = Placement::Colocated;
  colocated.port = 1790;
  FabricSpec scoped = fabric();
  scoped.node_selector = {{"env", "prod"}};

  auto one_live = [](FabricSpec spec, std::string address) {
    Cluster c(std::move(spec));
    c.add(node("a-n0", "a").eligible().label("env", "prod").ip("10.0.1.1"));
    c.record("a", id(1));
    auto r = c.reflector("a", "a-n0", id(1)).live();
    if (!address.empty()) r.address(address);
    c.in.spec.per_rack = 1;
    return c.input();
  };

  const std::vector<Case> cases = {
      {"Dedicated on port 179: the rack selector and the bare host IP",
       one_live(fabric(), ""),
       {.peers = Strings{"a/a-n0 10.0.1.1"}, .peer_selectors = Strings{"topology.kubernetes.io/rack == 'a'"}}},
      // The reflector's own host peers with it too: its calico-node is on 179,
      // the reflector on 1790 with a router ID that is not the host address.
      {"Colocated selects the whole rack, the reflector's own host included, and adds the port",
       one_live(colocated, ""),
       {.peers = Strings{"a/a-n0 10.0.1.1:1790"},
        .peer_selectors = Strings{"topology.kubernetes.io/rack == 'a'"}}},
      {"IPv6 address is bracketed when a port is added",
       one_live(colocated, "fd00::1"),
       {.peers = Strings{"a/a-n0 [fd00::1]:1790"}}},
      {"IPv6 address on port 179 stays bare",
       one_live(fabric(), "fd00::1"),
       {.peers = Strings{"a/a-n0 fd00::1"}}},
      {"the fabric's nodeSelector narrows the clients",
       one_live(scoped, ""),
       {.peer_selectors = Strings{"topology.kubernetes.io/rack == 'a' && env == 'prod'"}}},
      {"a Lease without an address falls back to the Pod's hostIP",
       [&] {
         auto in = one_live(fabric(), "");
         in.leases[0].address.clear();
         in.pods[0].host_ip = "10.9.9.9";
         return in;
       }(),
       {.peers = Strings{"a/a-n0 10.9.9.9"}}},
      {"no address at all: no peer, not ready",
       [&] {
         auto in = one_live(fabric(), "");
         in.leases[0].address.clear();
         in.pods[0].host_ip.clear();
         return in;
       }(),
       {.pods = Strings{"a/a-n0@" + id(1)}, .peers = Strings{}, .ready = "False/ReflectorsNotReady"}},
      // The agent writes its Lease; a compromised one could name any address there and
      // point the whole rack's BGPPeers at it. Only the kubelet's status.hostIP counts.
      {"the peer is the kubelet's hostIP, whatever address the Lease names",
       [&] {
         auto in = one_live(fabric(), "");
         in.leases[0].address = "203.0.113.66";
         return in;
       }(),
       {.peers = Strings{"a/a-n0 10.0.1.1"}}},
      {"no hostIP yet: no peer, even though the Lease names an address",
       [&] {
         auto in = one_live(fabric(), "");
         in.leases[0].address = "10.0.1.1";
         in.pods[0].host_ip.clear();
         return in;
       }(),
       {.pods = Strings{"a/a-n0@" + id(1)}, .peers = Strings{}, .ready = "False/ReflectorsNotReady"}},
  };
  for (const auto& c : cases) check(c);
}

TEST(PlannerPeerTest, StatusReportsTheKubeletsHostIPNotTheLeasesAddress) {
  Cluster c;
  c.rack("a", 1, 1).record("a", id(1));
  c.reflector("a", "a-n0", id(1)).live();
  c.in.spec.per_rack = 1;
  PlanInput in = c.input();
  ASSERT_EQ(in.leases.size(), 1u);
  const std::string host_ip = in.pods[0].host_ip;
  in.leases[0].address = "203.0.113.66";  // what a compromised agent writes
  const Plan p = plan(in);
  ASSERT_EQ(p.racks.size(), 1u);
  ASSERT_EQ(p.racks[0].reflectors.size(), 1u);
  EXPECT_EQ(p.racks[0].reflectors[0].address, host_ip);
  EXPECT_EQ(p.racks[0].reflectors[0].sessions_established, in.leases[0].sessions_established)
      << "the Lease still reports the counts";
}

TEST(PlannerPeerTest, PeersCarryTheFabricAsNumberAndPassword) {
  FabricSpec spec = fabric();
  spec.as_number = 65010;
  spec.bgp.password = SecretKeyRef{"bgp", "password"};
  Cluster c(spec);
  c.in.secret_keys = {"bgp/password"};
  c.rack("a", 2, 2).record("a", id(1));
  c.reflector("a", "a-n0", id(1)).live();
  c.reflector("a", "a-n1", id(1)).live();
  const Plan p = plan(c.input());
  ASSERT_EQ(p.peers.size(), 2u);
  for (const auto& peer : p.peers) {
    SCOPED_TRACE(peer.name);
    EXPECT_EQ(peer.as_number, 65010u);
    EXPECT_EQ(peer.password, spec.bgp.password);
    EXPECT_EQ(peer.name, peer.reflector_pod);
  }
}

// A fabric already running (so a hold visibly leaves it alone), with `spec`:
// racks r0.. of 3 eligible nodes, reflectors on n0 (live) and n2 (lapsed, so it
// would be deleted without a hold); then `new_racks` more racks without reflectors.
PlanInput running_fabric(FabricSpec spec, int racks = 2, int new_racks = 0) {
  Cluster c(std::move(spec));
  for (int r = 0; r < racks + new_racks; ++r) {
    std::string name = "r" + std::to_string(r);
    c.rack(name, 3, 3);
    if (r >= racks) continue;
    c.record(name, id(r + 1));
    c.reflector(name, name + "-n0", id(r + 1)).live();
    c.reflector(name, name + "-n2", id(r + 1)).lapsed();
  }
  return c.input();
}

Expect held(std::string reason, std::string field) {
  return {.hold = true,
          .pods = Strings{},
          .deleted = Strings{},
          .peers = Strings{},
          .mesh = std::optional<bool>{},
          .ready = "False/" + reason,
          .progressing = "False/" + reason,
          .degraded = "True/" + reason,
          .problem_field = field,
          .message_has = field};
}

TEST(PlannerSpecTest, InvalidSpecHoldsEverything) {
  auto with = [](const std::function<void(FabricSpec&)>& edit) {
    FabricSpec spec = fabric();
    edit(spec);
    return spec;
  };
  auto peers_with_passwords = with([](FabricSpec& s) {
    s.bgp.password = SecretKeyRef{"bgp", "password"};
    s.external_peers = {ExternalPeer{.name = "edge-1", .address = "192.0.2.1", .as_number = 65000,
                                     .password = SecretKeyRef{"edge", "one"}},
                        ExternalPeer{.name = "edge-2", .address = "192.0.2.2", .as_number = 65000,
                                     .password = SecretKeyRef{"edge", "two"}}};
  });
  auto secrets = [](PlanInput in, std::set<std::string> keys) {
    in.secret_keys = std::move(keys);
    return in;
  };
  auto unreadable = [](PlanInput in, std::set<std::string> keys, std::string name, std::string why) {
    in.secret_keys = std::move(keys);
    in.unreadable_secrets[name] = std::move(why);
    return in;
  };
  auto held_saying = [](std::string field, std::string words) {
    Expect e = held("InvalidSpec", std::move(field));
    e.message_has = std::move(words);
    return e;
  };

  const std::vector<Case> cases = {
      {"pool that is not a CIDR", running_fabric(with([](FabricSpec& s) { s.cluster_id_pool = "10.255.0.0"; })),
       held("InvalidSpec", "spec.clusterIDPool")},
      {"pool /31 has no room", running_fabric(with([](FabricSpec& s) { s.cluster_id_pool = "10.255.0.0/31"; })),
       held("InvalidSpec", "spec.clusterIDPool")},
      {"pool /7 is wider than the /8 the CRD allows",
       running_fabric(with([](FabricSpec& s) { s.cluster_id_pool = "10.0.0.0/7"; })),
       held("InvalidSpec", "spec.clusterIDPool")},
      {"a /30 is enough for 3 racks (2 running, 1 new)",
       running_fabric(with([](FabricSpec& s) { s.cluster_id_pool = "10.255.0.0/30"; }), 2, 1),
       {.hold = false}},
      {"bgp password Secret key missing", secrets(running_fabric(peers_with_passwords), {"edge/one", "edge/two"}),
       held("InvalidSpec", "spec.bgp.passwordSecretRef")},
      {"externalPeers[1] password Secret key missing",
       secrets(running_fabric(peers_with_passwords), {"bgp/password", "edge/one", "edge/three"}),
       held("InvalidSpec", "spec.externalPeers[1].passwordSecretRef")},
      {"bgp password Secret forbidden to read: says so, not \"no key\"",
       unreadable(running_fabric(peers_with_passwords), {"edge/one", "edge/two"}, "bgp",
                  "cannot be read: rr-operator may not get Secrets in namespace rr-system"),
       held_saying("spec.bgp.passwordSecretRef", "Secret rr-system/bgp cannot be read: rr-operator may not get Secrets")},
      {"externalPeers[0] password Secret absent",
       unreadable(running_fabric(peers_with_passwords), {"bgp/password"}, "edge", "does not exist"),
       held_saying("spec.externalPeers[0].passwordSecretRef", "Secret rr-system/edge does not exist")},
      {"every Secret key present: no hold",
       secrets(running_fabric(peers_with_passwords), {"bgp/password", "edge/one", "edge/two"}),
       {.hold = false, .deleted = Strings{"r0/r0-n2", "r1/r1-n2"}}},
  };
  for (const auto& c : cases) check(c);
}

// docs/crd-reference.md: more racks than IDs in clusterIDPool hold nothing. Racks
// that have an ID keep running; the others get no reflectors, and Degraded says which.
TEST(PlannerClusterIdTest, AnExhaustedPoolLeavesOnlyTheRacksWithoutAnIdWithoutReflectors) {
  FabricSpec spec = fabric();
  spec.cluster_id_pool = "10.255.0.0/30";  // IDs .1, .2, .3
  const PlanInput in = running_fabric(spec, 3, 2);  // r0..r2 run with .1..3; r3, r4 are new
  const Plan p = plan(in);
  for (const auto& v : testing::invariant_violations(in, p)) ADD_FAILURE() << "invariant: " << v;
  EXPECT_FALSE(p.hold);
  EXPECT_EQ(testing::cluster_ids(p),
            (std::map<std::string, std::string>{{"r0", id(1)}, {"r1", id(2)}, {"r2", id(3)}, {"r3", ""}, {"r4", ""}}));
  for (const auto& d : p.pods) EXPECT_TRUE(d.rack != "r3" && d.rack != "r4") << d.name << " in rack " << d.rack;
  EXPECT_EQ(testing::peer_summaries(p).size(), 3u) << "the live reflectors of r0..r2 keep their BGPPeers";
  EXPECT_EQ(testing::deletions(p, in), (Strings{"r0/r0-n2", "r1/r1-n2", "r2/r2-n2"})) << "only the lapsed ones go";
  EXPECT_EQ(condition_of(p, "Ready"), "False/ClusterIDPoolExhausted");
  EXPECT_EQ(condition_of(p, "Degraded"), "True/ClusterIDPoolExhausted");
  const Condition* degraded = testing::find_condition(p, "Degraded");
  ASSERT_NE(degraded, nullptr);
  for (const char* words : {"spec.clusterIDPool", "r3, r4", "3 racks"}) {
    EXPECT_NE(degraded->message.find(words), std::string::npos) << words << " not in: " << degraded->message;
  }
  ASSERT_EQ(p.racks.size(), 5u);
  EXPECT_EQ(p.racks[3].name, "r3");
  EXPECT_EQ(p.racks[3].cluster_id, "");
  EXPECT_EQ(p.racks[3].nodes, 3);
}

// crds/rr.bgp.dev_routereflectorclusters.yaml promises these checks ("made by
// rr-operator, which reports them as Ready=False, reason InvalidSpec"), and DESIGN
// says Colocated reflectors "listen on another port". The planner is where spec
// problems become a hold.
TEST(PlannerSpecTest, RejectsWhatTheCrdSchemaLeavesToTheOperator) {
  auto with = [](const std::function<void(FabricSpec&)>& edit) {
    FabricSpec spec = fabric();
    edit(spec);
    return spec;
  };
  const std::vector<Case> cases = {
      {"keepalive not below the hold time",
       running_fabric(with([](FabricSpec& s) {
         s.bgp.hold_time_seconds = 30;
         s.bgp.keepalive_seconds = 30;
       })),
       held("InvalidSpec", "spec.bgp.keepaliveSeconds")},
      {"pool with host bits set", running_fabric(with([](FabricSpec& s) { s.cluster_id_pool = "10.255.0.7/16"; })),
       held("InvalidSpec", "spec.clusterIDPool")},
      {"Colocated on port 179 would clash with calico-node's BIRD",
       running_fabric(with([](FabricSpec& s) { s.placement = Placement::Colocated; })),
       held("InvalidSpec", "spec.reflectors.port")},
      {"Colocated on port 178 would mesh on calico-node's 179",
       running_fabric(with([](FabricSpec& s) {
         s.placement = Placement::Colocated;
         s.port = 178;
       })),
       held("InvalidSpec", "spec.reflectors.port")},
      {"Colocated on port 65535 has no port above it to mesh on",
       running_fabric(with([](FabricSpec& s) {
         s.placement = Placement::Colocated;
         s.port = 65535;
       })),
       held("InvalidSpec", "spec.reflectors.port")},
  };
  for (const auto& c : cases) check(c);
}

TEST(PlannerConflictTest, OlderFabricsWin) {
  auto claims = [](FabricClaims other) {
    PlanInput in = running_fabric(fabric());
    in.older_fabrics.push_back(std::move(other));
    return in;
  };
  const std::vector<Case> cases = {
      {"older fabric claims one of our nodes",
       claims(FabricClaims{"older", {"r1-n2"}, {}, {}, "10.254.0.0/16"}),
       held("Conflict", "spec.nodeSelector")},
      {"older fabric claims one of our racks",
       claims(FabricClaims{"older", {}, {"r0"}, {}, "10.254.0.0/16"}),
       held("Conflict", "spec.rackLabel")},
      {"older fabric's pool overlaps ours",
       claims(FabricClaims{"older", {}, {}, {}, "10.255.128.0/17"}),
       held("Conflict", "spec.clusterIDPool")},
      {"older fabric elsewhere: no conflict",
       claims(FabricClaims{"older", {"x-n0"}, {"x"}, {"10.254.0.1"}, "10.254.0.0/16"}),
       {.hold = false, .deleted = Strings{"r0/r0-n2", "r1/r1-n2"}}},
      {"a rack an older fabric claims is no conflict once it has none of our nodes",
       [&] {
         PlanInput in = claims(FabricClaims{"older", {}, {"gone"}, {}, "10.254.0.0/16"});
         in.pods.push_back(ReflectorPod{.name = "fab-gone-0", .rack = "gone", .node = "gone-n0", .cluster_id = id(9)});
         return in;
       }(),
       {.hold = false, .deleted = Strings{"gone/gone-n0", "r0/r0-n2", "r1/r1-n2"}}},
  };
  for (const auto& c : cases) check(c);
}

// A Plan is a function of the cluster, not of the order the informer listed it in.
TEST(PlannerConflictTest, TheConflictMessageDoesNotDependOnNodeOrder) {
  PlanInput in = running_fabric(fabric());
  in.older_fabrics.push_back(FabricClaims{"older", {"r0-n1", "r0-n2"}, {}, {}, "10.254.0.0/16"});
  PlanInput reversed = in;
  std::reverse(reversed.nodes.begin(), reversed.nodes.end());
  const Plan a = plan(in), b = plan(reversed);
  ASSERT_TRUE(a.hold);
  ASSERT_FALSE(a.problems.empty());
  ASSERT_FALSE(b.problems.empty());
  EXPECT_EQ(a.problems[0].message, b.problems[0].message);
  EXPECT_TRUE(a == b);
}

TEST(PlannerHelpersTest, Tolerates) {
  struct TCase {
    std::string name;
    std::vector<Toleration> tolerations;
    Taint taint;
    bool want;
  };
  const std::vector<TCase> cases = {
      {"no tolerations, NoSchedule", {}, {"k", "v", "NoSchedule"}, false},
      {"no tolerations, PreferNoSchedule", {}, {"k", "v", "PreferNoSchedule"}, true},
      {"Equal same key and value", {{.key = "k", .value = "v"}}, {"k", "v", "NoExecute"}, true},
      {"Equal other value", {{.key = "k", .value = "w"}}, {"k", "v", "NoSchedule"}, false},
      {"Exists same key", {{.key = "k", .op = "Exists"}}, {"k", "v", "NoSchedule"}, true},
      {"Exists other key", {{.key = "j", .op = "Exists"}}, {"k", "v", "NoSchedule"}, false},
      {"Exists with empty key tolerates everything", {{.op = "Exists"}}, {"k", "v", "NoExecute"}, true},
      {"effect must match when given", {{.key = "k", .op = "Exists", .effect = "NoSchedule"}},
       {"k", "v", "NoExecute"}, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(tolerates(c.tolerations, c.taint), c.want);
  }
}

TEST(PlannerHelpersTest, PeerIp) {
  struct PCase {
    std::string name;
    std::string address;
    int port;
    std::string want;
  };
  const std::vector<PCase> cases = {
      {"IPv4 on 179", "10.0.0.1", 179, "10.0.0.1"},
      {"IPv4 on another port", "10.0.0.1", 1790, "10.0.0.1:1790"},
      {"IPv6 on 179", "fd00::1", 179, "fd00::1"},
      {"IPv6 on another port", "fd00::1", 1790, "[fd00::1]:1790"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(peer_ip(c.address, c.port), c.want);
  }
}

// Dual stack (spec.bgp.ipv6): the host's IPv6 address comes from the Node (the kubelet's
// InternalIP, else Calico's annotation), goes to the Pod, and from the Pod (never the Lease)
// to a second BGPPeer "<pod>-v6"; a host without one cannot serve and is not eligible.
TEST(PlannerDualStackTest, ReflectorsGetTheirHostsIPv6AddressAndASecondPeer) {
  auto dual = [](bool ipv6, int port = 179) {
    FabricSpec spec = fabric();
    spec.bgp.ipv6 = ipv6;
    spec.port = port;
    spec.per_rack = 1;
    return spec;
  };
  struct DCase {
    std::string name;
    FabricSpec spec;
    std::function<void(Cluster&)> build;
    Strings want_pods;   // "node v6" of the desired Pods
    Strings want_peers;  // "name peerIP"
    std::string want_status_v6;
  };
  const std::string pod = reflector_pod_name("fab", "a", "a-n0");
  const std::vector<DCase> cases = {
      {"a new reflector gets the host's IPv6 InternalIP",
       dual(true),
       [](Cluster& c) { c.add(node("a-n0", "a").eligible().ip("10.0.1.1").ipv6("fd00::1")); },
       {"a-n0 fd00::1"}, {}, ""},
      {"without an IPv6 InternalIP, Calico's IPv6Address",
       dual(true),
       [](Cluster& c) { c.add(node("a-n0", "a").eligible().ip("10.0.1.1").calico_ipv6("fd00::7")); },
       {"a-n0 fd00::7"}, {}, ""},
      {"a host with no IPv6 address is not eligible for a dual-stack fabric",
       dual(true),
       [](Cluster& c) {
         c.add(node("a-n0", "a").eligible().ip("10.0.1.1").calico_ipv6("not-an-address"));
         c.add(node("a-n1", "a").eligible().ip("10.0.1.2").ipv6("fd00::2"));
       },
       {"a-n1 fd00::2"}, {}, ""},
      {"a single-stack fabric passes no IPv6 address",
       dual(false),
       [](Cluster& c) { c.add(node("a-n0", "a").eligible().ip("10.0.1.1").ipv6("fd00::1")); },
       {"a-n0 "}, {}, ""},
      {"a live reflector: its IPv4 peer and its -v6 peer at the address its Pod was created with",
       dual(true),
       [](Cluster& c) {
         c.add(node("a-n0", "a").eligible().ip("10.0.1.1").ipv6("fd00::1"));
         c.record("a", "10.255.0.1");
         auto r = c.reflector("a", "a-n0", "10.255.0.1").live();
         r.pod().host_ipv6 = "fd00::1";
         r.lease().address_v6 = "2001:db8::66";  // the agent's word: never a peer
       },
       {"a-n0 fd00::1"}, {pod + " 10.0.1.1", pod + "-v6 fd00::1"}, "fd00::1"},
      {"off port 179 the IPv6 peerIP is bracketed",
       dual(true, 1790),
       [](Cluster& c) {
         c.add(node("a-n0", "a").eligible().ip("10.0.1.1").ipv6("fd00::1"));
         c.record("a", "10.255.0.1");
         c.reflector("a", "a-n0", "10.255.0.1").live().pod().host_ipv6 = "fd00::1";
       },
       {"a-n0 fd00::1"}, {pod + " 10.0.1.1:1790", pod + "-v6 [fd00::1]:1790"}, "fd00::1"},
      {"a reflector created before IPv6 was on: IPv4 peer only, and a Pod that wants the address (a roll)",
       dual(true),
       [](Cluster& c) {
         c.add(node("a-n0", "a").eligible().ip("10.0.1.1").ipv6("fd00::1"));
         c.record("a", "10.255.0.1");
         c.reflector("a", "a-n0", "10.255.0.1").live();
       },
       {"a-n0 fd00::1"}, {pod + " 10.0.1.1"}, ""},
      {"IPv6 turned off: the -v6 peer goes and the Pod no longer wants the address",
       dual(false),
       [](Cluster& c) {
         c.add(node("a-n0", "a").eligible().ip("10.0.1.1").ipv6("fd00::1"));
         c.record("a", "10.255.0.1");
         c.reflector("a", "a-n0", "10.255.0.1").live().pod().host_ipv6 = "fd00::1";
       },
       {"a-n0 "}, {pod + " 10.0.1.1"}, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Cluster cluster(c.spec);
    c.build(cluster);
    const PlanInput in = cluster.input();
    const Plan p = plan(in);
    for (const auto& v : testing::invariant_violations(in, p)) ADD_FAILURE() << "invariant: " << v;
    Strings pods, peers;
    for (const auto& d : p.pods) pods.push_back(d.node + " " + d.host_ipv6);
    for (const auto& d : p.peers) peers.push_back(d.name + " " + d.peer_ip);
    EXPECT_EQ(pods, c.want_pods);
    EXPECT_EQ(peers, c.want_peers);
    std::string status_v6;
    for (const auto& rack : p.racks) {
      for (const auto& r : rack.reflectors) status_v6 += r.address_v6;
    }
    EXPECT_EQ(status_v6, c.want_status_v6);
  }
}

TEST(PlannerDualStackTest, NoEligibleHostsSaysAnIPv6AddressIsNeeded) {
  FabricSpec spec = fabric();
  spec.bgp.ipv6 = true;
  spec.per_rack = 1;
  Cluster c(spec);
  c.add(node("a-n0", "a").eligible().ip("10.0.1.1"));
  const Plan p = plan(c.input());
  EXPECT_TRUE(p.pods.empty());
  const Condition* degraded = testing::find_condition(p, "Degraded");
  ASSERT_NE(degraded, nullptr);
  EXPECT_NE(degraded->message.find("with an IPv6 address for spec.bgp.ipv6"), std::string::npos) << degraded->message;
}

TEST(PlannerHelpersTest, HostIPv6Of) {
  EXPECT_EQ(host_ipv6_of(node("n", "a").ipv6("fd00::1").calico_ipv6("fd00::2")), "fd00::1");
  EXPECT_EQ(host_ipv6_of(node("n", "a").calico_ipv6("fd00::2")), "fd00::2");
  EXPECT_EQ(host_ipv6_of(node("n", "a").ipv6("10.0.0.1").calico_ipv6("garbage")), "");
  EXPECT_EQ(ipv6_peer_name("fab-a-1234abcd"), "fab-a-1234abcd-v6");
}

}  // namespace
}  // namespace rr::planner
