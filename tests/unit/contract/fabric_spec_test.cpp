#include "contract/fabric_spec.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace rr::contract {
namespace {

using kube::Json;

Json fabric(Json spec) {
  return {{"apiVersion", "rr.bgp.dev/v1alpha1"},
          {"kind", "RouteReflectorCluster"},
          {"metadata", {{"name", "fabric"}, {"uid", "u-1"}, {"generation", 3}, {"creationTimestamp", "2024-01-02T03:04:05Z"}}},
          {"spec", std::move(spec)}};
}

// Every field set, as deploy/examples/fabric-colocated-external.yaml plus the rest.
Json full_spec() {
  return Json::parse(R"({
    "asNumber": 64513, "namespace": "rr-fabric",
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "rackLabel": "example.com/rack", "clusterIDPool": "10.254.0.0/24",
    "reflectors": {
      "perRack": 3, "nodeSelector": {"rr.bgp.dev/reflector-capable": "true"},
      "placement": "Colocated", "port": 1179, "image": "registry.example/rr-agent:1.2.3",
      "imagePullPolicy": "Always",
      "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi", "cpu": 1}},
      "tolerations": [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "network", "effect": "NoExecute", "tolerationSeconds": 60}],
      "priorityClassName": "system-cluster-critical"},
    "externalPeers": [
      {"name": "edge-1", "address": "192.0.2.1", "asNumber": 65000, "racks": ["r1", "r2"], "multihop": false,
       "port": 1790, "passwordSecretRef": {"name": "edge-1-bgp", "key": "password"}},
      {"name": "edge-2", "address": "2001:db8::1", "asNumber": 64513, "reflectorClient": false},
      {"name": "edge-3", "address": "192.0.2.3", "asNumber": 65003,
       "exportPrefixes": [{"cidr": "10.244.0.0/16", "maxLength": 26}, {"cidr": "fd00:10::/48"}]}],
    "bgp": {"holdTimeSeconds": 30, "keepaliveSeconds": 10, "gracefulRestart": false, "ipv6": true,
            "passwordSecretRef": {"name": "fabric-bgp", "key": "md5"}},
    "lease": {"durationSeconds": 30},
    "manageNodeToNodeMesh": false,
    "calicoAPI": "projectcalico.org/v3"})");
}

TEST(ContractFabricSpecTest, EmptySpecTakesTheCrdDefaults) {
  const FabricSpec want;
  for (const auto& [name, object] : std::vector<std::pair<std::string, Json>>{
           {"spec {}", fabric(Json::object())},
           {"no spec", {{"metadata", {{"name", "fabric"}}}}},
           {"null spec", fabric(nullptr)},
           {"empty sub-objects", fabric({{"reflectors", Json::object()}, {"bgp", Json::object()},
                                         {"lease", Json::object()}})},
           {"the whole object {}", Json::object()}}) {
    SCOPED_TRACE(name);
    auto spec = parse_fabric(object);
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    EXPECT_EQ(spec->as_number, 64512u);
    EXPECT_EQ(spec->ns, "rr-system");
    EXPECT_TRUE(spec->node_selector.empty());
    EXPECT_EQ(spec->rack_label, "topology.kubernetes.io/rack");
    EXPECT_EQ(spec->cluster_id_pool, "10.255.0.0/16");
    EXPECT_EQ(spec->per_rack, 2);
    EXPECT_EQ(spec->reflector_node_selector, (Labels{{"rr.bgp.dev/reflector", "true"}}));
    EXPECT_EQ(spec->placement, Placement::Dedicated);
    EXPECT_EQ(spec->port, 179);
    EXPECT_EQ(spec->image, want.image);
    EXPECT_EQ(spec->image_pull_policy, "") << "absent: Kubernetes' default, as the CRD says";
    EXPECT_EQ(spec->resources_json, "{}");
    EXPECT_TRUE(spec->tolerations.empty());
    EXPECT_EQ(spec->priority_class_name, "");
    EXPECT_TRUE(spec->external_peers.empty());
    EXPECT_EQ(spec->bgp, want.bgp);
    EXPECT_EQ(spec->lease_duration_seconds, 15);
    EXPECT_TRUE(spec->manage_node_to_node_mesh);
    EXPECT_EQ(spec->calico_api, CalicoApi::CrdV1);
    EXPECT_FALSE(spec->deleting);
  }
}

