#pragma once
// The objects the operator writes, rendered from the planner's values. Key
// order is deterministic (nlohmann::json sorts keys), so renders compare
// byte for byte with the golden files in tests/unit/operator/api/testdata.

#include <optional>
#include <set>
#include <string>

#include "api/match.h"
#include "kube/object.h"
#include "planner/types.h"

namespace rr::api {

// A reflector Pod in spec.ns, owned by the fabric, pinned to desired.node by
// required node affinity (the scheduler still checks resources and ports),
// one reflector per host of the fabric, host network, non-root.
kube::Json render_reflector_pod(const planner::FabricSpec& spec, const planner::DesiredPod& desired);

// A Calico BGPPeer (crd.projectcalico.org/v1 or projectcalico.org/v3 per spec.calico_api), owned by the fabric.
kube::Json render_bgp_peer(const planner::FabricSpec& spec, const planner::DesiredPeer& desired);

// Calico's cluster-wide BGPConfiguration "default" with nodeToNodeMeshEnabled,
// for creating it when it does not exist (otherwise merge-patch its spec). It
// carries no ownerReference: deleting a fabric must not delete it.
kube::Json render_bgp_configuration(planner::CalicoApi api, bool node_to_node_mesh_enabled);

// The password Secrets a spec names (spec.bgp.passwordSecretRef, spec.externalPeers[].passwordSecretRef),
// sorted, each once.
std::set<std::string> password_secret_names(const planner::FabricSpec& spec);

// The name of the fabric's agent Secrets Role and of its RoleBinding, in spec.ns.
std::string agent_secrets_role_name(const std::string& fabric);

// What lets the fabric's agents (ServiceAccount rr-agent in spec.ns) read its passwords and no
// other Secret: a Role with one rule (secrets, get, resourceNames = password_secret_names) and
// its RoleBinding, both owned by the fabric and labelled as its. nullopt when the spec names no
// Secret: a rule without resourceNames would grant every Secret of the namespace.
struct AgentSecretAccess {
  kube::Json role;
  kube::Json binding;
};
std::optional<AgentSecretAccess> render_agent_secret_access(const planner::FabricSpec& spec);

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
