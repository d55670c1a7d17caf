#pragma once
// Reconciles one RouteReflectorCluster by name, level-based, in three steps: gather
// reads the world from the informer caches (never from the event that woke it), the
// pure planner decides (a topology, a hold, or deletion's next step), and apply lets
// the Applier write the difference.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "api/fabric_policy.h"
#include "contract/liveness_tracker.h"
#include "controller/api_availability.h"
#include "controller/host_readiness.h"
#include "controller/applier.h"
#include "controller/namespace_access.h"
#include "kube/clock.h"
#include "kube/event_recorder.h"
#include "kube/store.h"
#include "planner/types.h"

namespace rr::controller {

struct FabricCaches {
  const kube::Store<kube::Json>* fabrics = nullptr;
  const kube::Store<planner::NodeInfo>* nodes = nullptr;
  const kube::Store<kube::Json>* pods = nullptr;                // reflector Pods, all namespaces
  const kube::Store<kube::Json>* leases = nullptr;              // reflector Leases, all namespaces
  const kube::Store<kube::Json>* peers = nullptr;               // owned Calico BGPPeers
  const kube::Store<kube::Json>* bgp_configurations = nullptr;  // Calico BGPConfigurations
  const ApiAvailability* calico = nullptr;                      // whether the two above are served
  const NamespaceAccess* namespaces = nullptr;                  // where pods and leases can be watched
  const kube::Store<kube::Json>* roles = nullptr;               // owned Roles (agent Secret access), all namespaces
  const kube::Store<kube::Json>* role_bindings = nullptr;       // their RoleBindings
  const HostReadiness* hosts = nullptr;  // since when Nodes are NotReady; null: no grace (a one-shot plan)
  // Whether the Node cache keeps these label keys and has listed every Node since it began to
  // (FabricController: NodeLabelScope and the Node informer's relist); null: it keeps all.
  std::function<bool(const planner::LabelKeys&)> nodes_keep = nullptr;
  // A reflector Lease (key "ns/name") read from the API at another revision than the cache
  // holds (nullopt: the API has none): the watch missed writes. FabricController observes it
  // as a watch event and lists that namespace's Leases again. Null: nothing is told.
  std::function<void(const std::string&, const std::optional<kube::Json>&)> lease_read = nullptr;
};

struct ReconcilerOptions {
  // A reflector Pod gets this long past its lease duration to publish a first Lease.
  kube::Clock::Duration startup_grace = std::chrono::seconds(120);
  // A reflector whose Node is NotReady is replaced once the Node has stayed NotReady this long
  // (as the controller observed it: HostReadiness).
  kube::Clock::Duration host_not_ready_grace = std::chrono::seconds(30);
  planner::CalicoApi calico_api = planner::CalicoApi::CrdV1;  // the API this operator's informers watch
  std::string default_image;                                   // for specs that name none; always allowed
  // The namespaces and images specs may choose (the controller watches Pods and Leases in these
  // namespaces only). A spec outside it is held.
  api::FabricPolicy policy;
  // Deleting a fabric that turned Calico's mesh back on waits until the mesh has been on this
  // long (calico-node's BIRD brings the mesh sessions up) before its BGPPeers go.
  kube::Clock::Duration mesh_settle = std::chrono::seconds(15);
  // Where copies of the BGPPeers' password Secrets are kept for calico-node
  // (--calico-password-namespace, --calico-node-service-account). Empty namespace: off, and the
  // BGPPeers name the Secret in spec.namespace itself.
  api::CalicoPasswordTarget calico_passwords;
};

struct ReconcileOutcome {
  std::string result = "success";  // success | invalid | conflict
  std::optional<kube::Clock::Duration> requeue_after;
  planner::Plan plan;
  // The spec reads a Node label the cache does not keep yet: nothing was planned or written;
  // the Nodes' relist enqueues the fabric again.
  bool nodes_pending = false;
};

class FabricReconciler {
 public:
  FabricReconciler(FabricCaches caches, kube::KubeClient& client, Applier& applier, contract::LivenessTracker& liveness,
                   kube::EventRecorder* events, kube::Clock& clock, ReconcilerOptions options);

  kube::Result<ReconcileOutcome> reconcile(const std::string& fabric_name);

