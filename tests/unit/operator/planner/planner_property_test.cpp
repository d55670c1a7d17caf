// Properties of the planner over generated clusters: 200 seeded random clusters of
// 0-40 racks x 0-30 nodes with random eligibility, taints, readiness, existing
// reflector Pods and Leases, status, older fabrics. A failure names the seed;
// RR_PLANNER_SEED=<seed> reruns only that cluster; RR_PLANNER_ALL=1 reports every failing seed.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "planner/ipv4.h"
#include "planner/names.h"
#include "planner/planner.h"
#include "unit/operator/planner/builders.h"

// Designated initializers name only the fields that matter here.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace rr::planner {
namespace {

using Violations = std::vector<std::string>;

constexpr std::uint32_t kFirstSeed = 20240601;
constexpr int kClusters = 200;

class Random {
 public:
  explicit Random(std::uint32_t seed) : rng_(seed) {}
  // mt19937's output is fixed by the standard, unlike std:: distributions.
  std::uint32_t below(std::uint32_t n) { return n == 0 ? 0 : rng_() % n; }
  bool percent(std::uint32_t p) { return below(100) < p; }
  std::mt19937& engine() { return rng_; }

 private:
  std::mt19937 rng_;
};

// A label value: alphanumeric at both ends, up to 63 characters.
std::string random_label_value(Random& r, size_t max) {
  static const std::string alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static const std::string any = alnum + "-_.";
  size_t len = 1 + r.below(static_cast<std::uint32_t>(max));
  std::string s;
  for (size_t i = 0; i < len; ++i) {
    const std::string& set = (i == 0 || i + 1 == len) ? alnum : any;
    s += set[r.below(static_cast<std::uint32_t>(set.size()))];
  }
  return s;
}

PlanInput random_cluster(Random& r) {
  PlanInput in;
  FabricSpec& spec = in.spec;
  spec = testing::fabric(r.percent(80) ? "fab" : r.percent(50) ? "Very.Long_Fabric-" + random_label_value(r, 50) : "f");
  spec.per_rack = 1 + static_cast<int>(r.below(3));
  if (r.percent(20)) {
    spec.placement = Placement::Colocated;
    spec.port = 1790;
  } else if (r.percent(10)) {
    spec.port = 1790;
  }
  spec.cluster_id_pool = r.percent(85) ? "10.255.0.0/16" : r.percent(66) ? "10.255.0.0/26" : "10.255.0.0/29";
  if (r.percent(25)) spec.node_selector = {{"env", "prod"}};
  if (r.percent(30)) spec.tolerations = {Toleration{.key = "dedicated", .op = "Exists"}};
  spec.manage_node_to_node_mesh = r.percent(90);
  switch (r.below(3)) {
    case 0: in.node_to_node_mesh_enabled = std::nullopt; break;
    case 1: in.node_to_node_mesh_enabled = true; break;
    default: in.node_to_node_mesh_enabled = false; break;
  }
  if (r.percent(10)) {
    spec.bgp.password = SecretKeyRef{"bgp", "password"};
    if (r.percent(80)) in.secret_keys.insert("bgp/password");
  }
  const Ipv4Pool pool = *Ipv4Pool::parse(spec.cluster_id_pool);

  // Racks, each with the cluster ID its reflectors were created with (if any).
  std::set<std::string> rack_names;
  const int racks = static_cast<int>(r.below(41));
  while (static_cast<int>(rack_names.size()) < racks) {
    rack_names.insert(r.percent(70) ? "rack-" + std::to_string(r.below(1000)) : random_label_value(r, 63));
  }
  std::vector<std::string> shuffled_racks(rack_names.begin(), rack_names.end());
  std::shuffle(shuffled_racks.begin(), shuffled_racks.end(), r.engine());
  std::set<std::uint32_t> used_ids;
  auto random_pool_id = [&]() -> std::string {
    for (int tries = 0; tries < 20; ++tries) {
      std::uint32_t a = pool.first() + 1 + r.below(static_cast<std::uint32_t>(pool.capacity()));
      if (used_ids.insert(a).second) return format_ipv4(a);
    }
    return "";
  };

  std::vector<std::pair<std::string, std::vector<std::string>>> rack_nodes;
  int rack_index = 0;
  for (const auto& rack : shuffled_racks) {
    ++rack_index;
    std::vector<std::string> names;
    const bool drained = r.percent(10);
    const int count = drained ? 0 : static_cast<int>(r.below(31));
    for (int i = 0; i < count; ++i) {
      auto b = testing::node(rack + "-n" + std::to_string(i), rack);
      b.ip("10." + std::to_string(rack_index) + "." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
      if (r.percent(50)) b.eligible();
      if (!spec.node_selector.empty() && r.percent(90)) b.label("env", "prod");
      if (!r.percent(90)) b.not_ready();
      if (r.percent(5)) b.unschedulable();
      auto t = r.below(100);
      if (t < 7) {
        b.taint("dedicated", "rr", "NoSchedule");
      } else if (t < 12) {
        b.taint("busy", "", "PreferNoSchedule");
      } else if (t < 17) {
        b.taint("maintenance", "", "NoExecute");
      } else if (t < 20) {
        b.taint("dedicated", "rr", "NoSchedule").taint("busy", "", "PreferNoSchedule");
      }
      in.nodes.push_back(testing::shared(b));
      names.push_back(in.nodes.back()->name);
    }
    rack_nodes.push_back({rack, names});
  }
  for (int i = 0, loose = static_cast<int>(r.below(4)); i < loose; ++i) {
    in.nodes.push_back(testing::shared(testing::node("loose-" + std::to_string(i), "").eligible()));
  }

  // Existing reflector Pods and Leases, in every state the controller reports.
  int legacy = 0;
  for (const auto& [rack, names] : rack_nodes) {
    if (!r.percent(70)) continue;
    const std::string rack_id = random_pool_id();
    if (rack_id.empty()) continue;
    if (r.percent(70)) in.recorded.push_back({rack, rack_id, {}});
    std::vector<std::string> hosts = names;
    std::shuffle(hosts.begin(), hosts.end(), r.engine());
    const int pods = static_cast<int>(r.below(static_cast<std::uint32_t>(spec.per_rack + 2)));
    for (int k = 0; k < pods; ++k) {
      std::string host;
      auto where = r.below(100);
      if (where < 5 || hosts.empty()) {
        host = rack + "-gone" + std::to_string(k);  // its node was deleted
      } else if (where < 10 && !rack_nodes.empty()) {
        const auto& other = rack_nodes[r.below(static_cast<std::uint32_t>(rack_nodes.size()))].second;
        if (other.empty()) continue;
        host = other[r.below(static_cast<std::uint32_t>(other.size()))];  // its node moved racks
      } else {
        host = hosts.back();
        hosts.pop_back();
      }
      ReflectorPod p;
      p.name = r.percent(95) ? reflector_pod_name(spec.name, rack, host) : "legacy-" + std::to_string(legacy++);
      if (std::any_of(in.pods.begin(), in.pods.end(), [&](const auto& x) { return x.name == p.name; })) continue;
      p.rack = rack;
      p.node = host;
      auto id_kind = r.below(100);
      p.cluster_id = id_kind < 90 ? rack_id : id_kind < 95 ? random_pool_id() : "";
      ReflectorLease l;
      l.name = p.name;
      l.rack = rack;
      l.cluster_id = p.cluster_id;
      l.port = spec.port;
      const NodeInfo* n = nullptr;
      for (const auto& x : in.nodes) {
        if (x->name == host) n = x.get();
      }
      const std::string ip = n ? n->internal_ip : "198.51.100." + std::to_string(1 + r.below(250));
      bool has_lease = true;
      auto state = r.below(100);
      p.phase = PodPhase::Running;
      p.host_ip = ip;
      l.address = ip;
      if (state < 55) {  // live
        p.ready = true;
        l.fresh = true;
        l.sessions_total = static_cast<int>(r.below(6));
        l.sessions_established = r.percent(70) ? l.sessions_total : static_cast<int>(r.below(l.sessions_total + 1));
      } else if (state < 65) {  // starting
        l.fresh = false;
      } else if (state < 73) {  // pending, no Lease yet
        p.phase = PodPhase::Pending;
        p.host_ip.clear();
        has_lease = false;
      } else if (state < 81) {
        p.lapsed = true;
      } else if (state < 86) {
        l.expired = true;
      } else if (state < 90) {
        p.phase = PodPhase::Failed;
      } else if (state < 95) {  // fresh, but the Lease carries no address
        p.ready = true;
        l.fresh = true;
        l.address.clear();
        if (r.percent(50)) p.host_ip.clear();
      } else {
        p.ready = true;
        l.fresh = true;
      }
      if (r.percent(7)) p.deleting = true;
      in.pods.push_back(p);
      if (has_lease) in.leases.push_back(l);
    }
  }
  if (r.percent(5)) in.recorded.push_back({"long-gone-rack", random_pool_id(), {}});
  if (r.percent(3)) {
    ReflectorLease orphan;
    orphan.name = "orphan-lease";
    orphan.fresh = true;
    orphan.address = "10.99.0.1";
    in.leases.push_back(orphan);
  }

  // Older fabrics: usually elsewhere, sometimes in conflict.
  if (r.percent(25)) {
    FabricClaims older{"older", {"elsewhere-n0"}, {"elsewhere"}, {"10.254.0.1", "10.254.0.2"}, "10.254.0.0/16"};
    if (r.percent(30)) {
      auto id = random_pool_id();  // kept from before its pool changed
      if (!id.empty()) older.cluster_ids.insert(id);
    }
    if (r.percent(20) && !rack_nodes.empty()) {  // a few nodes of one rack
      const auto& names = rack_nodes[r.below(static_cast<std::uint32_t>(rack_nodes.size()))].second;
      for (int k = 0, claimed = 1 + static_cast<int>(r.below(3)); k < claimed && !names.empty(); ++k) {
        older.nodes.insert(names[r.below(static_cast<std::uint32_t>(names.size()))]);
      }
    }
    if (r.percent(20) && !rack_nodes.empty()) {
      older.racks.insert(rack_nodes[r.below(static_cast<std::uint32_t>(rack_nodes.size()))].first);
    }
    if (r.percent(10)) older.cluster_id_pool = "10.255.128.0/17";
    in.older_fabrics.push_back(older);
  }
  return in;
}

std::string join(const Violations& v) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < 8; ++i) out += "  " + v[i] + "\n";
  if (v.size() > 8) out += "  ... " + std::to_string(v.size() - 8) + " more\n";
  return out;
}

