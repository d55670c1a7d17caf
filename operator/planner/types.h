#pragma once
// The planner's vocabulary: plain values, no JSON, no client, no clock.
// operator/api/ converts API objects to and from these; the planner turns
// inputs into a Plan; the controller applies the Plan.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "contract/types.h"
#include "planner/reasons.h"

namespace rr::planner {

// The shared values (contract/types.h), under their planner names.
using contract::BgpSettings;
using contract::CalicoApi;
using contract::ExportPrefix;
using contract::ExternalPeer;
using contract::FabricSpec;
using contract::LabelKeys;
using contract::Labels;
using contract::labels_match;
using contract::mesh_port;
using contract::NodeInfo;
using contract::Placement;
using contract::ReflectorLease;
using contract::SecretKeyRef;
using contract::Taint;
using contract::Tier;
using contract::Toleration;
using contract::TopTier;

enum class PodPhase { Pending, Running, Succeeded, Failed, Unknown };

// A reflector Pod this fabric owns, as the controller saw it.
struct ReflectorPod {
  std::string name;
  std::string rack;
  std::string node;        // the host it is pinned to
  std::string cluster_id;  // the cluster ID it was created with
  std::string host_ip;     // status.hostIP once running
  PodPhase phase = PodPhase::Pending;
  bool ready = false;
  bool deleting = false;
  // The controller's verdict: the reflector stopped renewing its Lease (or
  // never created one) within the lease duration plus a start-up grace.
  bool lapsed = false;
  std::string host_ipv6 = {};  // the IPv6 address it was created with (its RR_HOST_IPV6), if any
  Tier tier = Tier::Rack;      // Top: rack is empty and zone names the zone it serves
  std::string zone = {};
  bool operator==(const ReflectorPod&) const = default;
};

struct RackAllocation {
  std::string rack;  // a top tier's: its zone ("" for a fabric-wide top tier)
  std::string cluster_id;
  std::vector<std::string> hosts;  // its reflectors' nodes as status last recorded them
  bool operator==(const RackAllocation&) const = default;
};

// What an older fabric claims; a younger fabric that overlaps gets Conflict.
struct FabricClaims {
  std::string name;
  std::set<std::string> nodes;
  std::set<std::string> racks;
  std::set<std::string> cluster_ids;  // its racks' and top tiers'
  std::string cluster_id_pool;
  std::string top_tier_cluster_id_pool = {};  // spec.topTier.clusterIDPool, "" without a top tier
};

// --- Calico's node-to-node mesh: one setting for the whole cluster ---

// Nodes labelled with this key and the value "false" run no calico-node: they need no BGP.
inline constexpr const char* kCalicoNodeLabel = "rr.bgp.dev/calico-node";

// What one fabric contributes to the cluster-wide mesh decision.
struct FabricCoverage {
  std::string name;
  Labels node_selector;  // the fabric's node scope
  std::string rack_label;
  bool ready = false;                     // its Ready condition is True
  std::set<std::string> served_racks;     // racks with a live reflector and its BGPPeer
  std::set<std::string> reflector_hosts;  // hosts of Dedicated reflectors: they run no calico-node
  bool operator==(const FabricCoverage&) const = default;
};

// The mesh decision and why (becomes the MeshDisabled condition, the metric and Events).
struct MeshDecision {
  std::optional<bool> set_enabled;  // the nodeToNodeMeshEnabled to write; nullopt = leave it
  bool disabled = false;            // the mesh is (or is being turned) off
  Reason reason;                    // AllNodesCovered | UncoveredNodes | WaitingForReflectors | NotManaged
  std::string message;
  int uncovered = 0;                  // Calico nodes that hold the mesh on (rr_operator_uncovered_nodes)
  std::vector<std::string> examples;  // a few of them, sorted by name
  bool operator==(const MeshDecision&) const = default;
};

// Found while gathering, before there is anything to plan (the spec does not parse, the
// operator's policy refuses it, its namespace cannot be watched, Calico's API is not served):
// the fabric is held for it and nothing running changes.
struct Precondition {
  Reason reason;
  std::string message;  // names the field or flag at fault
  bool operator==(const Precondition&) const = default;
};

// A fabric being deleted (metadata.deletionTimestamp): what its teardown waits on.
struct TeardownInput {
  bool mesh_on = true;        // Calico's nodeToNodeMeshEnabled now (absent reads as on)
  bool mesh_settled = false;  // on for at least the settle time (calico-node's mesh sessions are up)
  bool peers_left = false;    // the fabric still owns BGPPeers
  bool pods_left = false;     // ... or reflector Pods, terminating ones included
  bool operator==(const TeardownInput&) const = default;
};

struct PlanInput {
  // Only the fabric's identity (name, generation, manageNodeToNodeMesh, calicoAPI) when it is
  // being deleted or held by a precondition.
  FabricSpec spec;
  std::optional<TeardownInput> teardown;    // set: the fabric is being deleted, whatever its spec
  std::optional<Precondition> precondition;  // set: held before planning
  // Every node the controller knows, shared with its cache: a reconcile of 100k
  // nodes copies pointers, not label maps.
  std::vector<std::shared_ptr<const NodeInfo>> nodes;
  // NotReady nodes whose grace has not run out (the controller's --host-not-ready-grace): a
  // reflector there is kept as it is, not replaced yet.
  std::set<std::string> hosts_not_ready_within_grace;
  std::vector<ReflectorPod> pods;       // the fabric's own reflector Pods
  std::vector<ReflectorLease> leases;   // the fabric's reflector Leases
  std::vector<RackAllocation> recorded; // cluster IDs from status
  std::vector<RackAllocation> recorded_top_tier;  // status.topTier: per zone
  std::vector<FabricClaims> older_fabrics;
  std::set<std::string> secret_keys;    // "name/key" present in spec.namespace
  std::map<std::string, std::string> unreadable_secrets;  // Secret name -> why it could not be read
  std::optional<bool> node_to_node_mesh_enabled;  // Calico's current BGPConfiguration value
  // Every other fabric that is not being deleted and has a valid spec (the mesh is global).
  std::vector<FabricCoverage> other_fabrics;
};

// --- the plan ---

struct DesiredPod {
  std::string name;
  std::string rack;
  std::string node;
  std::string cluster_id;
  std::string host_ipv6 = {};  // spec.bgp.ipv6: the host's IPv6 address (host_ipv6_of), else empty
  Tier tier = Tier::Rack;      // Top: rack is empty, zone is the zone it serves
  std::string zone = {};
  bool operator==(const DesiredPod&) const = default;
};

struct DesiredPeer {
  std::string name;           // BGPPeer name (= reflector Pod name)
  std::string reflector_pod;
  std::string rack;
  std::string node_selector;  // Calico selector expression
  std::string peer_ip;        // "IP" or "IP:port" / "[IPv6]:port"
  std::uint32_t as_number = 0;
  std::optional<SecretKeyRef> password;
  bool operator==(const DesiredPeer&) const = default;
};

// HostNotReady: its node stopped reporting; it still serves while its Lease is live,
// but nothing can restart or move it, so a replacement is made before it is removed.
enum class ReflectorState { Pending, Starting, Ready, Lapsed, Terminating, HostNotReady };
// Every state, for whoever must list them all (metrics created at zero, reset each time).
inline constexpr ReflectorState kReflectorStates[] = {ReflectorState::Pending,     ReflectorState::Starting,
                                                      ReflectorState::Ready,       ReflectorState::Lapsed,
                                                      ReflectorState::Terminating, ReflectorState::HostNotReady};

struct ReflectorStatus {
  std::string pod;
  std::string node;
  std::string address;  // the Pod's status.hostIP (the kubelet's), never the Lease's
  ReflectorState state = ReflectorState::Pending;
  int sessions_established = 0;
  int sessions_total = 0;
  std::string address_v6 = {};  // spec.bgp.ipv6: the IPv6 address the operator gave the Pod
  bool operator==(const ReflectorStatus&) const = default;
};

struct RackStatus {
  std::string name;  // a top tier's: its zone ("" for a fabric-wide top tier)
  std::string cluster_id;
  int nodes = 0;
  int reflectors_wanted = 0;
  int reflectors_ready = 0;
  std::vector<ReflectorStatus> reflectors;
  bool operator==(const RackStatus&) const = default;
};

struct Condition {
  std::string type;    // Ready | Progressing | Degraded | MeshDisabled
  bool status = false;
  Reason reason;       // from the one table of reasons (reasons.h)
  std::string message;
  bool operator==(const Condition&) const = default;
};

// A problem the user must hear about: becomes a condition message and an Event.
struct Problem {
  std::string field;    // e.g. "spec.clusterIDPool"
  std::string message;
  bool operator==(const Problem&) const = default;
};

// The next step of a fabric's deletion, in the order they come: Calico's mesh back on (unless
// the other fabrics cover every Calico node), the mesh carrying routes for the settle time, the
// BGPPeers gone, the reflector Pods gone, then what they used (Leases, the agents' Secret access,
// calico-node's password copy) and the finalizer. Each step is taken once the one before is done.
enum class TeardownStep { EnableMesh, AwaitMesh, DeletePeers, DeletePods, Release };

struct Plan {
  // When true the plan touches nothing already running (a precondition, an invalid spec or a
  // conflict): pods/peers below are empty and the applier must not delete.
  bool hold = false;
  // Set: the fabric is being deleted and this is its next step (nothing else is planned).
  std::optional<TeardownStep> teardown;
  std::vector<RackStatus> racks;          // sorted by name
  // spec.topTier: one per zone with racks (sorted), or one named "" for the fabric. A top tier
  // the spec no longer asks for stays, listed here, until every rack reflector is Ready with
  // all its sessions up (the flat mesh it returns to carries the routes).
  std::vector<RackStatus> top_tier;
  std::vector<DesiredPod> pods;           // every reflector Pod that should exist, sorted by name
  std::vector<std::string> pods_to_delete;  // owned Pods to remove, sorted
  std::vector<DesiredPeer> peers;         // every BGPPeer that should exist, sorted by name
  std::optional<bool> node_to_node_mesh;  // desired nodeToNodeMeshEnabled; nullopt = leave it
  MeshDecision mesh;                      // why (empty reason on a held plan)
  std::vector<Condition> conditions;      // Ready, Progressing, Degraded, MeshDisabled
  std::vector<Problem> problems;
  int reflectors_wanted = 0;
  int reflectors_ready = 0;
  int sessions_established = 0;
  bool operator==(const Plan&) const = default;
};

}  // namespace rr::planner
