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

#include "planner/reasons.h"

namespace rr::planner {

using Labels = std::map<std::string, std::string>;

enum class Placement { Dedicated, Colocated };

struct SecretKeyRef {
  std::string name;
  std::string key;
  bool operator==(const SecretKeyRef&) const = default;
};

struct Toleration {
  std::string key;
  std::string op = "Equal";  // Equal | Exists
  std::string value;
  std::string effect;        // "" = all effects
  std::optional<std::int64_t> toleration_seconds;
  bool operator==(const Toleration&) const = default;
};

struct Taint {
  std::string key;
  std::string value;
  std::string effect;  // NoSchedule | PreferNoSchedule | NoExecute
  bool operator==(const Taint&) const = default;
};

// A prefix (and its more-specifics up to max_length) an eBGP peer may be sent.
struct ExportPrefix {
  std::string cidr;     // as written; no host bits
  int max_length = 32;  // resolved: the family's maximum when absent
  bool operator==(const ExportPrefix&) const = default;
};

struct ExternalPeer {
  std::string name;
  std::string address;
  std::uint32_t as_number = 0;
  int port = 179;
  std::vector<std::string> racks;  // empty = every rack
  bool multihop = true;
  std::optional<SecretKeyRef> password;
  bool reflector_client = true;  // iBGP only: a route-reflector client of its racks' reflectors
  std::optional<std::vector<ExportPrefix>> export_prefixes;  // eBGP only; nullopt = the fabric's own routes
  bool operator==(const ExternalPeer&) const = default;
};

struct BgpSettings {
  int hold_time_seconds = 90;
  int keepalive_seconds = 30;
  bool graceful_restart = true;
  bool ipv6 = false;
  std::optional<SecretKeyRef> password;
  bool operator==(const BgpSettings&) const = default;
};

enum class CalicoApi { CrdV1, ProjectCalicoV3 };

// A RouteReflectorCluster's spec, defaulted, plus the identity of the object.
struct FabricSpec {
  std::string name;
  std::string uid;
  std::int64_t generation = 0;
  std::string creation_timestamp;  // RFC 3339; orders fabrics for conflicts (older wins)
  bool deleting = false;

  std::uint32_t as_number = 64512;
  std::string ns = "rr-system";
  Labels node_selector;
  std::string rack_label = "topology.kubernetes.io/rack";
  std::string cluster_id_pool = "10.255.0.0/16";

  int per_rack = 2;
  Labels reflector_node_selector{{"rr.bgp.dev/reflector", "true"}};

  Placement placement = Placement::Dedicated;
  int port = 179;
  std::string image = "rr-agent:latest";
  std::string image_pull_policy;  // "" = Kubernetes' default
  std::string resources_json = "{}";  // passed through to the Pod untouched
  std::vector<Toleration> tolerations;
  std::string priority_class_name;

  std::vector<ExternalPeer> external_peers;
  BgpSettings bgp;
  int lease_duration_seconds = 15;
  bool manage_node_to_node_mesh = true;
  CalicoApi calico_api = CalicoApi::CrdV1;
};

// The port reflectors reach each other on. Colocated: one above `port`. A Colocated host's
// calico-node and reflector share an address, and BIRD tells incoming sessions apart by remote
// address and local port only: another reflector reaches this one's clients side on `port`
// and its mesh side on `port` + 1. Dedicated: `port` (its host runs no calico-node BGP).
inline int mesh_port(const FabricSpec& spec, int port) {
  return spec.placement == Placement::Colocated ? port + 1 : port;
}

// What the operator keeps of a Node (memory grows with this, not with the object).
struct NodeInfo {
  std::string name;
  Labels labels;
  bool ready = false;
  bool unschedulable = false;
  std::vector<Taint> taints;
  std::string internal_ip;    // the first InternalIP the kubelet reports, of either family
  std::string internal_ipv6;  // the first IPv6 InternalIP (dual-stack nodes report both)
  std::string bgp_ipv4;  // projectcalico.org/IPv4Address without the prefix length
  std::string bgp_ipv6;
  bool operator==(const NodeInfo&) const = default;
};

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
  bool operator==(const ReflectorPod&) const = default;
};

// A reflector's Lease, as the agent publishes it and the controller judges it.
// The agent writes it: the operator takes only liveness and the counts from it;
// a reflector's address, rack and cluster ID come from its Pod (the kubelet's
// status.hostIP, the operator's own label and annotation). The other agents
// read rack, address and port for their mesh.
struct ReflectorLease {
  std::string name;  // = the Pod's name
  std::string rack;
  std::string cluster_id;
  std::string address;
  int port = 179;
  int sessions_established = 0;
  int sessions_total = 0;
  std::string config_error;  // BIRD refused the last configuration
  // Judged by the controller from when it observed renewals (never from the
  // holder's clock): renewed within its duration.
  bool fresh = false;
  // The controller's verdict that the reflector is gone: the Lease lapsed, or
  // the Pod never produced a Lease within a start-up grace period.
  bool expired = false;
  std::string address_v6 = {};  // a dual-stack fabric's reflector: its IPv6 address, for the IPv6 mesh
  bool operator==(const ReflectorLease&) const = default;
};

struct RackAllocation {
  std::string rack;
  std::string cluster_id;
  std::vector<std::string> hosts;  // its reflectors' nodes as status last recorded them
  bool operator==(const RackAllocation&) const = default;
};

// What an older fabric claims; a younger fabric that overlaps gets Conflict.
struct FabricClaims {
  std::string name;
  std::set<std::string> nodes;
  std::set<std::string> racks;
  std::set<std::string> cluster_ids;
  std::string cluster_id_pool;
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

struct PlanInput {
  FabricSpec spec;
  // Every node the controller knows, shared with its cache: a reconcile of 100k
  // nodes copies pointers, not label maps.
  std::vector<std::shared_ptr<const NodeInfo>> nodes;
  std::vector<ReflectorPod> pods;       // the fabric's own reflector Pods
  std::vector<ReflectorLease> leases;   // the fabric's reflector Leases
  std::vector<RackAllocation> recorded; // cluster IDs from status
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
  std::string name;
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

struct Plan {
  // When true the plan touches nothing already running (invalid spec or a
  // conflict): pods/peers below are empty and the applier must not delete.
  bool hold = false;
  std::vector<RackStatus> racks;          // sorted by name
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
