#pragma once
// A small DSL for planner inputs, so table cases read like the cluster they describe:
//
//   Cluster c;
//   c.rack("a", 4, /*eligible=*/2);                 // a-n0..a-n3, a-n0 and a-n1 may host reflectors
//   c.reflector("a", "a-n0", "10.255.0.1").live();  // its Pod and a fresh Lease, sessions complete
//   Plan p = plan(c.in);

#include <memory>
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "planner/names.h"
#include "planner/planner.h"
#include "planner/types.h"

namespace rr::planner::testing {

inline const std::string kRackLabel = "topology.kubernetes.io/rack";
inline const std::string kReflectorLabel = "rr.bgp.dev/reflector";

inline FabricSpec fabric(std::string name = "fab") {
  FabricSpec spec;
  spec.name = std::move(name);
  spec.uid = "uid-" + spec.name;
  spec.generation = 1;
  spec.creation_timestamp = "2024-01-01T00:00:00Z";
  return spec;
}

// A Node, Ready and schedulable, with its rack and hostname labels.
// A PlanInput node, as the controller's cache shares it.
inline std::shared_ptr<const NodeInfo> shared(NodeInfo n) { return std::make_shared<const NodeInfo>(std::move(n)); }

class NodeBuilder {
 public:
  NodeBuilder(std::string name, std::string rack) {
    n_.name = std::move(name);
    n_.ready = true;
    if (!rack.empty()) n_.labels[kRackLabel] = std::move(rack);
    n_.labels["kubernetes.io/hostname"] = n_.name;
    n_.internal_ip = "192.0.2." + std::to_string(stable_hash(n_.name) % 250 + 1);
  }
  NodeBuilder& eligible() { return label(kReflectorLabel, "true"); }
  NodeBuilder& label(const std::string& k, const std::string& v) {
    n_.labels[k] = v;
    return *this;
  }
  NodeBuilder& not_ready() {
    n_.ready = false;
    return *this;
  }
  NodeBuilder& unschedulable() {
    n_.unschedulable = true;
    return *this;
  }
  NodeBuilder& taint(std::string key, std::string value, std::string effect) {
    n_.taints.push_back(Taint{std::move(key), std::move(value), std::move(effect)});
    return *this;
  }
  NodeBuilder& ip(std::string ip) {
    n_.internal_ip = std::move(ip);
    return *this;
  }
  // A dual-stack node: the kubelet reports an IPv6 InternalIP too.
  NodeBuilder& ipv6(std::string ip) {
    n_.internal_ipv6 = std::move(ip);
    return *this;
  }
  // Calico's projectcalico.org/IPv6Address (prefix length stripped).
  NodeBuilder& calico_ipv6(std::string ip) {
    n_.bgp_ipv6 = std::move(ip);
    return *this;
  }
  NodeInfo build() const { return n_; }
  operator NodeInfo() const { return n_; }  // NOLINT: builder converts implicitly

 private:
  NodeInfo n_;
};

inline NodeBuilder node(std::string name, std::string rack) { return NodeBuilder(std::move(name), std::move(rack)); }

// A reflector Pod and (optionally) its Lease, kept in a Cluster by index so the
// builder can keep editing them after more are added.
class Cluster;
class ReflectorBuilder {
 public:
  ReflectorBuilder(Cluster& c, size_t pod, size_t lease) : c_(c), pod_(pod), lease_(lease) {}
  // Running, Ready, Lease fresh with the host's address, all sessions up.
  ReflectorBuilder& live(int sessions = 4);
  // Running, Lease fresh, but only some sessions established.
  ReflectorBuilder& sessions(int established, int total);
  // Running, Lease exists but not (yet) fresh.
  ReflectorBuilder& starting();
  // Renewing its Lease, but the kubelet does not report the Pod Ready (its /readyz fails).
  ReflectorBuilder& unready();
  ReflectorBuilder& lapsed();         // the controller's verdict on the Pod
  ReflectorBuilder& lease_expired();  // the controller's verdict on the Lease
  ReflectorBuilder& terminating();
  ReflectorBuilder& failed();
  ReflectorBuilder& no_lease();
  // The kubelet's status.hostIP, which the Lease's address annotation (the agent's) repeats.
  ReflectorBuilder& address(std::string a);
  ReflectorPod& pod();
  ReflectorLease& lease();

