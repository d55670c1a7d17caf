#include "api/render.h"

#include "api/observed.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "contract/fabric_spec.h"
#include "testing/source_dir.h"

namespace rr::api {
namespace {

using kube::Json;

// Golden files: the rendered object, pretty-printed. RR_UPDATE_GOLDEN=1 rewrites them.
std::filesystem::path testdata() { return ::rr::testing::source_dir() / "tests/unit/operator/api/testdata"; }

void expect_golden(const std::string& file, const Json& rendered) {
  const auto path = testdata() / file;
  const std::string text = rendered.dump(2) + "\n";
  if (const char* update = std::getenv("RR_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << text;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path << " is missing; run with RR_UPDATE_GOLDEN=1 to create it";
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(text, golden.str()) << "rendering differs from " << path << "; if intended, rerun with RR_UPDATE_GOLDEN=1";
}

planner::FabricSpec parse(const Json& spec) {
  Json object = {{"metadata", {{"name", "fabric"}, {"uid", "0b1c2d3e-0000-4000-8000-000000000001"}, {"generation", 4}}},
                 {"spec", spec}};
  auto parsed = contract::parse_fabric(object, "registry.example/rr-agent:0.1.0");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : planner::FabricSpec{};
}

planner::FabricSpec dedicated_spec() {
  return parse(Json::parse(R"({"reflectors": {"resources": {"requests": {"cpu": "0.1", "memory": "64Mi"},
                                                             "limits": {"memory": "0.25Gi"}}}})"));
}

planner::FabricSpec colocated_spec() {
  return parse(Json::parse(R"({
    "namespace": "rr-colocated",
    "reflectors": {"placement": "Colocated", "port": 1179, "imagePullPolicy": "IfNotPresent",
                   "priorityClassName": "system-cluster-critical",
                   "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
                                   {"key": "dedicated", "value": "network", "effect": "NoExecute", "tolerationSeconds": 60}]},
    "lease": {"durationSeconds": 30}})"));
}

const planner::DesiredPod kPod{"fabric-r1-0", "r1", "node-a", "10.255.0.1", ""};

// An ownerReference to a fabric, as rr-operator set them on BGPPeers before it stopped
// (render.h), and one to something else.
const Json kFabricOwner = Json::parse(R"([{"apiVersion": "rr.bgp.dev/v1alpha1", "kind": "RouteReflectorCluster",
  "name": "fabric", "uid": "uid-fabric", "controller": true, "blockOwnerDeletion": true}])");
const Json kOtherOwner = Json::parse(R"([{"apiVersion": "example.com/v1", "kind": "Inventory", "name": "x", "uid": "u-x"}])");

TEST(RenderTest, PodDedicatedOnPort179) { expect_golden("pod_dedicated_179.json", render_reflector_pod(dedicated_spec(), kPod)); }

// On a real node (tests/chaos, Colocated on 1179) BIRD did not start at all: "cannot run bird:
// Operation not permitted". The kernel refuses to exec a binary whose effective file capability
// (cap_net_bind_service+ep on /usr/sbin/bird) the bounding set lacks, even under no_new_privs.
TEST(RenderTest, PodColocatedOnPort1179KeepsTheBindCapabilityInTheBoundingSetOnly) {
  Json pod = render_reflector_pod(colocated_spec(), kPod);
  expect_golden("pod_colocated_1179.json", pod);
  const Json& sc = pod["spec"]["containers"][0]["securityContext"];
  EXPECT_EQ(sc["capabilities"]["drop"], Json::array({"ALL"}));
  EXPECT_EQ(sc["capabilities"]["add"], Json::array({"NET_BIND_SERVICE"}));
  EXPECT_EQ(sc["allowPrivilegeEscalation"], false) << "no_new_privs: the capability is never granted above 1023";
  // Reflectors mesh one port up on a Colocated host (planner::mesh_port): the scheduler must know.
  Json ports = Json::array();
  for (const auto& p : pod["spec"]["containers"][0]["ports"]) ports.push_back(p["containerPort"]);
  EXPECT_EQ(ports, Json::array({1179, 1180, 9179}));
}