std::string describe(const PlanInput& in) {
  std::set<std::string> racks;
  for (const auto& n : in.nodes) {
    auto it = n->labels.find(in.spec.rack_label);
    if (it != n->labels.end()) racks.insert(it->second);
  }
  return std::to_string(racks.size()) + " racks, " + std::to_string(in.nodes.size()) + " nodes, " +
         std::to_string(in.pods.size()) + " pods, " + std::to_string(in.leases.size()) + " leases, " +
         std::to_string(in.older_fabrics.size()) + " older fabrics, perRack " + std::to_string(in.spec.per_rack);
}

// Runs `property` on every generated cluster (or only RR_PLANNER_SEED) and reports
// the first failing seed in full and how many failed.
void for_each_cluster(const std::function<Violations(const PlanInput&, Random&)>& property) {
  std::vector<std::uint32_t> seeds;
  if (const char* only = std::getenv("RR_PLANNER_SEED")) {
    seeds.push_back(static_cast<std::uint32_t>(std::strtoul(only, nullptr, 10)));
  } else {
    for (int i = 0; i < kClusters; ++i) seeds.push_back(kFirstSeed + static_cast<std::uint32_t>(i));
  }
  int failing = 0;
  for (auto seed : seeds) {
    Random r(seed);
    PlanInput in = random_cluster(r);
    Violations v = property(in, r);
    if (v.empty()) continue;
    if (failing++ == 0 || std::getenv("RR_PLANNER_ALL")) {
      ADD_FAILURE() << "seed " << seed << " (" << describe(in) << "):\n"
                    << join(v) << "rerun with RR_PLANNER_SEED=" << seed;
    }
  }
  EXPECT_EQ(failing, 0) << "clusters breaking the property, of " << seeds.size();
}

