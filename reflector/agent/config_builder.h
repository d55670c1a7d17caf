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
//  - Mesh: every other reflector Lease of the fabric (non-client iBGP), on the Lease's
//    port, or one above it in Colocated placement (contract::mesh_port); with IPv6 on,
//    also an IPv6 session "<lease>/v6" to its address-v6 annotation.
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
};

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