// On a real node (tests/install) BIRD got "bind: Permission denied" on port 179: with
// no_new_privs (allowPrivilegeEscalation: false) the kernel ignores the file capability of
// /usr/sbin/bird, and a non-root container starts with no permitted capabilities.
TEST(RenderTest, PodOnPort179LetsBirdsFileCapabilityApply) {
  Json sc = render_reflector_pod(dedicated_spec(), kPod)["spec"]["containers"][0]["securityContext"];
  EXPECT_EQ(sc["allowPrivilegeEscalation"], true);
  EXPECT_EQ(sc["capabilities"]["drop"], Json::array({"ALL"}));
  EXPECT_EQ(sc["capabilities"]["add"], Json::array({"NET_BIND_SERVICE"}));
  EXPECT_EQ(sc["runAsNonRoot"], true);
}

// The Pod is on the host network: a listener on 0.0.0.0 serves the agent's /metrics,
// /healthz and /readyz on every interface of the host. rr-agent listens on RR_HOST_IP
// (the kubelet's status.hostIP) instead; the kubelet probes a hostNetwork Pod there.
TEST(RenderTest, PodHasTheAgentListenOnTheHostsAddressOnly) {
  const Json container = render_reflector_pod(dedicated_spec(), kPod)["spec"]["containers"][0];
  Json host_ip;
  for (const auto& e : container["env"]) {
    EXPECT_NE(e["name"], "RR_METRICS_ADDRESS") << "the agent's default is the host's address: " << e.dump();
    if (e["name"] == "RR_HOST_IP") host_ip = e;
  }
  EXPECT_EQ(host_ip.value("valueFrom", Json::object()).value("fieldRef", Json::object()).value("fieldPath", ""),
            "status.hostIP")
      << host_ip.dump();
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    SCOPED_TRACE(probe);
    const Json& get = container[probe]["httpGet"];
    EXPECT_FALSE(get.contains("host")) << "without a host the kubelet probes the Pod's IP, the host's: " << get.dump();
    EXPECT_EQ(get["port"], "metrics");
  }
  EXPECT_EQ(render_reflector_pod(dedicated_spec(), kPod)["spec"]["hostNetwork"], true);
}

// Kubernetes 1.20 has no downward API field for a host's IPv6 address; the Pod is pinned
// to its host, so the operator writes the address it took from the Node.
TEST(RenderTest, DualStackPodGetsItsHostsIPv6AddressAsALiteral) {
  planner::DesiredPod pod = kPod;
  std::vector<Json> v6;
  auto collect = [&](const Json& rendered) {
    v6.clear();
    for (const auto& e : rendered["spec"]["containers"][0]["env"]) {
      if (e["name"] == "RR_HOST_IPV6") v6.push_back(e);
    }
  };
  collect(render_reflector_pod(dedicated_spec(), pod));
  EXPECT_TRUE(v6.empty()) << "a single-stack Pod has no RR_HOST_IPV6";
  pod.host_ipv6 = "fd00::a";
  collect(render_reflector_pod(dedicated_spec(), pod));
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0], Json({{"name", "RR_HOST_IPV6"}, {"value", "fd00::a"}}));
}

TEST(RenderTest, BgpPeerCrdV1WithPassword) {
  auto spec = parse({{"bgp", {{"passwordSecretRef", {{"name", "fabric-bgp"}, {"key", "password"}}}}}});
  planner::DesiredPeer peer{"fabric-r1-0", "fabric-r1-0", "r1", "topology.kubernetes.io/rack == 'r1'", "192.168.1.5", 64512,
                            planner::SecretKeyRef{"fabric-bgp", "password"}};
  expect_golden("bgppeer_crd_v1_password.json", render_bgp_peer(spec, peer));
}