bool is_input_pod(const PlanInput& in, const std::string& name) {
  return std::any_of(in.pods.begin(), in.pods.end(), [&](const auto& p) { return p.name == name; });
}

// An existing Pod the plan keeps (desired and not deleted).
bool kept(const Plan& p, const std::string& name) {
  return std::find(p.pods_to_delete.begin(), p.pods_to_delete.end(), name) == p.pods_to_delete.end() &&
         std::any_of(p.pods.begin(), p.pods.end(), [&](const auto& d) { return d.name == name; });
}

bool in_fabric_rack(const FabricSpec& spec, const std::string& rack, const NodeInfo& n) {
  return eligible_host(spec, rack, n) && labels_match(spec.node_selector, n.labels);
}

// The first field where two plans differ, to say why they are not ==.
std::string first_difference(const Plan& a, const Plan& b) {
  if (a.hold != b.hold) return "hold";
  if (a.racks != b.racks) return "racks";
  if (a.pods != b.pods) return "pods";
  if (a.pods_to_delete != b.pods_to_delete) return "pods_to_delete";
  if (a.peers != b.peers) return "peers";
  if (a.node_to_node_mesh != b.node_to_node_mesh) return "node_to_node_mesh";
  if (a.problems != b.problems) {
    for (size_t i = 0; i < std::min(a.problems.size(), b.problems.size()); ++i) {
      if (a.problems[i] != b.problems[i])
        return "problems: \"" + a.problems[i].message + "\" vs \"" + b.problems[i].message + "\"";
    }
    return "problems (count)";
  }
  if (a.conditions != b.conditions) return "conditions";
  if (a != b) return "counters";
  return "";
}

