#pragma once
// Does a live object already satisfy the rendered one? Only the fields the
// operator renders count: defaults and admission additions the server makes
// (hostPort, probe timeouts, the service-account token volume, extra
// tolerations, quantities in canonical form, ...) are not differences, so the
// applier makes zero writes in steady state.

#include <ostream>
#include <string_view>

#include "kube/object.h"

namespace rr::api {

enum class Match {
  Same,     // nothing to write
  Update,   // a mutable field differs: write it (metadata of Pods; anything of BGPPeers)
  Replace,  // an immutable field differs: delete and recreate
};
std::string_view to_string(Match match);
inline std::ostream& operator<<(std::ostream& out, Match match) { return out << to_string(match); }

// Whether an ownerReference names a RouteReflectorCluster. rr-operator sets one only on
// reflector Pods (render.h): after an API server restart, before it serves custom resources
// again, the garbage collector can find the fabric absent and delete what it owns. One an
// older rr-operator set on anything else is an Update that takes it off.
bool names_a_fabric(const kube::Json& owner_reference);
bool owned_by_a_fabric(const kube::Json& object);

// Pod spec fields are immutable (the image can be patched, but an agent is
// restarted through a new Pod anyway), so any spec difference, or a different
// rr.bgp.dev/spec-hash annotation (which also catches fields the operator
// stopped rendering), is Replace. Owned labels and annotations, and the
// controller ownerReference, are Update: patch metadata from desired.
Match pod_matches(const kube::Json& live, const kube::Json& desired);

// BGPPeers are mutable: a difference in owned labels, an ownerReference to a fabric or
// any spec field the operator renders (nodeSelector, peerIP, asNumber,
// password, including one the desired object no longer has) is Update, which
// must replace the whole spec (a merge patch would keep a removed password).
// A different kind or apiVersion is Replace.
Match peer_matches(const kube::Json& live, const kube::Json& desired);

// True when every field of desired is in live with an equal value: objects
// are compared key by key, arrays of objects as "each desired element is in
// some live element" (any order, extra live elements allowed), arrays of
// scalars exactly, and resource quantities by value. A desired empty value
// ("", 0, false, {}, []) matches an absent one, as the API omits them.
bool contains(const kube::Json& live, const kube::Json& desired);

}  // namespace rr::api
