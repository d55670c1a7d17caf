#pragma once
// What this reflector's BIRD should run, from what the agent observed: a pure
// function (no client, no clock), so every rule below is a table test.
//
//  - Router ID: reflector_router_id(host IPv4), never the host address, which
//    is calico-node's router ID on a Colocated host.
//  - Clients: the Ready nodes of this reflector's rack that the fabric selects;
//    the reflector's own host only in Colocated placement (its calico-node on
//    client_port, the reflector on its own port; a Dedicated host runs no
//    calico-node BGP). Address: Calico's IPv4Address annotation, else InternalIP;
//    with IPv6 on, also an IPv6 session to IPv6Address (else an IPv6 InternalIP).
//  - Reflectors (reflector_neighbors): without spec.topTier, every other reflector Lease of
//    the fabric (non-client iBGP). With it, a rack reflector peers (non-client) with the
//    top-tier reflectors of its zone and keeps a flat-mesh session to another rack's
//    reflector until routes between the two cross the top tier; a top-tier reflector has
//    its zone's rack reflectors as route-reflector clients and meshes with the other
//    top-tier reflectors. On the Lease's port, or one above it in Colocated placement
//    (contract::mesh_port); with IPv6 on, also an IPv6 session "<lease>/v6".
//  - A top-tier reflector has no node clients and no external peers.
//  - External: the fabric's external peers whose racks list is empty or names
//    this rack; iBGP ones are route-reflector clients unless they say not,
//    eBGP ones carry their exportPrefixes.
// A neighbor endpoint (address, port) gets one session only: mesh wins over an
// external peer, which wins over a client (in Dedicated placement another
// reflector's host is a rack node too, but its port 179 is that reflector).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <memory>

#include "agent/identity.h"
#include "bird/bird_config.h"
#include "contract/types.h"
#include "kube/result.h"

namespace rr::agent {

struct AgentInputs {
  AgentIdentity self;
  contract::FabricSpec spec;                       // the fabric's parsed spec
  // Candidate clients (the informer scopes by rack label), shared with its cache.
  std::vector<std::shared_ptr<const contract::NodeInfo>> nodes;
  std::vector<contract::ReflectorLease> mesh;      // the fabric's live reflector Leases (self included or not)
  std::map<std::string, std::string> secrets;     // "secretName/key" -> value; values are never logged
  // Where client sessions connect to: calico-node's BIRD listens on 179; tests
  // with unprivileged BIRDs use another port.
  int client_port = 179;
};

struct BuildResult {
  bird::ReflectorConfig config;        // passes bird::validate_config; peers sorted by (role, name)
  std::vector<std::string> warnings;   // items skipped; never contains a password
  std::string zone;                    // this reflector's zone (zone_of_rack_nodes), for its Lease
};

// The reflectors this one has sessions with: `mesh` as non-clients (the flat mesh, the top
// tier's mesh, a rack reflector's upstream), `clients` as route-reflector clients (a top-tier
// reflector's racks). Sorted by name.
struct ReflectorNeighbors {
  std::vector<const contract::ReflectorLease*> mesh;
  std::vector<const contract::ReflectorLease*> clients;
  std::string zone;
};
ReflectorNeighbors reflector_neighbors(const AgentInputs& inputs);

// A rack reflector's zone: spec.topTier.zoneLabel on most of its rack's nodes (ties: the first
// by name, as the operator decides it); a top-tier reflector's: its own. "" without zones.
std::string zone_of_rack_nodes(const AgentInputs& inputs);

// Whether routes between rack reflectors `a` and `b` cross the top tier, from their Leases'
// upstream lists: both have an Established session with one top-tier reflector, or with two
// of different cluster IDs (zones) that have one with each other. `tops`: the live top-tier
// Leases by name.
bool routes_cross_top_tier(const contract::ReflectorLease& a, const contract::ReflectorLease& b,
                           const std::map<std::string, const contract::ReflectorLease*>& tops);

// ErrorKind::BadConfig when a password Secret key is missing or its value
// cannot be a BGP password (a session without its password would be silently
// unauthenticated); ErrorKind::Invalid when the result would not pass
// bird::validate_config (e.g. a malformed identity).
kube::Result<BuildResult> build_reflector_config(const AgentInputs& inputs);

// The peer name of a node's IPv6 client session: "<node>/v6". '/' never occurs
// in a node name, so it cannot meet another node's IPv4 session name.
std::string ipv6_session_name(std::string_view node);

// A reflector's BGP router ID: 240.0.0.0/4 plus the low 28 bits of its host's
// IPv4 address ("10.0.3.7" -> "250.0.3.7"). Stable per host, distinct for hosts
// whose addresses differ in their low 28 bits, and never a host address (so
// never a Calico node's default router ID). Returns the text unchanged if it is
// not an IPv4 address (validate_config reports it).
std::string reflector_router_id(const std::string& host_ipv4);

// The AgentInputs::secrets key of a reference: "name/key".
std::string secret_map_key(const contract::SecretKeyRef& ref);

}  // namespace rr::agent