TEST(PlannerPropertyTest, PlansKeepTheirInvariantsAndNameNewPodsValidly) {
  for_each_cluster([](const PlanInput& in, Random&) {
    const Plan p = plan(in);
    Violations v = testing::invariant_violations(in, p);
    for (const auto& d : p.pods) {
      if (!is_input_pod(in, d.name) && d.name != reflector_pod_name(in.spec.name, d.rack, d.node)) {
        v.push_back("new pod " + d.name + " is not named reflector_pod_name(fabric, rack, node)");
      }
    }
    return v;
  });
}

TEST(PlannerPropertyTest, RacksWithEnoughFreeEligibleHostsGetPerRackReflectorsOnEligibleHosts) {
  for_each_cluster([](const PlanInput& in, Random&) {
    Violations v;
    const Plan p = plan(in);
    if (p.hold) return v;
    std::set<std::string> occupied;  // hosts of any existing reflector Pod, whatever its state
    for (const auto& pod : in.pods) occupied.insert(pod.node);
    std::map<std::string, const NodeInfo*> nodes;
    for (const auto& n : in.nodes) nodes[n->name] = n.get();
    for (const auto& rack : p.racks) {
      if (rack.nodes == 0) continue;
      if (rack.cluster_id.empty()) {  // the pool ran out before this rack: no reflector at all
        for (const auto& d : p.pods) {
          if (d.rack == rack.name) v.push_back("rack " + rack.name + " has no cluster ID but gets reflector " + d.name);
        }
        continue;
      }
      // A reflector kept on a NotReady host is one extra until its replacement is Ready.
      std::vector<const DesiredPod*> desired;
      for (const auto& d : p.pods) {
        auto host = nodes.find(d.node);
        const bool stranded = is_input_pod(in, d.name) && host != nodes.end() && !host->second->ready;
        if (d.rack == rack.name && !stranded) desired.push_back(&d);
      }
      int free_eligible = 0;
      for (const auto& n : in.nodes) {
        if (in_fabric_rack(in.spec, rack.name, *n) && !occupied.count(n->name)) ++free_eligible;
      }
      if (static_cast<int>(desired.size()) > in.spec.per_rack) {
        v.push_back("rack " + rack.name + " gets " + std::to_string(desired.size()) + " reflectors, perRack is " +
                    std::to_string(in.spec.per_rack));
      }
      // A healthy reflector terminating on an eligible host keeps its slot for that host.
      int returning = 0;
      for (const auto& pod : in.pods) {
        auto host = nodes.find(pod.node);
        auto lease = std::find_if(in.leases.begin(), in.leases.end(), [&](const auto& l) { return l.name == pod.name; });
        const bool dead = pod.phase == PodPhase::Failed || pod.phase == PodPhase::Succeeded || pod.lapsed ||
                          (lease != in.leases.end() && lease->expired);
        if (pod.deleting && pod.rack == rack.name && !dead && host != nodes.end() &&
            in_fabric_rack(in.spec, rack.name, *host->second)) {
          ++returning;
        }
      }
      const int slots = static_cast<int>(desired.size()) + returning;
      if (free_eligible >= in.spec.per_rack && slots < in.spec.per_rack) {
        v.push_back("rack " + rack.name + " has " + std::to_string(free_eligible) + " free eligible hosts but gets " +
                    std::to_string(desired.size()) + " reflectors (and " + std::to_string(returning) +
                    " returning), not perRack " + std::to_string(in.spec.per_rack));
      }
      for (const auto* d : desired) {
        if (is_input_pod(in, d->name)) continue;
        auto n = nodes.find(d->node);
        if (n == nodes.end() || !in_fabric_rack(in.spec, rack.name, *n->second)) {
          v.push_back("new reflector " + d->name + " on " + d->node + ", not an eligible host of rack " + rack.name +
                      " in the fabric");
        } else if (occupied.count(d->node)) {
          v.push_back("new reflector " + d->name + " on " + d->node + ", which still has a reflector Pod");
        }
      }
    }
    return v;
  });
}

