#include "planner/planner.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include <arpa/inet.h>

#include "planner/ipv4.h"
#include "planner/names.h"

namespace rr::planner {
namespace {

// A rack, or a zone's top tier: the unit that gets reflectors and a cluster ID.
struct RackWork {
  // A rack's: its fabric nodes (the clients). A top tier's: the candidate hosts in its zone
  // (matching spec.topTier.nodeSelector and the fabric's scope).
  std::vector<const NodeInfo*> nodes;
  std::vector<const ReflectorPod*> pods;       // owned reflector pods
  std::string cluster_id;
  bool top = false;
  bool serving = false;  // a top tier: the spec asks for it and its zone has racks
};

// Each reflector Pod's host (null: no such Node any more), looked up once per reconcile.
using PodHosts = std::unordered_map<std::string_view, const NodeInfo*>;

bool pod_dead(const ReflectorPod& pod, const ReflectorLease* lease, const PodHosts& hosts) {
  if (pod.phase == PodPhase::Failed || pod.phase == PodPhase::Succeeded) return true;
  if (pod.lapsed || (lease && lease->expired)) return true;
  if (pod.node.empty()) return false;
  auto it = hosts.find(pod.node);
  return it == hosts.end() || it->second == nullptr;
}

ReflectorState state_of(const ReflectorPod& pod, const ReflectorLease* lease) {
  if (pod.deleting) return ReflectorState::Terminating;
  if (pod.lapsed || (lease && lease->expired)) return ReflectorState::Lapsed;
  // Ready by both measures: its own renewals, and the kubelet's readiness probe (BIRD up and
  // configured). A fresh Lease alone already earns a peer, not Ready.
  if (lease && lease->fresh && pod.ready) return ReflectorState::Ready;
  if (pod.phase == PodPhase::Running) return ReflectorState::Starting;
  return ReflectorState::Pending;
}

// What the kubelet reports, never the Lease: the agent writes its Lease, and a compromised
// one could name any address there and point the whole rack's BGPPeers at it.
std::string address_of(const ReflectorPod& pod) { return pod.host_ip; }

bool is_ipv6_literal(const std::string& address) {
  in6_addr bytes{};
  return address.find(':') != std::string::npos && inet_pton(AF_INET6, address.c_str(), &bytes) == 1;
}

// The BGPPeers of a live reflector: its IPv4 one (the kubelet's status.hostIP) and, in a
// dual-stack fabric, "<pod>-v6" at the IPv6 address the Pod was created with (its agent
// listens there, whatever the Node says now).
void add_peers(const FabricSpec& spec, const std::string& rack, const ReflectorPod& pod, std::vector<DesiredPeer>& out) {
  const std::string selector = client_selector(spec, rack, pod.node);
  out.push_back(DesiredPeer{pod.name, pod.name, rack, selector, peer_ip(address_of(pod), spec.port), spec.as_number,
                            spec.bgp.password});
  if (spec.bgp.ipv6 && !pod.host_ipv6.empty()) {
    out.push_back(DesiredPeer{ipv6_peer_name(pod.name), pod.name, rack, selector, peer_ip(pod.host_ipv6, spec.port),
                              spec.as_number, spec.bgp.password});
  }
}

Condition condition(std::string type, bool status, Reason reason, std::string message) {
  return Condition{std::move(type), status, reason, std::move(message)};
}

std::string join_problems(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) out += "; ";
    out += p.field + ": " + p.message;
  }
  return out;
}

std::vector<Condition> stopped(Reason reason, const std::string& message) {
  return {condition("Ready", false, reason, message), condition("Progressing", false, reason, message),
          condition("Degraded", true, reason, message)};
}

Plan hold(Plan plan, Reason reason) {
  plan.hold = true;
  plan.pods.clear();
  plan.pods_to_delete.clear();
  plan.peers.clear();
  plan.node_to_node_mesh.reset();
  plan.conditions = stopped(reason, join_problems(plan.problems) + " (nothing running was changed)");
  return plan;
}

// The next address of `pool` from `cursor` on that is not `taken` (taking it), nullopt when the
// pool has none left: how racks and top tiers get new cluster IDs.
std::optional<std::string> take_next(const Ipv4Pool& pool, std::uint32_t& cursor, std::set<std::uint32_t>& taken) {
  while (cursor <= pool.last() && cursor != 0 && taken.count(cursor)) ++cursor;
  if (cursor > pool.last() || cursor == 0) return std::nullopt;
  taken.insert(cursor);
  return format_ipv4(cursor++);
}

// What a top tier's Pod names are made from: "top:" + zone. No rack label value holds ':', so
// it never meets a rack's.
std::string top_tier_group(const std::string& zone) { return "top:" + zone; }

}  // namespace

Plan held(Reason reason, const std::string& message) {
  Plan plan;
  plan.hold = true;
  plan.conditions = stopped(reason, message + " (nothing running was changed)");
  return plan;
}

Plan namespace_not_found(Plan plan, const FabricSpec& spec) {
  plan.problems = {{"spec.namespace", "namespace \"" + spec.ns +
                                          "\" does not exist, so no reflector Pod can be created there; create it "
                                          "(rr-operator does not)"}};
  std::vector<Condition> conditions = stopped(Reason::kNamespaceNotFound, join_problems(plan.problems));
  for (auto& c : plan.conditions) {
    if (c.type == "MeshDisabled") conditions.push_back(std::move(c));
  }
  plan.conditions = std::move(conditions);
  return plan;
}

namespace {

// `plan`, applied, but degraded by a problem of `field`: Ready is False and Degraded True for `reason`.
Plan degraded_by(Plan plan, const std::string& field, Reason reason, const std::string& message) {
  plan.problems.push_back({field, message});
  const std::string text = join_problems(plan.problems);
  for (auto& c : plan.conditions) {
    if (c.type == "Ready") c = condition("Ready", false, reason, text);
    if (c.type == "Degraded") c = condition("Degraded", true, reason, text);
  }
  return plan;
}

}  // namespace

