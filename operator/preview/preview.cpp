#include "preview/preview.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "api/render.h"
#include "contract/fabric_spec.h"
#include "contract/well_known.h"
#include "controller/fabric_controller.h"
#include "kube/event_recorder.h"
#include "preview/recording_client.h"

namespace rr::preview {
namespace {

using kube::Json;

// The fabric as the API server would hold it once applied: the live one's identity (UID,
// creation time, finalizers, status) when it exists, a new one's otherwise.
Json as_applied(Json fabric, const kube::Result<Json>& live, std::chrono::system_clock::time_point now) {
  Json& meta = fabric["metadata"];
  for (const char* server_set : {"uid", "resourceVersion", "creationTimestamp", "generation", "finalizers",
                                 "deletionTimestamp", "managedFields"}) {
    meta.erase(server_set);
  }
  fabric.erase("status");
  if (live.ok()) {
    const Json& m = (*live)["metadata"];
    for (const char* keep : {"uid", "resourceVersion", "creationTimestamp", "finalizers"}) {
      if (m.contains(keep)) meta[keep] = m[keep];
    }
    const bool spec_changed = live->value("spec", Json::object()) != fabric.value("spec", Json::object());
    meta["generation"] = m.value("generation", 1) + (spec_changed ? 1 : 0);
    if (live->contains("status")) fabric["status"] = (*live)["status"];
  } else {
    meta["uid"] = "00000000-0000-0000-0000-000000000000";
    meta["creationTimestamp"] = kube::format_time(now);
    meta["generation"] = 1;
  }
  return fabric;
}

Json redacted(const std::string& kind, Json object) {
  if (kind != "Secret" || !object.is_object()) return object;
  for (const char* field : {"data", "stringData"}) {
    if (!object.contains(field) || !object[field].is_object()) continue;
    for (auto& [key, value] : object[field].items()) value = "<redacted>";
  }
  return object;
}

// What the reconciles of a preview read beyond the API: objects laid over it, objects gone
// from it, and stand-ins for objects the caller may not read.
struct World {
  std::vector<std::pair<kube::ResourceType, Json>> overlays;
  std::vector<std::pair<kube::ResourceType, std::string>> hidden;  // "ns/name"
  std::vector<std::pair<kube::ResourceType, Json>> stand_ins;
};

struct Pass {
  std::string result;
  planner::Plan plan;
  std::vector<RecordedWrite> writes;
  std::size_t nodes = 0;
  std::vector<std::string> stood_in;  // RecordingKubeClient::stood_in
};

// One reconcile of fabric `name` by the operator's own controller, over the API as `world`
// changes it; every write recorded.
kube::Result<Pass> reconcile_over(kube::KubeClient& api, const World& world, const std::string& name,
                                  const PreviewOptions& options, kube::Clock& clock) {
  RecordingKubeClient client(api);
  for (const auto& [t, o] : world.overlays) client.overlay(t, o);
  for (const auto& [t, key] : world.hidden) {
    auto [ns, n] = kube::split_key(key);
    client.hide(t, ns, n);
  }
  for (const auto& [t, o] : world.stand_ins) client.stand_in(t, o);
  controller::ControllerOptions copt;
  copt.reconciler = options.reconciler;
  copt.workers = 1;
  copt.date_liveness_by_timestamps = true;
  std::mutex errors_mu;
  std::set<std::string> list_errors;  // what could not be listed, for the error that says so
  auto noted = [&](const std::string& what, const kube::Error& e) {
    if (e.kind == kube::ErrorKind::Cancelled) return;
    std::lock_guard lock(errors_mu);
    list_errors.insert(what + ": " + e.describe());
  };
  copt.on_watch_error = noted;
  copt.on_calico_api = [&](const kube::ResourceType& t, const std::optional<kube::Error>& e) {
    if (e) noted(t.describe(), *e);
  };
  kube::EventRecorder events(client, kube::EventSource{"rr-operator", "kubectl-rr-plan"}, clock);
  controller::FabricController controller(client, copt, clock, nullptr, &events);
  controller.start_informers();
  if (!controller.wait_for_sync(options.sync_timeout)) {
    std::string why;
    {
      std::lock_guard lock(errors_mu);
      for (const auto& e : list_errors) why += "; " + e;
    }
    return kube::make_error(kube::ErrorKind::Transient,
                            "the cluster's objects could not all be listed within " +
                                std::to_string(options.sync_timeout.count() / 1000) +
                                "s (the preview lists nodes, routereflectorclusters, Calico's bgppeers and "
                                "bgpconfigurations, and pods, leases, roles and rolebindings in the allowed "
                                "namespaces)" +
                                why);
  }
  Pass pass;
  pass.nodes = controller.nodes().size();
  auto outcome = controller.reconcile_once(name);
  if (!outcome.ok()) return outcome.error();
  pass.result = outcome->result;
  pass.plan = outcome->plan;
  events.flush();
  pass.writes = client.writes();
  pass.stood_in = client.stood_in();
  return pass;
}

// The writes as the report shows them: Events apart, the fabric's own status apart (its
// finalizer is no change), Secret data redacted, sorted by kind, namespace, name.
void collect(const std::vector<RecordedWrite>& writes, std::vector<Change>& changes, std::vector<std::string>& events,
             Json& status) {
  const auto& type = contract::route_reflector_clusters();
  for (const auto& w : writes) {
    if (w.type.plural == "events") {
      const Json& e = w.body;
      if (e.is_object() && e.contains("reason")) {
        events.push_back(e.value("type", "") + " " + e.value("reason", "") + ": " + e.value("message", ""));
      }
      continue;
    }
    if (w.type.plural == type.plural && w.type.group == type.group) {
      if (w.status && w.body.is_object() && w.body.contains("status")) status = w.body["status"];
      continue;
    }
    changes.push_back({w.verb, w.type.kind, w.ns, w.name, redacted(w.type.kind, w.body)});
  }
  std::stable_sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    return std::tie(a.kind, a.ns, a.name) < std::tie(b.kind, b.ns, b.name);
  });
}