TEST(ContractFabricSpecTest, ReadsIdentityAndEveryField) {
  Json object = fabric(full_spec());
  object["metadata"]["deletionTimestamp"] = "2024-01-02T04:00:00Z";
  auto spec = parse_fabric(object);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->name, "fabric");
  EXPECT_EQ(spec->uid, "u-1");
  EXPECT_EQ(spec->generation, 3);
  EXPECT_EQ(spec->creation_timestamp, "2024-01-02T03:04:05Z");
  EXPECT_TRUE(spec->deleting);
  EXPECT_EQ(spec->as_number, 64513u);
  EXPECT_EQ(spec->ns, "rr-fabric");
  EXPECT_EQ(spec->node_selector, (Labels{{"kubernetes.io/os", "linux"}}));
  EXPECT_EQ(spec->rack_label, "example.com/rack");
  EXPECT_EQ(spec->cluster_id_pool, "10.254.0.0/24");
  EXPECT_EQ(spec->per_rack, 3);
  EXPECT_EQ(spec->reflector_node_selector, (Labels{{"rr.bgp.dev/reflector-capable", "true"}}));
  EXPECT_EQ(spec->placement, Placement::Colocated);
  EXPECT_EQ(spec->port, 1179);
  EXPECT_EQ(spec->image, "registry.example/rr-agent:1.2.3");
  EXPECT_EQ(spec->image_pull_policy, "Always");
  EXPECT_EQ(Json::parse(spec->resources_json), full_spec()["reflectors"]["resources"]);
  ASSERT_EQ(spec->tolerations.size(), 2u);
  EXPECT_EQ(spec->tolerations[0], (Toleration{"node-role.kubernetes.io/control-plane", "Exists", "", "NoSchedule", {}}));
  EXPECT_EQ(spec->tolerations[1], (Toleration{"dedicated", "Equal", "network", "NoExecute", 60}));
  EXPECT_EQ(spec->priority_class_name, "system-cluster-critical");
  ASSERT_EQ(spec->external_peers.size(), 3u);
  EXPECT_EQ(spec->external_peers[0],
            (ExternalPeer{"edge-1", "192.0.2.1", 65000, 1790, {"r1", "r2"}, false,
                                   SecretKeyRef{"edge-1-bgp", "password"}, true, std::nullopt}));
  EXPECT_EQ(spec->external_peers[1], (ExternalPeer{"edge-2", "2001:db8::1", 64513, 179, {}, true, {}, false, std::nullopt}));
  EXPECT_EQ(spec->external_peers[2],
            (ExternalPeer{"edge-3", "192.0.2.3", 65003, 179, {}, true, {}, true,
                                   std::vector<ExportPrefix>{{"10.244.0.0/16", 26}, {"fd00:10::/48", 128}}}));
  EXPECT_EQ(spec->bgp, (BgpSettings{30, 10, false, true, SecretKeyRef{"fabric-bgp", "md5"}}));
  EXPECT_EQ(spec->lease_duration_seconds, 30);
  EXPECT_FALSE(spec->manage_node_to_node_mesh);
  EXPECT_EQ(spec->calico_api, CalicoApi::ProjectCalicoV3);
}