Plan agent_secrets_not_granted(Plan plan, const std::string& message) {
  return degraded_by(std::move(plan), "passwordSecretRef", Reason::kAgentSecretsNotGranted, message);
}

Plan calico_passwords_not_copied(Plan plan, const std::string& message) {
  return degraded_by(std::move(plan), "spec.bgp.passwordSecretRef", Reason::kCalicoPasswordsNotCopied, message);
}

bool tolerates(const std::vector<Toleration>& tolerations, const Taint& taint) {
  if (taint.effect == "PreferNoSchedule") return true;  // a preference, never a barrier
  for (const auto& t : tolerations) {
    if (!t.effect.empty() && t.effect != taint.effect) continue;
    if (t.op == "Exists") {
      if (t.key.empty() || t.key == taint.key) return true;
    } else if (t.key == taint.key && t.value == taint.value) {
      return true;
    }
  }
  return false;
}

std::string host_ipv6_of(const NodeInfo& node) {
  if (is_ipv6_literal(node.internal_ipv6)) return node.internal_ipv6;
  if (is_ipv6_literal(node.bgp_ipv6)) return node.bgp_ipv6;
  return {};
}

std::string ipv6_peer_name(const std::string& pod) { return pod + "-v6"; }

LabelKeys node_label_keys(const FabricSpec& spec) {
  LabelKeys keys{kCalicoNodeLabel, spec.rack_label};
  for (const auto& [key, value] : spec.node_selector) keys.insert(key);
  for (const auto& [key, value] : spec.reflector_node_selector) keys.insert(key);
  if (spec.top_tier) {
    if (!spec.top_tier->zone_label.empty()) keys.insert(spec.top_tier->zone_label);
    for (const auto& [key, value] : spec.top_tier->node_selector) keys.insert(key);
  }
  return keys;
}

bool eligible_host(const FabricSpec& spec, const std::string& rack, const NodeInfo& node) {
  auto it = node.labels.find(spec.rack_label);
  if (it == node.labels.end() || it->second != rack) return false;
  if (!node.ready || node.unschedulable) return false;
  if (spec.bgp.ipv6 && host_ipv6_of(node).empty()) return false;  // its reflector could not serve IPv6
  if (!labels_match(spec.node_selector, node.labels)) return false;  // within the fabric's scope
  if (!labels_match(spec.reflector_node_selector, node.labels)) return false;
  for (const auto& taint : node.taints) {
    if (!tolerates(spec.tolerations, taint)) return false;
  }
  return true;
}

bool eligible_top_host(const FabricSpec& spec, const std::string& zone, const NodeInfo& node) {
  if (!spec.top_tier) return false;
  if (!spec.top_tier->zone_label.empty()) {
    auto it = node.labels.find(spec.top_tier->zone_label);
    if (it == node.labels.end() || it->second != zone) return false;
  }
  if (!node.ready || node.unschedulable) return false;
  if (spec.bgp.ipv6 && host_ipv6_of(node).empty()) return false;
  if (!labels_match(spec.node_selector, node.labels)) return false;
  if (!labels_match(spec.top_tier->node_selector, node.labels)) return false;
  for (const auto& taint : node.taints) {
    if (!tolerates(spec.tolerations, taint)) return false;
  }
  return true;
}

std::string zone_of_rack(const FabricSpec& spec, const std::vector<const NodeInfo*>& rack_nodes) {
  if (!spec.top_tier || spec.top_tier->zone_label.empty()) return {};
  return contract::zone_of(rack_nodes, spec.top_tier->zone_label);
}

// Every selected node of the rack. A Colocated reflector's own host is one of
// them: its calico-node (port 179) peers with the reflector beside it (another
// port, another router ID); a Dedicated host runs no calico-node BGP.
std::string client_selector(const FabricSpec& spec, const std::string& rack, const std::string& /*host*/) {
  std::string s = spec.rack_label + " == '" + rack + "'";
  for (const auto& [k, v] : spec.node_selector) s += " && " + k + " == '" + v + "'";
  return s;
}

// One message for the mesh turned off and for the mesh off: the condition a fabric reports
// does not change (nor is written again) when the cluster's setting catches up with it.
constexpr char kAllNodesCoveredMessage[] = "every Calico node is served by reflectors: Calico's node-to-node mesh is off";

