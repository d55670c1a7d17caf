#pragma once
// What both binaries keep of a Node and of a reflector's Lease: the operator's
// informers and the agent's mesh read them alike. They read API-server output:
// a field of the wrong type reads as absent, and nothing throws.

#include <optional>

#include "contract/types.h"
#include "kube/object.h"

namespace rr::contract {

// nullopt when the object has no name. Keeps labels, the Ready condition,
// spec.unschedulable, taints, the first InternalIP, the first IPv6 InternalIP and Calico's BGP addresses
// without their prefix length ("10.0.0.5/24" -> "10.0.0.5").
std::optional<NodeInfo> node_info_from(const kube::Json& node);
// The same, keeping only the labels whose key is in `label_keys` (memory then grows with the
// labels someone reads, not with all a Node carries: about 20, most of them never selected on).
std::optional<NodeInfo> node_info_keeping(const kube::Json& node, const LabelKeys& label_keys);

// nullopt when the object has no name. Numbers the annotations do not parse
// as keep their defaults (port 179, sessions 0); fresh/expired stay false: the
// controller judges them from when it saw renewals.
std::optional<ReflectorLease> reflector_lease_from(const kube::Json& lease);

}  // namespace rr::contract