// A reflector Pod as created, then run: its kubelet reports it Running and Ready at its host's
// address, and its agent holds its Lease (renewed now) as the agent writes it.
// `sessions`: the BGP sessions it reports Established (all it has: its rack's nodes and the
// other reflectors), so that the fabric can become Ready as it would.
std::pair<Json, Json> running(Json pod, const planner::DesiredPod& desired, const std::string& address,
                              const planner::FabricSpec& spec, int sessions, kube::Clock& clock) {
  const std::string uid = "preview-" + desired.name;
  pod["metadata"]["uid"] = uid;
  pod["metadata"]["namespace"] = spec.ns;
  pod["metadata"]["creationTimestamp"] = kube::format_time(clock.wall_now());
  pod["status"] = {{"phase", "Running"},
                   {"hostIP", address},
                   {"podIP", address},
                   {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}};
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata",
                 {{"name", desired.name},
                  {"namespace", spec.ns},
                  {"labels", pod["metadata"].value("labels", Json::object())},
                  {"annotations",
                   {{std::string(contract::kRackAnnotation), desired.rack},
                    {std::string(contract::kClusterIdAnnotation), desired.cluster_id},
                    {std::string(contract::kAddressAnnotation), address},
                    {std::string(contract::kSessionsEstablishedAnnotation), std::to_string(sessions)},
                    {std::string(contract::kSessionsTotalAnnotation), std::to_string(sessions)}}}}},
                {"spec",
                 {{"holderIdentity", uid},
                  {"leaseDurationSeconds", spec.lease_duration_seconds},
                  {"renewTime", kube::format_micro_time(clock.wall_now())}}}};
  if (!desired.host_ipv6.empty()) {
    lease["metadata"]["annotations"][std::string(contract::kAddressV6Annotation)] = desired.host_ipv6;
  }
  // Its counts describe the spec previewed; a top-tier reflector says so, as its agent would.
  lease["metadata"]["annotations"][std::string(contract::kObservedGenerationAnnotation)] =
      std::to_string(spec.generation);
  if (desired.tier == planner::Tier::Top) {
    lease["metadata"]["annotations"][std::string(contract::kTierAnnotation)] = contract::tier_word(desired.tier);
    lease["metadata"]["annotations"][std::string(contract::kZoneAnnotation)] = desired.zone;
  }
  return {pod, lease};
}

