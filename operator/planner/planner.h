#pragma once
// The planner: from a fabric's spec and what exists, the topology that should
// exist. Pure: the same input always gives the same, sorted output.

#include "planner/types.h"

namespace rr::planner {

// What should exist, in named phases: spec problems, racks, conflicts with older fabrics,
// cluster IDs, placement per rack, status, the mesh. A fabric being deleted gets its next
// teardown step instead, and one held by a precondition a plan that changes nothing.
Plan plan(const PlanInput& input);

// A plan that changes nothing, stopped for a reason found before planning (a spec that does
// not parse, Calico's API not served): `message` on Ready, Progressing and Degraded.
Plan held(Reason reason, const std::string& message);
// `plan`, blocked because spec.namespace does not exist: the API answered 404 to creating a
// reflector Pod there. Its status says so, naming the field, instead of what is merely pending.
Plan namespace_not_found(Plan plan, const FabricSpec& spec);
// `plan`, applied, except that the Role letting the fabric's agents read its password Secrets
// could not be written (`message`: which object, and the API's answer, e.g. 403). Ready and
// Degraded say so; the reflectors keep running, without their passwords until it is granted.
Plan agent_secrets_not_granted(Plan plan, const std::string& message);
// `plan`, applied, except that the copy of the BGPPeers' password in calico-node's namespace
// (--calico-password-namespace), its Role or RoleBinding could not be written (`message`: which
// object, and the API's answer). Ready and Degraded say so; the BGPPeers name the copy regardless.
Plan calico_passwords_not_copied(Plan plan, const std::string& message);

// Calico's node-to-node mesh for the whole cluster, from every Node and every fabric's
// coverage. With the mesh on (`mesh_enabled`), it goes off only when every Calico node
// (not labelled rr.bgp.dev/calico-node=false, not a Dedicated reflector host) is served
// by a Ready fabric. With it off, it comes back on as soon as a Calico node is served by
// no reflector at all; a served rack briefly below perRack does not flap it.
MeshDecision decide_mesh(const std::vector<std::shared_ptr<const NodeInfo>>& nodes,
                         const std::vector<FabricCoverage>& fabrics, bool mesh_enabled);

// Whether the tolerations allow scheduling onto a node with this taint.
bool tolerates(const std::vector<Toleration>& tolerations, const Taint& taint);
// The Node label keys a plan of `spec` reads (its selectors, rack and zone labels, and
// kCalicoNodeLabel): a Node cache that keeps only these plans exactly as one keeping all.
LabelKeys node_label_keys(const FabricSpec& spec);
// Whether a node may host a reflector of this fabric in this rack.
bool eligible_host(const FabricSpec& spec, const std::string& rack, const NodeInfo& node);
// Whether a node may host a reflector of this fabric's top tier for `zone` ("" = fabric-wide).
bool eligible_top_host(const FabricSpec& spec, const std::string& zone, const NodeInfo& node);
// The zone of a rack (spec.topTier.zoneLabel on most of its nodes; ties: the first by name),
// "" without zones or when no node of the rack carries the label.
std::string zone_of_rack(const FabricSpec& spec, const std::vector<const NodeInfo*>& rack_nodes);
// The Calico selector for the clients of a reflector in `rack` (hosted on `host`).
std::string client_selector(const FabricSpec& spec, const std::string& rack, const std::string& host);
// A host's IPv6 BGP address for a dual-stack fabric's reflector: its first IPv6 InternalIP
// (what the kubelet reports), else Calico's projectcalico.org/IPv6Address; empty when neither
// is an IPv6 address. With spec.bgp.ipv6, a host without one is not eligible.
std::string host_ipv6_of(const NodeInfo& node);
// The BGPPeer that points a dual-stack fabric's nodes at reflector `pod`'s IPv6 address.
std::string ipv6_peer_name(const std::string& pod);
// "IP", "IP:port" or "[IPv6]:port" as Calico's peerIP takes it.
std::string peer_ip(const std::string& address, int port);

}  // namespace rr::planner