 private:
  Cluster& c_;
  size_t pod_;
  size_t lease_;
};

class Cluster {
 public:
  explicit Cluster(FabricSpec spec = fabric()) { in.spec = std::move(spec); }

  PlanInput in;

  // `count` nodes named <rack>-n0..; the first `eligible` may host reflectors.
  // Node i gets the address <ip_prefix><i+1> (10.0.<k>. for the k-th rack by default).
  Cluster& rack(const std::string& name, int count, int eligible, std::string ip_prefix = "") {
    ++racks_added_;
    if (ip_prefix.empty()) ip_prefix = "10.0." + std::to_string(racks_added_) + ".";
    for (int i = 0; i < count; ++i) {
      auto b = node(name + "-n" + std::to_string(i), name);
      b.ip(ip_prefix + std::to_string(i + 1));
      if (i < eligible) b.eligible();
      in.nodes.push_back(shared(b));
    }
    return *this;
  }
  Cluster& add(const NodeInfo& n) {
    in.nodes.push_back(shared(n));
    return *this;
  }
  Cluster& record(const std::string& rack, const std::string& cluster_id, std::vector<std::string> hosts = {}) {
    in.recorded.push_back({rack, cluster_id, std::move(hosts)});
    return *this;
  }
  // A reflector Pod of this fabric on `host`, named the way the planner names it,
  // Pending and without a Lease until told otherwise.
  ReflectorBuilder reflector(const std::string& rack, const std::string& host, const std::string& cluster_id) {
    ReflectorPod p;
    p.name = reflector_pod_name(in.spec.name, rack, host);
    p.rack = rack;
    p.node = host;
    p.cluster_id = cluster_id;
    in.pods.push_back(p);
    ReflectorLease l;
    l.name = p.name;
    l.rack = rack;
    l.cluster_id = cluster_id;
    l.port = in.spec.port;
    in.leases.push_back(l);
    return ReflectorBuilder(*this, in.pods.size() - 1, in.leases.size() - 1);
  }
  // A top-tier reflector Pod of `zone` on `host`, named as the planner names it.
  ReflectorBuilder top_reflector(const std::string& zone, const std::string& host, const std::string& cluster_id) {
    ReflectorPod p;
    p.name = reflector_pod_name(in.spec.name, "top:" + zone, host);
    p.node = host;
    p.cluster_id = cluster_id;
    p.tier = Tier::Top;
    p.zone = zone;
    in.pods.push_back(p);
    ReflectorLease l;
    l.name = p.name;
    l.cluster_id = cluster_id;
    l.port = in.spec.port;
    l.tier = Tier::Top;
    l.zone = zone;
    in.leases.push_back(l);
    return ReflectorBuilder(*this, in.pods.size() - 1, in.leases.size() - 1);
  }
  // The node's kubelet stopped reporting: Ready is False or Unknown.
  Cluster& node_not_ready(const std::string& name) {
    for (auto& n : in.nodes) {
      if (n->name != name) continue;
      NodeInfo copy = *n;
      copy.ready = false;
      n = shared(std::move(copy));
    }
    return *this;
  }
  const NodeInfo* find_node(const std::string& name) const {
    for (const auto& n : in.nodes) {
      if (n->name == name) return n.get();
    }
    return nullptr;
  }
  // Drops the Leases marked for removal (no_lease()).
  PlanInput input() const {
    PlanInput out = in;
    std::erase_if(out.leases, [](const ReflectorLease& l) { return l.name.empty(); });
    return out;
  }

