#pragma once
// Names shared by rr-operator and rr-agent: API types, labels, annotations,
// the finalizer and the environment a reflector Pod hands to its agent.
// Header-only: both binaries include it (rr_contract).

#include <string_view>

#include "kube/resource_type.h"

namespace rr::contract {

// --- API types ---

inline constexpr std::string_view kGroup = "rr.bgp.dev";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "rr.bgp.dev/v1alpha1";
inline constexpr std::string_view kKind = "RouteReflectorCluster";

inline const kube::ResourceType& route_reflector_clusters() {
  static const kube::ResourceType t{"rr.bgp.dev", "v1alpha1", "routereflectorclusters", "RouteReflectorCluster",
                                    false};
  return t;
}

// Calico, Kubernetes datastore: the CRDs calico-node reads.
inline const kube::ResourceType& calico_crd_bgp_peers() {
  static const kube::ResourceType t{"crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", false};
  return t;
}
inline const kube::ResourceType& calico_crd_bgp_configurations() {
  static const kube::ResourceType t{"crd.projectcalico.org", "v1", "bgpconfigurations", "BGPConfiguration", false};
  return t;
}
// Calico through its aggregated API server.
inline const kube::ResourceType& calico_v3_bgp_peers() {
  static const kube::ResourceType t{"projectcalico.org", "v3", "bgppeers", "BGPPeer", false};
  return t;
}
inline const kube::ResourceType& calico_v3_bgp_configurations() {
  static const kube::ResourceType t{"projectcalico.org", "v3", "bgpconfigurations", "BGPConfiguration", false};
  return t;
}
// RBAC: the per-fabric Role (and its RoleBinding) that lets the fabric's agents get the
// password Secrets its spec names, and nothing else.
inline const kube::ResourceType& roles() {
  static const kube::ResourceType t{"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
  return t;
}
inline const kube::ResourceType& role_bindings() {
  static const kube::ResourceType t{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true};
  return t;
}
// The cluster-wide BGPConfiguration that holds nodeToNodeMeshEnabled.
inline constexpr std::string_view kDefaultBgpConfiguration = "default";

// --- labels on everything the operator writes ---

inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedByValue = "rr-operator";
inline constexpr std::string_view kNameLabel = "app.kubernetes.io/name";  // on reflector Pods and Leases
inline constexpr std::string_view kNameValue = "rr-reflector";
inline constexpr std::string_view kClusterLabel = "rr.bgp.dev/cluster";  // value: the fabric's name
inline constexpr std::string_view kRackLabel = "rr.bgp.dev/rack";
// On top-tier reflector Pods (spec.topTier): "top", and the zone they serve ("" for a
// fabric-wide top tier). Rack reflector Pods carry neither.
inline constexpr std::string_view kTierLabel = "rr.bgp.dev/tier";
inline constexpr std::string_view kZoneLabel = "rr.bgp.dev/zone";

// --- annotations ---

// On the agent's Lease (written by the agent) and, cluster-id only, on the reflector Pod.
inline constexpr std::string_view kAddressAnnotation = "rr.bgp.dev/address";
// A dual-stack fabric's reflector: its IPv6 address (RR_HOST_IPV6), which the other
// reflectors' IPv6 mesh sessions reach. The operator never writes a BGPPeer from it.
inline constexpr std::string_view kAddressV6Annotation = "rr.bgp.dev/address-v6";
inline constexpr std::string_view kPortAnnotation = "rr.bgp.dev/port";
inline constexpr std::string_view kRackAnnotation = "rr.bgp.dev/rack";
inline constexpr std::string_view kClusterIdAnnotation = "rr.bgp.dev/cluster-id";
// Sessions-established counts the sessions Established and settled (their first routes
// exchanged: agent::SessionPoll), of sessions-total configured.
inline constexpr std::string_view kSessionsEstablishedAnnotation = "rr.bgp.dev/sessions-established";
inline constexpr std::string_view kSessionsTotalAnnotation = "rr.bgp.dev/sessions-total";
inline constexpr std::string_view kConfigErrorAnnotation = "rr.bgp.dev/config-error";
// On the agent's Lease: its tier ("rack" | "top", absent = rack) and zone (a rack reflector:
// the zone of its rack's nodes; a top-tier one: the zone it serves), so that each agent knows
// which reflectors are its upstream, its clients or its mesh.
inline constexpr std::string_view kTierAnnotation = "rr.bgp.dev/tier";
inline constexpr std::string_view kZoneAnnotation = "rr.bgp.dev/zone";
// On the agent's Lease: the top-tier reflectors it has an Established, settled session with,
// comma-separated (contract::ReflectorLease::upstream). Absent = none.
inline constexpr std::string_view kUpstreamAnnotation = "rr.bgp.dev/upstream";
// On the agent's Lease: the fabric's metadata.generation whose configuration the session counts
// describe (contract::ReflectorLease::observed_generation).
inline constexpr std::string_view kObservedGenerationAnnotation = "rr.bgp.dev/observed-generation";
// On the reflector Pod: a hash of the rendered Pod spec, so that a field the
// operator stops rendering (a removed toleration) still counts as a change.
inline constexpr std::string_view kSpecHashAnnotation = "rr.bgp.dev/spec-hash";

// Calico's node annotations: the node's BGP addresses, with prefix length ("10.0.0.5/24").
inline constexpr std::string_view kCalicoIPv4Annotation = "projectcalico.org/IPv4Address";
inline constexpr std::string_view kCalicoIPv6Annotation = "projectcalico.org/IPv6Address";

// On a RouteReflectorCluster: restore Calico's node-to-node mesh before it goes.
inline constexpr std::string_view kMeshRestoreFinalizer = "rr.bgp.dev/mesh-restore";

// --- the reflector Pod ---

inline constexpr std::string_view kReflectorContainer = "reflector";
inline constexpr std::string_view kAgentServiceAccount = "rr-agent";
inline constexpr int kMetricsPort = 9179;  // /metrics, /healthz, /readyz (host network)
inline constexpr std::string_view kMetricsPortName = "metrics";
inline constexpr std::string_view kBgpPortName = "bgp";
inline constexpr std::string_view kBgpMeshPortName = "bgp-mesh";  // Colocated: contract::mesh_port
// The container's root filesystem is read-only: these emptyDir mounts are all it may write.
inline constexpr std::string_view kBirdRunDir = "/run/bird";         // BIRD's control socket
inline constexpr std::string_view kBirdConfigDir = "/etc/bird";      // bird.conf and its rename temp file
inline constexpr std::string_view kAgentScratchDir = "/run/rr-agent";  // rr-agent's temp files (`bird -p` copies)

// Environment the Pod passes to rr-agent.
inline constexpr std::string_view kEnvPodName = "RR_POD_NAME";
// The Pod's UID (downward API metadata.uid): the agent holds its Lease under it, and
// the operator counts a Lease's renewals only for the Pod whose UID holds it.
inline constexpr std::string_view kEnvPodUid = "RR_POD_UID";
inline constexpr std::string_view kEnvNamespace = "RR_NAMESPACE";
inline constexpr std::string_view kEnvNodeName = "RR_NODE_NAME";
inline constexpr std::string_view kEnvHostIP = "RR_HOST_IP";
// spec.bgp.ipv6: the host's IPv6 address, a literal the operator renders from the Node
// (contract::host_ipv6_of); the same address its "<pod>-v6" BGPPeer names.
inline constexpr std::string_view kEnvHostIPv6 = "RR_HOST_IPV6";
inline constexpr std::string_view kEnvFabric = "RR_FABRIC";
inline constexpr std::string_view kEnvRack = "RR_RACK";  // a rack reflector's rack
// A top-tier reflector (spec.topTier): "top" and the zone it serves (absent or "" for a
// fabric-wide top tier). Absent: a rack reflector.
inline constexpr std::string_view kEnvTier = "RR_TIER";
inline constexpr std::string_view kEnvZone = "RR_ZONE";
inline constexpr std::string_view kEnvClusterId = "RR_CLUSTER_ID";
inline constexpr std::string_view kEnvBgpPort = "RR_BGP_PORT";
inline constexpr std::string_view kEnvLeaseDurationSeconds = "RR_LEASE_DURATION_SECONDS";

}  // namespace rr::contract
