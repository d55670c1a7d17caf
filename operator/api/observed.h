#pragma once
// What the controller keeps of the objects it watches: trimming transforms for
// the informers, so memory grows with what the planner needs, not with the
// objects. They read API-server output: a field of the wrong type reads as
// absent, and nothing throws. Ownership filtering is the informers' job
// (label selectors); these functions only convert.

#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <vector>

#include "contract/liveness_tracker.h"
#include "contract/observed.h"
#include "kube/object.h"
#include "planner/types.h"

namespace rr::api {

// node_info_from and reflector_lease_from are the agent's too: contract/observed.h.
using contract::node_info_from;
using contract::reflector_lease_from;

// What the controller's cache keeps of a reflector Pod: kind, metadata without managedFields,
// of the spec what pod_spec_kept keeps, and of the status only what the reconciler reads
// (phase, hostIP, each condition's type and status, each container's name, restartCount
// and the kind of its state). 2,000 reflectors of a 100k-Node fabric
// are 2,000 Pods; the whole of one is ~26 KB as a JSON document, the kept part ~8 KB.
std::optional<kube::Json> pod_kept(const kube::Json& pod);
// The kubelet's report of the Pod's containers (status.containerStatuses: the sum of their
// restartCounts, whether each state is running), read type-checked; nullopt before any.
std::optional<contract::ContainerRuns> container_runs_from(const kube::Json& pod);
// Of a Pod spec, what the reconciler reads (nodeName, the node affinity that pins it) and what
// may change on a live Pod or says which Pod it is (each container's name, image and env).
// pod_matches compares exactly this; the spec-hash annotation stands for the rest, which a
// Pod cannot change once created.
kube::Json pod_spec_kept(const kube::Json& spec);

// nullopt when the object has no name. The node is spec.nodeName, or before
// binding the value of the required node affinity on metadata.name. host_ipv6 is the
// reflector container's RR_HOST_IPV6 as the operator rendered it (when an IPv6 address).
std::optional<planner::ReflectorPod> reflector_pod_from(const kube::Json& pod);

// Something a reflector's Lease says that its Pod contradicts. The agent writes
// the Lease, so a compromised agent can write anything there (another Pod's Lease
// too); the Pod is written by the operator (labels, annotations) and the kubelet
// (status.hostIP). `field` is one of kLeaseContradictionFields.
struct LeaseContradiction {
  std::string field;
  std::string message;
};
inline constexpr const char* kLeaseContradictionFields[] = {"holder", "fabric", "rack", "clusterID", "address",
                                                            "addressV6"};

// Checks the Lease against the Pod it is named after, in this order: holderIdentity
// is the Pod's UID (or its name: agents of the previous version), the fabric label,
// the rack and cluster-ID annotations equal the Pod's rack label and cluster-ID
// annotation, the address annotation the Pod's status.hostIP once the kubelet
// reported one, and the address-v6 annotation the Pod's RR_HOST_IPV6 (both empty
// on a single-stack fabric). nullopt when all agree. A Lease held by someone else says nothing
// more: its other fields are not checked.
std::optional<LeaseContradiction> lease_contradiction(const kube::Json& lease, const kube::Json& pod);

// Calico's spec.nodeToNodeMeshEnabled of a BGPConfiguration: absent means
// enabled (Calico's default); nullopt when the value is not a boolean or the
// argument not an object. A missing BGPConfiguration is the caller's nullopt.
std::optional<bool> node_to_node_mesh_from(const kube::Json& bgp_configuration);

// The rack -> cluster ID allocations recorded in a RouteReflectorCluster's
// status.racks, in status order; entries without a name or a dotted-quad
// clusterID are skipped (the planner recovers them from the Pods). `list` "topTier": the top
// tier's, per zone (a fabric-wide top tier's name is "").
std::vector<planner::RackAllocation> allocations_from_status(const kube::Json& rrc, std::string_view list = "racks");

// "secret-name/key" for each key of a Secret's data (and stringData); never the values.
std::set<std::string> secret_keys_from(const kube::Json& secret);

}  // namespace rr::api