 private:
  // What one reconcile read: the planner's input and what applying its plan needs besides.
  struct Gathered {
    std::shared_ptr<const kube::Json> fabric;  // null: gone (its finalizer already ran)
    planner::PlanInput input;
    // Password values for calico-node's copy: this reconcile's, never kept or logged.
    std::map<std::string, std::string> calico_values;
    std::optional<kube::Clock::Duration> requeue;  // when a Lease or Pod verdict changes next
    kube::Clock::Duration mesh_on_for{};           // how long Calico's mesh has been seen on
    bool nodes_pending = false;                    // see ReconcileOutcome
  };

  // Gather: reads only (the informer caches, the password Secrets, a Namespace by name, the
  // Lease of a reflector the caches judge lapsed).
  kube::Result<Gathered> gather(const std::string& fabric_name);
  // The fabric is being deleted: only its identity counts, so deletion finishes whatever the spec says.
  void gather_teardown(const kube::Json& fabric, Gathered& g);
  // The reason the fabric cannot be planned yet, if any.
  std::optional<planner::Precondition> precondition(const kube::Result<planner::FabricSpec>& parsed);
  // The fabric's namespace cannot be watched (NamespaceAccess): whether it does not exist or
  // the operator lacks its Role there.
  planner::Precondition unwatchable(const std::string& ns);
  void gather_world(const kube::Json& fabric, Gathered& g);
  // Reads from the API the Lease of every reflector the caches judge lapsed, before any plan
  // acts on that: a watch can go silent without failing (an API server shutting down keeps
  // its watches open; a connection dropped without a reset), and the caches then miss
  // renewals. An error when the API does not answer (nothing acts on an unconfirmed lapse).
  kube::Status confirm_lapses(const planner::FabricSpec& spec);

  // Apply: the one place that writes, each step as the plan says.
  kube::Result<ReconcileOutcome> apply(const Gathered& g, planner::Plan plan);
  kube::Result<ReconcileOutcome> apply_teardown(const Gathered& g, planner::Plan plan);
  kube::Result<ReconcileOutcome> apply_held(const Gathered& g, planner::Plan plan);
  kube::Result<ReconcileOutcome> apply_topology(const Gathered& g, planner::Plan plan);

  std::vector<planner::FabricClaims> older_fabrics(const planner::FabricSpec& spec) const;
  // The fabric's Leases that lapsed and belong to no Pod that keeps running: their
  // Pod is gone, being deleted (now or by `plan`), or a replacement of the same
  // name that never renewed them (another UID). A lapsed reflector's Lease goes with it.
  LiveObjects lapsed_leases(const planner::FabricSpec& spec, const planner::Plan& plan) const;
  // The password Secrets' keys into g.input; those absent or forbidden to read into
  // input.unreadable_secrets (the planner names the field). Any other failure is
  // returned: a hiccup of the API must not read as an invalid spec.
  // g.calico_values: the base64 values of the keys the BGPPeers name (api::calico_password_refs),
  // by their key in the copy, for this reconcile's api::render_calico_password_copy only.
  kube::Status read_secrets(Gathered& g);
  // The cached BGPConfiguration "default", held by the caller (never by the reconciler:
  // two workers reconcile at once).
  std::shared_ptr<const kube::Json> default_bgp_configuration() const;
  // Every other live fabric with a valid spec, as the mesh decision needs it.
  std::vector<planner::FabricCoverage> other_fabrics_coverage(const std::string& self) const;
  // Notes Calico's mesh setting as seen now; returns how long it has been seen on (zero when off).
  kube::Clock::Duration observe_mesh(bool enabled);
  void record(const kube::Json& fabric, const std::string& type, const std::string& reason, const std::string& message);

  FabricCaches caches_;
  kube::KubeClient& client_;
  Applier& applier_;
  contract::LivenessTracker& liveness_;
  kube::EventRecorder* events_;
  kube::Clock& clock_;
  ReconcilerOptions options_;
  api::FabricPolicy policy_;  // options_.policy, plus the default image
  // A confirming read got no answer: the agents' renewals are likely failing too. The first
  // read answered after that restarts every Lease's clock (LivenessTracker::observation_lost).
  std::atomic<bool> confirm_unanswered_{false};
  std::mutex mesh_mu_;  // both workers observe the mesh
  std::optional<bool> mesh_seen_;
  kube::Clock::TimePoint mesh_on_since_{};
};

}  // namespace rr::controller