 private:
  int racks_added_ = 0;
};

inline ReflectorPod& ReflectorBuilder::pod() { return c_.in.pods[pod_]; }
inline ReflectorLease& ReflectorBuilder::lease() { return c_.in.leases[lease_]; }
inline ReflectorBuilder& ReflectorBuilder::live(int sessions) {
  auto& p = pod();
  p.phase = PodPhase::Running;
  p.ready = true;
  const NodeInfo* host = c_.find_node(p.node);
  p.host_ip = host ? host->internal_ip : "198.51.100.1";
  auto& l = lease();
  l.fresh = true;
  l.address = p.host_ip;
  l.sessions_established = sessions;
  l.sessions_total = sessions;
  l.observed_generation = c_.in.spec.generation;  // its counts describe the current spec
  return *this;
}
inline ReflectorBuilder& ReflectorBuilder::sessions(int established, int total) {
  live();
  lease().sessions_established = established;
  lease().sessions_total = total;
  return *this;
}
inline ReflectorBuilder& ReflectorBuilder::starting() {
  live();
  pod().ready = false;
  lease().fresh = false;
  return *this;
}
inline ReflectorBuilder& ReflectorBuilder::unready() {
  live();
  pod().ready = false;
  return *this;
}
inline ReflectorBuilder& ReflectorBuilder::lapsed() {
  live();
  pod().lapsed = true;
  lease().fresh = false;
  return *this;
}
inline ReflectorBuilder& ReflectorBuilder::lease_expired() {
  live();
  lease().fresh = false;
  lease().expired = true;
  return *this;
}
inline ReflectorBuilder& ReflectorBuilder::terminating() {
  pod().deleting = true;
  return *this;
}
inline ReflectorBuilder& ReflectorBuilder::failed() {
  pod().phase = PodPhase::Failed;
  lease().fresh = false;
  return *this;
}
inline ReflectorBuilder& ReflectorBuilder::no_lease() {
  lease().name.clear();  // Cluster::input() drops it
  return *this;
}
inline ReflectorBuilder& ReflectorBuilder::address(std::string a) {
  pod().host_ip = a;
  lease().address = std::move(a);
  return *this;
}

// --- reading a Plan ---

inline const Condition* find_condition(const Plan& p, const std::string& type) {
  for (const auto& c : p.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

// "rack/node@clusterID" for every desired Pod, sorted.
inline std::vector<std::string> pod_placements(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& d : p.pods) out.push_back(d.rack + "/" + d.node + "@" + d.cluster_id);
  std::sort(out.begin(), out.end());
  return out;
}

// "rack/node" of every Pod to delete (looked up in the input), sorted.
inline std::vector<std::string> deletions(const Plan& p, const PlanInput& in) {
  std::vector<std::string> out;
  for (const auto& name : p.pods_to_delete) {
    std::string where = "?" + name;
    for (const auto& pod : in.pods) {
      if (pod.name == name) where = pod.rack + "/" + pod.node;
    }
    out.push_back(where);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// "rack/node peerIP" for every BGPPeer, the node found through the desired Pods, sorted.
inline std::vector<std::string> peer_summaries(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& peer : p.peers) {
    std::string node = "?";
    for (const auto& d : p.pods) {
      if (d.name == peer.reflector_pod) node = d.node;
    }
    out.push_back(peer.rack + "/" + node + " " + peer.peer_ip);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::map<std::string, std::string> cluster_ids(const Plan& p) {
  std::map<std::string, std::string> out;
  for (const auto& r : p.racks) out[r.name] = r.cluster_id;
  return out;
}

inline bool is_dns1123_label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

// Rules every Plan keeps, whatever the input; returns the broken ones.
inline std::vector<std::string> invariant_violations(const PlanInput& in, const Plan& p) {
  std::vector<std::string> bad;
  auto sorted_unique = [](std::vector<std::string> v) {
    return std::is_sorted(v.begin(), v.end()) && std::adjacent_find(v.begin(), v.end()) == v.end();
  };
  std::vector<std::string> pod_names, peer_names;
  for (const auto& d : p.pods) pod_names.push_back(d.name);
  for (const auto& d : p.peers) peer_names.push_back(d.name);
  if (!sorted_unique(pod_names)) bad.push_back("pods not sorted by unique name");
  if (!sorted_unique(peer_names)) bad.push_back("peers not sorted by unique name");
  if (!sorted_unique(p.pods_to_delete)) bad.push_back("pods_to_delete not sorted and unique");
  if (p.hold && (!p.pods.empty() || !p.peers.empty() || !p.pods_to_delete.empty() || p.node_to_node_mesh)) {
    bad.push_back("hold but the plan still asks for changes");
  }
  for (const auto& name : p.pods_to_delete) {
    if (std::binary_search(pod_names.begin(), pod_names.end(), name)) {
      bad.push_back("pod " + name + " is both desired and to be deleted");
    }
    bool owned = std::any_of(in.pods.begin(), in.pods.end(), [&](const auto& x) { return x.name == name; });
    if (!owned) bad.push_back("deletes " + name + ", which is not one of the fabric's Pods");
  }
  // One reflector per host: a new Pod never lands where another desired one is
  // (existing Pods that already share a host are kept: no churn).
  std::map<std::string, std::string> hosts;  // node -> pod
  auto existing = [&](const std::string& name) {
    return std::any_of(in.pods.begin(), in.pods.end(), [&](const auto& x) { return x.name == name; });
  };
  for (const auto& d : p.pods) {
    if (existing(d.name) && !d.node.empty()) hosts.emplace(d.node, d.name);
  }
  auto ids = cluster_ids(p);
  std::map<std::string, std::string> top_ids;  // zone -> ID
  for (const auto& t : p.top_tier) top_ids[t.name] = t.cluster_id;
  for (const auto& d : p.pods) {
    if (d.tier == Tier::Top) {
      if (!d.rack.empty()) bad.push_back("top-tier pod " + d.name + " names rack " + d.rack);
      if (top_ids.count(d.zone) == 0) bad.push_back("top-tier pod " + d.name + " has no top tier in status");
      if (!is_dns1123_label(d.name)) bad.push_back("pod name \"" + d.name + "\" is not a DNS-1123 label");
      if (!existing(d.name) && !d.node.empty() && !hosts.emplace(d.node, d.name).second) {
        bad.push_back("node " + d.node + " hosts two reflectors: " + hosts[d.node] + " and " + d.name);
      }
      continue;
    }
    if (!is_dns1123_label(d.name)) bad.push_back("pod name \"" + d.name + "\" is not a DNS-1123 label");
    if (!existing(d.name) && !d.node.empty() && !hosts.emplace(d.node, d.name).second) {
      bad.push_back("node " + d.node + " hosts two reflectors: " + hosts[d.node] + " and " + d.name);
    }
    if (ids.count(d.rack) == 0 || ids[d.rack] != d.cluster_id) {
      bad.push_back("pod " + d.name + " has cluster ID " + d.cluster_id + ", its rack " + d.rack + " has " +
                    (ids.count(d.rack) ? ids[d.rack] : "no status"));
    }
  }
  for (const auto& peer : p.peers) {
    if (!std::binary_search(pod_names.begin(), pod_names.end(), peer.reflector_pod)) {
      bad.push_back("peer " + peer.name + " for a reflector that is not desired");
    }
    for (const auto& d : p.pods) {
      if (d.name == peer.reflector_pod && d.tier == Tier::Top) bad.push_back("a BGPPeer for top-tier pod " + d.name);
    }
  }
  std::vector<std::string> types;
  for (const auto& c : p.conditions) types.push_back(c.type);
  const std::vector<std::string> held = {"Ready", "Progressing", "Degraded"};
  const std::vector<std::string> running = {"Ready", "Progressing", "Degraded", "MeshDisabled"};
  if (types != (p.hold ? held : running)) {
    bad.push_back(p.hold ? "conditions are not Ready, Progressing, Degraded"
                         : "conditions are not Ready, Progressing, Degraded, MeshDisabled");
  }
  // The mesh never goes off while a Calico node is left without a Ready fabric's reflectors.
  if (p.node_to_node_mesh == false && (p.mesh.uncovered != 0 || p.mesh.reason != "AllNodesCovered")) {
    bad.push_back("the mesh goes off with " + std::to_string(p.mesh.uncovered) + " uncovered nodes");
  }
  return bad;
}

}  // namespace rr::planner::testing