TEST(RenderTest, BgpPeerV3) {
  auto spec = parse({{"calicoAPI", "projectcalico.org/v3"}, {"reflectors", {{"placement", "Colocated"}, {"port", 1179}}}});
  planner::DesiredPeer peer{"fabric-r2-1", "fabric-r2-1", "r2",
                            "topology.kubernetes.io/rack == 'r2' && kubernetes.io/hostname != 'node-c'",
                            "192.168.2.7:1179", 64512, std::nullopt};
  expect_golden("bgppeer_v3.json", render_bgp_peer(spec, peer));
}

TEST(RenderTest, BgpConfiguration) {
  EXPECT_EQ(render_bgp_configuration(planner::CalicoApi::CrdV1, false),
            Json::parse(R"({"apiVersion": "crd.projectcalico.org/v1", "kind": "BGPConfiguration",
                            "metadata": {"name": "default"}, "spec": {"nodeToNodeMeshEnabled": false}})"));
  EXPECT_EQ(render_bgp_configuration(planner::CalicoApi::ProjectCalicoV3, true)["apiVersion"], "projectcalico.org/v3");
}

planner::Plan two_rack_plan() {
  planner::Plan plan;
  plan.racks = {
      {"r1", "10.255.0.1", 12, 2, 2,
       {{"fabric-r1-0", "node-a", "192.168.1.5", planner::ReflectorState::Ready, 13, 13, ""},
        {"fabric-r1-1", "node-b", "192.168.1.6", planner::ReflectorState::Ready, 12, 13, ""}}},
      {"r2", "10.255.0.2", 8, 2, 1,
       {{"fabric-r2-0", "node-c", "192.168.2.5", planner::ReflectorState::Ready, 9, 9, ""},
        {"fabric-r2-1", "", "", planner::ReflectorState::Pending, 0, 0, ""}}},
  };
  plan.conditions = {{"Ready", false, planner::Reason::kReflectorsNotReady, "1 of 4 reflectors is not ready"},
                     {"Progressing", true, planner::Reason::kReflectorsNotReady, "waiting for fabric-r2-1"},
                     {"Degraded", false, planner::Reason::kAsExpected, ""}};
  plan.reflectors_wanted = 4;
  plan.reflectors_ready = 3;
  plan.sessions_established = 34;
  return plan;
}

TEST(RenderTest, StatusKeepsTransitionTimesOfUnchangedConditions) {
  const Json previous = Json::parse(R"({
    "observedGeneration": 3,
    "conditions": [
      {"type": "Ready", "status": "False", "reason": "ReflectorsNotReady", "lastTransitionTime": "2024-01-01T00:00:00Z"},
      {"type": "Progressing", "status": "False", "reason": "Reconciled", "lastTransitionTime": "2024-01-01T00:00:00Z"},
      {"type": "Stalled", "status": "True", "lastTransitionTime": "2023-12-31T00:00:00Z"}],
    "racks": []})");
  Json status = render_status(two_rack_plan(), dedicated_spec(), previous, "2024-01-02T03:04:05Z");
  expect_golden("status_preserved_transition.json", status);
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], "2024-01-01T00:00:00Z") << "Ready stayed False";
  EXPECT_EQ(status["conditions"][1]["lastTransitionTime"], "2024-01-02T03:04:05Z") << "Progressing turned True";
  EXPECT_EQ(status["conditions"][2]["lastTransitionTime"], "2024-01-02T03:04:05Z") << "Degraded is new";
}

TEST(RenderTest, StatusWithoutPreviousStatus) {
  for (const Json& previous : {Json(), Json::object(), Json("garbage"), Json::parse(R"({"conditions": "x"})")}) {
    SCOPED_TRACE(previous.dump());
    Json status = render_status(two_rack_plan(), dedicated_spec(), previous, "2024-01-02T03:04:05Z");
    for (const auto& c : status["conditions"]) EXPECT_EQ(c["lastTransitionTime"], "2024-01-02T03:04:05Z");
    EXPECT_EQ(status["reflectors"], "3/4");
    EXPECT_EQ(status["rackCount"], 2);
    EXPECT_EQ(status["sessionsTotal"], 35);
  }
}

