#include "api/observed.h"

#include "kube/informer.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace rr::api {
namespace {

using kube::Json;

Json reflector_pod() {
  return Json::parse(R"({
    "metadata": {"name": "fabric-r1-0", "namespace": "rr-system",
      "labels": {"rr.bgp.dev/cluster": "fabric", "rr.bgp.dev/rack": "r1"},
      "annotations": {"rr.bgp.dev/cluster-id": "10.255.0.1"}},
    "spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
      {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]},
      {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-a"]}]}]}}}},
    "status": {"phase": "Pending"}})");
}

TEST(ApiObservedTest, APodIsCachedWithItsSpecAndTheStatusTheReconcilerReadsOnly) {
  Json pod = reflector_pod();
  pod["metadata"]["managedFields"] = Json::array({{{"manager", "kubelet"}, {"fieldsV1", {{"f:status", Json::object()}}}}});
  pod["spec"]["nodeName"] = "node-a";
  pod["spec"]["securityContext"] = {{"runAsNonRoot", true}};
  pod["spec"]["containers"] = Json::array(
      {{{"name", "reflector"},
        {"image", "rr-agent:1"},
        {"env", Json::array({{{"name", "RR_HOST_IPV6"}, {"value", "fd00::1"}}})},
        {"readinessProbe", {{"httpGet", {{"path", "/readyz"}, {"port", 9090}}}}},
        {"volumeMounts", Json::array({{{"name", "run"}, {"mountPath", "/run/bird"}}})}}});
  pod["spec"]["volumes"] = Json::array({{{"name", "run"}, {"emptyDir", Json::object()}}});
  pod["status"] = {{"phase", "Running"},
                   {"hostIP", "192.0.2.1"},
                   {"podIP", "192.0.2.1"},
                   {"conditions", Json::array({{{"type", "Ready"},
                                                {"status", "True"},
                                                {"lastTransitionTime", "2024-01-02T03:04:05Z"},
                                                {"message", "all containers ready"}}})},
                   {"containerStatuses",
                    Json::array({{{"name", "bird"},
                                  {"ready", true},
                                  {"restartCount", 2},
                                  {"lastState", {{"terminated", {{"exitCode", 137}}}}},
                                  {"state", {{"running", {{"startedAt", "2024-01-02T03:04:05Z"}}}}}}})}};
  auto kept = pod_kept(pod);
  ASSERT_TRUE(kept);
  EXPECT_FALSE(kept->at("metadata").contains("managedFields"));
  EXPECT_EQ(kept->at("metadata").at("labels"), pod["metadata"]["labels"]);
  // Of the spec: the node, the affinity, and each container's name, image and env.
  EXPECT_EQ(kept->at("spec"),
            (Json{{"nodeName", "node-a"},
                  {"affinity", pod["spec"]["affinity"]},
                  {"containers", Json::array({{{"name", "reflector"},
                                               {"image", "rr-agent:1"},
                                               {"env", pod["spec"]["containers"][0]["env"]}}})}}));
  EXPECT_EQ(kept->at("status"),
            (Json{{"phase", "Running"},
                  {"hostIP", "192.0.2.1"},
                  {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})},
                  {"containerStatuses",
                   Json::array({{{"name", "bird"}, {"restartCount", 2}, {"state", {{"running", Json::object()}}}}})}}));
  EXPECT_EQ(container_runs_from(*kept)->restarts, 2);
  EXPECT_TRUE(container_runs_from(*kept)->running);
  // What the controller reads of the kept Pod is what it reads of the whole one.
  EXPECT_EQ(reflector_pod_from(*kept), reflector_pod_from(pod));
  EXPECT_EQ(*kube::without_managed_fields(pod), [&] {
    Json p = pod;
    p["metadata"].erase("managedFields");
    return p;
  }());
}