// The objects a reconcile wrote, as the API would then hold them, for the next one to read:
// created and updated objects laid over the API's, patched ones merged, deleted ones hidden.
// A later overlay of the same object replaces the earlier one.
void fold(const std::vector<RecordedWrite>& writes, kube::KubeClient& api, World& world) {
  auto& overlays = world.overlays;
  auto& hidden = world.hidden;
  auto same = [](const kube::ResourceType& a, const kube::ResourceType& b) {
    return a.group == b.group && a.plural == b.plural;
  };
  auto find = [&](const kube::ResourceType& t, const std::string& key) {
    return std::find_if(overlays.begin(), overlays.end(),
                        [&](const auto& o) { return same(o.first, t) && kube::key_of(o.second) == key; });
  };
  auto put = [&](const kube::ResourceType& t, Json object) {
    const std::string key = kube::key_of(object);
    std::erase_if(hidden, [&](const auto& h) { return same(h.first, t) && h.second == key; });
    if (auto it = find(t, key); it != overlays.end()) {
      it->second = std::move(object);
    } else {
      overlays.push_back({t, std::move(object)});
    }
  };
  const auto& fabrics = contract::route_reflector_clusters();
  for (const auto& w : writes) {
    if (w.type.plural == "events") continue;
    const std::string key = kube::make_key(w.type.namespaced ? w.ns : "", w.name);
    if (w.verb == "delete") {
      if (auto it = find(w.type, key); it != overlays.end()) overlays.erase(it);
      hidden.push_back({w.type, key});
      continue;
    }
    if (w.verb == "create" || w.verb == "update") {
      Json object = w.body;
      if (w.type.namespaced && !w.ns.empty()) object["metadata"]["namespace"] = w.ns;
      put(w.type, std::move(object));
      continue;
    }
    // patch: merged into the object as it stands (the fabric's status patch included).
    Json current;
    if (auto it = find(w.type, key); it != overlays.end()) {
      current = it->second;
    } else if (auto live = api.get(w.type, w.type.namespaced ? w.ns : "", w.name); live.ok()) {
      current = *live;
    } else if (same(w.type, fabrics)) {
      continue;
    } else {
      current = Json{{"apiVersion", w.type.api_version()}, {"kind", w.type.kind}, {"metadata", {{"name", w.name}}}};
    }
    current.merge_patch(w.body);
    put(w.type, std::move(current));
  }
}

}  // namespace