TEST(ContractFabricSpecTest, EdgeValuesAreAccepted) {
  struct Case {
    std::string name;
    Json spec;
  };
  const std::vector<Case> cases = {
      {"largest usable 4-byte AS", {{"asNumber", 4294967294u}}},
      {"largest private 2-byte AS", {{"asNumber", 65534}}},
      {"loopback external peer (a speaker on the reflector's host)",
       {{"externalPeers", {{{"name", "local"}, {"address", "127.0.0.2"}, {"asNumber", 65000}}}}}},
      {"integral float", {{"asNumber", 64512.0}}},
      {"pool /8 and /30", {{"clusterIDPool", "10.0.0.0/8"}}},
      {"pool /30", {{"clusterIDPool", "192.168.0.4/30"}}},
      {"explicit empty reflector selector", {{"reflectors", {{"nodeSelector", Json::object()}}}}},
      {"Colocated on another port", {{"reflectors", {{"placement", "Colocated"}, {"port", 1179}}}}},
      {"Exists toleration of every taint", {{"reflectors", {{"tolerations", {{{"operator", "Exists"}}}}}}}},
      {"keepalive one less than hold", {{"bgp", {{"holdTimeSeconds", 3}, {"keepaliveSeconds", 2}}}}},
      {"lease bounds", {{"lease", {{"durationSeconds", 300}}}}},
      {"empty image keeps the default", {{"reflectors", {{"image", ""}}}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto spec = parse_fabric(fabric(c.spec));
    EXPECT_TRUE(spec.ok()) << spec.error().message;
  }
}

TEST(ContractFabricSpecTest, DefaultImageComesFromTheOperator) {
  auto spec = parse_fabric(fabric(Json::object()), "registry.example/rr-agent:0.1.0");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->image, "registry.example/rr-agent:0.1.0");
  auto explicit_image = parse_fabric(fabric({{"reflectors", {{"image", "mine:1"}}}}), "registry.example/rr-agent:0.1.0");
  ASSERT_TRUE(explicit_image.ok());
  EXPECT_EQ(explicit_image->image, "mine:1");
}

TEST(ContractFabricSpecTest, EveryInvalidSpecNamesItsField) {
  struct Case {
    std::string name;
    Json object;
    std::string message;  // a substring of the error, starting with the field path
  };
  auto with = [](Json spec) { return fabric(std::move(spec)); };
  auto peer = [](Json fields) {
    Json p = {{"name", "edge-1"}, {"address", "192.0.2.1"}, {"asNumber", 65000}};
    if (fields.is_object()) p.update(fields);
    return p;
  };
  auto toleration = [&](Json t) { return with({{"reflectors", {{"tolerations", Json::array({t})}}}}); };
  const std::vector<Case> cases = {
      {"object is an array", Json::array(), "must be a JSON object, not array"},
      {"spec is an array", with(Json::array()), "spec: must be an object, not array"},
      {"metadata is a string", Json{{"metadata", "x"}}, "metadata: must be an object, not string"},
      {"name too long for a label value", Json{{"metadata", {{"name", std::string(64, 'a')}}}},
       "metadata.name: \"aaaa"},
      {"generation negative", Json{{"metadata", {{"generation", -1}}}}, "metadata.generation: -1 is out of range"},
      {"AS zero", with({{"asNumber", 0}}), "spec.asNumber: 0 is out of range 1..4294967295"},
      {"AS above 4 bytes", with({{"asNumber", 4294967296}}), "spec.asNumber: 4294967296 is out of range"},
      {"AS beyond int64", with({{"asNumber", 18446744073709551615u}}), "spec.asNumber: 18446744073709551615 is out of range"},
      {"AS as text", with({{"asNumber", "64512"}}), "spec.asNumber: must be an integer, not string"},
      {"AS fractional", with({{"asNumber", 1.5}}), "spec.asNumber: must be an integer, not 1.5"},
      {"namespace not a DNS label", with({{"namespace", "RR_System"}}), "spec.namespace: \"RR_System\" is not a valid namespace"},
      {"namespace empty", with({{"namespace", ""}}), "spec.namespace: \"\" is not a valid namespace"},
      {"node selector key", with({{"nodeSelector", {{"bad key", "x"}}}}), "spec.nodeSelector: \"bad key\" is not a valid label key"},
      {"node selector value with a quote", with({{"nodeSelector", {{"rack", "it's"}}}}),
       "spec.nodeSelector[\"rack\"]: \"it's\" is not a valid label value"},
      {"node selector value a number", with({{"nodeSelector", {{"rack", 1}}}}),
       "spec.nodeSelector[\"rack\"]: must be a string, not number"},
      {"node selector a list", with({{"nodeSelector", {"a"}}}), "spec.nodeSelector: must be an object, not array"},
      {"rack label", with({{"rackLabel", "-rack"}}), "spec.rackLabel: \"-rack\" is not a valid label key"},
      {"rack label bad prefix", with({{"rackLabel", "Example.com/rack"}}), "spec.rackLabel: \"Example.com/rack\""},
      {"pool without length", with({{"clusterIDPool", "10.255.0.0"}}), "spec.clusterIDPool: \"10.255.0.0\" is not an IPv4 CIDR"},
      {"pool IPv6", with({{"clusterIDPool", "fd00::/64"}}), "spec.clusterIDPool: \"fd00::/64\" is not an IPv4 CIDR"},
      {"pool bad octet", with({{"clusterIDPool", "300.0.0.0/16"}}), "spec.clusterIDPool: \"300.0.0.0/16\" is not an IPv4 CIDR"},
      {"pool /7", with({{"clusterIDPool", "10.0.0.0/7"}}), "spec.clusterIDPool: \"10.0.0.0/7\" must have a prefix length of 8..30"},
      {"pool /31", with({{"clusterIDPool", "10.0.0.0/31"}}), "spec.clusterIDPool: \"10.0.0.0/31\" must have a prefix length"},
      {"pool host bits", with({{"clusterIDPool", "10.255.0.1/16"}}),
       "spec.clusterIDPool: \"10.255.0.1/16\" has host bits set; the network is 10.255.0.0/16"},
      {"reflectors a string", with({{"reflectors", "x"}}), "spec.reflectors: must be an object, not string"},
      {"perRack 0", with({{"reflectors", {{"perRack", 0}}}}), "spec.reflectors.perRack: 0 is out of range 1..8"},
      {"perRack 9", with({{"reflectors", {{"perRack", 9}}}}), "spec.reflectors.perRack: 9 is out of range 1..8"},
      {"reflector selector value", with({{"reflectors", {{"nodeSelector", {{"a", "b c"}}}}}}),
       "spec.reflectors.nodeSelector[\"a\"]: \"b c\" is not a valid label value"},
      {"placement", with({{"reflectors", {{"placement", "Spread"}}}}),
       "spec.reflectors.placement: \"Spread\" is not one of \"Dedicated\", \"Colocated\""},
      {"port 0", with({{"reflectors", {{"port", 0}}}}), "spec.reflectors.port: 0 is out of range 1..65535"},
      {"port 65536", with({{"reflectors", {{"port", 65536}}}}), "spec.reflectors.port: 65536 is out of range 1..65535"},
      {"Colocated on 179", with({{"reflectors", {{"placement", "Colocated"}}}}),
       "spec.reflectors.port: must not be 179 with placement Colocated"},
      {"image a number", with({{"reflectors", {{"image", 7}}}}), "spec.reflectors.image: must be a string, not number"},
      {"pull policy", with({{"reflectors", {{"imagePullPolicy", "Sometimes"}}}}), "spec.reflectors.imagePullPolicy: \"Sometimes\""},
      {"resources a string", with({{"reflectors", {{"resources", "big"}}}}), "spec.reflectors.resources: must be an object"},
      {"resources requests a list", with({{"reflectors", {{"resources", {{"requests", {1}}}}}}}),
       "spec.reflectors.resources.requests: must be an object, not array"},
      {"quantity garbage", with({{"reflectors", {{"resources", {{"requests", {{"cpu", "lots"}}}}}}}}),
       "spec.reflectors.resources.requests[\"cpu\"]: \"lots\" is not a quantity"},
      {"quantity negative", with({{"reflectors", {{"resources", {{"limits", {{"memory", "-1Gi"}}}}}}}}),
       "spec.reflectors.resources.limits[\"memory\"]: \"-1Gi\" must not be negative"},
      {"quantity a boolean", with({{"reflectors", {{"resources", {{"limits", {{"memory", true}}}}}}}}),
       "spec.reflectors.resources.limits[\"memory\"]: must be a quantity string or an integer, not boolean"},
      {"tolerations an object", with({{"reflectors", {{"tolerations", Json::object()}}}}),
       "spec.reflectors.tolerations: must be an array, not object"},
      {"toleration a string", with({{"reflectors", {{"tolerations", {"x"}}}}}),
       "spec.reflectors.tolerations[0]: must be an object, not string"},
      {"toleration operator", toleration({{"key", "k"}, {"operator", "Maybe"}}),
       "spec.reflectors.tolerations[0].operator: \"Maybe\" is not one of"},
      {"toleration Exists with a value", toleration({{"key", "k"}, {"operator", "Exists"}, {"value", "v"}}),
       "spec.reflectors.tolerations[0].value: must be empty with operator \"Exists\""},
      {"toleration of every key needs Exists", toleration({{"value", "v"}}),
       "spec.reflectors.tolerations[0].operator: must be \"Exists\" when key is empty"},
      {"toleration seconds without NoExecute", toleration({{"key", "k"}, {"effect", "NoSchedule"}, {"tolerationSeconds", 5}}),
       "spec.reflectors.tolerations[0].tolerationSeconds: is only allowed with effect \"NoExecute\""},
      {"toleration effect", toleration({{"key", "k"}, {"effect", "Sometimes"}}),
       "spec.reflectors.tolerations[0].effect: \"Sometimes\" is not one of"},
      {"toleration key", toleration({{"key", "a b"}}), "spec.reflectors.tolerations[0].key: \"a b\" is not a valid taint key"},
      {"toleration value", toleration({{"key", "k"}, {"value", "a b"}}),
       "spec.reflectors.tolerations[0].value: \"a b\" is not a valid taint value"},
      {"too many tolerations", with({{"reflectors", {{"tolerations", Json(33, {{"operator", "Exists"}})}}}}),
       "spec.reflectors.tolerations: has 33 items, more than 32"},
      {"priority class", with({{"reflectors", {{"priorityClassName", "Bad_Name"}}}}),
       "spec.reflectors.priorityClassName: \"Bad_Name\" is not a valid PriorityClass name"},
      {"external peers an object", with({{"externalPeers", Json::object()}}), "spec.externalPeers: must be an array, not object"},
      {"external peer a number", with({{"externalPeers", {1}}}), "spec.externalPeers[0]: must be an object, not number"},
      {"external peer address", with({{"externalPeers", {peer({}), peer({{"name", "edge-2"}, {"address", "300.1.1.1"}})}}}),
       "spec.externalPeers[1].address: \"300.1.1.1\" is not an IP address"},
      {"external peer address with a prefix", with({{"externalPeers", {peer({{"address", "192.0.2.1/32"}})}}}),
       "spec.externalPeers[0].address: \"192.0.2.1/32\" is not an IP address"},
      {"export prefix without a length",
       with({{"externalPeers", {peer({{"exportPrefixes", {{{"cidr", "10.244.0.0"}}}}})}}}),
       "spec.externalPeers[0].exportPrefixes[0].cidr: \"10.244.0.0\" is not an IPv4 or IPv6 CIDR"},
      {"export prefix with host bits",
       with({{"externalPeers", {peer({{"exportPrefixes", {{{"cidr", "10.244.1.0/16"}}}}})}}}),
       "spec.externalPeers[0].exportPrefixes[0].cidr: \"10.244.1.0/16\" has host bits set"},
      {"export prefix IPv6 too long",
       with({{"externalPeers", {peer({{"exportPrefixes", {{{"cidr", "fd00::/129"}}}}})}}}),
       "is not an IPv4 or IPv6 CIDR"},
      {"export prefix listed twice",
       with({{"externalPeers",
              {peer({{"exportPrefixes", {{{"cidr", "10.244.0.0/16"}}, {{"cidr", "10.244.0.0/16"}}}}})}}}),
       "spec.externalPeers[0].exportPrefixes[1].cidr: \"10.244.0.0/16\" is listed twice"},
      {"export prefix maxLength shorter than the prefix",
       with({{"externalPeers", {peer({{"exportPrefixes", {{{"cidr", "10.244.0.0/16"}, {"maxLength", 8}}}}})}}}),
       "spec.externalPeers[0].exportPrefixes[0].maxLength: 8 is out of range 16..32"},
      {"export prefix without a cidr",
       with({{"externalPeers", {peer({{"exportPrefixes", {{{"maxLength", 24}}}}})}}}),
       "spec.externalPeers[0].exportPrefixes[0].cidr: required"},
      {"export prefixes on an iBGP peer",
       with({{"externalPeers", {peer({{"asNumber", 64512}, {"exportPrefixes", Json::array()}})}}}),
       "spec.externalPeers[0].exportPrefixes: is for eBGP peers only"},
      {"reflectorClient a string", with({{"externalPeers", {peer({{"reflectorClient", "yes"}})}}}),
       "spec.externalPeers[0].reflectorClient: must be a boolean"},
      {"external peer hostname", with({{"externalPeers", {peer({{"address", "edge.example.com"}})}}}),
       "spec.externalPeers[0].address: \"edge.example.com\" is not an IP address"},
      {"external peer IPv6 without bgp.ipv6", with({{"externalPeers", {peer({{"address", "2001:db8::1"}})}}}),
       "spec.externalPeers[0].address: IPv6 address \"2001:db8::1\" needs spec.bgp.ipv6: true"},
      {"external peer without a name", with({{"externalPeers", {{{"address", "192.0.2.1"}, {"asNumber", 65000}}}}}),
       "spec.externalPeers[0].name: required"},
      {"external peer without an AS", with({{"externalPeers", {{{"name", "e"}, {"address", "192.0.2.1"}}}}}),
       "spec.externalPeers[0].asNumber: required"},
      {"external peer names twice", with({{"externalPeers", {peer({}), peer({{"address", "192.0.2.2"}})}}}),
       "spec.externalPeers[1].name: \"edge-1\" is also the name of spec.externalPeers[0]"},
      {"external peer name", with({{"externalPeers", {peer({{"name", "Edge_1"}})}}}),
       "spec.externalPeers[0].name: \"Edge_1\" is not a DNS label"},
      {"external peer AS", with({{"externalPeers", {peer({{"asNumber", 0}})}}}), "spec.externalPeers[0].asNumber: 0 is out of range"},
      {"external peer port", with({{"externalPeers", {peer({{"port", 0}})}}}), "spec.externalPeers[0].port: 0 is out of range 1..65535"},
      {"external peer rack empty", with({{"externalPeers", {peer({{"racks", {""}}})}}}),
       "spec.externalPeers[0].racks[0]: \"\" is not a valid rack"},
      {"external peer rack twice", with({{"externalPeers", {peer({{"racks", {"r1", "r1"}}})}}}),
       "spec.externalPeers[0].racks[1]: \"r1\" is listed twice"},
      {"external peer rack a number", with({{"externalPeers", {peer({{"racks", {1}}})}}}),
       "spec.externalPeers[0].racks[0]: must be a string, not number"},
      {"external peer multihop", with({{"externalPeers", {peer({{"multihop", "yes"}})}}}),
       "spec.externalPeers[0].multihop: must be a boolean, not string"},
      {"external peer secret without key", with({{"externalPeers", {peer({{"passwordSecretRef", {{"name", "s"}}}})}}}),
       "spec.externalPeers[0].passwordSecretRef.key: required"},
      {"external peer secret name", with({{"externalPeers", {peer({{"passwordSecretRef", {{"name", "S"}, {"key", "k"}}}})}}}),
       "spec.externalPeers[0].passwordSecretRef.name: \"S\" is not a valid Secret name"},
      {"bgp a list", with({{"bgp", {1}}}), "spec.bgp: must be an object, not array"},
      {"hold 2", with({{"bgp", {{"holdTimeSeconds", 2}}}}), "spec.bgp.holdTimeSeconds: 2 is out of range 3..65535"},
      {"hold 0 (no keepalives)", with({{"bgp", {{"holdTimeSeconds", 0}}}}), "spec.bgp.holdTimeSeconds: 0 is out of range"},
      {"keepalive 0", with({{"bgp", {{"keepaliveSeconds", 0}}}}), "spec.bgp.keepaliveSeconds: 0 is out of range 1..21845"},
      {"keepalive equal to hold", with({{"bgp", {{"holdTimeSeconds", 30}, {"keepaliveSeconds", 30}}}}),
       "spec.bgp.keepaliveSeconds: 30 must be less than spec.bgp.holdTimeSeconds (30)"},
      {"default keepalive above a short hold", with({{"bgp", {{"holdTimeSeconds", 9}}}}),
       "spec.bgp.keepaliveSeconds: 30 must be less than spec.bgp.holdTimeSeconds (9)"},
      {"graceful restart", with({{"bgp", {{"gracefulRestart", 1}}}}), "spec.bgp.gracefulRestart: must be a boolean, not number"},
      {"bgp secret key", with({{"bgp", {{"passwordSecretRef", {{"name", "s"}, {"key", "a/b"}}}}}}),
       "spec.bgp.passwordSecretRef.key: \"a/b\" is not a valid Secret key"},
      {"bgp secret a string", with({{"bgp", {{"passwordSecretRef", "s"}}}}),
       "spec.bgp.passwordSecretRef: must be an object, not string"},
      {"lease 4", with({{"lease", {{"durationSeconds", 4}}}}), "spec.lease.durationSeconds: 4 is out of range 5..300"},
      {"lease 301", with({{"lease", {{"durationSeconds", 301}}}}), "spec.lease.durationSeconds: 301 is out of range 5..300"},
      {"mesh", with({{"manageNodeToNodeMesh", "yes"}}), "spec.manageNodeToNodeMesh: must be a boolean, not string"},
      {"calico API", with({{"calicoAPI", "projectcalico.org/v2"}}), "spec.calicoAPI: \"projectcalico.org/v2\" is not one of"},
      // Reserved AS numbers: AS_TRANS stands in for a 4-byte AS on 2-byte sessions (RFC 6793);
      // 65535 and 4294967295 are the last of their ranges (RFC 7300).
      {"AS_TRANS", with({{"asNumber", 23456}}), "spec.asNumber: 23456 is AS_TRANS (RFC 6793)"},
      {"last 2-byte AS", with({{"asNumber", 65535}}), "spec.asNumber: 65535 is reserved (RFC 7300)"},
      {"last 4-byte AS", with({{"asNumber", 4294967295}}), "spec.asNumber: 4294967295 is reserved (RFC 7300)"},
      {"external peer AS_TRANS", with({{"externalPeers", {peer({{"asNumber", 23456}})}}}),
       "spec.externalPeers[0].asNumber: 23456 is AS_TRANS (RFC 6793)"},
      {"external peer last AS", with({{"externalPeers", {peer({{"asNumber", 4294967295}})}}}),
       "spec.externalPeers[0].asNumber: 4294967295 is reserved (RFC 7300)"},
      // Addresses no BGP speaker can be a neighbour at.
      {"external peer unspecified", with({{"externalPeers", {peer({{"address", "0.0.0.0"}})}}}),
       "spec.externalPeers[0].address: \"0.0.0.0\" is the unspecified address"},
      {"external peer IPv6 unspecified", with({{"bgp", {{"ipv6", true}}}, {"externalPeers", {peer({{"address", "::"}})}}}),
       "spec.externalPeers[0].address: \"::\" is the unspecified address"},
      {"external peer broadcast", with({{"externalPeers", {peer({{"address", "255.255.255.255"}})}}}),
       "spec.externalPeers[0].address: \"255.255.255.255\" is the broadcast address"},
      {"external peer multicast", with({{"externalPeers", {peer({{"address", "224.0.0.5"}})}}}),
       "spec.externalPeers[0].address: \"224.0.0.5\" is a multicast address"},
      {"external peer IPv6 multicast", with({{"bgp", {{"ipv6", true}}}, {"externalPeers", {peer({{"address", "ff02::1"}})}}}),
       "spec.externalPeers[0].address: \"ff02::1\" is a multicast address"},
      {"external peer IPv6 link-local", with({{"bgp", {{"ipv6", true}}}, {"externalPeers", {peer({{"address", "fe80::1"}})}}}),
       "spec.externalPeers[0].address: \"fe80::1\" is link-local"},
      {"external peer IPv4-mapped", with({{"bgp", {{"ipv6", true}}}, {"externalPeers", {peer({{"address", "::ffff:192.0.2.1"}})}}}),
       "spec.externalPeers[0].address: \"::ffff:192.0.2.1\" is an IPv4-mapped IPv6 address; write 192.0.2.1"},
      {"external peer address twice", with({{"externalPeers", {peer({}), peer({{"name", "edge-2"}})}}}),
       "spec.externalPeers[1].address: \"192.0.2.1\" is also the address of spec.externalPeers[0]"},
      {"external peer IPv6 address twice in two spellings",
       with({{"bgp", {{"ipv6", true}}},
             {"externalPeers", {peer({{"address", "2001:db8::1"}}), peer({{"name", "edge-2"}, {"address", "2001:db8:0:0::1"}})}}}),
       "spec.externalPeers[1].address: \"2001:db8:0:0::1\" is also the address of spec.externalPeers[0]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto spec = parse_fabric(c.object);
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.error().kind, kube::ErrorKind::Invalid);
    EXPECT_NE(spec.error().message.find(c.message), std::string::npos) << spec.error().message;
  }
}

TEST(ContractFabricSpecTest, ReportsEveryProblemAtOnce) {
  auto spec = parse_fabric(fabric({{"asNumber", 0}, {"reflectors", {{"port", 0}}}, {"lease", {{"durationSeconds", 1}}}}));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().message,
            "spec.asNumber: 0 is out of range 1..4294967295; spec.reflectors.port: 0 is out of range 1..65535; "
            "spec.lease.durationSeconds: 1 is out of range 5..300");
}