TEST(ApiObservedTest, ContainerRunsSumRestartsAndRunOnlyWhenEveryContainerRuns) {
  auto pod = [](Json statuses) { return Json{{"status", {{"containerStatuses", std::move(statuses)}}}}; };
  auto runs = container_runs_from(pod(Json::array(
      {{{"name", "a"}, {"restartCount", 1}, {"state", {{"running", Json::object()}}}},
       {{"name", "b"}, {"restartCount", 2}, {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}}}})));
  ASSERT_TRUE(runs);
  EXPECT_EQ(runs->restarts, 3);
  EXPECT_FALSE(runs->running);
  runs = container_runs_from(pod(Json::array({{{"name", "a"}, {"state", {{"running", Json::object()}}}}})));
  ASSERT_TRUE(runs);
  EXPECT_EQ(runs->restarts, 0);
  EXPECT_TRUE(runs->running);
  // Nothing reported yet, or not what the API promises: nothing to go by.
  EXPECT_FALSE(container_runs_from(Json{{"status", {{"phase", "Pending"}}}}));
  EXPECT_FALSE(container_runs_from(pod(Json::array())));
  EXPECT_FALSE(container_runs_from(pod("running")));
  EXPECT_FALSE(container_runs_from(pod(Json::array({"a"}))));
  EXPECT_FALSE(container_runs_from(Json::array()));
  runs = container_runs_from(pod(Json::array({{{"restartCount", "7"}, {"state", "running"}}})));
  ASSERT_TRUE(runs);
  EXPECT_EQ(runs->restarts, 0) << "a count that is not a number counts nothing";
  EXPECT_FALSE(runs->running);
}

TEST(ApiObservedTest, PodCases) {
  struct Case {
    std::string name;
    Json pod;
    planner::ReflectorPod want;
  };
  const planner::ReflectorPod base{"fabric-r1-0", "r1", "node-a", "10.255.0.1", "", planner::PodPhase::Pending, false, false, false, ""};
  auto patched = [](const char* patch) { return reflector_pod().patch(Json::parse(patch)); };
  auto want = [&](auto change) {
    planner::ReflectorPod p = base;
    change(p);
    return p;
  };
  const std::vector<Case> cases = {
      {"not yet bound: node from the affinity", reflector_pod(), base},
      {"bound: spec.nodeName wins",
       patched(R"([{"op": "add", "path": "/spec/nodeName", "value": "node-b"}])"),
       want([](auto& p) { p.node = "node-b"; })},
      {"running and ready",
       patched(R"([{"op": "add", "path": "/spec/nodeName", "value": "node-a"},
                   {"op": "replace", "path": "/status", "value": {"phase": "Running", "hostIP": "192.168.1.5",
                    "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]}}])"),
       want([](auto& p) {
         p.phase = planner::PodPhase::Running;
         p.host_ip = "192.168.1.5";
         p.ready = true;
       })},
      {"running, not ready",
       patched(R"([{"op": "replace", "path": "/status", "value": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}}])"),
       want([](auto& p) { p.phase = planner::PodPhase::Running; })},
      {"failed", patched(R"([{"op": "replace", "path": "/status/phase", "value": "Failed"}])"),
       want([](auto& p) { p.phase = planner::PodPhase::Failed; })},
      {"succeeded", patched(R"([{"op": "replace", "path": "/status/phase", "value": "Succeeded"}])"),
       want([](auto& p) { p.phase = planner::PodPhase::Succeeded; })},
      {"unknown phase", patched(R"([{"op": "replace", "path": "/status/phase", "value": "Weird"}])"),
       want([](auto& p) { p.phase = planner::PodPhase::Unknown; })},
      {"no status", patched(R"([{"op": "remove", "path": "/status"}])"), base},
      {"deleting", patched(R"([{"op": "add", "path": "/metadata/deletionTimestamp", "value": "2024-01-01T00:00:00Z"}])"),
       want([](auto& p) { p.deleting = true; })},
      {"affinity on a label only: no node",
       patched(R"([{"op": "remove", "path": "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/1"}])"),
       want([](auto& p) { p.node = ""; })},
      {"matchFields with two values is not a pin",
       patched(R"([{"op": "add", "path": "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/1/matchFields/0/values/-", "value": "node-b"}])"),
       want([](auto& p) { p.node = ""; })},
      {"no labels or annotations", patched(R"([{"op": "remove", "path": "/metadata/labels"}, {"op": "remove", "path": "/metadata/annotations"}])"),
       want([](auto& p) {
         p.rack = "";
         p.cluster_id = "";
       })},
      {"dual stack: the reflector container's RR_HOST_IPV6",
       patched(R"([{"op": "add", "path": "/spec/containers", "value": [
         {"name": "sidecar", "env": [{"name": "RR_HOST_IPV6", "value": "fd00::66"}]},
         {"name": "reflector", "env": [{"name": "RR_HOST_IP", "valueFrom": {}}, {"name": "RR_HOST_IPV6", "value": "fd00::5"}]}]}])"),
       want([](auto& p) { p.host_ipv6 = "fd00::5"; })},
      {"an RR_HOST_IPV6 that is not an IPv6 address is none",
       patched(R"([{"op": "add", "path": "/spec/containers", "value": [
         {"name": "reflector", "env": [{"name": "RR_HOST_IPV6", "value": "10.0.0.5"}]}]}])"),
       base},
      {"affinity of the wrong shape", patched(R"([{"op": "replace", "path": "/spec/affinity", "value": {"nodeAffinity": [1]}}])"),
       want([](auto& p) { p.node = ""; })},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto pod = reflector_pod_from(c.pod);
    ASSERT_TRUE(pod.has_value());
    EXPECT_EQ(*pod, c.want);
  }
  EXPECT_FALSE(reflector_pod_from(Json::object()).has_value());
  EXPECT_FALSE(reflector_pod_from(Json("x")).has_value());
}

