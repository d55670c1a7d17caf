#include "controller/fabric_controller.h"

#include <algorithm>
#include <set>
#include <thread>

#include "api/observed.h"
#include "api/render.h"
#include "contract/fabric_spec.h"
#include "planner/planner.h"
#include "contract/well_known.h"

namespace rr::controller {
namespace {

using kube::Json;

std::string reflector_selector() {
  return std::string(contract::kNameLabel) + "=" + std::string(contract::kNameValue);
}
std::string managed_selector() {
  return std::string(contract::kManagedByLabel) + "=" + std::string(contract::kManagedByValue);
}

}  // namespace

FabricController::FabricController(kube::KubeClient& client, ControllerOptions options, kube::Clock& clock,
                                   OperatorMetrics* metrics, kube::EventRecorder* events)
    : client_(client),
      options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      events_(events),
      liveness_(clock, options_.reconciler.startup_grace),
      host_readiness_(clock, options_.reconciler.host_not_ready_grace),
      writer_(client),
      applier_(writer_, [metrics](std::string_view verb) {
        if (metrics) metrics->write(verb);
      }),
      queue_(kube::WorkQueueOptions{}, clock) {
  auto opts = [&](std::string label_selector) {
    kube::InformerOptions o;
    o.watch.label_selector = std::move(label_selector);
    o.resync_period = options_.resync_period;
    return o;
  };
  fabrics_ = std::make_unique<kube::Informer<Json>>(client, contract::route_reflector_clusters(), opts(""),
                                                    kube::without_managed_fields, clock);
  nodes_ = std::make_unique<kube::Informer<planner::NodeInfo>>(
      client, kube::resources::nodes(), opts(""), [this](const Json& node) { return node_labels_.trim(node); }, clock);
  pod_store_ = std::make_shared<kube::Store<Json>>();
  lease_store_ = std::make_shared<kube::Store<Json>>();
  role_store_ = std::make_shared<kube::Store<Json>>();
  binding_store_ = std::make_shared<kube::Store<Json>>();
  // The Lease watch reconnects within 2 s of the API coming back (not after a 30 s backoff):
  // no Lease is judged lapsed while it cannot watch (see its error and resume sinks), so
  // reconnecting fast bounds how long a reflector that died meanwhile goes unjudged.
  auto lease_options = opts(reflector_selector());
  lease_options.watch.backoff.max = std::chrono::seconds(2);
  std::set<std::string> watched;
  for (const auto& ns : options_.reconciler.policy.namespaces) {
    if (!watched.insert(ns).second) continue;
    NamespaceInformers& n = namespaced_.emplace_back();
    n.ns = ns;
    auto pod_options = opts(reflector_selector() + "," + managed_selector());
    pod_options.watch.ns = ns;
    // A namespace refused (its Role not bound yet) is looked at again every few seconds, so
    // its fabrics go on soon after it is granted.
    pod_options.watch.backoff.max = std::chrono::seconds(5);
    n.pods = std::make_unique<kube::Informer<Json>>(client, kube::resources::pods(), pod_options, api::pod_kept,
                                                    pod_store_, clock);
    lease_options.watch.ns = ns;
    n.leases = std::make_unique<kube::Informer<Json>>(client, kube::resources::leases(), lease_options,
                                                      kube::without_managed_fields, lease_store_, clock);
    auto rbac_options = opts(managed_selector());
    rbac_options.watch.ns = ns;
    rbac_options.watch.backoff.max = std::chrono::seconds(5);
    n.roles = std::make_unique<kube::Informer<Json>>(client, contract::roles(), rbac_options, kube::without_managed_fields,
                                                     role_store_, clock);
    n.role_bindings = std::make_unique<kube::Informer<Json>>(client, contract::role_bindings(), rbac_options,
                                                             kube::without_managed_fields, binding_store_, clock);
    // A namespace refused (no Role there: 403) holds its own fabrics only, until a list succeeds.
    for (auto* informer : n.all()) {
      const std::string resource = informer->watcher().type().plural;
      const bool leases = informer == n.leases.get();
      informer->set_error_sink([this, ns, resource, leases](const kube::Error& e) {
        // While a Lease watch is broken (API down or restarting) nobody's renewals are visible;
        // that blind time must not expire healthy reflectors. A refusal is no blindness: the API
        // answers, and it keeps answering so every few seconds, which must not keep every other
        // namespace's reflectors from ever lapsing.
        if (!NamespaceAccess::refusal(e)) {
          if (leases) liveness_.observation_lost(ns);
          if (options_.on_watch_error) options_.on_watch_error(resource + " in " + ns, e);
          return;
        }
        // A Lease watch that failed and is now refused is not blind any more: its namespace's
        // fabrics are held (NamespaceNotWatchable), and the Leases elsewhere are judged again.
        if (leases) liveness_.observation_resumed(ns);
        // Said once per change, not per retry; the fabrics there say it in their status.
        if (!namespaces_.failed(ns, resource, e)) return;
        if (options_.on_namespace_access) options_.on_namespace_access(ns, e);
        enqueue_all();
      });
      if (leases) {
        // Watching again: the blind time is over; every Lease is judged again from now.
        informer->set_resume_sink([this, ns] {
          liveness_.observation_resumed(ns);
          enqueue_all();
        });
      }
      informer->set_list_sink([this, ns, resource] {
        if (!namespaces_.listed(ns, resource)) return;
        if (options_.on_namespace_access) options_.on_namespace_access(ns, std::nullopt);
        enqueue_all();
      });
    }
  }
  const bool v3 = options_.reconciler.calico_api == planner::CalicoApi::ProjectCalicoV3;
  const kube::ResourceType& peer_type = v3 ? contract::calico_v3_bgp_peers() : contract::calico_crd_bgp_peers();
  const kube::ResourceType& configuration_type =
      v3 ? contract::calico_v3_bgp_configurations() : contract::calico_crd_bgp_configurations();
  // Calico's API may not be served yet (its CRDs installed after the operator): it is looked
  // for every few seconds, not every 30, so the fabrics go on soon after it appears.
  auto calico_options = [&](std::string label_selector) {
    auto o = opts(std::move(label_selector));
    o.watch.backoff.max = std::chrono::seconds(5);
    return o;
  };
  peers_ = std::make_unique<kube::Informer<Json>>(client, peer_type, calico_options(managed_selector()),
                                                  kube::without_managed_fields, clock);
  bgp_configurations_ = std::make_unique<kube::Informer<Json>>(client, configuration_type, calico_options(""),
                                                               kube::without_managed_fields, clock);
  calico_ = std::make_unique<ApiAvailability>(std::vector<kube::ResourceType>{peer_type, configuration_type});
  for (auto [informer, type] : {std::pair{peers_.get(), &peer_type}, std::pair{bgp_configurations_.get(),
                                                                               &configuration_type}}) {
    // A 404 and its end change every fabric's status: say so once, and reconcile them all.
    informer->set_error_sink([this, type](const kube::Error& e) {
      if (!calico_->failed(*type, e)) return;
      if (options_.on_calico_api) options_.on_calico_api(*type, e);
      enqueue_all();
    });
    informer->set_list_sink([this, type] {
      if (!calico_->listed(*type)) return;
      if (options_.on_calico_api) options_.on_calico_api(*type, std::nullopt);
      enqueue_all();
    });
  }

  fabrics_->add_handlers({[this](const std::string& k, const Json& f) {
                            read_node_labels_of(f);
                            enqueue(k);
                          },
                          [this](const std::string& k, const Json&, const Json& f) {
                            read_node_labels_of(f);
                            enqueue(k);
                            enqueue_all();  // another fabric's change can end or start a conflict
                          },
                          [this](const std::string& k, const Json&) {
                            enqueue(k);
                            enqueue_all();
                          }});
  // The fabrics' first list is in: their label keys are known, the Nodes can be listed once.
  fabrics_->set_list_sink([this] { std::call_once(nodes_started_, [this] { nodes_->start(); }); });
  nodes_->set_list_sink([this] {
    if (options_.on_nodes_listed) options_.on_nodes_listed();
    enqueue_all();  // a relist for new label keys ends the wait
  });
  nodes_->add_handlers({[this](const std::string&, const planner::NodeInfo& n) {
                          host_readiness_.observe(n.name, n.ready);
                          enqueue_all();
                        },
                        [this](const std::string&, const planner::NodeInfo& a, const planner::NodeInfo& b) {
                          host_readiness_.observe(b.name, b.ready);
                          if (!(a == b)) enqueue_all();  // heartbeats change nothing we keep
                        },
                        [this](const std::string&, const planner::NodeInfo& n) {
                          host_readiness_.forget(n.name);
                          enqueue_all();
                        }});
  auto owner_handlers = [this](bool track_pods) {
    kube::Informer<Json>::Handlers h;
    h.on_add = [this, track_pods](const std::string& k, const Json& o) {
      if (track_pods) {
        liveness_.observe_pod(k, kube::uid_of(o), observed_at(o, "metadata", "creationTimestamp"));
        if (auto runs = api::container_runs_from(o)) liveness_.observe_containers(k, *runs);
      }
      enqueue_owner(o);
    };
    h.on_update = [this, track_pods](const std::string& k, const Json&, const Json& o) {
      if (track_pods) {
        liveness_.observe_pod(k, kube::uid_of(o));
        if (auto runs = api::container_runs_from(o)) liveness_.observe_containers(k, *runs);
      }
      enqueue_owner(o);
    };
    h.on_delete = [this, track_pods](const std::string& k, const Json& o) {
      if (track_pods) liveness_.forget_pod(k);
      enqueue_owner(o);
    };
    return h;
  };
  peers_->add_handlers(owner_handlers(false));
  for (auto& n : namespaced_) {
    n.pods->add_handlers(owner_handlers(true));
    n.roles->add_handlers(owner_handlers(false));  // an edit by hand is put back
    n.role_bindings->add_handlers(owner_handlers(false));
  }
  // Leases are written by agents: read type-checked (contract::lease_record_from), never with
  // Json::value(), which throws on a field of the wrong type and would end the informer thread.
  for (auto& n : namespaced_) {
    auto* informer = n.leases.get();
    informer->add_handlers({[this, informer](const std::string& k, const Json& o) {
                           // Before this informer synced: its initial list, found, not seen written.
                           observe_lease(k, o, informer->has_synced());
                           enqueue_owner(o);
                         },
                         [this](const std::string& k, const Json& old, const Json& o) {
                           const bool was_fresh = liveness_.judge_lease(k).fresh;
                           observe_lease(k, o, kube::resource_version_of(old) != kube::resource_version_of(o));
                           // A bare renewal of a fresh Lease changes no plan: liveness changes are
                           // caught by the reconciler's requeue at the Lease's expiry. Reported
                           // state does, and so do renewals that resume (a restarted agent's).
                           if (!was_fresh || kube::annotations_of(old) != kube::annotations_of(o) ||
                               kube::labels_of(old) != kube::labels_of(o) ||
                               contract::lease_record_from(old).holder != contract::lease_record_from(o).holder) {
                             enqueue_owner(o);
                           }
                         },
                         [this](const std::string& k, const Json& o) {
                           liveness_.forget_lease(k);
                           enqueue_owner(o);
                         }});
  }
  bgp_configurations_->add_handlers({[this](const std::string&, const Json&) { enqueue_all(); },
                                     [this](const std::string&, const Json&, const Json&) { enqueue_all(); },
                                     [this](const std::string&, const Json&) { enqueue_all(); }});

  FabricCaches caches{&fabrics_->store(), &nodes_->store(), pod_store_.get(),
                      lease_store_.get(), &peers_->store(), &bgp_configurations_->store(),
                      calico_.get(), &namespaces_};
  caches.roles = role_store_.get();
  caches.role_bindings = binding_store_.get();
  caches.hosts = &host_readiness_;
  caches.nodes_keep = [this](const planner::LabelKeys& keys) { return nodes_keep_labels(keys); };
  caches.lease_read = [this](const std::string& key, const std::optional<Json>& lease) {
    // A renewal the watch did not deliver is one all the same; the watch itself is not to be
    // trusted any more: list and watch that namespace's Leases again.
    if (lease) observe_lease(key, *lease, /*written=*/true);
    const std::string ns = key.substr(0, key.find('/'));
    for (auto& n : namespaced_) {
      if (n.ns == ns) n.leases->relist();
    }
  };
  reconciler_ = std::make_unique<FabricReconciler>(caches, writer_, applier_, liveness_, events, clock,
                                                   options_.reconciler);
}

FabricController::~FabricController() {
  queue_.shut_down();
  for (auto* i : json_informers()) i->stop();
  for (const auto& n : namespaced_) {
    for (auto* i : n.all()) i->stop();
  }
  nodes_->stop();
}

std::vector<kube::Informer<Json>*> FabricController::json_informers() const {
  std::vector<kube::Informer<Json>*> out = {fabrics_.get()};
  out.push_back(peers_.get());
  out.push_back(bgp_configurations_.get());
  return out;
}

void FabricController::enqueue(const std::string& fabric) { queue_.add(fabric); }

void FabricController::read_node_labels_of(const Json& fabric) {
  auto spec = contract::parse_fabric(fabric, options_.reconciler.default_image);
  if (!spec.ok()) return;  // held as InvalidSpec: it plans nothing
  {
    std::lock_guard lock(node_labels_mu_);
    if (!node_labels_.add(planner::node_label_keys(*spec))) return;
    // Before the Node informer started this only moves the ticket its first list answers.
    node_labels_ticket_ = nodes_->relist();
  }
  if (options_.on_node_relist && nodes_->has_synced()) options_.on_node_relist(node_labels_.keys());
}

bool FabricController::nodes_keep_every_label_read() const {
  return nodes_->listed_since(node_labels_ticket_.load());
}

bool FabricController::nodes_keep_labels(const planner::LabelKeys& keys) const {
  std::lock_guard lock(node_labels_mu_);
  return node_labels_.keeps(keys) && nodes_keep_every_label_read();
}

void FabricController::enqueue_all() {
  for (const auto& key : fabrics_->store().keys()) queue_.add(key);
}

void FabricController::enqueue_owner(const Json& object) {
  auto labels = kube::labels_of(object);
  auto it = labels.find(std::string(contract::kClusterLabel));
  if (it != labels.end()) queue_.add(it->second);
}

void FabricController::observe_lease(const std::string& key, const Json& lease, bool written) {
  if (auto pod = pod_store_->get(key)) {
    if (auto c = api::lease_contradiction(lease, *pod)) {
      // Another holder's Lease of this name that we did not see written (found at start-up), or
      // a predecessor's (an earlier Pod of this name, its agent perhaps still running), is no
      // forgery: the tracker keeps those renewals apart from this Pod's (liveness_tracker.h).
      const std::string holder = contract::lease_record_from(lease).holder;
      const bool predecessor = c->field == "holder" && (!written || liveness_.former_pod_uid(key, holder));
      if (!predecessor) {
        report_forged_lease(key, *pod, *c);
        return;  // ignored for liveness
      }
    }
  }
  // No Pod of its name (yet, or any more): it counts for no Pod; it goes once lapsed.
  liveness_.observe_lease(key, contract::lease_record_from(lease), observed_at(lease, "spec", "renewTime"));
}

std::optional<kube::Clock::TimePoint> FabricController::observed_at(const Json& object, const char* section,
                                                                    const char* field) const {
  if (!options_.date_liveness_by_timestamps || !object.is_object()) return std::nullopt;
  auto part = object.find(section);
  if (part == object.end() || !part->is_object()) return std::nullopt;
  auto value = part->find(field);
  if (value == part->end() || !value->is_string()) return std::nullopt;
  auto then = kube::parse_time(value->get<std::string>());
  if (!then) return std::nullopt;
  auto age = std::chrono::duration_cast<kube::Clock::Duration>(clock_.wall_now() - *then);
  if (age < kube::Clock::Duration::zero()) age = kube::Clock::Duration::zero();
  return clock_.now() - age;
}

kube::Result<ReconcileOutcome> FabricController::reconcile_once(const std::string& fabric) {
  return reconciler_->reconcile(fabric);
}

void FabricController::report_forged_lease(const std::string& key, const Json& pod, const api::LeaseContradiction& c) {
  // The Pod's fabric label is the operator's; the Lease's could be anything.
  const auto labels = kube::labels_of(pod);
  const auto it = labels.find(std::string(contract::kClusterLabel));
  const std::string fabric = it != labels.end() ? it->second : std::string();
  if (metrics_) metrics_->forged_lease(c.field);
  if (options_.on_forged_lease) options_.on_forged_lease(key, fabric, c.field, c.message);
  if (events_ && !fabric.empty()) {
    if (auto owner = fabrics_->store().get(fabric)) {
      events_->record(*owner, "Warning", "ForgedLease",
                      "Lease " + key + " ignored (its Pod contradicts it): " + c.message);
    }
  }
  enqueue_owner(pod);
}

void FabricController::start_informers() {
  for (auto* i : json_informers()) i->start();
  for (const auto& n : namespaced_) {
    for (auto* i : n.all()) i->start();
  }
  // The Node informer: once the fabrics are listed (fabrics_'s list sink).
}

bool FabricController::wait_for_sync(std::chrono::milliseconds timeout) {
  // A Calico type the API server does not serve never syncs, nor does a namespace the operator
  // may not watch; the fabrics concerned report it (CalicoAPIUnavailable, NamespaceNotWatchable)
  // rather than every fabric waiting for it.
  for (auto* i : json_informers()) {
    if (calico_->missing(i->watcher().type())) continue;  // false for every type it does not track
    if (!i->wait_for_sync(timeout)) return false;
  }
  for (const auto& n : namespaced_) {
    if (namespaces_.refused(n.ns)) continue;
    for (auto* i : n.all()) {
      if (!i->wait_for_sync(timeout)) return false;
    }
  }
  return nodes_->wait_for_sync(timeout);
}

void FabricController::run(std::stop_token stop) {
  std::stop_callback shut(stop, [this] {
    writer_.close();  // first: a reconcile in flight must not write once another replica may lead
    queue_.shut_down();
  });
  std::vector<std::jthread> workers;
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers.emplace_back([this, stop] { work(stop); });
  }
  enqueue_all();
}