// Walks every value of a document, giving its field path as error messages spell it.
void for_each_value(const Json& value, const std::string& path,
                    const std::function<void(const std::string& path, const std::vector<std::string>& pointer)>& visit,
                    std::vector<std::string>& pointer) {
  visit(path, pointer);
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      bool map = path == "spec.nodeSelector" || path == "spec.reflectors.nodeSelector" ||
                 path.ends_with(".requests") || path.ends_with(".limits");
      pointer.push_back(key);
      for_each_value(child, map ? path + "[\"" + key + "\"]" : path + "." + key, visit, pointer);
      pointer.pop_back();
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      pointer.push_back(std::to_string(i));
      for_each_value(value[i], path + "[" + std::to_string(i) + "]", visit, pointer);
      pointer.pop_back();
    }
  }
}

TEST(ContractFabricSpecTest, WrongJsonTypesNeverThrowAndNameTheField) {
  const Json original = fabric(full_spec());
  ASSERT_TRUE(parse_fabric(original).ok());
  const std::vector<Json> replacements = {nullptr, true, 0, -1, 1.5, 1e300, "text", Json::array(), Json::object(),
                                          Json::array({1, "x"}), Json{{"a", {{"b", nullptr}}}}};
  std::vector<std::string> pointer;
  int checked = 0;
  for_each_value(original["spec"], "spec", [&](const std::string& path, const std::vector<std::string>& at) {
    Json::json_pointer where;
    where /= "spec";
    for (const auto& step : at) where /= step;
    for (const auto& replacement : replacements) {
      SCOPED_TRACE(path + " = " + replacement.dump());
      Json changed = original;
      changed[where] = replacement;
      EXPECT_NO_THROW((void)parse_fabric(changed));
    }
    // A value of a type the field can never have is reported under the field's path.
    const Json& current = original[where];
    Json wrong = current.is_boolean() ? Json("text") : Json(true);
    Json changed = original;
    changed[where] = wrong;
    auto spec = parse_fabric(changed);
    SCOPED_TRACE(path);
    ASSERT_FALSE(spec.ok());
    EXPECT_NE(spec.error().message.find(path + ": "), std::string::npos) << spec.error().message;
    ++checked;
  }, pointer);
  EXPECT_GT(checked, 50);
  for (const Json& root : {Json(), Json(1), Json("x"), Json::array(), Json{{"metadata", {1, 2}}},
                           Json{{"metadata", {{"name", 5}, {"generation", "x"}, {"deletionTimestamp", 1}}}}}) {
    EXPECT_NO_THROW((void)parse_fabric(root)) << root.dump();
  }
}

}  // namespace
}  // namespace rr::contract