// The agent writes its Lease; the operator and the kubelet write its Pod. What the
// Lease claims is checked against the Pod, the holder first.
TEST(ApiObservedTest, LeaseContradictionsAgainstThePodTheLeaseIsNamedAfter) {
  const Json pod = Json::parse(R"({
    "metadata": {"name": "rr-f-r1-n1", "namespace": "rr-system", "uid": "uid-1",
      "labels": {"rr.bgp.dev/cluster": "f", "rr.bgp.dev/rack": "r1"},
      "annotations": {"rr.bgp.dev/cluster-id": "10.255.0.1"}},
    "status": {"hostIP": "192.0.2.1"}})");
  const Json honest = Json::parse(R"({
    "metadata": {"name": "rr-f-r1-n1", "namespace": "rr-system", "labels": {"rr.bgp.dev/cluster": "f"},
      "annotations": {"rr.bgp.dev/address": "192.0.2.1", "rr.bgp.dev/rack": "r1",
                      "rr.bgp.dev/cluster-id": "10.255.0.1", "rr.bgp.dev/sessions-established": "3"}},
    "spec": {"holderIdentity": "uid-1", "renewTime": "2026-11-27T10:31:28.123456Z", "leaseDurationSeconds": 15}})");
  struct Case {
    std::string name;
    std::function<void(Json& lease, Json& pod)> edit;
    std::string field;  // "" = no contradiction
  };
  // A Pod the operator gave RR_HOST_IPV6=fd00::1, and a Lease claiming `lease_v6`.
  auto dual_stack = [](std::string lease_v6) {
    return [lease_v6](Json& l, Json& p) {
      l["metadata"]["annotations"]["rr.bgp.dev/address-v6"] = lease_v6;
      p["spec"] = Json::parse(R"({"containers": [{"name": "reflector",
                                   "env": [{"name": "RR_HOST_IPV6", "value": "fd00::1"}]}]})");
    };
  };
  const std::vector<Case> cases = {
      {"the agent's own report", [](Json&, Json&) {}, ""},
      {"an agent of the previous version holds it under the Pod's name",
       [](Json& l, Json&) { l["spec"]["holderIdentity"] = "rr-f-r1-n1"; }, ""},
      {"the kubelet has not reported a hostIP yet", [](Json&, Json& p) { p["status"].erase("hostIP"); }, ""},
      {"held by another UID", [](Json& l, Json&) { l["spec"]["holderIdentity"] = "uid-2"; }, "holder"},
      {"held by nobody", [](Json& l, Json&) { l["spec"].erase("holderIdentity"); }, "holder"},
      {"holder of the wrong type", [](Json& l, Json&) { l["spec"]["holderIdentity"] = 5; }, "holder"},
      {"held by another UID with a forged address: the holder is named",
       [](Json& l, Json&) {
         l["spec"]["holderIdentity"] = "uid-2";
         l["metadata"]["annotations"]["rr.bgp.dev/address"] = "203.0.113.66";
       },
       "holder"},
      {"labelled for another fabric", [](Json& l, Json&) { l["metadata"]["labels"]["rr.bgp.dev/cluster"] = "g"; },
       "fabric"},
      {"another rack", [](Json& l, Json&) { l["metadata"]["annotations"]["rr.bgp.dev/rack"] = "r2"; }, "rack"},
      {"no rack", [](Json& l, Json&) { l["metadata"]["annotations"].erase("rr.bgp.dev/rack"); }, "rack"},
      {"another cluster ID",
       [](Json& l, Json&) { l["metadata"]["annotations"]["rr.bgp.dev/cluster-id"] = "10.255.0.9"; }, "clusterID"},
      {"another address",
       [](Json& l, Json&) { l["metadata"]["annotations"]["rr.bgp.dev/address"] = "203.0.113.66"; }, "address"},
      {"an IPv6 address the Pod was not given",
       [](Json& l, Json&) { l["metadata"]["annotations"]["rr.bgp.dev/address-v6"] = "2001:db8::66"; }, "addressV6"},
      {"the IPv6 address the operator gave the Pod", dual_stack("fd00::1"), ""},
      {"another IPv6 address than the Pod's", dual_stack("2001:db8::66"), "addressV6"},
      {"an address while the kubelet has reported none: nothing to check it against",
       [](Json& l, Json& p) {
         l["metadata"]["annotations"]["rr.bgp.dev/address"] = "203.0.113.66";
         p["status"].erase("hostIP");
       },
       ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json lease = honest;
    Json p = pod;
    c.edit(lease, p);
    auto got = lease_contradiction(lease, p);
    if (c.field.empty()) {
      EXPECT_FALSE(got.has_value()) << (got ? got->message : "");
    } else {
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(got->field, c.field) << got->message;
      EXPECT_FALSE(got->message.empty());
    }
  }
  auto forged = honest;
  forged["metadata"]["annotations"]["rr.bgp.dev/address"] = "203.0.113.66";
  EXPECT_EQ(lease_contradiction(forged, pod)->message,
            "address \"203.0.113.66\", but the kubelet's status.hostIP says \"192.0.2.1\"");
}