TEST(PlannerPropertyTest, ClusterIdsAreUniqueInThePoolApartFromOlderFabricsAndStable) {
  for_each_cluster([](const PlanInput& in, Random&) {
    Violations v;
    const Plan p = plan(in);
    if (p.hold) return v;
    const Ipv4Pool pool = *Ipv4Pool::parse(in.spec.cluster_id_pool);
    std::set<std::string> older;
    for (const auto& f : in.older_fabrics) older.insert(f.cluster_ids.begin(), f.cluster_ids.end());
    std::map<std::string, std::string> seen;  // ID -> rack
    for (const auto& rack : p.racks) {
      if (rack.cluster_id.empty()) {
        // Only an exhausted pool leaves a rack with nodes without an ID, and then it says so.
        const Condition* degraded = testing::find_condition(p, "Degraded");
        if (rack.nodes > 0 && !(degraded && degraded->reason == Reason::kClusterIDPoolExhausted &&
                                degraded->message.find(rack.name) != std::string::npos)) {
          v.push_back("rack " + rack.name + " with nodes has no cluster ID and no ClusterIDPoolExhausted naming it");
        }
        continue;
      }
      auto a = parse_ipv4(rack.cluster_id);
      if (!a || !pool.contains(*a) || *a == pool.first()) {
        v.push_back("rack " + rack.name + " has " + rack.cluster_id + ", outside " + in.spec.cluster_id_pool);
      }
      if (older.count(rack.cluster_id)) v.push_back("rack " + rack.name + " has an older fabric's " + rack.cluster_id);
      if (auto [it, fresh] = seen.emplace(rack.cluster_id, rack.name); !fresh) {
        v.push_back("racks " + it->second + " and " + rack.name + " share " + rack.cluster_id);
      }
    }
    for (const auto& d : p.pods) {
      for (const auto& pod : in.pods) {
        if (pod.name == d.name && kept(p, d.name) && pod.cluster_id != d.cluster_id) {
          v.push_back("kept reflector " + d.name + " changes cluster ID " + pod.cluster_id + " -> " + d.cluster_id);
        }
      }
    }
    return v;
  });
}

TEST(PlannerPropertyTest, ShufflingNodesPodsAndLeasesGivesTheSamePlan) {
  for_each_cluster([](const PlanInput& in, Random& r) {
    Violations v;
    const Plan p = plan(in);
    for (int round = 0; round < 3; ++round) {
      PlanInput shuffled = in;
      std::shuffle(shuffled.nodes.begin(), shuffled.nodes.end(), r.engine());
      std::shuffle(shuffled.pods.begin(), shuffled.pods.end(), r.engine());
      std::shuffle(shuffled.leases.begin(), shuffled.leases.end(), r.engine());
      const Plan q = plan(shuffled);
      if (!(p == q)) {
        v.push_back("shuffle " + std::to_string(round) + " changes the plan: " + first_difference(p, q));
        break;
      }
    }
    return v;
  });
}

TEST(PlannerPropertyTest, ANodeThatCannotHostJoiningARackChangesNoPeerOrPod) {
  for_each_cluster([](const PlanInput& in, Random& r) {
    Violations v;
    const Plan p = plan(in);
    std::vector<std::string> racks;
    for (const auto& rack : p.racks) {
      if (rack.nodes > 0) racks.push_back(rack.name);
    }
    if (racks.empty()) return v;
    const std::string rack = racks[r.below(static_cast<std::uint32_t>(racks.size()))];
    PlanInput more = in;
    auto joining = testing::node("joining-node", rack).ip("10.250.0.1");
    for (const auto& [k, val] : in.spec.node_selector) joining.label(k, val);
    if (r.percent(50)) {
      joining.eligible().not_ready();
    }  // else: no reflector label
    more.nodes.push_back(testing::shared(joining));
    const Plan q = plan(more);
    if (q.peers != p.peers) v.push_back("a node joining rack " + rack + " changes the BGPPeers");
    if (q.pods != p.pods) v.push_back("a node joining rack " + rack + " changes the reflector Pods");
    if (q.pods_to_delete != p.pods_to_delete) v.push_back("a node joining rack " + rack + " changes the deletions");
    return v;
  });
}

