#pragma once
// Wires informers, the liveness tracker, a work queue and the reconciler
// together. The worker loop knows nothing of fabrics: it takes a key,
// reconciles it, and requeues on error (rate-limited) or when asked.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "api/observed.h"
#include "contract/liveness_tracker.h"
#include "controller/api_availability.h"
#include "controller/applier.h"
#include "controller/leading_client.h"
#include "controller/fabric_reconciler.h"
#include "controller/namespace_access.h"
#include "controller/node_label_scope.h"
#include "controller/operator_metrics.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/watchdog.h"
#include "kube/work_queue.h"

namespace rr::controller {

struct ControllerOptions {
  ReconcilerOptions reconciler;
  int workers = 2;
  kube::Clock::Duration resync_period = std::chrono::minutes(10);
  std::function<void(const std::string& fabric, const kube::Error&)> on_error;  // logging
  std::function<void(const std::string& fabric, const ReconcileOutcome&)> on_reconciled;
  // An informer's failed list or watch (logging): `what` is "<resource>" or "<resource> in <namespace>".
  // It retries with backoff; a lasting Forbidden here is missing RBAC.
  std::function<void(const std::string& what, const kube::Error&)> on_watch_error;
  // Logging: an allowed namespace's Pods or Leases cannot be watched (`refusal` is the 403 or
  // 404: its Role is not bound there, or it does not exist), or can be again (nullopt). Called
  // once per change, not per retry; the fabrics there are held (NamespaceNotWatchable).
  std::function<void(const std::string& ns, const std::optional<kube::Error>& refusal)> on_namespace_access;
  // Logging: a Calico type this operator needs is not served (`error` is the 404), or is
  // again (nullopt). Called once per change, not per retry.
  std::function<void(const kube::ResourceType& type, const std::optional<kube::Error>& error)> on_calico_api;
  // A reflector Lease revision ignored because its Pod contradicts it (logging; the
  // Event and the metric are the controller's).
  std::function<void(const std::string& lease, const std::string& fabric, const std::string& field,
                     const std::string& message)>
      on_forged_lease;
  // Logging: a fabric reads Node label keys the Node cache did not keep; every Node is listed
  // again (`keys`: all the cache keeps from now on) and no fabric is reconciled until that list is in.
  std::function<void(const planner::LabelKeys& keys)> on_node_relist;
  // After every full list of the Nodes is in the cache (rr-operator hands the pages the list
  // freed back to the system there).
  std::function<void()> on_nodes_listed;
  // Optional (/healthz): each worker is watched while it reconciles, not while the queue is empty.
  kube::Watchdog* watchdog = nullptr;
  // For a one-shot reader that watches no renewal happen (kubectl rr plan): a Lease's last
  // renewal is dated by its spec.renewTime, and a reflector Pod's first sighting by its
  // creationTimestamp, against this host's wall clock (skew with the agents' clocks counts).
  // The operator itself leaves this off: it judges by what it observes (liveness_tracker.h).
  bool date_liveness_by_timestamps = false;
};

class FabricController {
 public:
  FabricController(kube::KubeClient& client, ControllerOptions options, kube::Clock& clock = kube::RealClock::instance(),
                   OperatorMetrics* metrics = nullptr, kube::EventRecorder* events = nullptr);
  ~FabricController();

  void start_informers();
  bool wait_for_sync(std::chrono::milliseconds timeout);
  // Runs workers until `stop`; returns after they finished their current key.
  void run(std::stop_token stop);
  void enqueue(const std::string& fabric);
  // One reconcile of `fabric` now, on the caller's thread, outside the work queue (a preview
  // runs the informers' first lists through exactly one).
  kube::Result<ReconcileOutcome> reconcile_once(const std::string& fabric);

  int writes() const { return applier_.writes(); }
  const kube::Store<planner::NodeInfo>& nodes() const { return nodes_->store(); }
  // Every reflector Lease of the allowed namespaces, as the informers last saw it.
  const kube::Store<kube::Json>& leases() const { return *lease_store_; }
  // Every reflector Pod of the allowed namespaces, as kept (api::pod_kept).
  const kube::Store<kube::Json>& pods() const { return *pod_store_; }