kube::Result<Preview> preview_fabric(kube::KubeClient& api, Json fabric, const PreviewOptions& options) {
  const auto& type = contract::route_reflector_clusters();
  if (!fabric.is_object() || fabric.value("kind", "") != type.kind) {
    return kube::make_error(kube::ErrorKind::Invalid, "not a " + type.kind + " (kind: " +
                                                      (fabric.is_object() ? fabric.value("kind", "") : "") + ")");
  }
  if (fabric.value("apiVersion", "") != type.api_version()) {
    return kube::make_error(kube::ErrorKind::Invalid, "apiVersion: expected " + type.api_version() + ", not \"" +
                                                      fabric.value("apiVersion", "") + "\"");
  }
  const std::string name = kube::name_of(fabric);
  if (name.empty()) return kube::make_error(kube::ErrorKind::Invalid, "metadata.name: required");
  if (fabric.contains("metadata") && fabric["metadata"].contains("namespace")) {
    fabric["metadata"].erase("namespace");  // cluster-scoped: the API server ignores it too
  }

  Preview out;
  out.fabric = name;
  kube::Clock& clock = options.clock ? *options.clock : kube::RealClock::instance();
  auto live = api.get(type, "", name);
  if (!live.ok() && !live.is(kube::ErrorKind::NotFound)) return live.error();
  out.exists = live.ok();
  fabric = as_applied(std::move(fabric), live, clock.wall_now());

  World world;
  world.overlays.push_back({type, fabric});
  // The Secrets the spec names, for a caller who may not read them: with the keys it names.
  if (auto spec = contract::parse_fabric(fabric, options.reconciler.default_image); spec.ok()) {
    out.spec = *spec;
    std::vector<planner::SecretKeyRef> refs;
    if (spec->bgp.password) refs.push_back(*spec->bgp.password);
    for (const auto& peer : spec->external_peers) {
      if (peer.password) refs.push_back(*peer.password);
    }
    std::map<std::string, Json> secrets;
    for (const auto& ref : refs) {
      Json& secret = secrets[ref.name];
      if (secret.is_null()) {
        secret = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", ref.name}, {"namespace", spec->ns}}}};
      }
      secret["data"][ref.key] = "";
    }
    for (auto& [secret_name, secret] : secrets) world.stand_ins.push_back({kube::resources::secrets(), secret});
  }
  auto now = reconcile_over(api, world, name, options, clock);
  if (!now.ok()) return now.error();
  out.nodes = now->nodes;
  out.result = now->result;
  out.plan = now->plan;
  for (const auto& what : now->stood_in) {
    std::string keys;
    for (const auto& [t, secret] : world.stand_ins) {
      if (what.rfind("Secret " + kube::key_of(secret) + " ", 0) != 0) continue;
      for (const auto& [key, value] : secret["data"].items()) keys += (keys.empty() ? "" : ", ") + key;
    }
    out.assumptions.push_back(what + ": assumed to hold the keys the spec names (" + keys + ")");
  }
  Json status;
  collect(now->writes, out.changes, out.events, status);
  out.status = status;

  // Then, once the reflectors it creates run (their kubelet reports them Ready at their host's
  // address) and renew their Leases, and the ones it deletes are gone: the next reconcile.
  if (out.result != "success" || !out.spec) return out;
  if (!status.is_null()) world.overlays.front().second["status"] = status;
  // Everything else it wrote, as the API would hold it (the Pods it creates come run, below).
  std::vector<RecordedWrite> applied = now->writes;
  std::erase_if(applied, [&](const RecordedWrite& w) {
    return (w.type.plural == "pods" && w.verb == "create") || (w.type.plural == type.plural && w.type.group == type.group);
  });
  fold(applied, api, world);
  bool moved = false;
  for (const auto& c : out.changes) {
    if (c.kind != "Pod") continue;
    if (c.verb == "delete") {
      world.hidden.push_back({kube::resources::pods(), kube::make_key(c.ns, c.name)});
      moved = true;
      continue;
    }
    if (c.verb != "create") continue;
    auto desired = std::find_if(out.plan.pods.begin(), out.plan.pods.end(),
                                [&](const planner::DesiredPod& d) { return d.name == c.name; });
    if (desired == out.plan.pods.end()) continue;
    auto host = api.get(kube::resources::nodes(), "", desired->node);
    std::string address;
    if (host.ok()) {
      for (const auto& a : host->value("status", Json::object()).value("addresses", Json::array())) {
        if (a.value("type", "") == "InternalIP" && address.empty()) address = a.value("address", "");
      }
    }
    if (address.empty()) continue;  // nothing to say about a reflector without an address
    int rack_nodes = 0;
    for (const auto& r : out.plan.racks) {
      if (r.name == desired->rack) rack_nodes = r.nodes;
    }
    const int sessions = rack_nodes + static_cast<int>(out.plan.pods.size()) - 1;
    auto [pod, lease] = running(c.object, *desired, address, *out.spec, sessions, clock);
    world.overlays.push_back({kube::resources::pods(), pod});
    world.overlays.push_back({kube::resources::leases(), lease});
    moved = true;
  }
  if (!moved) return out;
  // Reconcile after reconcile, each seeing the writes of the one before applied, until one
  // writes nothing (the mesh goes off only once the fabric reports Ready) or a few have run.
  constexpr int kReconcilesAhead = 4;
  for (int i = 0; i < kReconcilesAhead; ++i) {
    auto then = reconcile_over(api, world, name, options, clock);
    if (!then.ok()) break;  // the preview of now stands; what follows is a projection
    std::vector<Change> changes;
    std::vector<std::string> later_events;
    Json later_status;
    collect(then->writes, changes, later_events, later_status);
    out.mesh_once_running = then->plan.mesh;
    if (then->plan.node_to_node_mesh) out.mesh_set_once_running = then->plan.node_to_node_mesh;
    if (changes.empty()) break;
    fold(then->writes, api, world);
    for (auto& c : changes) {
      if (c.kind != "Lease") out.once_running.push_back(std::move(c));
    }
  }
  return out;
}

int exit_code(const Preview& preview) {
  if (preview.result != "success") return 3;
  return preview.changes.empty() && preview.exists ? 0 : 1;
}

}  // namespace rr::preview