TEST(PlannerPropertyTest, OnePeerPerLiveReflector) {
  for_each_cluster([](const PlanInput& in, Random&) {
    Violations v;
    const Plan p = plan(in);
    std::map<std::string, const ReflectorLease*> leases;
    for (const auto& l : in.leases) leases[l.name] = &l;
    size_t live = 0;
    for (const auto& d : p.pods) {
      for (const auto& pod : in.pods) {
        if (pod.name != d.name || pod.deleting || !kept(p, d.name)) continue;
        auto l = leases.find(pod.name);
        if (l == leases.end() || !l->second->fresh) continue;
        if (!l->second->address.empty() || !pod.host_ip.empty()) ++live;
      }
    }
    if (p.peers.size() != live) {
      v.push_back(std::to_string(p.peers.size()) + " BGPPeers for " + std::to_string(live) + " live reflectors");
    }
    return v;
  });
}

// The cluster after the applier and the kubelet did a plan's work: every desired Pod
// running with a fresh Lease, status written, deleted Pods still terminating.
PlanInput after(const PlanInput& in, const Plan& done) {
  PlanInput next = in;
  next.pods.clear();
  next.leases.clear();
  next.recorded.clear();
  std::map<std::string, std::string> ips;
  for (const auto& n : in.nodes) ips[n->name] = n->internal_ip;
  for (const auto& d : done.pods) {
    std::string ip = ips.count(d.node) ? ips[d.node] : "198.51.100.200";
    next.pods.push_back(ReflectorPod{.name = d.name, .rack = d.rack, .node = d.node, .cluster_id = d.cluster_id,
                                     .host_ip = ip, .phase = PodPhase::Running, .ready = true});
    next.leases.push_back(ReflectorLease{.name = d.name, .rack = d.rack, .cluster_id = d.cluster_id,
                                         .address = ip, .port = in.spec.port, .sessions_established = 1,
                                         .sessions_total = 1, .fresh = true});
  }
  auto deleted = [&](const std::string& name) {
    return std::find(done.pods_to_delete.begin(), done.pods_to_delete.end(), name) != done.pods_to_delete.end();
  };
  for (const auto& pod : in.pods) {
    if (!pod.deleting && !deleted(pod.name)) continue;
    if (is_input_pod(next, pod.name)) continue;  // also desired: the invariants test reports that
    next.pods.push_back(pod);
    next.pods.back().deleting = true;
    for (const auto& l : in.leases) {
      if (l.name == pod.name) next.leases.push_back(l);
    }
  }
  for (const auto& rack : done.racks) {
    std::vector<std::string> hosts;
    for (const auto& r : rack.reflectors) hosts.push_back(r.node);
    next.recorded.push_back({rack.name, rack.cluster_id, hosts});
  }
  return next;
}

// Only Pods on NotReady hosts, whose replacements the previous round made.
bool deletes_only_stranded(const PlanInput& in, const Plan& p) {
  std::set<std::string> not_ready;
  for (const auto& n : in.nodes) {
    if (!n->ready) not_ready.insert(n->name);
  }
  return !p.pods_to_delete.empty() && std::all_of(p.pods_to_delete.begin(), p.pods_to_delete.end(), [&](auto& name) {
    return std::any_of(in.pods.begin(), in.pods.end(),
                       [&](const auto& pod) { return pod.name == name && not_ready.count(pod.node); });
  });
}

TEST(PlannerPropertyTest, FeedingThePlanBackChangesNothing) {
  for_each_cluster([](const PlanInput& in, Random&) {
    Violations v;
    Plan first = plan(in);
    if (first.hold) return v;
    PlanInput next = after(in, first);
    Plan second = plan(next);
    // Make before break: a reflector on a NotReady host goes one round after its replacement is Ready.
    if (deletes_only_stranded(next, second)) {
      next = after(next, second);
      first = std::move(second);
      second = plan(next);
    }
    for (const auto& d : second.pods) {
      if (!is_input_pod(next, d.name)) v.push_back("creates " + d.name + " on " + d.node + " again");
    }
    for (const auto& name : second.pods_to_delete) v.push_back("deletes " + name);
    if (second.pods != first.pods) v.push_back("the desired Pods change");
    return v;
  });
}

}  // namespace
}  // namespace rr::planner