void FabricController::work(std::stop_token stop) {
  auto heartbeat = options_.watchdog ? options_.watchdog->watch("reconcile worker") : kube::Watchdog::Loop();
  while (!stop.stop_requested()) {
    heartbeat.idle();
    auto key = queue_.get();
    if (!key) return;
    heartbeat.beat();
    if (!nodes_keep_every_label_read()) {
      // A fabric reads a Node label the cache did not keep: the Nodes' relist enqueues every
      // fabric once it is in. Planning before would see Nodes without that label.
      queue_.forget(*key);
      queue_.done(*key);
      continue;
    }
    auto started = clock_.now();
    auto result = reconciler_->reconcile(*key);
    std::chrono::duration<double> took = clock_.now() - started;
    if (result.ok() && result->nodes_pending) {
      queue_.forget(*key);  // as above: the fabric's handler has a relist coming, or is about to
    } else if (result.ok()) {
      queue_.forget(*key);
      if (result->requeue_after) queue_.add_after(*key, *result->requeue_after);
      if (metrics_) metrics_->reconciled(result->result, took);
      {
        std::lock_guard lock(plans_mu_);
        last_plans_[*key] = result->plan;
      }
      if (options_.on_reconciled) options_.on_reconciled(*key, *result);
      publish_metrics();
    } else if (result.is(kube::ErrorKind::Cancelled) && stop.stop_requested()) {
      // The stop (shutdown, or leadership lost) cancelled the reconcile's writes: nothing
      // failed, and the fabric is reconciled whole by whoever leads next.
      queue_.forget(*key);
    } else if (result.is(kube::ErrorKind::Conflict)) {
      // Someone (often our own previous write) moved first: read the cache again shortly,
      // without growing the key's backoff.
      queue_.forget(*key);
      queue_.add_after(*key, std::chrono::milliseconds(100));
      if (metrics_) metrics_->reconciled("error", took);
    } else {
      // Transient and other failures: try again, backing off per key.
      queue_.add_rate_limited(*key);
      if (metrics_) metrics_->reconciled("error", took);
      if (options_.on_error) options_.on_error(*key, result.error());
    }
    queue_.done(*key);
  }
}

void FabricController::publish_metrics() {
  if (!metrics_) return;
  std::map<std::string, double> states;  // every state, so that one no reflector is in any more reads 0
  for (auto s : planner::kReflectorStates) states[std::string(api::to_string(s))] = 0;
  double peers = 0;
  double uncovered = 0;  // the mesh is global: every fabric's plan says the same, take the latest worst
  std::lock_guard lock(plans_mu_);
  for (auto it = last_plans_.begin(); it != last_plans_.end();) {
    if (!fabrics_->store().get(it->first)) {
      it = last_plans_.erase(it);
      continue;
    }
    for (const auto& rack : it->second.racks) {
      for (const auto& r : rack.reflectors) states[std::string(api::to_string(r.state))] += 1;
    }
    peers += static_cast<double>(it->second.peers.size());
    uncovered = std::max(uncovered, static_cast<double>(it->second.mesh.uncovered));
    ++it;
  }
  metrics_->set_uncovered_nodes(uncovered);
  for (const auto& [state, count] : states) metrics_->set_reflectors(state, count);
  metrics_->set_bgp_peers_owned(peers);
}

}  // namespace rr::controller
