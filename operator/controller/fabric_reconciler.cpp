#include "controller/fabric_reconciler.h"

#include <algorithm>
#include <set>

#include "api/observed.h"
#include "api/render.h"
#include "contract/fabric_spec.h"
#include "contract/well_known.h"
#include "planner/planner.h"

namespace rr::controller {
namespace {

using kube::Json;

LiveObjects owned(const kube::Store<Json>* store, const std::string& fabric) {
  LiveObjects out;
  if (!store) return out;
  for (auto& obj : store->list()) {
    if (owned_by(*obj, fabric)) out.push_back(std::move(obj));
  }
  return out;
}

bool older(const Json& a, const Json& b) {  // a was created before b (name breaks ties)
  std::string ta = a["metadata"].value("creationTimestamp", "");
  std::string tb = b["metadata"].value("creationTimestamp", "");
  if (ta != tb) return ta < tb;
  return kube::name_of(a) < kube::name_of(b);
}

void keep_min(std::optional<kube::Clock::Duration>& current, kube::Clock::Duration candidate) {
  if (candidate <= kube::Clock::Duration::zero()) candidate = std::chrono::milliseconds(100);
  if (!current || candidate < *current) current = candidate;
}

}  // namespace

FabricReconciler::FabricReconciler(FabricCaches caches, kube::KubeClient& client, Applier& applier,
                                   contract::LivenessTracker& liveness, kube::EventRecorder* events, kube::Clock& clock,
                                   ReconcilerOptions options)
    : caches_(caches),
      client_(client),
      applier_(applier),
      liveness_(liveness),
      events_(events),
      clock_(clock),
      options_(std::move(options)),
      policy_(options_.policy) {
  // The operator's own default image is always allowed.
  policy_.images.push_back(options_.default_image.empty() ? planner::FabricSpec{}.image : options_.default_image);
}

void FabricReconciler::record(const Json& fabric, const std::string& type, const std::string& reason,
                              const std::string& message) {
  if (events_) events_->record(fabric, type, reason, message);
}

std::shared_ptr<const Json> FabricReconciler::default_bgp_configuration() const {
  if (!caches_.bgp_configurations) return nullptr;
  return caches_.bgp_configurations->get(std::string(contract::kDefaultBgpConfiguration));
}

kube::Clock::Duration FabricReconciler::observe_mesh(bool enabled) {
  std::lock_guard lock(mesh_mu_);
  const auto now = clock_.now();
  if (mesh_seen_ != enabled) {
    mesh_seen_ = enabled;
    mesh_on_since_ = now;
  }
  return enabled ? now - mesh_on_since_ : kube::Clock::Duration::zero();
}

std::vector<planner::FabricCoverage> FabricReconciler::other_fabrics_coverage(const std::string& self) const {
  std::vector<planner::FabricCoverage> out;
  for (const auto& other : caches_.fabrics->list()) {
    if (kube::name_of(*other) == self) continue;
    // A fabric being deleted serves nothing; one with an invalid spec selects nothing we can know.
    if ((*other)["metadata"].contains("deletionTimestamp")) continue;
    auto spec = contract::parse_fabric(*other, options_.default_image);
    if (!spec.ok() || !api::check_policy(*spec, policy_).empty()) continue;
    planner::FabricCoverage c;
    c.name = spec->name;
    c.node_selector = spec->node_selector;
    c.rack_label = spec->rack_label;
    for (const auto& cond : other->value("status", Json::object()).value("conditions", Json::array())) {
      if (cond.value("type", "") == "Ready") c.ready = cond.value("status", "") == "True";
    }
    for (const auto& peer : owned(caches_.peers, spec->name)) {
      auto labels = kube::labels_of(*peer);
      auto rack = labels.find(std::string(contract::kRackLabel));
      if (rack != labels.end()) c.served_racks.insert(rack->second);
    }
    if (spec->placement == planner::Placement::Dedicated) {
      for (const auto& obj : owned(caches_.pods, spec->name)) {
        auto pod = api::reflector_pod_from(*obj);
        if (pod && !pod->node.empty()) c.reflector_hosts.insert(pod->node);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

kube::Result<ReconcileOutcome> FabricReconciler::reconcile(const std::string& fabric_name) {
  auto gathered = gather(fabric_name);
  if (!gathered.ok()) return gathered.error();
  if (!gathered->fabric) return ReconcileOutcome{};  // gone: its finalizer already ran
  if (gathered->nodes_pending) {
    ReconcileOutcome pending;
    pending.nodes_pending = true;
    return pending;
  }
  return apply(*gathered, planner::plan(gathered->input));
}

// --- gather ---

kube::Result<FabricReconciler::Gathered> FabricReconciler::gather(const std::string& fabric_name) {
  Gathered g;
  g.fabric = caches_.fabrics->get(fabric_name);
  if (!g.fabric) return g;
  const Json& fabric = *g.fabric;
  if (fabric.value("metadata", Json::object()).contains("deletionTimestamp")) {
    gather_teardown(fabric, g);
    return g;
  }
  auto parsed = contract::parse_fabric(fabric, options_.default_image);
  if (auto held = precondition(parsed)) {
    g.input.spec.name = kube::name_of(fabric);
    g.input.spec.generation = kube::generation_of(fabric);
    g.input.precondition = std::move(held);
    return g;
  }
  g.input.spec = std::move(parsed.value());
  // Read after the spec: the spec a plan is made for is the one whose label keys are checked.
  if (caches_.nodes_keep && !caches_.nodes_keep(planner::node_label_keys(g.input.spec))) {
    g.nodes_pending = true;
    return g;
  }
  if (auto s = confirm_lapses(g.input.spec); !s.ok()) return s.error();
  gather_world(fabric, g);
  if (auto s = read_secrets(g); !s.ok()) return s.error();
  return g;
}

kube::Status FabricReconciler::confirm_lapses(const planner::FabricSpec& spec) {
  // The name of the time the API did not answer these reads, for the liveness tracker.
  static const std::string kConfirmingReads = "confirming reads";
  const auto lease_duration = std::chrono::seconds(spec.lease_duration_seconds);
  for (const auto& pod : owned(caches_.pods, spec.name)) {
    const std::string key = kube::key_of(*pod);
    if (!liveness_.judge_pod(key, lease_duration).lapsed) continue;
    auto read = client_.get(kube::resources::leases(), kube::namespace_of(*pod), kube::name_of(*pod));
    if (!read.ok() && !read.is(kube::ErrorKind::NotFound)) {
      if (read.is(kube::ErrorKind::Transient) || read.is(kube::ErrorKind::TooManyRequests)) {
        confirm_unanswered_ = true;
      }
      return read.error();
    }
    if (confirm_unanswered_.exchange(false)) {
      // Time nobody could see renewals in counts against no one, as when a watch fails.
      liveness_.observation_lost(kConfirmingReads);
      liveness_.observation_resumed(kConfirmingReads);
      return {};
    }
    const auto cached = caches_.leases ? caches_.leases->get(key) : nullptr;
    const std::string api_revision = read.ok() ? kube::resource_version_of(*read) : "";
    const std::string cached_revision = cached ? kube::resource_version_of(*cached) : "";
    if (api_revision != cached_revision && caches_.lease_read) {
      caches_.lease_read(key, read.ok() ? std::optional<kube::Json>(*read) : std::nullopt);
    }
  }
  return {};
}

void FabricReconciler::gather_teardown(const Json& fabric, Gathered& g) {
  // Only the fabric's identity counts here; the spec adds what it can (an invalid one nothing).
  planner::FabricSpec& spec = g.input.spec;
  if (auto parsed = contract::parse_fabric(fabric, options_.default_image); parsed.ok()) spec = std::move(parsed.value());
  spec.name = kube::name_of(fabric);
  const Json raw = fabric.value("spec", Json::object());
  if (raw.contains("manageNodeToNodeMesh") && raw["manageNodeToNodeMesh"].is_boolean()) {
    spec.manage_node_to_node_mesh = raw["manageNodeToNodeMesh"].get<bool>();
  }
  spec.calico_api = options_.calico_api;  // the API whose BGPPeers and BGPConfiguration this operator sees

  planner::TeardownInput t;
  auto config = default_bgp_configuration();
  t.mesh_on = config ? api::node_to_node_mesh_from(*config).value_or(true) : true;
  g.mesh_on_for = observe_mesh(t.mesh_on);
  t.mesh_settled = g.mesh_on_for >= options_.mesh_settle;
  t.peers_left = !owned(caches_.peers, spec.name).empty();
  t.pods_left = !owned(caches_.pods, spec.name).empty();
  g.input.teardown = t;
  g.input.nodes = caches_.nodes->list();
  g.input.other_fabrics = other_fabrics_coverage(spec.name);
}

std::optional<planner::Precondition> FabricReconciler::precondition(const kube::Result<planner::FabricSpec>& parsed) {
  if (!parsed.ok()) return planner::Precondition{planner::Reason::kInvalidSpec, parsed.error().message};
  const planner::FabricSpec& spec = *parsed;
  const std::string calico_api(api::to_string(options_.calico_api));
  if (spec.calico_api != options_.calico_api) {
    return planner::Precondition{
        planner::Reason::kInvalidSpec,
        "spec.calicoAPI: this operator manages Calico through " + calico_api + " (flag --calico-api)"};
  }
  // What runs, and where, is the operator's configuration to bound, not the spec's author's.
  if (auto refused = api::check_policy(spec, policy_); !refused.empty()) {
    std::string message;
    for (const auto& v : refused) message += (message.empty() ? "" : "; ") + v.message;
    return planner::Precondition{refused.front().reason, message};
  }
  // Without its Pods and Leases in view the plan would start reflectors that may run already.
  if (caches_.namespaces && caches_.namespaces->refused(spec.ns)) return unwatchable(spec.ns);
  // Without Calico's API there is nothing to peer reflectors through: start none.
  if (std::string missing = caches_.calico ? caches_.calico->describe_missing() : ""; !missing.empty()) {
    return planner::Precondition{
        planner::Reason::kCalicoAPIUnavailable,
        "spec.calicoAPI is " + calico_api + ", but the API server does not serve it: " + missing + ". Install Calico's " +
            (options_.calico_api == planner::CalicoApi::CrdV1 ? "CRDs" : "API server") +
            ", or set spec.calicoAPI and the operator's --calico-api to the API your Calico serves"};
  }
  return std::nullopt;
}

planner::Precondition FabricReconciler::unwatchable(const std::string& ns) {
  // A namespace that does not exist answers 403 too (no Role can be made in it); the operator
  // may read its allowed Namespaces by name to tell the two apart.
  auto found = client_.get(kube::resources::namespaces(), "", ns);
  if (found.is(kube::ErrorKind::NotFound)) {
    return {planner::Reason::kNamespaceNotFound,
            "spec.namespace: namespace \"" + ns +
                "\" does not exist, so its reflector Pods and Leases cannot be watched; create it "
                "(rr-operator does not) and bind rr-operator's Role there"};
  }
  return {planner::Reason::kNamespaceNotWatchable,
          "spec.namespace: rr-operator may not watch reflector Pods and Leases in namespace \"" + ns + "\" (" +
              caches_.namespaces->describe(ns) +
              "); bind rr-operator's Role there (the Helm chart does for every entry of "
              "reflector.namespaces; deploy/rbac.yaml for rr-system)"};
}

void FabricReconciler::gather_world(const Json& fabric, Gathered& g) {
  planner::PlanInput& in = g.input;
  const planner::FabricSpec& spec = in.spec;
  in.nodes = caches_.nodes->list();
  if (caches_.hosts) {
    for (const auto& [node, left] : caches_.hosts->within_grace()) {
      in.hosts_not_ready_within_grace.insert(node);
      keep_min(g.requeue, left + std::chrono::milliseconds(50));
    }
  }

  const auto lease_duration = std::chrono::seconds(spec.lease_duration_seconds);
  std::map<std::string, planner::ReflectorLease> leases;
  if (caches_.leases) {
    for (const auto& obj : caches_.leases->list()) {
      auto labels = kube::labels_of(*obj);
      auto it = labels.find(std::string(contract::kClusterLabel));
      if (it == labels.end() || it->second != spec.name || kube::namespace_of(*obj) != spec.ns) continue;
      auto lease = api::reflector_lease_from(*obj);
      if (!lease) continue;
      auto verdict = liveness_.judge_lease(kube::key_of(*obj));
      lease->fresh = verdict.fresh;
      lease->expired = verdict.known && !verdict.fresh;
      if (verdict.fresh) keep_min(g.requeue, verdict.remaining + std::chrono::milliseconds(50));
      leases[lease->name] = *lease;
    }
  }
  for (const auto& ptr : owned(caches_.pods, spec.name)) {
    const Json& obj = *ptr;
    auto pod = api::reflector_pod_from(obj);
    if (!pod) continue;
    // Only this Pod's own renewals count (liveness_tracker.h): a Lease of its name held by
    // its predecessor (another UID) says nothing about it and is not its Lease.
    auto verdict = liveness_.judge_pod(kube::key_of(obj), lease_duration);
    pod->lapsed = verdict.lapsed;
    if (verdict.deadline) keep_min(g.requeue, *verdict.deadline + std::chrono::milliseconds(50));
    if (auto it = leases.find(pod->name); it != leases.end()) {
      if (verdict.lease.known) {
        it->second.fresh = verdict.lease.fresh;
        // Not renewing, yet not lapsed: its containers restarted since (LivenessTracker), so it
        // earns no peer and is not replaced.
        it->second.expired = !verdict.lease.fresh && verdict.lapsed;
        // Liveness is judged from the revisions the Pod does not contradict (FabricController);
        // what the Lease reports now is the Pod's only if the Pod does not contradict it either.
        auto lease_obj = caches_.leases->get(kube::key_of(obj));
        if (!lease_obj || api::lease_contradiction(*lease_obj, obj)) {
          it->second.sessions_established = 0;
          it->second.sessions_total = 0;
          it->second.config_error.clear();
        }
      } else {
        leases.erase(it);
      }
    }
    in.pods.push_back(*pod);
  }
  for (auto& [name, lease] : leases) in.leases.push_back(lease);
  in.recorded = api::allocations_from_status(fabric);
  in.recorded_top_tier = api::allocations_from_status(fabric, "topTier");
  in.older_fabrics = older_fabrics(spec);
  if (auto config = default_bgp_configuration()) in.node_to_node_mesh_enabled = api::node_to_node_mesh_from(*config);
  g.mesh_on_for = observe_mesh(in.node_to_node_mesh_enabled.value_or(true));
  in.other_fabrics = other_fabrics_coverage(spec.name);
}

// --- apply ---

kube::Result<ReconcileOutcome> FabricReconciler::apply(const Gathered& g, planner::Plan plan) {
  if (plan.teardown) return apply_teardown(g, std::move(plan));
  if (plan.hold) return apply_held(g, std::move(plan));
  return apply_topology(g, std::move(plan));
}

kube::Result<ReconcileOutcome> FabricReconciler::apply_teardown(const Gathered& g, planner::Plan plan) {
  const Json& fabric = *g.fabric;
  const planner::FabricSpec& spec = g.input.spec;
  ReconcileOutcome outcome;
  constexpr auto kRecheck = std::chrono::milliseconds(200);
  switch (*plan.teardown) {
    case planner::TeardownStep::EnableMesh: {
      auto config = default_bgp_configuration();
      if (auto s = applier_.apply_mesh(spec, true, config.get()); !s.ok()) return s.error();
      record(fabric, "Normal", "NodeToNodeMeshEnabled",
             "the fabric is being deleted: Calico's node-to-node mesh is back on before its BGPPeers go");
      outcome.requeue_after = kRecheck;
      break;
    }
    case planner::TeardownStep::AwaitMesh:
      outcome.requeue_after = options_.mesh_settle - g.mesh_on_for;
      break;
    case planner::TeardownStep::DeletePeers: {
      const auto& peer_type = spec.calico_api == planner::CalicoApi::ProjectCalicoV3 ? contract::calico_v3_bgp_peers()
                                                                                      : contract::calico_crd_bgp_peers();
      if (auto s = applier_.delete_owned(peer_type, spec.name, owned(caches_.peers, spec.name)); !s.ok()) {
        return s.error();
      }
      outcome.requeue_after = kRecheck;  // peers go before their reflectors
      break;
    }
    case planner::TeardownStep::DeletePods:
      if (auto s = applier_.delete_owned(kube::resources::pods(), spec.name, owned(caches_.pods, spec.name)); !s.ok()) {
        return s.error();
      }
      outcome.requeue_after = kRecheck;  // until every reflector is gone (terminating ones included)
      break;
    case planner::TeardownStep::Release:
      // The agents are gone; their Leases go too (without waiting: nothing renews them any more),
      // and so does their access to the password Secrets (binding first).
      if (auto s = applier_.delete_owned(kube::resources::leases(), spec.name, owned(caches_.leases, spec.name));
          !s.ok()) {
        return s.error();
      }
      if (auto s = applier_.delete_owned(contract::role_bindings(), spec.name, owned(caches_.role_bindings, spec.name));
          !s.ok()) {
        return s.error();
      }
      if (auto s = applier_.delete_owned(contract::roles(), spec.name, owned(caches_.roles, spec.name)); !s.ok()) {
        return s.error();
      }
      // calico-node's copy of the password (one not readable there is left to the garbage collector).
      if (auto s = applier_.apply_calico_password_copy(spec.name, options_.calico_passwords, std::nullopt); !s.ok()) {
        return s.error();
      }
      if (auto s = applier_.remove_finalizer(fabric); !s.ok()) return s.error();
      break;
  }
  outcome.plan = std::move(plan);
  return outcome;
}

kube::Result<ReconcileOutcome> FabricReconciler::apply_held(const Gathered& g, planner::Plan plan) {
  const Json& fabric = *g.fabric;
  const auto& precondition = g.input.precondition;
  // A fabric the planner holds (invalid spec, a conflict) is the operator's to finish on
  // deletion; one held before planning may not even be its to manage.
  if (!precondition) {
    if (auto s = applier_.add_finalizer(fabric); !s.ok()) return s.error();
  }
  const planner::Reason reason = plan.conditions.front().reason;
  if (precondition) record(fabric, "Warning", std::string(reason.name()), precondition->message);
  for (const auto& problem : plan.problems) {
    record(fabric, "Warning", std::string(reason.name()), problem.field + ": " + problem.message);
  }
  // The status keeps what it said about racks: the running topology is unchanged.
  Json status = api::render_status(plan, g.input.spec, fabric.value("status", Json::object()),
                                   kube::format_time(clock_.wall_now()));
  if (auto s = applier_.apply_status(fabric, status); !s.ok()) return s.error();
  ReconcileOutcome outcome;
  outcome.result = reason == planner::Reason::kConflict ? "conflict" : "invalid";
  // What it waits for may come without an event this fabric hears of (a Secret appearing,
  // RBAC granted): look again later.
  outcome.requeue_after = g.requeue;
  keep_min(outcome.requeue_after, std::chrono::seconds(10));
  outcome.plan = std::move(plan);
  return outcome;
}

kube::Result<ReconcileOutcome> FabricReconciler::apply_topology(const Gathered& g, planner::Plan plan) {
  const Json& fabric = *g.fabric;
  const planner::FabricSpec& spec = g.input.spec;
  if (auto s = applier_.add_finalizer(fabric); !s.ok()) return s.error();
  std::optional<kube::Clock::Duration> requeue = g.requeue;
  ReconcileOutcome outcome;
  if (!options_.calico_passwords.ns.empty()) {
    // calico-node reads a BGPPeer's password in its own namespace: the BGPPeers name the copy.
    for (auto& peer : plan.peers) {
      if (peer.password) peer.password = api::calico_password_copy_ref(spec.name, *peer.password);
    }
  }

  kube::Status applied = applier_.apply_pods(spec, plan, owned(caches_.pods, spec.name));
  if (applied.is(kube::ErrorKind::NotFound)) {
    // Only creating a Pod answers 404 (the applier's deletes and patches treat it as done):
    // the namespace does not exist. A status for the user, not an error to retry with backoff.
    plan = planner::namespace_not_found(std::move(plan), spec);
    outcome.result = "invalid";
    keep_min(requeue, std::chrono::seconds(10));  // no informer watches Namespaces
    applied = {};
  }
  if (auto s = applier_.delete_leases(lapsed_leases(spec, plan)); applied.ok()) applied = s;
  // The copy before the BGPPeers that name it. A refusal (no Role there, or an object of that
  // name that is not the fabric's) is the fabric's status to report, not a retry loop.
  auto copied = applier_.apply_calico_password_copy(
      spec.name, options_.calico_passwords,
      api::render_calico_password_copy(spec, options_.calico_passwords, g.calico_values));
  if (copied.is(kube::ErrorKind::Forbidden) || copied.is(kube::ErrorKind::Invalid)) {
    plan = planner::calico_passwords_not_copied(
        std::move(plan),
        "cannot keep the copy of the BGP password that calico-node (ServiceAccount " +
            options_.calico_passwords.service_account + ") reads in namespace " + options_.calico_passwords.ns + ": " +
            copied.error().message +
            " (rr-operator needs secrets, roles and rolebindings rights there: "
            "the Helm chart's calico.passwordCopies.namespace, docs/operations.md)");
    keep_min(requeue, std::chrono::seconds(10));  // no informer sees RBAC being granted
  } else if (applied.ok()) {
    applied = copied;
  }
  if (auto s = applier_.apply_peers(spec, plan, owned(caches_.peers, spec.name)); applied.ok()) applied = s;
  // The agents read exactly the Secrets the spec names (docs/security.md). A refusal (the
  // operator lacks RBAC rights there) is the fabric's status to report, not a retry loop.
  auto access = applier_.apply_agent_secret_access(spec, owned(caches_.roles, spec.name),
                                                   owned(caches_.role_bindings, spec.name));
  if (access.is(kube::ErrorKind::Forbidden)) {
    plan = planner::agent_secrets_not_granted(
        std::move(plan),
        "cannot write Role " + spec.ns + "/" + api::agent_secrets_role_name(spec.name) +
            " and its RoleBinding, which let the reflectors (ServiceAccount " +
            std::string(contract::kAgentServiceAccount) + ") get the password Secrets: " + access.error().message +
            " (rr-operator needs roles and rolebindings rights in namespace " + spec.ns +
            ", deploy/rbac.yaml Role rr-operator)");
    keep_min(requeue, std::chrono::seconds(10));  // no informer sees RBAC being granted
  } else if (applied.ok()) {
    applied = access;
  }
  if (plan.node_to_node_mesh) {
    auto config = default_bgp_configuration();
    if (auto s = applier_.apply_mesh(spec, *plan.node_to_node_mesh, config.get()); applied.ok()) applied = s;
    if (!*plan.node_to_node_mesh) {
      record(fabric, "Normal", "NodeToNodeMeshDisabled", plan.mesh.message);
    } else {
      record(fabric, "Warning", std::string(plan.mesh.reason.name()), plan.mesh.message);
    }
  }
  for (const auto& problem : plan.problems) {
    std::string reason(plan.conditions.empty() ? "Degraded" : plan.conditions.front().reason.name());
    record(fabric, "Warning", reason, problem.field + ": " + problem.message);
  }

  Json status =
      api::render_status(plan, spec, fabric.value("status", Json::object()), kube::format_time(clock_.wall_now()));
  if (auto s = applier_.apply_status(fabric, status); applied.ok()) applied = s;
  if (!applied.ok()) return applied.error();
  outcome.requeue_after = requeue;
  outcome.plan = std::move(plan);
  return outcome;
}

LiveObjects FabricReconciler::lapsed_leases(const planner::FabricSpec& spec, const planner::Plan& plan) const {
  LiveObjects out;
  std::set<std::string> deleted_pods(plan.pods_to_delete.begin(), plan.pods_to_delete.end());
  for (auto& lease : owned(caches_.leases, spec.name)) {
    const std::string key = kube::key_of(*lease);
    auto verdict = liveness_.judge_lease(key);
    // Renewed lately by whoever holds it (perhaps an agent whose Pod the cache has not
    // seen yet), or not observed yet: not ours to judge now.
    if (!verdict.known || verdict.fresh) continue;
    auto pod = caches_.pods ? caches_.pods->get(key) : nullptr;
    const bool pod_keeps_it = pod && !(*pod)["metadata"].contains("deletionTimestamp") &&
                              liveness_.held_by_pod(key) && !deleted_pods.count(kube::name_of(*lease));
    if (!pod_keeps_it) out.push_back(std::move(lease));
  }
  return out;
}

std::vector<planner::FabricClaims> FabricReconciler::older_fabrics(const planner::FabricSpec& spec) const {
  std::vector<planner::FabricClaims> out;
  auto self = caches_.fabrics->get(spec.name);
  if (!self) return out;
  for (const auto& other : caches_.fabrics->list()) {
    if (kube::name_of(*other) == spec.name || !older(*other, *self)) continue;
    auto other_spec = contract::parse_fabric(*other, options_.default_image);
    // An invalid fabric claims nothing, nor does one held by the policy.
    if (!other_spec.ok() || !api::check_policy(*other_spec, policy_).empty()) continue;
    planner::FabricClaims claims;
    claims.name = other_spec->name;
    claims.cluster_id_pool = other_spec->cluster_id_pool;
    if (other_spec->top_tier) claims.top_tier_cluster_id_pool = other_spec->top_tier->cluster_id_pool;
    for (const auto& node : caches_.nodes->list()) {
      if (!planner::labels_match(other_spec->node_selector, node->labels)) continue;
      auto rack = node->labels.find(other_spec->rack_label);
      if (rack == node->labels.end() || rack->second.empty()) continue;
      claims.nodes.insert(node->name);
      claims.racks.insert(rack->second);
    }
    for (const auto& a : api::allocations_from_status(*other)) claims.cluster_ids.insert(a.cluster_id);
    for (const auto& a : api::allocations_from_status(*other, "topTier")) claims.cluster_ids.insert(a.cluster_id);
    out.push_back(std::move(claims));
  }
  return out;
}

kube::Status FabricReconciler::read_secrets(Gathered& g) {
  const planner::FabricSpec& spec = g.input.spec;
  planner::PlanInput& in = g.input;
  for (const auto& name : api::password_secret_names(spec)) {
    // Read directly: a cluster-wide Secret informer would need far wider RBAC and memory.
    auto secret = client_.get(kube::resources::secrets(), spec.ns, name);
    if (secret.is(kube::ErrorKind::NotFound)) {
      in.unreadable_secrets[name] = "does not exist";
    } else if (secret.is(kube::ErrorKind::Forbidden)) {
      in.unreadable_secrets[name] = "cannot be read: rr-operator may not get Secrets in namespace " + spec.ns +
                                    " (bind the rr-operator-secrets Role there)";
    } else if (!secret.ok()) {
      return secret.error();
    } else {
      auto found = api::secret_keys_from(*secret);
      in.secret_keys.insert(found.begin(), found.end());
      if (options_.calico_passwords.ns.empty()) continue;
      const Json data = secret->value("data", Json::object());
      for (const auto& ref : api::calico_password_refs(spec)) {
        if (ref.name != name || !data.is_object() || !data.contains(ref.key) || !data[ref.key].is_string()) continue;
        g.calico_values[api::calico_password_copy_ref(spec.name, ref).key] = data[ref.key].get<std::string>();
      }
    }
  }
  return {};
}

}  // namespace rr::controller