MeshDecision decide_mesh(const std::vector<std::shared_ptr<const NodeInfo>>& nodes,
                         const std::vector<FabricCoverage>& fabrics, bool mesh_enabled) {
  // Views of the NodeInfos' names: a reconcile of 100,000 waiting nodes copies none of them.
  std::vector<std::string_view> unclaimed, unserved, waiting;  // selected by no fabric / no reflector / not Ready
  int covered = 0;
  for (const auto& node : nodes) {
    auto calico = node->labels.find(kCalicoNodeLabel);
    if (calico != node->labels.end() && calico->second == "false") continue;
    bool host = false, claimed = false, served = false, ready = false;
    for (const auto& f : fabrics) {
      if (f.reflector_hosts.count(node->name)) host = true;
      if (!labels_match(f.node_selector, node->labels)) continue;
      auto rack = node->labels.find(f.rack_label);
      if (rack == node->labels.end() || rack->second.empty()) continue;
      claimed = true;
      if (!f.served_racks.count(rack->second)) continue;
      served = true;
      ready = ready || f.ready;
    }
    if (host) continue;
    if (!claimed) {
      unclaimed.push_back(node->name);
    } else if (!served) {
      unserved.push_back(node->name);
    } else if (!ready) {
      waiting.push_back(node->name);
    } else {
      ++covered;
    }
  }
  auto name_some = [](std::vector<std::string_view> names) {
    const auto some = std::min<std::size_t>(names.size(), 3);
    std::partial_sort(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(some), names.end());
    return std::vector<std::string>(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(some));
  };
  auto listing = [](const std::vector<std::string>& some, std::size_t count) {
    std::string out;
    for (const auto& n : some) out += (out.empty() ? "" : ", ") + n;
    if (count > some.size()) out += ", ...";
    return out;
  };
  MeshDecision d;
  if (!mesh_enabled) {
    // Off: only a node with no reflector at all brings it back (its routes depend on it).
    std::vector<std::string_view> lost = unclaimed;
    lost.insert(lost.end(), unserved.begin(), unserved.end());
    if (lost.empty()) {
      d.disabled = true;
      d.reason = Reason::kAllNodesCovered;
      d.message = kAllNodesCoveredMessage;
      return d;
    }
    d.set_enabled = true;
    d.reason = Reason::kUncoveredNodes;
    d.uncovered = static_cast<int>(lost.size());
    d.examples = name_some(lost);
    d.message = std::to_string(lost.size()) + " Calico nodes have no reflector (" + listing(d.examples, lost.size()) +
                "): Calico's node-to-node mesh is turned back on";
    return d;
  }
  const std::size_t holding = unclaimed.size() + unserved.size() + waiting.size();
  const bool any_ready = std::any_of(fabrics.begin(), fabrics.end(), [](const auto& f) { return f.ready; });
  if (holding == 0 && (covered > 0 || any_ready)) {
    d.set_enabled = false;
    d.disabled = true;
    d.reason = Reason::kAllNodesCovered;
    d.message = kAllNodesCoveredMessage;
    return d;
  }
  d.uncovered = static_cast<int>(holding);
  if (!unclaimed.empty()) {
    d.reason = Reason::kUncoveredNodes;
    d.examples = name_some(unclaimed);
    d.message = std::to_string(unclaimed.size()) +
                " Calico nodes are selected by no fabric (no fabric's nodeSelector and rackLabel match them): " +
                listing(d.examples, unclaimed.size()) + "; Calico's node-to-node mesh stays on";
  } else {
    std::vector<std::string_view> pending = unserved;
    pending.insert(pending.end(), waiting.begin(), waiting.end());
    d.reason = Reason::kWaitingForReflectors;
    d.examples = name_some(pending);
    d.message = holding == 0 ? "no fabric is Ready yet; Calico's node-to-node mesh stays on"
                             : std::to_string(holding) + " Calico nodes wait for their rack's reflectors to be Ready (" +
                                   listing(d.examples, holding) + "); Calico's node-to-node mesh stays on";
  }
  return d;
}

