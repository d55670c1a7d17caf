#pragma once
// The objects the operator writes, rendered from the planner's values. Key
// order is deterministic (nlohmann::json sorts keys), so renders compare
// byte for byte with the golden files in tests/unit/operator/api/testdata.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/match.h"
#include "kube/object.h"
#include "planner/types.h"

namespace rr::api {

// Only reflector Pods carry an ownerReference (the fabric, as their controller: kubectl drain
// evicts no Pod without one unless forced). Nothing else rendered here does: the garbage
// collector, which after an API server restart can take a fabric (a custom resource) for
// absent, must not delete any of it. The fabric's finalizer removes what it made
// (docs/operations.md, "Upgrades").

// A reflector Pod in spec.ns, controlled by the fabric, pinned to desired.node by
// required node affinity (the scheduler still checks resources and ports),
// one reflector per host of the fabric, host network, non-root.
kube::Json render_reflector_pod(const planner::FabricSpec& spec, const planner::DesiredPod& desired);

// A Calico BGPPeer (crd.projectcalico.org/v1 or projectcalico.org/v3 per spec.calico_api), labelled as the fabric's.
kube::Json render_bgp_peer(const planner::FabricSpec& spec, const planner::DesiredPeer& desired);

// Calico's cluster-wide BGPConfiguration "default" with nodeToNodeMeshEnabled,
// for creating it when it does not exist (otherwise merge-patch its spec). It
// is not the fabric's: deleting a fabric must not delete it.
kube::Json render_bgp_configuration(planner::CalicoApi api, bool node_to_node_mesh_enabled);

// The password Secrets a spec names (spec.bgp.passwordSecretRef, spec.externalPeers[].passwordSecretRef),
// sorted, each once.
std::set<std::string> password_secret_names(const planner::FabricSpec& spec);

// The name of the fabric's agent Secrets Role and of its RoleBinding, in spec.ns.
std::string agent_secrets_role_name(const std::string& fabric);

// A Role granting get on named Secrets, and its RoleBinding.
struct SecretReaderAccess {
  kube::Json role;
  kube::Json binding;
};

// What lets the fabric's agents (ServiceAccount rr-agent in spec.ns) read its passwords and no
// other Secret: a Role with one rule (secrets, get, resourceNames = password_secret_names) and
// its RoleBinding, both labelled as the fabric's. nullopt when the spec names no
// Secret: a rule without resourceNames would grant every Secret of the namespace.
using AgentSecretAccess = SecretReaderAccess;
std::optional<AgentSecretAccess> render_agent_secret_access(const planner::FabricSpec& spec);

// Where rr-operator keeps, for calico-node, copies of the password Secrets the BGPPeers name
// (--calico-password-namespace, --calico-node-service-account): Calico reads a BGPPeer's
// password.secretKeyRef in calico-node's own namespace. An empty namespace: no copies.
struct CalicoPasswordTarget {
  std::string ns;
  std::string service_account = "calico-node";
};

// The (Secret, key) pairs the fabric's BGPPeers name: spec.bgp.passwordSecretRef. The external
// peers' passwords are BIRD's (the agents'), never calico-node's: they are not copied.
std::vector<planner::SecretKeyRef> calico_password_refs(const planner::FabricSpec& spec);
// rr-bgp-passwords-<fabric>, the copy; rr-calico-node-passwords-<fabric>, its Role and RoleBinding.
std::string calico_passwords_secret_name(const std::string& fabric);
std::string calico_passwords_role_name(const std::string& fabric);
// What a BGPPeer names instead of `source` while copies are kept: the copy, key "<secret>.<key>".
planner::SecretKeyRef calico_password_copy_ref(const std::string& fabric, const planner::SecretKeyRef& source);

// In target.ns: the Secret calico_passwords_secret_name (type Opaque) holding, for each of
// calico_password_refs, values[copy key] (the source's base64 data value, as read at this
// reconcile), and a Role granting get on that Secret alone bound to target.service_account;
// all labelled as the fabric's. nullopt when no BGPPeer names a password or
// copies are off.
struct CalicoPasswordCopy : SecretReaderAccess {
  kube::Json secret;
};
std::optional<CalicoPasswordCopy> render_calico_password_copy(const planner::FabricSpec& spec,
                                                              const CalicoPasswordTarget& target,
                                                              const std::map<std::string, std::string>& values);

// The fabric's status. A condition keeps its lastTransitionTime from
// previous_status (the object's current .status) while its status is
// unchanged; otherwise it is now_rfc3339. While the plan holds (invalid spec,
// conflict) without racks, the previous racks and their counts are kept, so
// that recorded cluster IDs survive a bad edit.
kube::Json render_status(const planner::Plan& plan, const planner::FabricSpec& spec, const kube::Json& previous_status,
                         const std::string& now_rfc3339);

std::string_view to_string(planner::ReflectorState state);
// "crd.projectcalico.org/v1" or "projectcalico.org/v3", as spec.calicoAPI and --calico-api spell it.
std::string_view to_string(planner::CalicoApi api);

}  // namespace rr::api
