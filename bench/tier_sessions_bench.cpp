// The fabric's BGP session counts at scale, flat mesh vs tiers (spec.topTier), from the code
// that decides them: the operator's planner places the reflectors, and each reflector's agent
// picks its neighbours (agent::reflector_neighbors) from the fabric's Leases in steady state
// (every rack reflector Established with its zone's top tier, the top tier meshed). Clients are
// the rack's Calico nodes, as the agent counts them (its Dedicated host and the rack's other
// reflector host run no calico-node).
//
//   tier_sessions_bench [--racks 1000] [--nodes-per-rack 100] [--zones 10] [--per-zone 2]
//
// Prints one row per topology: reflectors, sessions per rack reflector and per top-tier
// reflector (median and max), and the sessions of the whole fabric (each counted once).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/config_builder.h"
#include "planner/planner.h"

namespace {

using rr::contract::FabricSpec;
using rr::contract::NodeInfo;
using rr::contract::ReflectorLease;
using rr::contract::Tier;

struct Shape {
  int racks = 1000;
  int nodes_per_rack = 100;
  int zones = 10;
  int per_zone = 2;
};

const std::string kRack = "topology.kubernetes.io/rack";
const std::string kZone = "topology.kubernetes.io/zone";

std::string rack_name(int r) {
  char b[16];
  std::snprintf(b, sizeof b, "r%04d", r);
  return b;
}
std::string zone_name(int z) { return "z" + std::to_string(z); }
std::string ip(int a, int b, int c) {
  return "10." + std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
}

std::vector<std::shared_ptr<const NodeInfo>> make_nodes(const Shape& s) {
  std::vector<std::shared_ptr<const NodeInfo>> out;
  const int racks_per_zone = (s.racks + s.zones - 1) / s.zones;
  for (int r = 0; r < s.racks; ++r) {
    for (int i = 0; i < s.nodes_per_rack; ++i) {
      NodeInfo n;
      n.name = rack_name(r) + "-n" + std::to_string(i);
      n.ready = true;
      n.labels[kRack] = rack_name(r);
      n.labels[kZone] = zone_name(r / racks_per_zone);
      if (i < 2) n.labels["rr.bgp.dev/reflector"] = "true";
      n.internal_ip = ip(r / 250, r % 250, i + 10);
      out.push_back(std::make_shared<const NodeInfo>(std::move(n)));
    }
  }
  for (int z = 0; z < s.zones; ++z) {  // top-tier hosts: outside every rack
    for (int i = 0; i < s.per_zone; ++i) {
      NodeInfo n;
      n.name = "top-" + zone_name(z) + "-" + std::to_string(i);
      n.ready = true;
      n.labels[kZone] = zone_name(z);
      n.labels["rr.bgp.dev/top-tier-reflector"] = "true";
      n.internal_ip = ip(200, z, i + 10);
      out.push_back(std::make_shared<const NodeInfo>(std::move(n)));
    }
  }
  return out;
}

struct Row {
  std::string topology;
  int rack_reflectors = 0;
  int top_reflectors = 0;
  std::vector<int> rack_sessions, top_sessions;
  long long fabric_sessions = 0;
  double seconds = 0;
};

int median(std::vector<int> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
int maximum(const std::vector<int>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

Row count(const std::string& topology, const Shape& s, std::optional<rr::contract::TopTier> top) {
  const auto started = std::chrono::steady_clock::now();
  FabricSpec spec;
  spec.name = "fab";
  spec.cluster_id_pool = "10.255.0.0/16";
  spec.top_tier = top;
  rr::planner::PlanInput in;
  in.spec = spec;
  in.nodes = make_nodes(s);
  const rr::planner::Plan plan = rr::planner::plan(in);

  // Each planned reflector, live, with the Lease its agent would write in steady state.
  std::map<std::string, const NodeInfo*> host;
  for (const auto& n : in.nodes) host[n->name] = n.get();
  std::map<std::string, std::vector<std::string>> tops_of_zone;
  std::vector<std::string> all_tops;
  for (const auto& p : plan.pods) {
    if (p.tier == Tier::Top) {
      tops_of_zone[top && !top->zone_label.empty() ? p.zone : ""].push_back(p.name);
      all_tops.push_back(p.name);
    }
  }
  std::vector<ReflectorLease> leases;
  std::map<std::string, std::vector<std::shared_ptr<const NodeInfo>>> rack_nodes;
  for (const auto& n : in.nodes) {
    if (auto r = n->labels.find(kRack); r != n->labels.end()) rack_nodes[r->second].push_back(n);
  }
  for (const auto& p : plan.pods) {
    ReflectorLease l;
    l.name = p.name;
    l.tier = p.tier;
    l.rack = p.rack;
    l.cluster_id = p.cluster_id;
    l.address = host.at(p.node)->internal_ip;
    l.fresh = true;
    if (p.tier == Tier::Top) {
      l.zone = p.zone;
      for (const auto& t : all_tops) {
        if (t != p.name) l.upstream.push_back(t);
      }
    } else {
      l.zone = rr::planner::zone_of_rack(spec, [&] {
        std::vector<const NodeInfo*> v;
        for (const auto& n : rack_nodes[p.rack]) v.push_back(n.get());
        return v;
      }());
      l.upstream = tops_of_zone[top && !top->zone_label.empty() ? l.zone : ""];
    }
    std::sort(l.upstream.begin(), l.upstream.end());
    leases.push_back(std::move(l));
  }

  Row row;
  row.topology = topology;
  long long endpoints = 0;  // each session has two ends
  for (const auto& p : plan.pods) {
    rr::agent::AgentInputs a;
    a.spec = spec;
    a.self.pod = p.name;
    a.self.node = p.node;
    a.self.tier = p.tier;
    a.self.rack = p.rack;
    a.self.zone = p.zone;
    a.self.cluster_id = p.cluster_id;
    a.self.address = host.at(p.node)->internal_ip;
    if (p.tier == Tier::Rack) a.nodes = rack_nodes[p.rack];
    a.mesh = leases;
    auto built = rr::agent::build_reflector_config(a);
    if (!built.ok()) {
      std::fprintf(stderr, "%s: %s\n", p.name.c_str(), built.error().message.c_str());
      std::exit(1);
    }
    // The rack-mate's host is a reflector, not a client: it is in the mesh (PeerSet keeps one
    // session per endpoint), so the peers are exactly the sessions.
    const int sessions = static_cast<int>(built->config.peers.size());
    endpoints += sessions;
    (p.tier == Tier::Top ? row.top_sessions : row.rack_sessions).push_back(sessions);
  }
  // Node ends: each Calico node peers with its rack's reflectors (counted at the reflector end).
  long long client_sessions = 0;
  for (const auto& p : plan.pods) {
    if (p.tier == Tier::Rack) client_sessions += static_cast<long long>(rack_nodes[p.rack].size()) - 2;
  }
  row.fabric_sessions = (endpoints - client_sessions) / 2 + client_sessions;
  row.rack_reflectors = static_cast<int>(row.rack_sessions.size());
  row.top_reflectors = static_cast<int>(row.top_sessions.size());
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  Shape s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--racks") s.racks = value;
    else if (flag == "--nodes-per-rack") s.nodes_per_rack = value;
    else if (flag == "--zones") s.zones = value;
    else if (flag == "--per-zone") s.per_zone = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::printf("%d nodes in %d racks (2 reflectors per rack, Dedicated), %d zones\n\n",
              s.racks * s.nodes_per_rack, s.racks, s.zones);
  rr::contract::TopTier zoned;
  zoned.zone_label = kZone;
  zoned.per_zone = s.per_zone;
  rr::contract::TopTier whole = zoned;
  whole.zone_label.clear();
  const Row rows[] = {count("flat mesh", s, std::nullopt),
                      count("top tier per zone (" + std::to_string(s.zones) + " x " + std::to_string(s.per_zone) + ")",
                            s, zoned),
                      count("one top tier (" + std::to_string(s.per_zone) + ")", s, whole)};
  std::printf("| topology | rack reflectors | sessions per rack reflector (median / max) | top-tier reflectors | "
              "sessions per top-tier reflector (median / max) | sessions in the fabric |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    std::printf("| %s | %d | %d / %d | %d | %d / %d | %lld |\n", r.topology.c_str(), r.rack_reflectors,
                median(r.rack_sessions), maximum(r.rack_sessions), r.top_reflectors, median(r.top_sessions),
                maximum(r.top_sessions), r.fabric_sessions);
  }
  std::printf("\n(each row planned and counted in");
  for (const Row& r : rows) std::printf(" %.1f s", r.seconds);
  std::printf(")\n");
  return 0;
}
