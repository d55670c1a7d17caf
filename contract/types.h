#pragma once
// The values rr-operator and rr-agent share: a fabric's spec (FabricSpec and
// what it holds), what is kept of a Node (NodeInfo) and of a reflector's Lease
// (ReflectorLease). Plain values: no JSON, no client, no clock. The planner
// brings them into rr::planner (planner/types.h) and adds its own.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rr::contract {

using Labels = std::map<std::string, std::string>;
// Label keys: those some selector reads.
using LabelKeys = std::set<std::string, std::less<>>;

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

// Hierarchical reflection (RFC 4456 section 5): racks' reflectors are route-reflector clients
// of a top tier, one per zone (racks grouped by zone_label) or one for the whole fabric
// (zone_label empty); top-tier reflectors mesh among themselves. Absent: every reflector meshes
// with every other (the flat mesh).
struct TopTier {
  std::string zone_label;  // "" = one top tier for the whole fabric
  int per_zone = 2;        // reflectors per zone (or for the fabric)
  Labels node_selector{{"rr.bgp.dev/top-tier-reflector", "true"}};  // eligible hosts
  std::string cluster_id_pool = "10.254.0.0/24";  // one cluster ID per zone
  bool operator==(const TopTier&) const = default;
};

// The tier a reflector serves: a rack's (its clients are the rack's Calico nodes) or the top
// tier's (its clients are rack reflectors).
enum class Tier { Rack, Top };

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

  std::optional<TopTier> top_tier;  // nullopt = the flat mesh

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
  Tier tier = Tier::Rack;
  // A rack reflector: the zone of its rack's nodes (spec.topTier.zoneLabel); a top-tier one:
  // the zone it serves. Empty without zones.
  std::string zone = {};
  // The top-tier reflectors this one has an Established session with (sorted names): a rack
  // reflector's upstream, a top-tier one's peers in the top tier. What the other agents read to
  // know whether routes between two racks cross the top tier (and the flat mesh may go).
  std::vector<std::string> upstream = {};
  // The fabric generation of the configuration the session counts above describe (0: not
  // reported). A top tier the spec dropped waits until every rack reflector reports the new
  // generation with all its sessions up: counts from before the change prove nothing.
  std::int64_t observed_generation = 0;
  bool operator==(const ReflectorLease&) const = default;
};

// "rack" | "top": the value of the tier label and annotation.
const char* tier_word(Tier tier);
std::optional<Tier> tier_from_word(const std::string& word);

// The value of `zone_label` that most of `rack_nodes` carry (ties: the first by name), "" when
// none carries it: a rack's zone, as the operator places its top tier and its agent peers.
std::string zone_of(const std::vector<const NodeInfo*>& rack_nodes, const std::string& zone_label);

// Equality-based label selection: every selector pair must be present.
bool labels_match(const Labels& selector, const Labels& labels);

}  // namespace rr::contract