std::string peer_ip(const std::string& address, int port) {
  bool v6 = address.find(':') != std::string::npos;
  if (port == 179) return address;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

namespace {

// One rack's placement in the making (Planning::place_reflectors).
struct RackPlacement {
  RackPlacement(const std::string& name, RackWork& w, bool drained_now)
      : rack(name), work(w), drained(drained_now), no_id(w.cluster_id.empty()) {}
  const std::string& rack;  // a top tier's: its zone
  RackWork& work;
  // No node of the fabric is in the rack any more; a top tier: not asked for, or its zone
  // has no rack left.
  const bool drained;
  const bool no_id;    // the pool ran out before this rack
  RackStatus status;
  std::vector<const ReflectorPod*> kept;
  std::vector<const ReflectorPod*> stranded;  // alive on a NotReady host: replaced before removed
  int returning = 0;  // healthy ones terminating on a still-eligible host: they come back there
  // A top tier the spec no longer asks for, kept until the racks' flat mesh is complete.
  bool holding = false;
};

// One plan in the making: its input, and what its phases hand each other.
struct Planning {
  explicit Planning(const PlanInput& input) : in(input), spec(input.spec) {}

  // Problems of the spec alone that the schema cannot catch: they hold everything.
  std::vector<Problem> spec_problems();
  // The fabric's racks: its nodes by rack label, its reflector Pods by rack, Leases by name.
  void gather_racks();
  // Conflicts with older fabrics (pools, racks, nodes): the younger fabric holds.
  std::vector<Problem> conflicts() const;
  // Cluster IDs: live Pods' first (status may be lost), then the recorded status, then new
  // ones from the pool; racks the pool has no room for get none (`exhausted`).
  void assign_cluster_ids();
  // spec.topTier: the zones with racks get a top tier (per zone, or one for the fabric), with
  // candidate hosts and cluster IDs from the top tier's pool; racks without a zone are named.
  void gather_top_tier();
  void assign_top_tier_ids();
  // Whether every rack reflector carries all its sessions: a top tier the spec dropped waits
  // for it (the flat mesh carries the routes before the top tier goes).
  bool racks_complete() const;
  // One rack: keep live reflectors, replace dead ones, fill empty slots; its peers and status.
  // In steps, each over the rack's RackPlacement:
  void place_reflectors(const std::string& rack, RackWork& work);
  // Each reflector Pod kept, stranded on a NotReady host, returning to its host, or removed.
  void sort_reflectors(RackPlacement& r);
  // Fewer reflectors wanted than kept: the not-ready ones go first, then the last by name.
  void scale_down(RackPlacement& r);
  // The kept ones stay; those renewing their Lease at a known address get their BGPPeers.
  void keep_reflectors(RackPlacement& r);
  // Empty slots get new reflectors on free eligible hosts, the rack's former hosts first.
  void fill_slots(RackPlacement& r);
  // Make before break for the stranded ones.
  void replace_stranded(RackPlacement& r);
  // The rack's status, and its share of the fabric's totals.
  void rack_status(RackPlacement& r);
  void terminate(RackPlacement& r, const ReflectorPod& p);
  // The Pod that keeps `p` where it is (a rack's with the rack's cluster ID; a top tier's as is).
  DesiredPod desired(const RackPlacement& r, const ReflectorPod& p) const;
  // Ready, Progressing and Degraded, from what placement found.
  void fabric_status();
  // Calico's node-to-node mesh: decided for the whole cluster, this fabric included.
  void mesh_decision();

  // Whether `host`, one of the group's nodes, may host one of its reflectors now.
  bool eligible_in(const RackPlacement& r, const std::string& host) const;
  bool eligible_node(const RackPlacement& r, const NodeInfo& node) const {
    return r.work.top ? eligible_top_host(spec, r.rack, node) : eligible_host(spec, r.rack, node);
  }

  const ReflectorLease* lease_of(const ReflectorPod& p) const {
    auto it = leases.find(p.name);
    return it == leases.end() ? nullptr : it->second;
  }
  // Dual stack: a reflector's Pod carries its host's IPv6 address as the Node reports it now;
  // a change there rolls the Pod (its spec hash changes). A host gone keeps what the Pod has.
  std::string desired_ipv6(const ReflectorPod& p) const;

  const PlanInput& in;
  const FabricSpec& spec;
  Plan out;
  std::optional<Ipv4Pool> pool;
  PodHosts hosts;  // views into in.pods and in.nodes
  std::map<std::string, RackWork> racks;
  std::map<std::string, RackWork> tops;  // by zone ("" = the fabric's one top tier)
  std::optional<Ipv4Pool> top_pool;
  std::vector<const ReflectorPod*> pods;  // sorted by name
  std::map<std::string, const ReflectorLease*> leases;
  std::map<std::string, std::set<std::string>> recorded_hosts;  // where each rack's reflectors were
  std::map<std::string, std::set<std::string>> recorded_top_hosts;  // ... and each top tier's, by zone
  // A host is busy while any reflector of this fabric still runs there, even one being deleted
  // now or one of another rack (a node relabelled between racks).
  std::set<std::string> busy_hosts;
  std::vector<Problem> exhausted;  // racks without a cluster ID
  std::vector<Problem> degraded;   // racks short of eligible hosts
  std::vector<Problem> zoneless;   // spec.topTier.zoneLabel missing on a rack's nodes
  bool changes = false;
};

std::vector<Problem> Planning::spec_problems() {
  std::vector<Problem> problems;
  pool = Ipv4Pool::parse(spec.cluster_id_pool);
  const bool pool_ok = pool && pool->prefix >= 8 && pool->prefix <= 30;  // the CRD's pattern allows /8 to /30
  if (!pool_ok) {
    problems.push_back({"spec.clusterIDPool", "\"" + spec.cluster_id_pool + "\" is not an IPv4 CIDR of /8 to /30"});
  }
  if (pool_ok) {
    auto given = parse_ipv4(spec.cluster_id_pool.substr(0, spec.cluster_id_pool.find('/')));
    if (given && *given != pool->network) {
      problems.push_back({"spec.clusterIDPool", "\"" + spec.cluster_id_pool + "\" has host bits set; did you mean " +
                                                        format_ipv4(pool->network) + "/" + std::to_string(pool->prefix) +
                                                        "?"});
    }
  }
  if (spec.top_tier) {
    top_pool = Ipv4Pool::parse(spec.top_tier->cluster_id_pool);
    if (!top_pool || top_pool->prefix < 8 || top_pool->prefix > 30) {
      top_pool.reset();
      problems.push_back({"spec.topTier.clusterIDPool",
                          "\"" + spec.top_tier->cluster_id_pool + "\" is not an IPv4 CIDR of /8 to /30"});
    } else if (pool_ok && pool->overlaps(*top_pool)) {
      problems.push_back({"spec.topTier.clusterIDPool",
                          spec.top_tier->cluster_id_pool + " overlaps spec.clusterIDPool " + spec.cluster_id_pool});
    }
  }
  if (spec.bgp.keepalive_seconds >= spec.bgp.hold_time_seconds) {
    problems.push_back({"spec.bgp.keepaliveSeconds", "must be less than spec.bgp.holdTimeSeconds (" +
                                                             std::to_string(spec.bgp.hold_time_seconds) + ")"});
  }
  if (spec.placement == Placement::Colocated && (spec.port == 179 || spec.port == 178)) {
    problems.push_back({"spec.reflectors.port", "Colocated reflectors share hosts with calico-node, which listens "
                                                    "on 179, and mesh one port up: choose another port"});
  } else if (spec.placement == Placement::Colocated && spec.port > 65534) {
    problems.push_back({"spec.reflectors.port", "Colocated reflectors mesh one port up (" +
                                                        std::to_string(spec.port + 1) + "): choose a port below 65535"});
  }
  auto check_secret = [&](const std::optional<SecretKeyRef>& ref, const std::string& field) {
    if (!ref || in.secret_keys.count(ref->name + "/" + ref->key)) return;
    const std::string secret = "Secret " + spec.ns + "/" + ref->name;
    auto unreadable = in.unreadable_secrets.find(ref->name);
    problems.push_back({field, unreadable != in.unreadable_secrets.end()
                                       ? secret + " " + unreadable->second
                                       : secret + " has no key \"" + ref->key + "\""});
  };
  check_secret(spec.bgp.password, "spec.bgp.passwordSecretRef");
  for (size_t i = 0; i < spec.external_peers.size(); ++i) {
    check_secret(spec.external_peers[i].password, "spec.externalPeers[" + std::to_string(i) + "].passwordSecretRef");
  }
  return problems;
}

void Planning::gather_racks() {
  // Only the Pods' hosts are looked up: no set of every node's name.
  for (const auto& p : in.pods) {
    if (!p.node.empty()) hosts.emplace(p.node, nullptr);
  }
  for (const auto& n : in.nodes) {
    if (auto it = hosts.find(n->name); it != hosts.end()) it->second = n.get();
  }
  for (const auto& node : in.nodes) {
    if (!labels_match(spec.node_selector, node->labels)) continue;
    auto rack = node->labels.find(spec.rack_label);
    if (rack == node->labels.end() || rack->second.empty()) continue;
    racks[rack->second].nodes.push_back(node.get());
  }
  for (auto& [rack, work] : racks) {
    std::sort(work.nodes.begin(), work.nodes.end(), [](auto* a, auto* b) { return a->name < b->name; });
  }
  for (const auto& p : in.pods) pods.push_back(&p);
  std::sort(pods.begin(), pods.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (const auto* p : pods) {
    if (p->tier == Tier::Top) {
      tops[p->zone].top = true;
      tops[p->zone].pods.push_back(p);
    } else {
      racks[p->rack].pods.push_back(p);
    }
  }
  for (const auto* p : pods) {
    if (!p->node.empty()) busy_hosts.insert(p->node);
  }
  for (const auto& l : in.leases) leases[l.name] = &l;
}

std::string Planning::desired_ipv6(const ReflectorPod& p) const {
  if (!spec.bgp.ipv6) return {};
  auto it = hosts.find(p.node);
  return it != hosts.end() && it->second != nullptr ? host_ipv6_of(*it->second) : p.host_ipv6;
}

std::vector<Problem> Planning::conflicts() const {
  std::vector<Problem> problems;
  for (const auto& other : in.older_fabrics) {
    // Every pool of this fabric against every pool of the older one: a cluster ID in two fabrics
    // would make each drop the other's reflected routes.
    const std::pair<std::string, std::optional<Ipv4Pool>> ours[] = {{"spec.clusterIDPool", pool},
                                                                     {"spec.topTier.clusterIDPool", top_pool}};
    for (const auto& [field, mine] : ours) {
      if (!mine) continue;
      for (const std::string& theirs : {other.cluster_id_pool, other.top_tier_cluster_id_pool}) {
        auto other_pool = Ipv4Pool::parse(theirs);
        if (other_pool && mine->overlaps(*other_pool)) {
          problems.push_back({field, (field == "spec.clusterIDPool" ? spec.cluster_id_pool
                                                                    : spec.top_tier->cluster_id_pool) +
                                         " overlaps " + theirs + " of RouteReflectorCluster " + other.name});
        }
      }
    }
    for (const auto& [rack, work] : racks) {
      if (work.nodes.empty()) continue;
      if (other.racks.count(rack)) {
        problems.push_back({"spec.rackLabel", "rack \"" + rack + "\" belongs to RouteReflectorCluster " + other.name});
      }
      for (const auto* node : work.nodes) {
        if (other.nodes.count(node->name)) {
          problems.push_back(
              {"spec.nodeSelector", "node " + node->name + " belongs to RouteReflectorCluster " + other.name});
          break;
        }
      }
    }
  }
  return problems;
}

void Planning::assign_cluster_ids() {
  std::set<std::uint32_t> taken;
  for (const auto& other : in.older_fabrics) {
    for (const auto& id : other.cluster_ids) {
      if (auto a = parse_ipv4(id)) taken.insert(*a);
    }
  }
  std::map<std::string, std::string> recorded;
  for (const auto& r : in.recorded) {
    recorded[r.rack] = r.cluster_id;
    recorded_hosts[r.rack].insert(r.hosts.begin(), r.hosts.end());
  }
  for (auto& [rack, work] : racks) {
    std::map<std::string, int> votes;
    for (const auto* p : work.pods) {
      if (parse_ipv4(p->cluster_id)) ++votes[p->cluster_id];
    }
    if (!votes.empty()) {
      auto best = std::max_element(votes.begin(), votes.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
      auto a = *parse_ipv4(best->first);
      if (!taken.count(a)) {
        work.cluster_id = best->first;
        taken.insert(a);
      }
    }
  }
  for (auto& [rack, work] : racks) {
    if (!work.cluster_id.empty()) continue;
    auto it = recorded.find(rack);
    if (it == recorded.end()) continue;
    auto a = parse_ipv4(it->second);
    if (a && pool->contains(*a) && !taken.count(*a)) {
      work.cluster_id = it->second;
      taken.insert(*a);
    }
  }
  // An exhausted pool holds nothing: racks with an ID keep running, the others get no reflectors.
  std::uint32_t cursor = pool->first() + 1;
  std::vector<std::string> without_id;  // sorted: racks is a map
  for (auto& [rack, work] : racks) {
    if (!work.cluster_id.empty() || work.nodes.empty()) continue;
    if (auto id = take_next(*pool, cursor, taken)) {
      work.cluster_id = *id;
    } else {
      without_id.push_back(rack);
    }
  }
  if (!without_id.empty()) {
    std::string names;
    for (const auto& r : without_id) names += (names.empty() ? "" : ", ") + r;
    exhausted.push_back({"spec.clusterIDPool", spec.cluster_id_pool + " has room for " +
                                                   std::to_string(pool->capacity()) + " racks; racks " + names +
                                                   " have no cluster ID and get no reflectors (widen the pool)"});
  }
}

bool Planning::eligible_in(const RackPlacement& r, const std::string& host) const {
  const auto& nodes = r.work.nodes;  // sorted by name
  auto it = std::lower_bound(nodes.begin(), nodes.end(), host,
                             [](const NodeInfo* n, const std::string& name) { return n->name < name; });
  return it != nodes.end() && (*it)->name == host && eligible_node(r, **it);
}

void Planning::gather_top_tier() {
  if (!spec.top_tier) return;
  std::vector<std::string> without_zone;
  for (const auto& [rack, work] : racks) {
    if (work.nodes.empty()) continue;
    std::string zone = zone_of_rack(spec, work.nodes);
    if (zone.empty() && !spec.top_tier->zone_label.empty()) {
      without_zone.push_back(rack);
      continue;
    }
    RackWork& top = tops[zone];
    top.top = true;
    top.serving = true;
  }
  if (!without_zone.empty()) {
    std::string names;
    for (std::size_t i = 0; i < without_zone.size() && i < 5; ++i) names += (i ? ", " : "") + without_zone[i];
    if (without_zone.size() > 5) names += ", ...";
    zoneless.push_back({"spec.topTier.zoneLabel", "no node of racks " + names + " carries " +
                                                      spec.top_tier->zone_label +
                                                      ": they have no top tier and stay in the flat mesh with "
                                                      "every rack reflector"});
  }
  // Candidate hosts: one pass over the nodes, each to its zone's top tier.
  for (const auto& node : in.nodes) {
    if (!labels_match(spec.top_tier->node_selector, node->labels)) continue;
    std::string zone;
    if (!spec.top_tier->zone_label.empty()) {
      auto it = node->labels.find(spec.top_tier->zone_label);
      if (it == node->labels.end()) continue;
      zone = it->second;
    }
    auto top = tops.find(zone);
    if (top != tops.end() && top->second.serving) top->second.nodes.push_back(node.get());
  }
  for (auto& [zone, work] : tops) {
    std::sort(work.nodes.begin(), work.nodes.end(), [](auto* a, auto* b) { return a->name < b->name; });
  }
}

void Planning::assign_top_tier_ids() {
  for (const auto& r : in.recorded_top_tier) recorded_top_hosts[r.rack].insert(r.hosts.begin(), r.hosts.end());
  if (!top_pool) return;  // no top tier asked for: the ones left keep their Pods' IDs until they go
  std::set<std::uint32_t> taken;
  for (const auto& other : in.older_fabrics) {
    for (const auto& id : other.cluster_ids) {
      if (auto a = parse_ipv4(id)) taken.insert(*a);
    }
  }
  for (auto& [zone, work] : tops) {
    if (!work.serving) continue;
    for (const auto* p : work.pods) {  // the first live one's: a top tier's Pods share one ID
      auto a = parse_ipv4(p->cluster_id);
      if (a && top_pool->contains(*a) && !taken.count(*a)) {
        work.cluster_id = p->cluster_id;
        taken.insert(*a);
        break;
      }
    }
  }
  for (const auto& r : in.recorded_top_tier) {
    auto it = tops.find(r.rack);
    if (it == tops.end() || !it->second.serving || !it->second.cluster_id.empty()) continue;
    auto a = parse_ipv4(r.cluster_id);
    if (a && top_pool->contains(*a) && !taken.count(*a)) {
      it->second.cluster_id = r.cluster_id;
      taken.insert(*a);
    }
  }
  std::uint32_t cursor = top_pool->first() + 1;
  std::vector<std::string> without_id;
  for (auto& [zone, work] : tops) {
    if (!work.serving || !work.cluster_id.empty()) continue;
    if (auto id = take_next(*top_pool, cursor, taken)) {
      work.cluster_id = *id;
    } else {
      without_id.push_back(zone);
    }
  }
  if (!without_id.empty()) {
    exhausted.push_back({"spec.topTier.clusterIDPool", spec.top_tier->cluster_id_pool + " has room for " +
                                                           std::to_string(top_pool->capacity()) + " zones; " +
                                                           std::to_string(without_id.size()) +
                                                           " zones have no top tier (widen the pool)"});
  }
}

bool Planning::racks_complete() const {
  for (const auto& rack : out.racks) {
    if (rack.reflectors_ready < rack.reflectors_wanted) return false;
    for (const auto& r : rack.reflectors) {
      if (r.state != ReflectorState::Ready) continue;
      if (r.sessions_total == 0 || r.sessions_established < r.sessions_total) return false;
      // Counts from before the agent configured this generation prove nothing about the flat mesh.
      auto lease = leases.find(r.pod);
      if (lease == leases.end() || lease->second->observed_generation < spec.generation) return false;
    }
  }
  return true;
}

void Planning::place_reflectors(const std::string& rack, RackWork& work) {
  // A top tier the spec dropped goes once the flat mesh carries every route; until then it stays.
  const bool unwanted = work.top ? !work.serving : work.nodes.empty();
  const bool holding = work.top && unwanted && !work.pods.empty() && !racks_complete();
  RackPlacement r{rack, work, unwanted && !holding};
  r.holding = holding;
  changes = changes || holding;
  r.status.name = rack;
  r.status.cluster_id = work.cluster_id;
  r.status.nodes = work.top ? 0 : static_cast<int>(work.nodes.size());
  r.status.reflectors_wanted = unwanted ? 0 : work.top ? spec.top_tier->per_zone : spec.per_rack;
  sort_reflectors(r);
  scale_down(r);
  keep_reflectors(r);
  fill_slots(r);
  replace_stranded(r);
  rack_status(r);
}

void Planning::sort_reflectors(RackPlacement& r) {
  for (const auto* p : r.work.pods) {
    const ReflectorLease* lease = lease_of(*p);
    bool remove = false;
    auto state = state_of(*p, lease);
    if (p->deleting) {
      // Its host stays busy until it is gone. A rollout or a kubectl delete of a healthy
      // reflector keeps its slot for that host (same name, same BGPPeer); a dead or evicted one
      // is replaced elsewhere at once.
      if (!r.drained && !pod_dead(*p, lease, hosts) && eligible_in(r, p->node)) {
        ++r.returning;
      }
    } else if (r.holding) {
      r.kept.push_back(p);
    } else if (r.drained || r.no_id || pod_dead(*p, lease, hosts) || p->cluster_id != r.work.cluster_id) {
      remove = true;
      state = ReflectorState::Terminating;
    } else if (auto host = hosts.find(p->node); host != hosts.end() && host->second && !host->second->ready) {
      // Not replaced before its host has stayed NotReady for the grace (a kube-apiserver
      // outage makes hosts NotReady for a moment): until then it is kept as it is.
      if (in.hosts_not_ready_within_grace.count(p->node)) {
        r.kept.push_back(p);
      } else {
        r.stranded.push_back(p);
      }
      state = ReflectorState::HostNotReady;
    } else {
      r.kept.push_back(p);
    }
    if (remove) out.pods_to_delete.push_back(p->name);
    r.status.reflectors.push_back(ReflectorStatus{p->name, p->node, address_of(*p), state,
                                                  lease ? lease->sessions_established : 0,
                                                  lease ? lease->sessions_total : 0,
                                                  spec.bgp.ipv6 ? p->host_ipv6 : std::string()});
  }
}

void Planning::terminate(RackPlacement& r, const ReflectorPod& p) {
  out.pods_to_delete.push_back(p.name);
  for (auto& s : r.status.reflectors) {
    if (s.pod == p.name) s.state = ReflectorState::Terminating;
  }
}

void Planning::scale_down(RackPlacement& r) {
  // Drop not-ready ones first, then the last by name.
  if (r.holding || static_cast<int>(r.kept.size()) <= r.status.reflectors_wanted) return;
  std::stable_sort(r.kept.begin(), r.kept.end(), [&](auto* a, auto* b) {
    auto* la = lease_of(*a);
    auto* lb = lease_of(*b);
    bool ra = la && la->fresh, rb = lb && lb->fresh;
    if (ra != rb) return ra;
    return a->name < b->name;
  });
  while (static_cast<int>(r.kept.size()) > r.status.reflectors_wanted) {
    terminate(r, *r.kept.back());
    r.kept.pop_back();
  }
}

DesiredPod Planning::desired(const RackPlacement& r, const ReflectorPod& p) const {
  if (r.work.top) {
    // A top tier the spec dropped has no pool to take IDs from: its Pods keep theirs until they go.
    const std::string& id = r.work.cluster_id.empty() ? p.cluster_id : r.work.cluster_id;
    return DesiredPod{p.name, "", p.node, id, desired_ipv6(p), Tier::Top, r.rack};
  }
  return DesiredPod{p.name, r.rack, p.node, r.work.cluster_id, desired_ipv6(p)};
}

void Planning::keep_reflectors(RackPlacement& r) {
  for (const auto* p : r.kept) {
    out.pods.push_back(desired(r, *p));
    const ReflectorLease* lease = lease_of(*p);
    if (lease && lease->fresh && !address_of(*p).empty()) {
      if (p->ready && !r.holding) ++r.status.reflectors_ready;
      if (!r.work.top) add_peers(spec, r.rack, *p, out.peers);  // a top tier serves reflectors, not nodes
    }
  }
}

void Planning::fill_slots(RackPlacement& r) {
  int missing = r.status.reflectors_wanted - static_cast<int>(r.kept.size()) - r.returning;
  if (missing <= 0 || r.no_id) return;
  // Eligible hosts are a subset of the rack's own nodes (already sorted by name):
  // scanning only those keeps a first plan of many racks linear, not quadratic.
  std::vector<const NodeInfo*> candidates;
  for (const auto* node : r.work.nodes) {
    if (!busy_hosts.count(node->name) && eligible_node(r, *node)) candidates.push_back(node);
  }
  // Hosts the rack's reflectors had first: a replaced reflector returns under its old name.
  const auto& recorded_where = r.work.top ? recorded_top_hosts : recorded_hosts;
  if (auto had = recorded_where.find(r.rack); had != recorded_where.end()) {
    std::stable_partition(candidates.begin(), candidates.end(),
                          [&](const NodeInfo* n) { return had->second.count(n->name) > 0; });
  }
  for (const auto* host : candidates) {
    if (missing == 0) break;
    std::string name = reflector_pod_name(spec.name, r.work.top ? top_tier_group(r.rack) : r.rack, host->name);
    const std::string ipv6 = spec.bgp.ipv6 ? host_ipv6_of(*host) : std::string();
    out.pods.push_back(r.work.top ? DesiredPod{name, "", host->name, r.work.cluster_id, ipv6, Tier::Top, r.rack}
                                  : DesiredPod{name, r.rack, host->name, r.work.cluster_id, ipv6});
    busy_hosts.insert(host->name);
    r.status.reflectors.push_back(ReflectorStatus{name, host->name, "", ReflectorState::Pending, 0, 0, ""});
    changes = true;
    --missing;
  }
  if (missing > 0 && r.work.top) {
    degraded.push_back({"spec.topTier.nodeSelector",
                        "the top tier of " + (r.rack.empty() ? std::string("the fabric") : "zone " + r.rack) + " has " +
                            std::to_string(candidates.size()) +
                            " free eligible hosts (Ready, schedulable, tolerated, matching the selector" +
                            (spec.bgp.ipv6 ? ", with an IPv6 address for spec.bgp.ipv6" : "") + ") for " +
                            std::to_string(missing) + " more reflectors"});
  } else if (missing > 0) {
    degraded.push_back({"spec.reflectors.nodeSelector",
                        "rack " + r.rack + " has " + std::to_string(candidates.size()) +
                            " free eligible hosts (Ready, schedulable, tolerated, matching the selector" +
                            (spec.bgp.ipv6 ? ", with an IPv6 address for spec.bgp.ipv6" : "") + ") for " +
                            std::to_string(missing) + " more reflectors"});
  }
}

void Planning::replace_stranded(RackPlacement& r) {
  // Make before break: a reflector on a NotReady host goes once every other reflector its rack
  // wants is Ready; until then it keeps its peer while its Lease is live.
  const bool rack_whole = r.status.reflectors_ready >= r.status.reflectors_wanted;
  for (const auto* p : r.stranded) {
    if (rack_whole) {
      terminate(r, *p);
      continue;
    }
    out.pods.push_back(desired(r, *p));
    const ReflectorLease* lease = lease_of(*p);
    if (lease && lease->fresh && !address_of(*p).empty() && !r.work.top) add_peers(spec, r.rack, *p, out.peers);
  }
}

void Planning::rack_status(RackPlacement& r) {
  std::sort(r.status.reflectors.begin(), r.status.reflectors.end(),
            [](const auto& a, const auto& b) { return a.pod < b.pod; });
  out.reflectors_wanted += r.status.reflectors_wanted;
  out.reflectors_ready += r.status.reflectors_ready;
  for (const auto& s : r.status.reflectors) {
    if (s.state == ReflectorState::Ready) out.sessions_established += s.sessions_established;
  }
  auto& list = r.work.top ? out.top_tier : out.racks;
  if (!r.drained || !r.status.reflectors.empty()) list.push_back(std::move(r.status));
}

void Planning::fabric_status() {
  std::sort(out.pods.begin(), out.pods.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::sort(out.pods_to_delete.begin(), out.pods_to_delete.end());
  std::sort(out.peers.begin(), out.peers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  changes = changes || !out.pods_to_delete.empty();

  bool sessions_complete = true;
  std::vector<const RackStatus*> groups;
  for (const auto& rack : out.racks) groups.push_back(&rack);
  for (const auto& top : out.top_tier) groups.push_back(&top);
  for (const RackStatus* group : groups) {
    const RackStatus& rack = *group;
    for (const auto& r : rack.reflectors) {
      if (r.state == ReflectorState::Ready && (r.sessions_total == 0 || r.sessions_established < r.sessions_total)) {
        sessions_complete = false;
      }
    }
  }
  bool all_ready = !out.racks.empty() && out.reflectors_ready == out.reflectors_wanted && out.reflectors_wanted > 0;
  for (const RackStatus* rack : groups) {
    if (rack->reflectors_wanted > 0 && rack->reflectors_ready == 0) all_ready = false;
  }

  out.problems = exhausted;
  out.problems.insert(out.problems.end(), degraded.begin(), degraded.end());
  out.problems.insert(out.problems.end(), zoneless.begin(), zoneless.end());
  std::string summary = std::to_string(out.racks.size()) + " racks, " + std::to_string(out.reflectors_ready) + "/" +
                        std::to_string(out.reflectors_wanted) + " reflectors ready, " +
                        std::to_string(out.sessions_established) + " sessions established";
  if (!out.problems.empty()) {
    // The first problem in the docs' order names the reason; the message lists them all.
    const Reason reason = !exhausted.empty() ? Reason::kClusterIDPoolExhausted
                          : !degraded.empty() ? Reason::kNoEligibleHosts
                                              : Reason::kRacksWithoutZone;
    std::string message = join_problems(out.problems);
    out.conditions = {condition("Ready", false, reason, message),
                      condition("Progressing", changes, changes ? Reason::kReflectorsChanging : Reason::kStalled, summary),
                      condition("Degraded", true, reason, message)};
  } else if (out.racks.empty()) {
    out.conditions = {condition("Ready", false, Reason::kNoRacks,
                                "no node matches spec.nodeSelector with the label " + spec.rack_label),
                      condition("Progressing", false, Reason::kNoRacks, summary),
                      condition("Degraded", true, Reason::kNoRacks, "no node matches spec.nodeSelector with the label " +
                                                                 spec.rack_label)};
  } else if (changes || !all_ready) {
    out.conditions = {condition("Ready", false, Reason::kReflectorsNotReady, summary),
                      condition("Progressing", true, Reason::kReflectorsNotReady, summary),
                      condition("Degraded", false, Reason::kAsExpected, summary)};
  } else if (!sessions_complete) {
    out.conditions = {condition("Ready", false, Reason::kSessionsNotEstablished, summary),
                      condition("Progressing", true, Reason::kSessionsNotEstablished, summary),
                      condition("Degraded", false, Reason::kAsExpected, summary)};
  } else {
    out.conditions = {condition("Ready", true, Reason::kFabricReady, summary),
                      condition("Progressing", false, Reason::kFabricReady, summary),
                      condition("Degraded", false, Reason::kAsExpected, summary)};
  }

}

void Planning::mesh_decision() {
  const bool mesh_on = in.node_to_node_mesh_enabled.value_or(true);
  if (spec.manage_node_to_node_mesh) {
    FabricCoverage self;
    self.name = spec.name;
    self.node_selector = spec.node_selector;
    self.rack_label = spec.rack_label;
    self.ready = out.conditions.front().status;  // Ready: every reflector carries all its sessions
    for (const auto& p : out.peers) self.served_racks.insert(p.rack);
    if (spec.placement == Placement::Dedicated) {
      for (const auto& p : in.pods) {
        if (!p.node.empty()) self.reflector_hosts.insert(p.node);
      }
    }
    std::vector<FabricCoverage> fabrics = in.other_fabrics;
    fabrics.push_back(std::move(self));
    out.mesh = decide_mesh(in.nodes, fabrics, mesh_on);
    out.node_to_node_mesh = out.mesh.set_enabled;
  } else {
    out.mesh.disabled = !mesh_on;
    out.mesh.reason = Reason::kNotManaged;
    out.mesh.message = "spec.manageNodeToNodeMesh is false: this fabric leaves Calico's node-to-node mesh as it is";
  }
  out.conditions.push_back(condition("MeshDisabled", out.mesh.disabled, out.mesh.reason, out.mesh.message));
}

}  // namespace

namespace {

Plan teardown(const PlanInput& in) {
  const TeardownInput& t = *in.teardown;
  Plan out;
  // The mesh comes back first, while the reflectors still carry the routes, unless the other
  // fabrics cover every Calico node without this one; its sessions come up before the BGPPeers go.
  if (in.spec.manage_node_to_node_mesh && !decide_mesh(in.nodes, in.other_fabrics, true).disabled) {
    if (!t.mesh_on) {
      out.teardown = TeardownStep::EnableMesh;
      out.node_to_node_mesh = true;
      return out;
    }
    if (!t.mesh_settled && t.peers_left) {
      out.teardown = TeardownStep::AwaitMesh;
      return out;
    }
  }
  out.teardown = t.peers_left ? TeardownStep::DeletePeers : t.pods_left ? TeardownStep::DeletePods : TeardownStep::Release;
  return out;
}

}  // namespace

Plan plan(const PlanInput& in) {
  if (in.teardown) return teardown(in);  // deletion finishes whatever the spec says
  if (in.precondition) return held(in.precondition->reason, in.precondition->message);
  Planning p(in);
  if (auto problems = p.spec_problems(); !problems.empty()) {
    p.out.problems = std::move(problems);
    return hold(std::move(p.out), Reason::kInvalidSpec);
  }
  p.gather_racks();
  if (auto problems = p.conflicts(); !problems.empty()) {
    p.out.problems = std::move(problems);
    return hold(std::move(p.out), Reason::kConflict);
  }
  p.assign_cluster_ids();
  p.gather_top_tier();
  p.assign_top_tier_ids();
  for (auto& [rack, work] : p.racks) p.place_reflectors(rack, work);
  // After the racks: a top tier the spec dropped waits for their flat mesh (racks_complete).
  for (auto& [zone, work] : p.tops) p.place_reflectors(zone, work);
  p.fabric_status();
  p.mesh_decision();
  return std::move(p.out);
}

}  // namespace rr::planner
