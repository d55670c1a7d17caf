#include "api/observed.h"

#include <cstdint>
#include <initializer_list>

#include "contract/json_fields.h"
#include "contract/liveness_tracker.h"
#include "contract/validation.h"
#include "contract/well_known.h"

namespace rr::api {
namespace {

using kube::Json;
using namespace contract;  // the well-known names, json:: and the address checks

// The node a Pod is pinned to by required node affinity (matchFields metadata.name In [node]).
std::string affinity_node(const Json& pod) {
  const Json* terms = json::find_path(pod, {"spec", "affinity", "nodeAffinity",
                                            "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"});
  if (terms == nullptr || !terms->is_array()) return {};
  for (const auto& term : *terms) {
    const Json* fields = json::find(term, "matchFields");
    if (fields == nullptr || !fields->is_array()) continue;
    for (const auto& field : *fields) {
      if (json::string_at(field, "key") != "metadata.name" || json::string_at(field, "operator") != "In") continue;
      const Json* values = json::find(field, "values");
      if (values != nullptr && values->is_array() && values->size() == 1 && (*values)[0].is_string()) {
        return (*values)[0].get<std::string>();
      }
    }
  }
  return {};
}

// The literal value of env `name` of the reflector container, as the operator rendered it.
std::string reflector_env(const Json& pod, std::string_view name) {
  const Json* containers = json::find_path(pod, {"spec", "containers"});
  if (containers == nullptr || !containers->is_array()) return {};
  for (const auto& container : *containers) {
    if (json::string_at(container, "name") != kReflectorContainer) continue;
    const Json* env = json::find(container, "env");
    if (env == nullptr || !env->is_array()) return {};
    for (const auto& var : *env) {
      if (json::string_at(var, "name") == name) return json::string_at(var, "value");
    }
  }
  return {};
}

planner::PodPhase phase_from(const std::string& phase) {
  if (phase.empty() || phase == "Pending") return planner::PodPhase::Pending;
  if (phase == "Running") return planner::PodPhase::Running;
  if (phase == "Succeeded") return planner::PodPhase::Succeeded;
  if (phase == "Failed") return planner::PodPhase::Failed;
  return planner::PodPhase::Unknown;
}

// Copies each of `fields` that `from` has into `to`.
void keep_fields(const Json& from, Json& to, std::initializer_list<const char*> fields) {
  for (const char* field : fields) {
    if (auto it = from.find(field); it != from.end()) to[field] = *it;
  }
}

}  // namespace

Json pod_spec_kept(const Json& spec) {
  Json kept = Json::object();
  if (!spec.is_object()) return kept;
  keep_fields(spec, kept, {"nodeName", "affinity"});
  for (const char* list : {"initContainers", "containers"}) {
    auto containers = spec.find(list);
    if (containers == spec.end() || !containers->is_array()) continue;
    Json& out = kept[list] = Json::array();
    for (const auto& container : *containers) {
      Json c = Json::object();
      if (container.is_object()) {
        keep_fields(container, c, {"name", "image", "env"});
      }
      out.push_back(std::move(c));
    }
  }
  return kept;
}

std::optional<Json> pod_kept(const Json& pod) {
  Json kept = Json::object();
  if (!pod.is_object()) return kept;
  for (const char* part : {"apiVersion", "kind", "metadata"}) {
    if (auto it = pod.find(part); it != pod.end()) kept[part] = *it;
  }
  if (auto meta = kept.find("metadata"); meta != kept.end() && meta->is_object()) meta->erase("managedFields");
  if (auto spec = pod.find("spec"); spec != pod.end()) kept["spec"] = pod_spec_kept(*spec);
  if (auto status = pod.find("status"); status != pod.end() && status->is_object()) {
    Json& out = kept["status"] = Json::object();
    keep_fields(*status, out, {"phase", "hostIP"});
    // Of the conditions, what they say; not when or why (their messages are most of a status).
    if (auto conditions = status->find("conditions"); conditions != status->end() && conditions->is_array()) {
      Json& kept_conditions = out["conditions"] = Json::array();
      for (const auto& condition : *conditions) {
        Json c = Json::object();
        if (condition.is_object()) {
          keep_fields(condition, c, {"type", "status"});
        }
        kept_conditions.push_back(std::move(c));
      }
    }
    // Of the containers, what liveness reads (container_runs_from): not when or why.
    if (auto containers = status->find("containerStatuses"); containers != status->end() && containers->is_array()) {
      Json& kept_containers = out["containerStatuses"] = Json::array();
      for (const auto& container : *containers) {
        Json c = Json::object();
        if (container.is_object()) {
          keep_fields(container, c, {"name", "restartCount"});
          if (auto state = container.find("state"); state != container.end() && state->is_object()) {
            Json& kept_state = c["state"] = Json::object();
            for (const auto& [kind, detail] : state->items()) kept_state[kind] = Json::object();
          }
        }
        kept_containers.push_back(std::move(c));
      }
    }
  }
  return kept;
}

std::optional<contract::ContainerRuns> container_runs_from(const Json& pod) {
  if (!pod.is_object()) return std::nullopt;
  auto status = pod.find("status");
  if (status == pod.end() || !status->is_object()) return std::nullopt;
  auto containers = status->find("containerStatuses");
  if (containers == status->end() || !containers->is_array() || containers->empty()) return std::nullopt;
  contract::ContainerRuns runs;
  runs.running = true;
  for (const auto& container : *containers) {
    if (!container.is_object()) return std::nullopt;
    if (auto it = container.find("restartCount"); it != container.end() && it->is_number_integer()) {
      const auto count = it->get<std::int64_t>();
      if (count > 0 && count < 1000000) runs.restarts += static_cast<int>(count);
    }
    auto state = container.find("state");
    const bool running = state != container.end() && state->is_object() && state->contains("running");
    runs.running = runs.running && running;
  }
  return runs;
}

std::optional<planner::ReflectorPod> reflector_pod_from(const Json& pod) {
  planner::ReflectorPod out;
  out.name = kube::name_of(pod);
  if (out.name.empty()) return std::nullopt;
  out.rack = json::label_at(pod, kRackLabel);
  if (contract::tier_from_word(json::label_at(pod, kTierLabel)) == contract::Tier::Top) {
    out.tier = contract::Tier::Top;
    out.zone = json::label_at(pod, kZoneLabel);
    out.rack.clear();
  }
  out.cluster_id = json::annotation_at(pod, kClusterIdAnnotation);
  if (const Json* spec = json::find(pod, "spec")) out.node = json::string_at(*spec, "nodeName");
  if (out.node.empty()) out.node = affinity_node(pod);
  if (const Json* status = json::find(pod, "status")) {
    out.host_ip = json::string_at(*status, "hostIP");
    out.phase = phase_from(json::string_at(*status, "phase"));
  }
  if (std::string v6 = reflector_env(pod, kEnvHostIPv6); is_ipv6_address(v6)) out.host_ipv6 = std::move(v6);
  out.ready = json::condition_status(pod, "Ready") == "True";
  out.deleting = json::find_path(pod, {"metadata", "deletionTimestamp"}) != nullptr;
  return out;
}

std::optional<LeaseContradiction> lease_contradiction(const Json& lease, const Json& pod) {
  auto quote = [](const std::string& s) { return "\"" + s + "\""; };
  const std::string holder = lease_record_from(lease).holder;
  const std::string uid = kube::uid_of(pod);
  if (holder != uid && holder != kube::name_of(pod)) {
    return LeaseContradiction{"holder", "held by " + quote(holder) + ", not by its Pod's UID " + quote(uid)};
  }
  const Json* status = json::find(pod, "status");
  const std::string host_ip = status != nullptr ? json::string_at(*status, "hostIP") : std::string();
  struct Claim {
    const char* field;
    std::string said;
    std::string truth;
    std::string source;
  };
  const Claim claims[] = {
      {"fabric", json::label_at(lease, kClusterLabel), json::label_at(pod, kClusterLabel), "its Pod's label"},
      {"rack", json::annotation_at(lease, kRackAnnotation), json::label_at(pod, kRackLabel), "its Pod's label"},
      {"tier", json::label_at(pod, kTierLabel).empty() ? std::string() : json::annotation_at(lease, kTierAnnotation),
       json::label_at(pod, kTierLabel), "its Pod's label"},
      {"clusterID", json::annotation_at(lease, kClusterIdAnnotation), json::annotation_at(pod, kClusterIdAnnotation),
       "its Pod's annotation"},
      {"address", json::annotation_at(lease, kAddressAnnotation), host_ip, "the kubelet's status.hostIP"},
      {"addressV6", json::annotation_at(lease, kAddressV6Annotation), reflector_env(pod, kEnvHostIPv6),
       "its Pod's " + std::string(kEnvHostIPv6)},
  };
  for (const auto& c : claims) {
    if (c.said == c.truth || (std::string_view(c.field) == "address" && c.truth.empty())) continue;
    return LeaseContradiction{c.field, std::string(c.field) + " " + quote(c.said) + ", but " + c.source + " says " +
                                           quote(c.truth)};
  }
  return std::nullopt;
}

std::optional<bool> node_to_node_mesh_from(const Json& bgp_configuration) {
  if (!bgp_configuration.is_object()) return std::nullopt;
  const Json* value = json::find_path(bgp_configuration, {"spec", "nodeToNodeMeshEnabled"});
  if (value == nullptr) return true;
  if (!value->is_boolean()) return std::nullopt;
  return value->get<bool>();
}

std::vector<planner::RackAllocation> allocations_from_status(const Json& rrc, std::string_view list) {
  std::vector<planner::RackAllocation> out;
  const Json* racks = json::find_path(rrc, {"status", std::string(list)});
  if (racks == nullptr || !racks->is_array()) return out;
  for (const auto& rack : *racks) {
    planner::RackAllocation allocation{json::string_at(rack, "name"), json::string_at(rack, "clusterID"), {}};
    // A top tier's zone may be "" (one top tier for the fabric); a rack's name never is.
    if ((list == "racks" && allocation.rack.empty()) || !is_ipv4_address(allocation.cluster_id)) continue;
    if (const Json* reflectors = json::find(rack, "reflectors"); reflectors != nullptr && reflectors->is_array()) {
      for (const auto& r : *reflectors) {
        std::string node = json::string_at(r, "node");
        if (!node.empty()) allocation.hosts.push_back(std::move(node));
      }
    }
    out.push_back(std::move(allocation));
  }
  return out;
}

std::set<std::string> secret_keys_from(const Json& secret) {
  std::set<std::string> out;
  const std::string name = kube::name_of(secret);
  if (name.empty()) return out;
  for (const char* field : {"data", "stringData"}) {
    const Json* data = json::find(secret, field);
    if (data == nullptr || !data->is_object()) continue;
    for (const auto& item : data->items()) out.insert(name + "/" + item.key());
  }
  return out;
}

}  // namespace rr::api
