#include "controller/applier.h"

#include <map>

#include "api/match.h"
#include "api/observed.h"
#include "api/render.h"
#include "contract/json_fields.h"
#include "contract/well_known.h"

namespace rr::controller {
namespace {

using kube::ErrorKind;
using kube::Json;

const kube::ResourceType& peer_type(const planner::FabricSpec& spec) {
  return spec.calico_api == planner::CalicoApi::ProjectCalicoV3 ? contract::calico_v3_bgp_peers()
                                                                 : contract::calico_crd_bgp_peers();
}
const kube::ResourceType& configuration_type(const planner::FabricSpec& spec) {
  return spec.calico_api == planner::CalicoApi::ProjectCalicoV3 ? contract::calico_v3_bgp_configurations()
                                                                 : contract::calico_crd_bgp_configurations();
}

// 404 on delete means someone else finished the job.
kube::Status deleted(kube::Status s) {
  if (!s.ok() && s.is(ErrorKind::NotFound)) return {};
  return s;
}

template <class T>
kube::Status status_of(const kube::Result<T>& r) {
  if (r.ok()) return {};
  return r.error();
}

// The Pods a rollout replaces one at a time: a rack's, or a zone's top tier's.
std::string roll_group(planner::Tier tier, const std::string& rack_or_zone) {
  return (tier == planner::Tier::Top ? "top/" : "rack/") + rack_or_zone;
}

}  // namespace

bool owned_by(const Json& object, const std::string& fabric) {
  auto labels = kube::labels_of(object);
  auto managed = labels.find(std::string(contract::kManagedByLabel));
  auto cluster = labels.find(std::string(contract::kClusterLabel));
  return managed != labels.end() && managed->second == contract::kManagedByValue && cluster != labels.end() &&
         cluster->second == fabric;
}

Applier::Applier(kube::KubeClient& client, WriteObserver on_write) : client_(client), on_write_(std::move(on_write)) {}

void Applier::wrote(std::string_view verb) {
  writes_.fetch_add(1, std::memory_order_relaxed);
  if (on_write_) on_write_(verb);
}

kube::Status Applier::apply_pods(const planner::FabricSpec& spec, const planner::Plan& plan,
                                 const LiveObjects& live_pods) {
  std::map<std::string, const Json*> live;
  for (const auto& p : live_pods) {
    if (owned_by(*p, spec.name)) live[kube::name_of(*p)] = p.get();
  }
  kube::Status first_error;
  auto note = [&](kube::Status s) {
    if (!s.ok() && first_error.ok()) first_error = s;
  };
  for (const auto& name : plan.pods_to_delete) {
    auto it = live.find(name);
    if (it == live.end()) continue;
    kube::DeleteOptions opts;
    opts.precondition_uid = kube::uid_of(*it->second);
    auto s = deleted(client_.remove(kube::resources::pods(), spec.ns, name, opts));
    if (s.ok()) wrote("delete");
    note(s);
  }
  // A Pod whose spec changed (an upgrade) is replaced one per group at a time (a rack, or a
  // zone's top tier), and only while every other reflector of the group is Ready: the group
  // never loses more than one reflector to a rollout. Ready by the plan and by the live
  // objects both: the plan was made from an earlier read of the cache, which may not show yet
  // what this read does (the Pod the previous pass deleted for the rollout).
  std::map<std::string, bool> group_can_roll;
  const auto all_ready = [](const planner::RackStatus& group) {
    for (const auto& r : group.reflectors) {
      if (r.state != planner::ReflectorState::Ready) return false;
    }
    return true;
  };
  for (const auto& rack : plan.racks) group_can_roll[roll_group(planner::Tier::Rack, rack.name)] = all_ready(rack);
  for (const auto& top : plan.top_tier) group_can_roll[roll_group(planner::Tier::Top, top.name)] = all_ready(top);
  for (const auto& [name, pod] : live) {
    auto seen = api::reflector_pod_from(*pod);
    if (seen && (seen->deleting || !seen->ready)) {
      group_can_roll[roll_group(seen->tier, seen->tier == planner::Tier::Top ? seen->zone : seen->rack)] = false;
    }
  }
  for (const auto& desired : plan.pods) {
    Json want = api::render_reflector_pod(spec, desired);
    auto it = live.find(desired.name);
    if (it == live.end()) {
      auto r = client_.create(kube::resources::pods(), spec.ns, want);
      if (r.ok()) wrote("create");
      if (!r.ok() && !r.is(ErrorKind::AlreadyExists)) note(status_of(r));
      continue;
    }
    const Json& have = *it->second;
    if (have.value("metadata", Json::object()).contains("deletionTimestamp")) continue;
    switch (api::pod_matches(have, want)) {
      case api::Match::Same:
        break;
      case api::Match::Update: {
        // A merge patch replaces the list: anyone else's ownerReferences stay, a fabric's are the
        // rendered one (an earlier incarnation's goes).
        Json owners = want["metadata"].value("ownerReferences", Json::array());
        if (const Json* live_owners = contract::json::find_path(have, {"metadata", "ownerReferences"});
            live_owners != nullptr && live_owners->is_array()) {
          for (const auto& ref : *live_owners) {
            if (!api::names_a_fabric(ref)) owners.push_back(ref);
          }
        }
        Json patch = {{"metadata",
                       {{"labels", want["metadata"].value("labels", Json::object())},
                        {"annotations", want["metadata"].value("annotations", Json::object())},
                        {"ownerReferences", std::move(owners)}}}};
        auto r = client_.patch(kube::resources::pods(), spec.ns, desired.name, kube::PatchType::Merge, patch, {});
        if (r.ok()) wrote("patch");
        note(deleted(status_of(r)));  // gone meanwhile: its deletion event wakes the next reconcile
        break;
      }
      case api::Match::Replace: {
        // Pod specs are immutable: delete now, the next reconcile creates the new one.
        bool& can_roll = group_can_roll[roll_group(desired.tier, desired.tier == planner::Tier::Top ? desired.zone
                                                                                                       : desired.rack)];
        if (!can_roll) break;
        can_roll = false;
        kube::DeleteOptions opts;
        opts.precondition_uid = kube::uid_of(have);
        auto s = deleted(client_.remove(kube::resources::pods(), spec.ns, desired.name, opts));
        if (s.ok()) wrote("delete");
        note(s);
        break;
      }
    }
  }
  return first_error;
}

kube::Status Applier::apply_peers(const planner::FabricSpec& spec, const planner::Plan& plan,
                                  const LiveObjects& live_peers) {
  const auto& type = peer_type(spec);
  std::map<std::string, const Json*> live;
  for (const auto& p : live_peers) {
    if (owned_by(*p, spec.name)) live[kube::name_of(*p)] = p.get();
  }
  kube::Status first_error;
  auto note = [&](kube::Status s) {
    if (!s.ok() && first_error.ok()) first_error = s;
  };
  std::map<std::string, bool> wanted;
  for (const auto& desired : plan.peers) {
    wanted[desired.name] = true;
    Json want = api::render_bgp_peer(spec, desired);
    auto it = live.find(desired.name);
    if (it == live.end()) {
      auto r = client_.create(type, "", want);
      if (r.ok()) wrote("create");
      if (!r.ok() && !r.is(ErrorKind::AlreadyExists)) note(status_of(r));
      continue;
    }
    if (api::peer_matches(*it->second, want) == api::Match::Same) continue;
    Json update = want;
    update["metadata"]["resourceVersion"] = kube::resource_version_of(*it->second);
    auto r = client_.update(type, update);
    if (r.ok()) wrote("update");
    note(status_of(r));
  }
  for (const auto& [name, obj] : live) {
    if (wanted.count(name)) continue;
    kube::DeleteOptions opts;
    opts.precondition_uid = kube::uid_of(*obj);
    auto s = deleted(client_.remove(type, "", name, opts));
    if (s.ok()) wrote("delete");
    note(s);
  }
  return first_error;
}

kube::Status Applier::apply_agent_secret_access(const planner::FabricSpec& spec, const LiveObjects& live_roles,
                                                const LiveObjects& live_bindings) {
  const auto want = api::render_agent_secret_access(spec);
  const std::string name = api::agent_secrets_role_name(spec.name);
  kube::Status first_error;
  auto note = [&](kube::Status s) {
    if (!s.ok() && first_error.ok()) first_error = s;
  };
  // The live object `want` describes: the fabric's, in spec.ns, of that name.
  auto current = [&](const LiveObjects& live) -> const Json* {
    if (!want) return nullptr;
    for (const auto& o : live) {
      if (owned_by(*o, spec.name) && kube::namespace_of(*o) == spec.ns && kube::name_of(*o) == name) return o.get();
    }
    return nullptr;
  };
  auto remove = [&](const kube::ResourceType& type, const Json& o) {
    kube::DeleteOptions opts;
    opts.precondition_uid = kube::uid_of(o);
    auto s = deleted(client_.remove(type, kube::namespace_of(o), kube::name_of(o), opts));
    if (s.ok()) wrote("delete");
    note(s);
  };
  // The fabric's others: none wanted, or left in a namespace the spec moved away from.
  auto remove_others = [&](const kube::ResourceType& type, const LiveObjects& live) {
    const Json* keep = current(live);
    for (const auto& o : live) {
      if (owned_by(*o, spec.name) && o.get() != keep && !(*o)["metadata"].contains("deletionTimestamp")) remove(type, *o);
    }
  };
  // Creates `desired`, or updates `live` when what the update would set differs.
  auto put = [&](const kube::ResourceType& type, const Json& desired, const Json* live,
                 std::initializer_list<const char*> fields) {
    if (!live) {
      auto r = client_.create(type, spec.ns, desired);
      if (r.ok()) wrote("create");
      if (!r.ok() && !r.is(ErrorKind::AlreadyExists)) note(status_of(r));
      return;
    }
    const Json& meta = (*live)["metadata"];
    bool same = meta.value("labels", Json::object()) == desired["metadata"]["labels"] &&
                meta.value("ownerReferences", Json::array()) ==
                    desired["metadata"].value("ownerReferences", Json::array());
    for (const char* f : fields) same = same && live->value(f, Json()) == desired[f];
    if (same) return;
    Json update = desired;
    update["metadata"]["resourceVersion"] = kube::resource_version_of(*live);
    auto r = client_.update(type, update);
    if (r.ok()) wrote("update");
    note(status_of(r));
  };
  // Unbind before the Role goes; write the Role (the names) before binding it.
  remove_others(contract::role_bindings(), live_bindings);
  remove_others(contract::roles(), live_roles);
  if (!want) return first_error;
  put(contract::roles(), want->role, current(live_roles), {"rules"});
  if (!first_error.ok()) return first_error;  // no binding to a Role that is not as wanted
  const Json* binding = current(live_bindings);
  if (binding && binding->value("roleRef", Json()) != want->binding["roleRef"]) {
    remove(contract::role_bindings(), *binding);  // roleRef is immutable: the next reconcile creates it anew
    return first_error;
  }
  put(contract::role_bindings(), want->binding, binding, {"subjects"});
  return first_error;
}

kube::Status Applier::apply_calico_password_copy(const std::string& fabric, const api::CalicoPasswordTarget& target,
                                                 const std::optional<api::CalicoPasswordCopy>& want) {
  if (target.ns.empty()) return {};  // off: nothing is read or written there
  // Each failure names the object it concerns (never a value: those live only in `want`).
  auto about = [&](const kube::ResourceType& type, const std::string& name, kube::Error e) -> kube::Status {
    e.message = type.kind + " " + target.ns + "/" + name + ": " + e.message;
    return e;
  };
  // Read by name: no informer watches calico-node's namespace. nullopt: absent.
  auto read = [&](const kube::ResourceType& type, const std::string& name) -> kube::Result<std::optional<Json>> {
    auto r = client_.get(type, target.ns, name);
    if (r.is(ErrorKind::NotFound)) return std::optional<Json>();
    if (!r.ok()) return about(type, name, r.error()).error();
    if (!owned_by(*r, fabric)) {
      return about(type, name,
                   kube::make_error(ErrorKind::Invalid, "exists and is not this fabric's (labels " +
                                                            std::string(contract::kManagedByLabel) + ", " +
                                                            std::string(contract::kClusterLabel) + "); rr-operator leaves it"))
          .error();
    }
    return std::optional<Json>(std::move(r.value()));
  };
  auto remove = [&](const kube::ResourceType& type, const std::string& name) -> kube::Status {
    auto live = read(type, name);
    // Absent, not the fabric's, or not readable: nothing of ours to delete.
    if (live.is(ErrorKind::Forbidden) || live.is(ErrorKind::Invalid) || (live.ok() && !*live)) return {};
    if (!live.ok()) return live.error();
    kube::DeleteOptions opts;
    opts.precondition_uid = kube::uid_of(**live);
    auto s = deleted(client_.remove(type, target.ns, name, opts));
    if (!s.ok()) return about(type, name, s.error());
    wrote("delete");
    return {};
  };
  // Creates `desired`, or updates the live object when `fields`, labels or owner differ.
  auto put = [&](const kube::ResourceType& type, const Json& desired,
                 std::initializer_list<const char*> fields) -> kube::Status {
    const std::string name = kube::name_of(desired);
    auto live = read(type, name);
    if (!live.ok()) return live.error();
    if (!*live) {
      auto r = client_.create(type, target.ns, desired);
      if (!r.ok() && !r.is(ErrorKind::AlreadyExists)) return about(type, name, r.error());
      if (r.ok()) wrote("create");
      return {};
    }
    const Json& current = **live;
    const Json& meta = current["metadata"];
    bool same = meta.value("labels", Json::object()) == desired["metadata"]["labels"] &&
                meta.value("ownerReferences", Json::array()) ==
                    desired["metadata"].value("ownerReferences", Json::array());
    for (const char* f : fields) same = same && current.value(f, Json::object()) == desired[f];
    if (same) return {};
    if (current.value("roleRef", Json()) != desired.value("roleRef", Json())) {
      // roleRef is immutable: the binding is made anew.
      if (auto s = remove(type, name); !s.ok()) return s;
      auto r = client_.create(type, target.ns, desired);
      if (!r.ok()) return about(type, name, r.error());
      wrote("create");
      return {};
    }
    Json update = desired;
    update["metadata"]["resourceVersion"] = kube::resource_version_of(current);
    auto r = client_.update(type, update);
    if (!r.ok()) return about(type, name, r.error());
    wrote("update");
    return {};
  };
  const std::string role = api::calico_passwords_role_name(fabric);
  if (!want) {
    // Unbind first; the Secret goes last.
    if (auto s = remove(contract::role_bindings(), role); !s.ok()) return s;
    if (auto s = remove(contract::roles(), role); !s.ok()) return s;
    return remove(kube::resources::secrets(), api::calico_passwords_secret_name(fabric));
  }
  // The Secret and the Role (the name it grants) before the binding: never a binding to a Role
  // that is not as wanted.
  if (auto s = put(kube::resources::secrets(), want->secret, {"type", "data"}); !s.ok()) return s;
  if (auto s = put(contract::roles(), want->role, {"rules"}); !s.ok()) return s;
  return put(contract::role_bindings(), want->binding, {"subjects"});
}

kube::Status Applier::apply_mesh(const planner::FabricSpec& spec, bool enabled, const Json* live_default) {
  const auto& type = configuration_type(spec);
  const std::string name(contract::kDefaultBgpConfiguration);
  if (live_default) {
    const Json& s = (*live_default).value("spec", Json::object());
    if (s.contains("nodeToNodeMeshEnabled") && s["nodeToNodeMeshEnabled"].is_boolean() &&
        s["nodeToNodeMeshEnabled"].get<bool>() == enabled) {
      return {};
    }
    if (!s.contains("nodeToNodeMeshEnabled") && enabled) return {};  // Calico's default is on
    auto r = client_.patch(type, "", name, kube::PatchType::Merge, Json{{"spec", {{"nodeToNodeMeshEnabled", enabled}}}},
                           {});
    if (r.ok()) wrote("patch");
    return status_of(r);
  }
  if (enabled) return {};
  Json object = {{"apiVersion", type.api_version()},
                 {"kind", type.kind},
                 {"metadata", {{"name", name}}},
                 {"spec", {{"nodeToNodeMeshEnabled", false}}}};
  auto r = client_.create(type, "", object);
  if (r.ok()) wrote("create");
  if (!r.ok() && r.is(ErrorKind::AlreadyExists)) return kube::make_error(ErrorKind::Conflict, "BGPConfiguration default appeared meanwhile");
  return status_of(r);
}

kube::Status Applier::apply_status(const Json& fabric, const Json& status) {
  if (fabric.contains("status") && fabric["status"] == status) return {};
  // Status is the operator's alone: a merge patch of the whole status needs no resourceVersion,
  // so a cache one event behind does not turn every status write into a 409.
  Json patch = {{"status", status}};
  if (fabric.contains("status") && fabric["status"].is_object()) {
    for (const auto& [key, value] : fabric["status"].items()) {
      if (!status.contains(key)) patch["status"][key] = nullptr;  // fields the new status drops
    }
  }
  auto r = client_.patch(contract::route_reflector_clusters(), "", kube::name_of(fabric), kube::PatchType::Merge, patch,
                         {"", false, true});
  if (r.ok()) wrote("patch");
  return status_of(r);
}

kube::Status Applier::add_finalizer(const Json& fabric) {
  Json finalizers = fabric["metadata"].value("finalizers", Json::array());
  for (const auto& f : finalizers) {
    if (f == contract::kMeshRestoreFinalizer) return {};
  }
  finalizers.push_back(std::string(contract::kMeshRestoreFinalizer));
  Json patch = {{"metadata", {{"finalizers", finalizers}, {"resourceVersion", kube::resource_version_of(fabric)}}}};
  auto r = client_.patch(contract::route_reflector_clusters(), "", kube::name_of(fabric), kube::PatchType::Merge, patch, {});
  if (r.ok()) wrote("patch");
  return status_of(r);
}

kube::Status Applier::remove_finalizer(const Json& fabric) {
  Json finalizers = Json::array();
  bool had = false;
  for (const auto& f : fabric["metadata"].value("finalizers", Json::array())) {
    if (f == contract::kMeshRestoreFinalizer) {
      had = true;
    } else {
      finalizers.push_back(f);
    }
  }
  if (!had) return {};
  Json patch = {{"metadata", {{"finalizers", finalizers}, {"resourceVersion", kube::resource_version_of(fabric)}}}};
  auto r = client_.patch(contract::route_reflector_clusters(), "", kube::name_of(fabric), kube::PatchType::Merge, patch, {});
  if (r.ok()) wrote("patch");
  if (!r.ok() && r.is(ErrorKind::NotFound)) return {};
  return status_of(r);
}

kube::Status Applier::delete_owned(const kube::ResourceType& type, const std::string& fabric,
                                   const LiveObjects& live) {
  kube::Status first_error;
  for (const auto& ptr : live) {
    const Json& obj = *ptr;
    if (!owned_by(obj, fabric)) continue;
    if (obj.value("metadata", Json::object()).contains("deletionTimestamp")) continue;
    kube::DeleteOptions opts;
    opts.precondition_uid = kube::uid_of(obj);
    auto s = deleted(client_.remove(type, kube::namespace_of(obj), kube::name_of(obj), opts));
    if (s.ok()) wrote("delete");
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  return first_error;
}

kube::Status Applier::delete_leases(const LiveObjects& live) {
  kube::Status first_error;
  for (const auto& ptr : live) {
    const Json& lease = *ptr;
    kube::DeleteOptions opts;
    opts.precondition_uid = kube::uid_of(lease);
    opts.precondition_resource_version = kube::resource_version_of(lease);
    auto s = deleted(client_.remove(kube::resources::leases(), kube::namespace_of(lease), kube::name_of(lease), opts));
    if (s.ok()) wrote("delete");
    if (!s.ok() && s.is(ErrorKind::Conflict)) continue;
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  return first_error;
}

}  // namespace rr::controller