 private:
  void enqueue_all();
  void read_node_labels_of(const kube::Json& fabric);
  bool nodes_keep_every_label_read() const;
  bool nodes_keep_labels(const planner::LabelKeys& keys) const;
  void enqueue_owner(const kube::Json& object);
  // Every revision of a reflector Lease; `written` = written while we watch (not found at
  // start-up, not a resync). Only a revision its Pod does not contradict counts for liveness.
  void observe_lease(const std::string& key, const kube::Json& lease, bool written);
  // When the object with this timestamp was observed (date_liveness_by_timestamps), or
  // nullopt: now.
  std::optional<kube::Clock::TimePoint> observed_at(const kube::Json& object, const char* section,
                                                    const char* field) const;
  void report_forged_lease(const std::string& key, const kube::Json& pod, const api::LeaseContradiction& c);
  void work(std::stop_token stop);
  // The cluster-wide informers of JSON objects (fabrics, Calico's types); the per-namespace
  // ones are in namespaced_.
  std::vector<kube::Informer<kube::Json>*> json_informers() const;
  void publish_metrics();

  kube::KubeClient& client_;
  ControllerOptions options_;
  kube::Clock& clock_;
  OperatorMetrics* metrics_;
  kube::EventRecorder* events_;
  contract::LivenessTracker liveness_;
  HostReadiness host_readiness_;  // fed by the Node informer, read by the reconciler
  // Every write of the reconciler and the applier goes through it; closed when run()'s token
  // stops (leadership lost, or shutdown), before a reconcile in flight can write.
  LeadingClient writer_;
  Applier applier_;
  kube::WorkQueue queue_;
  std::unique_ptr<kube::Informer<kube::Json>> fabrics_;
  // Nodes keep only the labels some fabric reads. The Node informer starts once the fabrics
  // are listed (their keys known), and lists again when a fabric reads a new key: until that
  // list is in (nodes_->listed_since(node_labels_ticket_)), no fabric is reconciled.
  // node_labels_mu_ makes a new key and its ticket one step: a reconcile that finds the key kept
  // also finds the relist it must wait for (nodes_keep_labels()).
  mutable std::mutex node_labels_mu_;
  NodeLabelScope node_labels_;
  std::atomic<std::uint64_t> node_labels_ticket_{0};
  std::once_flag nodes_started_;
  std::unique_ptr<kube::Informer<planner::NodeInfo>> nodes_;
  // What the operator watches in each allowed namespace (ReconcilerOptions::policy), so that
  // it needs rights in those namespaces only: reflector Pods and Leases, and the Roles and
  // RoleBindings that let agents read their fabric's password Secrets. Each kind fills one
  // store shared by every namespace.
  struct NamespaceInformers {
    std::string ns;
    std::unique_ptr<kube::Informer<kube::Json>> pods;
    std::unique_ptr<kube::Informer<kube::Json>> leases;
    std::unique_ptr<kube::Informer<kube::Json>> roles;
    std::unique_ptr<kube::Informer<kube::Json>> role_bindings;
    std::vector<kube::Informer<kube::Json>*> all() const {
      return {pods.get(), leases.get(), roles.get(), role_bindings.get()};
    }
  };
  std::shared_ptr<kube::Store<kube::Json>> pod_store_;
  std::shared_ptr<kube::Store<kube::Json>> lease_store_;
  std::shared_ptr<kube::Store<kube::Json>> role_store_;
  std::shared_ptr<kube::Store<kube::Json>> binding_store_;
  std::vector<NamespaceInformers> namespaced_;
  NamespaceAccess namespaces_;  // which allowed namespaces the operator may watch
  std::unique_ptr<kube::Informer<kube::Json>> peers_;
  std::unique_ptr<kube::Informer<kube::Json>> bgp_configurations_;
  std::unique_ptr<ApiAvailability> calico_;  // whether the API server serves the two above
  std::unique_ptr<FabricReconciler> reconciler_;
  std::mutex plans_mu_;
  std::map<std::string, planner::Plan> last_plans_;
};

}  // namespace rr::controller