TEST(RenderTest, HeldPlanKeepsRecordedRacks) {
  const Json previous = Json::parse(R"({"racks": [{"name": "r1", "clusterID": "10.255.0.1", "nodes": 3}],
                                        "rackCount": 1, "reflectors": "2/2", "reflectorsReady": 2, "reflectorsWanted": 2})");
  planner::Plan plan;
  plan.hold = true;
  plan.conditions = {{"Ready", false, planner::Reason::kInvalidSpec, "spec.asNumber: 0 is out of range 1..4294967295"}};
  Json status = render_status(plan, dedicated_spec(), previous, "2024-01-02T03:04:05Z");
  EXPECT_EQ(status["racks"], previous["racks"]);
  EXPECT_EQ(status["reflectors"], "2/2");
  EXPECT_EQ(status["conditions"][0]["reason"], "InvalidSpec");
  EXPECT_EQ(status["observedGeneration"], 4);
}

// What the API server and admission add to a created Pod, and what the kubelet reports.
Json as_stored(Json pod) {
  pod["metadata"]["uid"] = "7f000000-0000-4000-8000-000000000001";
  pod["metadata"]["resourceVersion"] = "12345";
  pod["metadata"]["creationTimestamp"] = "2024-01-02T03:04:05Z";
  pod["metadata"]["labels"]["extra.example/added-by-a-webhook"] = "x";
  pod["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = "x";
  auto& spec = pod["spec"];
  spec["nodeName"] = "node-a";
  spec["restartPolicy"] = "Always";
  spec["schedulerName"] = "default-scheduler";
  spec["securityContext"] = Json::object();
  spec["serviceAccount"] = spec["serviceAccountName"];
  spec["enableServiceLinks"] = true;
  spec["preemptionPolicy"] = "PreemptLowerPriority";
  spec["priority"] = 0;
  spec["tolerations"].push_back({{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"}, {"effect", "NoExecute"},
                                 {"tolerationSeconds", 300}});
  spec["tolerations"].push_back({{"key", "node.kubernetes.io/unreachable"}, {"operator", "Exists"}, {"effect", "NoExecute"},
                                 {"tolerationSeconds", 300}});
  spec["volumes"].push_back({{"name", "kube-api-access-abcde"},
                             {"projected", {{"defaultMode", 420}, {"sources", {{{"serviceAccountToken", {{"path", "token"}}}}}}}}});
  for (auto& v : spec["volumes"]) {
    if (v.contains("emptyDir")) v["emptyDir"] = Json::object();
  }
  auto& c = spec["containers"][0];
  c["terminationMessagePath"] = "/dev/termination-log";
  c["terminationMessagePolicy"] = "File";
  if (!c.contains("imagePullPolicy")) c["imagePullPolicy"] = "IfNotPresent";
  for (auto& port : c["ports"]) port["hostPort"] = port["containerPort"];
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    c[probe]["successThreshold"] = 1;
    c[probe]["initialDelaySeconds"] = 0;
  }
  // Quantities come back canonical.
  if (c["resources"].contains("requests") && c["resources"]["requests"].contains("cpu")) {
    c["resources"]["requests"]["cpu"] = "100m";
  }
  if (c["resources"].contains("limits") && c["resources"]["limits"].contains("memory")) {
    c["resources"]["limits"]["memory"] = "256Mi";
  }
  c["volumeMounts"].push_back({{"name", "kube-api-access-abcde"},
                               {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"},
                               {"readOnly", true}});
  pod["status"] = {{"phase", "Running"}, {"hostIP", "192.168.1.5"}, {"podIP", "192.168.1.5"}};
  return pod;
}

TEST(RenderTest, PodMatchesItselfAsTheServerStoresIt) {
  for (const auto& spec : {dedicated_spec(), colocated_spec()}) {
    Json desired = render_reflector_pod(spec, kPod);
    EXPECT_EQ(pod_matches(as_stored(desired), desired), Match::Same);
    EXPECT_EQ(pod_matches(*pod_kept(as_stored(desired)), desired), Match::Same);
    EXPECT_EQ(pod_matches(desired, desired), Match::Same);
  }
}

TEST(RenderTest, PodDifferences) {
  struct Case {
    std::string name;
    std::function<void(planner::FabricSpec&, planner::DesiredPod&)> change_desired;
    std::function<void(Json&)> change_live;
    Match want;
  };
  auto none_desired = [](planner::FabricSpec&, planner::DesiredPod&) {};
  auto none_live = [](Json&) {};
  const std::vector<Case> cases = {
      {"nothing", none_desired, none_live, Match::Same},
      {"desired image changed", [](auto& s, auto&) { s.image = "registry.example/rr-agent:0.2.0"; }, none_live, Match::Replace},
      {"live image changed", none_desired, [](Json& p) { p["spec"]["containers"][0]["image"] = "other:1"; }, Match::Replace},
      {"cluster ID changed", [](auto&, auto& d) { d.cluster_id = "10.255.0.9"; }, none_live, Match::Replace},
      {"node changed", [](auto&, auto& d) { d.node = "node-z"; }, none_live, Match::Replace},
      {"host IPv6 address given (bgp.ipv6 turned on)", [](auto&, auto& d) { d.host_ipv6 = "fd00::1"; }, none_live,
       Match::Replace},
      {"port changed", [](auto& s, auto&) { s.port = 1179; }, none_live, Match::Replace},
      {"toleration added", [](auto& s, auto&) { s.tolerations.push_back({"k", "Exists", "", "NoSchedule", {}}); }, none_live,
       Match::Replace},
      {"resources changed", [](auto& s, auto&) { s.resources_json = R"({"requests":{"cpu":"200m"}})"; }, none_live,
       Match::Replace},
      {"resources removed (only the hash sees it)", [](auto& s, auto&) { s.resources_json = "{}"; }, none_live,
       Match::Replace},
      {"spec hash missing", none_desired, [](Json& p) { p["metadata"]["annotations"].erase("rr.bgp.dev/spec-hash"); },
       Match::Replace},
      {"env value changed on live", none_desired,
       [](Json& p) { p["spec"]["containers"][0]["env"][5]["value"] = "r9"; }, Match::Replace},
      {"rack label changed", none_desired, [](Json& p) { p["metadata"]["labels"]["rr.bgp.dev/rack"] = "r9"; }, Match::Update},
      {"managed-by label missing", none_desired,
       [](Json& p) { p["metadata"]["labels"].erase("app.kubernetes.io/managed-by"); }, Match::Update},
      {"cluster-id annotation missing", none_desired,
       [](Json& p) { p["metadata"]["annotations"].erase("rr.bgp.dev/cluster-id"); }, Match::Update},
      // The fabric is the Pod's controller (kubectl drain evicts only Pods a controller owns).
      {"owner reference missing", none_desired, [](Json& p) { p["metadata"].erase("ownerReferences"); }, Match::Update},
      {"owner of another incarnation", none_desired,
       [](Json& p) { p["metadata"]["ownerReferences"][0]["uid"] = "old"; }, Match::Update},
      {"owned by something else too", none_desired,
       [](Json& p) { p["metadata"]["ownerReferences"].push_back(kOtherOwner[0]); }, Match::Same},
      {"labels no one owns", none_desired, [](Json& p) { p["metadata"]["labels"]["team"] = "net"; }, Match::Same},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto spec = dedicated_spec();
    auto pod = kPod;
    Json live = as_stored(render_reflector_pod(spec, pod));
    c.change_desired(spec, pod);
    c.change_live(live);
    EXPECT_EQ(pod_matches(live, render_reflector_pod(spec, pod)), c.want);
    // The same verdict on the Pod as the controller's cache keeps it.
    EXPECT_EQ(pod_matches(*pod_kept(live), render_reflector_pod(spec, pod)), c.want);
  }
}

TEST(RenderTest, PeerDifferences) {
  const auto spec = parse({{"bgp", {{"passwordSecretRef", {{"name", "fabric-bgp"}, {"key", "password"}}}}}});
  const planner::DesiredPeer base{"fabric-r1-0", "fabric-r1-0", "r1", "topology.kubernetes.io/rack == 'r1'", "192.168.1.5",
                                  64512, planner::SecretKeyRef{"fabric-bgp", "password"}};
  auto stored = [&](const planner::DesiredPeer& p) {
    Json live = render_bgp_peer(spec, p);
    live["metadata"]["uid"] = "u";
    live["metadata"]["resourceVersion"] = "9";
    live["metadata"]["generation"] = 1;
    live["metadata"]["creationTimestamp"] = "2024-01-02T03:04:05Z";
    live["metadata"]["annotations"] = {{"projectcalico.org/metadata", "{}"}};
    live["spec"]["keepOriginalNextHop"] = false;  // a default some Calico versions add
    return live;
  };
  struct Case {
    std::string name;
    std::function<void(planner::DesiredPeer&)> change_desired;
    std::function<void(Json&)> change_live;
    Match want;
  };
  auto none_desired = [](planner::DesiredPeer&) {};
  auto none_live = [](Json&) {};
  const std::vector<Case> cases = {
      {"nothing", none_desired, none_live, Match::Same},
      {"peer IP changed", [](auto& p) { p.peer_ip = "192.168.1.6"; }, none_live, Match::Update},
      {"selector changed", [](auto& p) { p.node_selector = "all()"; }, none_live, Match::Update},
      {"AS changed", [](auto& p) { p.as_number = 64513; }, none_live, Match::Update},
      {"password removed", [](auto& p) { p.password.reset(); }, none_live, Match::Update},
      {"password key changed", [](auto& p) { p.password->key = "md5"; }, none_live, Match::Update},
      {"live label changed", none_desired, [](Json& p) { p["metadata"]["labels"]["rr.bgp.dev/cluster"] = "x"; }, Match::Update},
      {"live owned by the fabric (an older rr-operator's)", none_desired,
       [](Json& p) { p["metadata"]["ownerReferences"] = kFabricOwner; }, Match::Update},
      {"live of the other API", none_desired, [](Json& p) { p["apiVersion"] = "projectcalico.org/v3"; }, Match::Replace},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto peer = base;
    Json live = stored(peer);
    c.change_desired(peer);
    c.change_live(live);
    EXPECT_EQ(peer_matches(live, render_bgp_peer(spec, peer)), c.want);
  }
}

// The agents' Secret access: exactly the Secrets the spec names, never a rule without resourceNames.
TEST(RenderTest, AgentSecretsRoleGrantsGetOnExactlyTheNamedSecrets) {
  auto spec = parse(Json::parse(R"({
    "bgp": {"passwordSecretRef": {"name": "bgp-auth", "key": "password"}},
    "externalPeers": [
      {"name": "edge-1", "address": "192.0.2.1", "asNumber": 65000, "passwordSecretRef": {"name": "edge-auth", "key": "e1"}},
      {"name": "edge-2", "address": "192.0.2.2", "asNumber": 65000, "passwordSecretRef": {"name": "bgp-auth", "key": "e2"}},
      {"name": "edge-3", "address": "192.0.2.3", "asNumber": 65000}]})"));
  EXPECT_EQ(password_secret_names(spec), (std::set<std::string>{"bgp-auth", "edge-auth"}));
  auto access = render_agent_secret_access(spec);
  ASSERT_TRUE(access);
  expect_golden("role_agent_secrets.json", access->role);
  expect_golden("rolebinding_agent_secrets.json", access->binding);
  const Json& rules = access->role["rules"];
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["verbs"], Json::array({"get"}));
  EXPECT_EQ(rules[0]["resourceNames"], Json::array({"bgp-auth", "edge-auth"}));
  EXPECT_EQ(access->binding["roleRef"]["name"], access->role["metadata"]["name"]);
  EXPECT_EQ(access->binding["subjects"][0]["name"], "rr-agent");
  EXPECT_EQ(access->binding["subjects"][0]["namespace"], spec.ns);
}

TEST(RenderTest, NoAgentSecretsRoleWhenNoSecretIsNamed) {
  // A rule with empty resourceNames grants every Secret of the namespace: never render one.
  auto spec = parse(Json::parse(R"({"externalPeers": [{"name": "edge-1", "address": "192.0.2.1", "asNumber": 65000}]})"));
  EXPECT_TRUE(password_secret_names(spec).empty());
  EXPECT_FALSE(render_agent_secret_access(spec).has_value());
}

// The copy of the BGPPeers' passwords that calico-node reads in its own namespace
// (--calico-password-namespace): one Secret per fabric holding exactly the referenced keys,
// and get on that Secret alone for calico-node's ServiceAccount.
TEST(RenderTest, CalicoPasswordCopyHoldsExactlyTheBgpPeersKeysAndGrantsGetOnItAlone) {
  auto spec = parse(Json::parse(R"({
    "bgp": {"passwordSecretRef": {"name": "bgp-auth", "key": "password"}},
    "externalPeers": [
      {"name": "edge-1", "address": "192.0.2.1", "asNumber": 65000, "passwordSecretRef": {"name": "edge-auth", "key": "e1"}}]})"));
  // Only what a BGPPeer names: the external peers' passwords are BIRD's (the agents'), not calico-node's.
  ASSERT_EQ(calico_password_refs(spec), (std::vector<planner::SecretKeyRef>{{"bgp-auth", "password"}}));
  const planner::SecretKeyRef copy_ref = calico_password_copy_ref(spec.name, {"bgp-auth", "password"});
  EXPECT_EQ(copy_ref.name, "rr-bgp-passwords-fabric");
  EXPECT_EQ(copy_ref.key, "bgp-auth.password");

  const CalicoPasswordTarget target{"calico-system", "calico-node"};
  auto copy = render_calico_password_copy(spec, target, {{"bgp-auth.password", "c2VjcmV0"}, {"edge-auth.e1", "ZWRnZQ=="}});
  ASSERT_TRUE(copy);
  expect_golden("secret_calico_passwords.json", copy->secret);
  expect_golden("role_calico_passwords.json", copy->role);
  expect_golden("rolebinding_calico_passwords.json", copy->binding);
  EXPECT_EQ(copy->secret["data"], (Json{{"bgp-auth.password", "c2VjcmV0"}})) << "only the keys a BGPPeer names";
  EXPECT_EQ(copy->secret["type"], "Opaque");
  EXPECT_EQ(copy->secret["metadata"]["namespace"], "calico-system");
  const Json& rules = copy->role["rules"];
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["verbs"], Json::array({"get"}));
  EXPECT_EQ(rules[0]["resourceNames"], Json::array({"rr-bgp-passwords-fabric"}));
  EXPECT_EQ(copy->role["metadata"]["name"], "rr-calico-node-passwords-fabric");
  EXPECT_EQ(copy->binding["roleRef"]["name"], copy->role["metadata"]["name"]);
  EXPECT_EQ(copy->binding["subjects"],
            Json::parse(R"([{"kind": "ServiceAccount", "name": "calico-node", "namespace": "calico-system"}])"));
}

TEST(RenderTest, NoCalicoPasswordCopyWhenNoBgpPeerNamesAPassword) {
  auto spec = parse(Json::parse(R"({"externalPeers": [
      {"name": "edge-1", "address": "192.0.2.1", "asNumber": 65000, "passwordSecretRef": {"name": "edge-auth", "key": "e1"}}]})"));
  EXPECT_TRUE(calico_password_refs(spec).empty());
  EXPECT_FALSE(render_calico_password_copy(spec, {"calico-system", "calico-node"}, {{"edge-auth.e1", "ZWRnZQ=="}}));
}

}  // namespace
}  // namespace rr::api
