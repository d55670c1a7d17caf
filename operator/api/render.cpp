#include "api/render.h"

#include <cstdint>
#include <cstdio>

#include "contract/json_fields.h"
#include "contract/well_known.h"

namespace rr::api {
namespace {

using kube::Json;
using namespace contract;  // the well-known names, json:: and quantities

std::string str(std::string_view s) { return std::string(s); }

// At most max bytes, not cutting a UTF-8 sequence.
std::string truncated(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

// The Pod's controller: the fabric. kubectl drain evicts only Pods a controller owns (without
// --force). The Pods alone keep an ownerReference; see render.h.
Json fabric_controller_reference(const planner::FabricSpec& spec) {
  return Json::array({{{"apiVersion", str(kApiVersion)},
                       {"kind", str(kKind)},
                       {"name", spec.name},
                       {"uid", spec.uid},
                       {"controller", true},
                       {"blockOwnerDeletion", true}}});
}

// FNV-1a, 64 bit: stable across builds and platforms, unlike std::hash.
std::string hash_of(const Json& value) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : json::dump(value)) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

// As the API serializes them: empty strings are left out (omitempty), so live and desired compare equal.
Json toleration_json(const planner::Toleration& t) {
  Json out = {{"operator", t.op}};
  if (!t.key.empty()) out["key"] = t.key;
  if (!t.value.empty()) out["value"] = t.value;
  if (!t.effect.empty()) out["effect"] = t.effect;
  if (t.toleration_seconds) out["tolerationSeconds"] = *t.toleration_seconds;
  return out;
}

Json field_env(std::string_view name, std::string_view field_path) {
  return {{"name", str(name)}, {"valueFrom", {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", str(field_path)}}}}}};
}
Json value_env(std::string_view name, const std::string& value) { return {{"name", str(name)}, {"value", value}}; }

Json http_probe(std::string_view path, int period_seconds, int failure_threshold) {
  return {{"httpGet", {{"path", str(path)}, {"port", str(kMetricsPortName)}, {"scheme", "HTTP"}}},
          {"periodSeconds", period_seconds},
          {"timeoutSeconds", 2},
          {"failureThreshold", failure_threshold}};
}

// One writable volume per purpose; the container's root filesystem is read-only.
struct WritableVolume {
  std::string_view name;
  std::string_view mount_path;
};
constexpr WritableVolume kWritableVolumes[] = {
    {"bird-run", kBirdRunDir}, {"bird-config", kBirdConfigDir}, {"agent-scratch", kAgentScratchDir}};

Json volume_mounts() {
  Json mounts = Json::array();
  for (const auto& v : kWritableVolumes) mounts.push_back({{"name", str(v.name)}, {"mountPath", str(v.mount_path)}});
  return mounts;
}

Json volumes() {
  Json out = Json::array();
  for (const auto& v : kWritableVolumes) out.push_back({{"name", str(v.name)}, {"emptyDir", Json::object()}});
  return out;
}

// Every path rr-agent and BIRD write lies in one of the volumes; the Pod says so
// itself instead of relying on the image's default command line.
Json agent_args() {
  return {"--bird-config=" + str(kBirdConfigDir) + "/bird.conf", "--bird-socket=" + str(kBirdRunDir) + "/bird.ctl",
          "--scratch-dir=" + str(kAgentScratchDir)};
}

// Host network: containerPort is the host's port; declaring each lets the scheduler keep two
// reflectors (of any fabric) off one host's ports.
Json container_ports(const planner::FabricSpec& spec) {
  Json ports = {{{"name", str(kBgpPortName)}, {"containerPort", spec.port}, {"protocol", "TCP"}}};
  if (int mesh = planner::mesh_port(spec, spec.port); mesh != spec.port) {
    ports.push_back({{"name", str(kBgpMeshPortName)}, {"containerPort", mesh}, {"protocol", "TCP"}});
  }
  ports.push_back({{"name", str(kMetricsPortName)}, {"containerPort", kMetricsPort}, {"protocol", "TCP"}});
  return ports;
}

Json reflector_container(const planner::FabricSpec& spec, const planner::DesiredPod& desired) {
  Json resources = Json::parse(spec.resources_json, nullptr, /*allow_exceptions=*/false);
  if (!resources.is_object()) resources = Json::object();
  // BIRD binds the BGP port itself, as user 65532. A non-root container process starts with
  // no permitted capabilities (the runtime grants them to root only), so the one way for BIRD
  // to hold CAP_NET_BIND_SERVICE is the image's file capability on /usr/sbin/bird, which the
  // kernel honours at exec only without no_new_privs: allowPrivilegeEscalation must not be
  // false on a port below 1024. The bounding set keeps NET_BIND_SERVICE on every port: the
  // kernel refuses to exec (EPERM) a binary whose effective file capability the bounding set
  // lacks, no_new_privs or not. Under no_new_privs (ports from 1024) it is never granted.
  Json capabilities = {{"drop", {"ALL"}}, {"add", {"NET_BIND_SERVICE"}}};
  const bool privileged_port = spec.port < 1024;

  Json container = {
      {"name", str(kReflectorContainer)},
      {"image", spec.image},
      {"args", agent_args()},
      {"env",
       {field_env(kEnvPodName, "metadata.name"), field_env(kEnvPodUid, "metadata.uid"),
        field_env(kEnvNamespace, "metadata.namespace"),
        field_env(kEnvNodeName, "spec.nodeName"), field_env(kEnvHostIP, "status.hostIP"),
        value_env(kEnvFabric, spec.name), value_env(kEnvRack, desired.rack),
        value_env(kEnvClusterId, desired.cluster_id), value_env(kEnvBgpPort, std::to_string(spec.port)),
        value_env(kEnvLeaseDurationSeconds, std::to_string(spec.lease_duration_seconds))}},
      // No RR_METRICS_ADDRESS: rr-agent serves its endpoints on RR_HOST_IP (status.hostIP) only,
      // never on every interface of the host; the kubelet probes a hostNetwork Pod there.
      // Host network: containerPort is the host's port; declaring both lets the
      // scheduler keep two reflectors (of any fabric) off one host's ports.
      {"ports", container_ports(spec)},
      {"readinessProbe", http_probe("/readyz", 5, 3)},
      {"livenessProbe", http_probe("/healthz", 10, 6)},
      {"resources", resources},
      {"securityContext",
       {{"runAsNonRoot", true},
        {"runAsUser", 65532},
        {"runAsGroup", 65532},
        {"allowPrivilegeEscalation", privileged_port},
        {"readOnlyRootFilesystem", true},
        {"capabilities", capabilities},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"volumeMounts", volume_mounts()},
  };
  if (!spec.image_pull_policy.empty()) container["imagePullPolicy"] = spec.image_pull_policy;
  // Dual stack: no downward API field gives a host's IPv6 address on Kubernetes 1.20, and the
  // Pod is pinned to its host anyway: the address the planner took from the Node, literally.
  if (!desired.host_ipv6.empty()) container["env"].push_back(value_env(kEnvHostIPv6, desired.host_ipv6));
  // A top-tier reflector serves no rack. A rack reflector's environment is what it was before
  // tiers, so adding a top tier to a running fabric rolls none of its racks' reflectors.
  if (desired.tier == planner::Tier::Top) {
    Json& env = container["env"];
    for (auto it = env.begin(); it != env.end(); ++it) {
      if (json::string_at(*it, "name") == kEnvRack) {
        env.erase(it);
        break;
      }
    }
    env.push_back(value_env(kEnvTier, contract::tier_word(desired.tier)));
    env.push_back(value_env(kEnvZone, desired.zone));
  }
  return container;
}

}  // namespace

kube::Json render_reflector_pod(const planner::FabricSpec& spec, const planner::DesiredPod& desired) {
  Json pod_spec = {
      {"hostNetwork", true},
      {"dnsPolicy", "ClusterFirstWithHostNet"},
      {"serviceAccountName", str(kAgentServiceAccount)},
      {"automountServiceAccountToken", true},
      {"terminationGracePeriodSeconds", 30},
      {"affinity",
       {{"nodeAffinity",
         {{"requiredDuringSchedulingIgnoredDuringExecution",
           {{"nodeSelectorTerms",
             {{{"matchFields", {{{"key", "metadata.name"}, {"operator", "In"}, {"values", {desired.node}}}}}}}}}}}},
        {"podAntiAffinity",
         {{"requiredDuringSchedulingIgnoredDuringExecution",
           {{{"labelSelector", {{"matchLabels", {{str(kClusterLabel), spec.name}}}}},
             {"topologyKey", "kubernetes.io/hostname"}}}}}}}},
      {"containers", Json::array({reflector_container(spec, desired)})},
      {"volumes", volumes()},
  };
  if (!spec.priority_class_name.empty()) pod_spec["priorityClassName"] = spec.priority_class_name;
  if (!spec.tolerations.empty()) {
    Json tolerations = Json::array();
    for (const auto& t : spec.tolerations) tolerations.push_back(toleration_json(t));
    pod_spec["tolerations"] = std::move(tolerations);
  }
  Json labels = {{str(kManagedByLabel), str(kManagedByValue)},
                 {str(kNameLabel), str(kNameValue)},
                 {str(kClusterLabel), spec.name}};
  if (desired.tier == planner::Tier::Top) {
    labels[str(kTierLabel)] = contract::tier_word(desired.tier);
    labels[str(kZoneLabel)] = desired.zone;
  } else {
    labels[str(kRackLabel)] = desired.rack;
  }
  Json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       {{"name", desired.name},
        {"namespace", spec.ns},
        {"labels", std::move(labels)},
        {"annotations", {{str(kClusterIdAnnotation), desired.cluster_id}, {str(kSpecHashAnnotation), hash_of(pod_spec)}}},
        {"ownerReferences", fabric_controller_reference(spec)}}},
      {"spec", std::move(pod_spec)},
  };
  return pod;
}

kube::Json render_bgp_peer(const planner::FabricSpec& spec, const planner::DesiredPeer& desired) {
  const auto& type = spec.calico_api == planner::CalicoApi::ProjectCalicoV3 ? calico_v3_bgp_peers()
                                                                             : calico_crd_bgp_peers();
  Json peer_spec = {{"nodeSelector", desired.node_selector}, {"peerIP", desired.peer_ip}, {"asNumber", desired.as_number}};
  if (desired.password) {
    peer_spec["password"] = {{"secretKeyRef", {{"name", desired.password->name}, {"key", desired.password->key}}}};
  }
  return {
      {"apiVersion", type.api_version()},
      {"kind", type.kind},
      {"metadata",
       {{"name", desired.name},
        {"labels",
         {{str(kManagedByLabel), str(kManagedByValue)},
          {str(kClusterLabel), spec.name},
          {str(kRackLabel), desired.rack}}}}},
      {"spec", std::move(peer_spec)},
  };
}

kube::Json render_bgp_configuration(planner::CalicoApi api, bool node_to_node_mesh_enabled) {
  const auto& type = api == planner::CalicoApi::ProjectCalicoV3 ? calico_v3_bgp_configurations()
                                                                : calico_crd_bgp_configurations();
  return {{"apiVersion", type.api_version()},
          {"kind", type.kind},
          {"metadata", {{"name", str(kDefaultBgpConfiguration)}}},
          {"spec", {{"nodeToNodeMeshEnabled", node_to_node_mesh_enabled}}}};
}

std::string_view to_string(planner::CalicoApi api) {
  return api == planner::CalicoApi::ProjectCalicoV3 ? "projectcalico.org/v3" : "crd.projectcalico.org/v1";
}

std::set<std::string> password_secret_names(const planner::FabricSpec& spec) {
  std::set<std::string> names;
  if (spec.bgp.password) names.insert(spec.bgp.password->name);
  for (const auto& p : spec.external_peers) {
    if (p.password) names.insert(p.password->name);
  }
  return names;
}

std::string agent_secrets_role_name(const std::string& fabric) { return "rr-agent-secrets-" + fabric; }

namespace {

// A Role granting get on exactly `secrets` in `ns`, and its binding to ServiceAccount
// `service_account` of that namespace; both named `name` and labelled as the fabric's.
SecretReaderAccess render_secret_reader(const planner::FabricSpec& spec, const std::string& name, const std::string& ns,
                                        const std::set<std::string>& secrets, const std::string& service_account) {
  const std::string rbac_group = "rbac.authorization.k8s.io";
  const Json metadata = {{"name", name},
                         {"namespace", ns},
                         {"labels", {{str(kManagedByLabel), str(kManagedByValue)}, {str(kClusterLabel), spec.name}}}};
  SecretReaderAccess out;
  out.role = {{"apiVersion", rbac_group + "/v1"},
              {"kind", "Role"},
              {"metadata", metadata},
              {"rules", Json::array({{{"apiGroups", Json::array({""})},
                                      {"resources", Json::array({"secrets"})},
                                      {"verbs", Json::array({"get"})},
                                      {"resourceNames", secrets}}})}};
  out.binding = {{"apiVersion", rbac_group + "/v1"},
                 {"kind", "RoleBinding"},
                 {"metadata", metadata},
                 {"roleRef", {{"apiGroup", rbac_group}, {"kind", "Role"}, {"name", name}}},
                 {"subjects", Json::array({{{"kind", "ServiceAccount"}, {"name", service_account}, {"namespace", ns}}})}};
  return out;
}

}  // namespace

std::optional<AgentSecretAccess> render_agent_secret_access(const planner::FabricSpec& spec) {
  const auto names = password_secret_names(spec);
  if (names.empty()) return std::nullopt;  // never a rule without resourceNames: that is every Secret
  return render_secret_reader(spec, agent_secrets_role_name(spec.name), spec.ns, names, str(kAgentServiceAccount));
}

std::vector<planner::SecretKeyRef> calico_password_refs(const planner::FabricSpec& spec) {
  std::vector<planner::SecretKeyRef> out;
  if (spec.bgp.password) out.push_back(*spec.bgp.password);  // the one password every BGPPeer names
  return out;
}

std::string calico_passwords_secret_name(const std::string& fabric) { return "rr-bgp-passwords-" + fabric; }
std::string calico_passwords_role_name(const std::string& fabric) { return "rr-calico-node-passwords-" + fabric; }

planner::SecretKeyRef calico_password_copy_ref(const std::string& fabric, const planner::SecretKeyRef& source) {
  return {calico_passwords_secret_name(fabric), source.name + "." + source.key};
}

std::optional<CalicoPasswordCopy> render_calico_password_copy(const planner::FabricSpec& spec,
                                                              const CalicoPasswordTarget& target,
                                                              const std::map<std::string, std::string>& values) {
  const auto refs = calico_password_refs(spec);
  if (refs.empty() || target.ns.empty()) return std::nullopt;
  const std::string secret_name = calico_passwords_secret_name(spec.name);
  Json data = Json::object();
  for (const auto& ref : refs) {
    const std::string key = calico_password_copy_ref(spec.name, ref).key;
    if (auto it = values.find(key); it != values.end()) data[key] = it->second;
  }
  CalicoPasswordCopy out;
  static_cast<SecretReaderAccess&>(out) = render_secret_reader(spec, calico_passwords_role_name(spec.name), target.ns,
                                                               {secret_name}, target.service_account);
  out.secret = {{"apiVersion", "v1"},
                {"kind", "Secret"},
                {"type", "Opaque"},
                {"metadata",
                 {{"name", secret_name},
                  {"namespace", target.ns},
                  {"labels", {{str(kManagedByLabel), str(kManagedByValue)}, {str(kClusterLabel), spec.name}}}}},
                {"data", std::move(data)}};
  return out;
}

std::string_view to_string(planner::ReflectorState state) {
  switch (state) {
    case planner::ReflectorState::Pending: return "Pending";
    case planner::ReflectorState::Starting: return "Starting";
    case planner::ReflectorState::Ready: return "Ready";
    case planner::ReflectorState::Lapsed: return "Lapsed";
    case planner::ReflectorState::Terminating: return "Terminating";
    case planner::ReflectorState::HostNotReady: return "HostNotReady";
  }
  return "Unknown";
}

kube::Json render_status(const planner::Plan& plan, const planner::FabricSpec& spec, const kube::Json& previous_status,
                         const std::string& now_rfc3339) {
  static constexpr std::size_t kMaxMessage = 32768;  // the CRD's maxLength
  Json conditions = Json::array();
  const Json* previous = json::find(previous_status, "conditions");
  for (const auto& c : plan.conditions) {
    const std::string status = c.status ? "True" : "False";
    std::string since = now_rfc3339;
    for (std::size_t i = 0; previous != nullptr && previous->is_array() && i < previous->size(); ++i) {
      const Json& old = (*previous)[i];
      if (json::string_at(old, "type") != c.type) continue;
      auto old_since = json::string_at(old, "lastTransitionTime");
      if (json::string_at(old, "status") == status && !old_since.empty()) since = old_since;
      break;
    }
    conditions.push_back({{"type", c.type},
                          {"status", status},
                          {"reason", std::string(c.reason.name())},
                          {"message", truncated(c.message, kMaxMessage)},
                          {"lastTransitionTime", since},
                          {"observedGeneration", spec.generation}});
  }
  Json status = {{"observedGeneration", spec.generation}, {"conditions", std::move(conditions)}};

  const Json* previous_racks = json::find(previous_status, "racks");
  if (plan.hold && plan.racks.empty() && previous_racks != nullptr && previous_racks->is_array()) {
    status["racks"] = *previous_racks;
    if (const Json* top = json::find(previous_status, "topTier"); top != nullptr && top->is_array()) {
      status["topTier"] = *top;
    }
    for (const char* kept : {"rackCount", "reflectors", "reflectorsReady", "reflectorsWanted", "sessionsEstablished",
                             "sessionsTotal"}) {
      if (const Json* value = json::find(previous_status, kept)) status[kept] = *value;
    }
    return status;
  }

  int sessions_total = 0;
  auto groups_json = [&](const std::vector<planner::RackStatus>& groups) {
  Json racks = Json::array();
  for (const auto& rack : groups) {
    Json reflectors = Json::array();
    for (const auto& r : rack.reflectors) {
      Json entry = {{"pod", r.pod},
                    {"state", str(to_string(r.state))},
                    {"sessionsEstablished", r.sessions_established},
                    {"sessionsTotal", r.sessions_total}};
      // Unknown yet (a Pod not scheduled or not running): left out, since the schema wants an IP.
      if (!r.node.empty()) entry["node"] = r.node;
      if (!r.address.empty()) entry["address"] = r.address;
      if (!r.address_v6.empty()) entry["addressV6"] = r.address_v6;
      reflectors.push_back(std::move(entry));
      sessions_total += r.sessions_total;
    }
    Json entry = {{"name", rack.name},
                  {"nodes", rack.nodes},
                  {"reflectorsWanted", rack.reflectors_wanted},
                  {"reflectorsReady", rack.reflectors_ready},
                  {"reflectors", std::move(reflectors)}};
    if (!rack.cluster_id.empty()) entry["clusterID"] = rack.cluster_id;  // the schema's pattern rejects ""
    racks.push_back(std::move(entry));
  }
  return racks;
  };
  status["racks"] = groups_json(plan.racks);
  // A top tier's entry is named after its zone ("" for a fabric-wide one); nodes is always 0.
  if (!plan.top_tier.empty()) status["topTier"] = groups_json(plan.top_tier);
  status["rackCount"] = plan.racks.size();
  status["reflectors"] = std::to_string(plan.reflectors_ready) + "/" + std::to_string(plan.reflectors_wanted);
  status["reflectorsReady"] = plan.reflectors_ready;
  status["reflectorsWanted"] = plan.reflectors_wanted;
  status["sessionsEstablished"] = plan.sessions_established;
  status["sessionsTotal"] = sessions_total;
  return status;
}

}  // namespace rr::api
