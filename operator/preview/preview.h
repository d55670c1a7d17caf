#pragma once
// What applying a RouteReflectorCluster would do, before it is applied: the operator's own
// controller (its informers, reconciler, planner and applier, configured as the operator's
// flags configure it) runs one reconcile of the fabric over the cluster's current objects, with
// the fabric laid over them and every write recorded instead of sent (RecordingKubeClient).
// Nothing here plans on its own: what the preview shows is what that code decides.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "controller/fabric_reconciler.h"
#include "kube/clock.h"
#include "kube/kube_client.h"
#include "planner/types.h"

namespace rr::preview {

struct PreviewOptions {
  controller::ReconcilerOptions reconciler;  // as rr-operator's flags set it
  std::chrono::milliseconds sync_timeout{60000};
  // Dates the cluster's timestamps (Lease renewals, Pod creation) against its wall time;
  // nullptr: the real clock.
  kube::Clock* clock = nullptr;
};

// One write the operator's next reconcile would make.
struct Change {
  std::string verb;  // create | update | patch | delete
  std::string kind;  // Pod, BGPPeer, BGPConfiguration, Lease, Role, RoleBinding, Secret
  std::string ns;
  std::string name;
  kube::Json object;  // what is written (a patch for patch, null for delete); Secret data redacted
};

struct Preview {
  std::string fabric;
  bool exists = false;  // a fabric of this name is on the cluster: this is a change to it
  std::string result;   // success | invalid | conflict, as the reconciler reports it
  std::optional<planner::FabricSpec> spec;  // when the spec parses
  planner::Plan plan;
  kube::Json status;                // the status the operator would write (null: unchanged)
  std::vector<Change> changes;      // sorted by kind, namespace, name
  std::vector<std::string> events;  // "Warning Reason: message", in the order recorded
  // The reconcile after that one, once the reflectors it creates run (Ready at their host's
  // address, their Leases renewed) and the ones it deletes are gone: the BGPPeers it then
  // writes and where the mesh goes. Empty when the first reconcile moves no reflector.
  std::vector<Change> once_running;
  planner::MeshDecision mesh_once_running;
  std::optional<bool> mesh_set_once_running;
  // What the preview could not read and assumed instead (a Secret the caller may not get).
  std::vector<std::string> assumptions;
  // The nodes the cluster has, by rack label value, for the report ("" for unlabelled ones).
  std::size_t nodes = 0;
};

// `fabric`: the RouteReflectorCluster as the user would apply it (kind and name checked).
// Errors: the fabric is not one, the API cannot be read, or the caches do not sync in time.
kube::Result<Preview> preview_fabric(kube::KubeClient& api, kube::Json fabric, const PreviewOptions& options);

// What a pipeline acts on: 0 no change, 1 changes, 3 the fabric would be held (invalid spec,
// conflict, refused by the operator's policy). 2 is the caller's, for errors.
int exit_code(const Preview& preview);

}  // namespace rr::preview