TEST(ApiObservedTest, NodeToNodeMesh) {
  struct Case {
    std::string name;
    Json configuration;
    std::optional<bool> want;
  };
  const std::vector<Case> cases = {
      {"absent field: Calico's default, on", Json::parse(R"({"metadata": {"name": "default"}, "spec": {"asNumber": 64512}})"), true},
      {"no spec", Json::parse(R"({"metadata": {"name": "default"}})"), true},
      {"off", Json::parse(R"({"spec": {"nodeToNodeMeshEnabled": false}})"), false},
      {"on", Json::parse(R"({"spec": {"nodeToNodeMeshEnabled": true}})"), true},
      {"not a boolean", Json::parse(R"({"spec": {"nodeToNodeMeshEnabled": "false"}})"), std::nullopt},
      {"not an object", Json(), std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(node_to_node_mesh_from(c.configuration), c.want);
  }
}

TEST(ApiObservedTest, AllocationsFromStatusSkipWhatIsNotAnAllocation) {
  Json rrc = Json::parse(R"({"status": {"racks": [
    {"name": "r1", "clusterID": "10.255.0.1", "nodes": 3},
    {"name": "r2"},
    {"name": "r3", "clusterID": "10.255.0.300"},
    {"clusterID": "10.255.0.4"},
    {"name": 5, "clusterID": "10.255.0.5"},
    "r6",
    {"name": "r0", "clusterID": "10.255.0.7"}]}})");
  EXPECT_EQ(allocations_from_status(rrc),
            (std::vector<planner::RackAllocation>{{"r1", "10.255.0.1", {}}, {"r0", "10.255.0.7", {}}}));
  EXPECT_TRUE(allocations_from_status(Json::object()).empty());
  EXPECT_TRUE(allocations_from_status(Json::parse(R"({"status": {"racks": {"r1": "x"}}})")).empty());
}

TEST(ApiObservedTest, AllocationsFromStatusKeepTheReflectorsHosts) {
  Json rrc = Json::parse(R"({"status": {"racks": [
    {"name": "r1", "clusterID": "10.255.0.1", "reflectors": [
      {"pod": "f-r1-a", "node": "n2", "state": "Ready"},
      {"pod": "f-r1-b", "node": "n1", "state": "Terminating"},
      {"pod": "f-r1-c", "state": "Pending"},
      {"pod": "f-r1-d", "node": 7},
      "n9"]},
    {"name": "r2", "clusterID": "10.255.0.2", "reflectors": {"n3": true}}]}})");
  auto got = allocations_from_status(rrc);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].hosts, (std::vector<std::string>{"n2", "n1"}));
  EXPECT_TRUE(got[1].hosts.empty());
}

TEST(ApiObservedTest, SecretKeysNeverKeepValues) {
  Json secret = Json::parse(R"({"metadata": {"name": "bgp"}, "data": {"password": "c2VjcmV0", "other": "eA=="},
                                "stringData": {"plain": "secret"}})");
  EXPECT_EQ(secret_keys_from(secret), (std::set<std::string>{"bgp/other", "bgp/password", "bgp/plain"}));
  EXPECT_TRUE(secret_keys_from(Json::parse(R"({"metadata": {"name": "empty"}})")).empty());
  EXPECT_TRUE(secret_keys_from(Json::parse(R"({"data": {"k": "v"}})")).empty());
  EXPECT_TRUE(secret_keys_from(Json::parse(R"({"metadata": {"name": "s"}, "data": ["k"]})")).empty());
}

}  // namespace
}  // namespace rr::api
