#pragma once
// The only code that writes. It turns the difference between a Plan and what
// the caches hold into the fewest API calls, touches only objects labelled as
// this fabric's, and makes no call at all when they already match.
// 409 means "someone moved first": the caller requeues. 404 on delete is done.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/render.h"
#include "kube/kube_client.h"
#include "planner/types.h"

namespace rr::controller {

// Live objects as the informer caches hold them: shared and immutable, never copied to be read.
using LiveObjects = std::vector<std::shared_ptr<const kube::Json>>;

class Applier {
 public:
  using WriteObserver = std::function<void(std::string_view verb)>;

  Applier(kube::KubeClient& client, WriteObserver on_write = {});

  // Creates missing reflector Pods, replaces ones whose immutable spec changed,
  // relabels drifted ones, deletes the plan's pods_to_delete (owned only).
  kube::Status apply_pods(const planner::FabricSpec& spec, const planner::Plan& plan,
                          const LiveObjects& live_pods);
  // Makes the fabric's BGPPeers exactly the plan's: create, update, delete owned extras.
  kube::Status apply_peers(const planner::FabricSpec& spec, const planner::Plan& plan,
                           const LiveObjects& live_peers);
  // Makes the fabric's agent Secrets Role and RoleBinding (api::render_agent_secret_access)
  // exist in spec.ns as rendered, or not at all when the spec names no Secret, and deletes
  // the fabric's others (left in a namespace the spec moved away from). live_*: the fabric's
  // Roles and RoleBindings, any namespace. The Role is written before its binding and
  // deleted after it.
  kube::Status apply_agent_secret_access(const planner::FabricSpec& spec, const LiveObjects& live_roles,
                                         const LiveObjects& live_bindings);
  // Makes the fabric's copy of the BGPPeers' password in calico-node's namespace (target.ns),
  // its Role and its RoleBinding exactly `want` (api::render_calico_password_copy), or deletes
  // them when nullopt. No informer watches there: each is read by name, written only where it
  // differs, and left alone when it is not this fabric's. The Secret and Role are written before
  // the binding, deleted after it. A failure's message names the object. Off (target.ns empty):
  // no request at all.
  kube::Status apply_calico_password_copy(const std::string& fabric, const api::CalicoPasswordTarget& target,
                                          const std::optional<api::CalicoPasswordCopy>& want);
  // Sets Calico's nodeToNodeMeshEnabled on the "default" BGPConfiguration.
  kube::Status apply_mesh(const planner::FabricSpec& spec, bool enabled, const kube::Json* live_default);
  // Writes status only when it differs from the live one.
  kube::Status apply_status(const kube::Json& fabric, const kube::Json& status);
  kube::Status add_finalizer(const kube::Json& fabric);
  kube::Status remove_finalizer(const kube::Json& fabric);
  // Deletes every live object given that carries this fabric's labels.
  kube::Status delete_owned(const kube::ResourceType& type, const std::string& fabric,
                            const LiveObjects& live);

  // Deletes reflector Leases as they are in `live` (uid and resourceVersion preconditions):
  // one renewed or taken over since (409) is left to whoever holds it now.
  kube::Status delete_leases(const LiveObjects& live);

  // Writes made so far, by every worker (the applier is shared by them).
  int writes() const { return writes_.load(std::memory_order_relaxed); }

 private:
  void wrote(std::string_view verb);
  kube::KubeClient& client_;
  WriteObserver on_write_;
  std::atomic<int> writes_{0};
};

// Whether a live object carries the labels that make it this fabric's.
bool owned_by(const kube::Json& object, const std::string& fabric);

}  // namespace rr::controller
