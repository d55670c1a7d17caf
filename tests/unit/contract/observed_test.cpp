#include "contract/observed.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace rr::contract {
namespace {

using kube::Json;

Json full_node() {
  return Json::parse(R"({
    "apiVersion": "v1", "kind": "Node",
    "metadata": {"name": "n1", "uid": "x", "resourceVersion": "7",
      "labels": {"topology.kubernetes.io/rack": "r1", "kubernetes.io/hostname": "n1"},
      "annotations": {"projectcalico.org/IPv4Address": "10.0.0.5/24", "projectcalico.org/IPv6Address": "fd00::5/64",
                      "node.alpha.kubernetes.io/ttl": "0"}},
    "spec": {"podCIDR": "10.244.1.0/24", "unschedulable": true,
      "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": "2024-01-01T00:00:00Z"},
                 {"key": "dedicated", "value": "network", "effect": "NoExecute"}]},
    "status": {
      "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
      "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "192.168.1.5"},
                    {"type": "InternalIP", "address": "fd00::5"}],
      "images": [{"names": ["big"], "sizeBytes": 1}]}})");
}

TEST(ContractObservedTest, NodeKeepsWhatThePlannerNeeds) {
  auto node = node_info_from(full_node());
  ASSERT_TRUE(node.has_value());
  NodeInfo want;
  want.name = "n1";
  want.labels = {{"topology.kubernetes.io/rack", "r1"}, {"kubernetes.io/hostname", "n1"}};
  want.ready = true;
  want.unschedulable = true;
  want.taints = {{"node.kubernetes.io/unschedulable", "", "NoSchedule"}, {"dedicated", "network", "NoExecute"}};
  want.internal_ip = "192.168.1.5";
  want.internal_ipv6 = "fd00::5";  // the kubelet reports both of a dual-stack node
  want.bgp_ipv4 = "10.0.0.5";
  want.bgp_ipv6 = "fd00::5";
  EXPECT_EQ(*node, want);
}

TEST(ContractObservedTest, NodeCases) {
  struct Case {
    std::string name;
    Json node;
    NodeInfo want;
  };
  auto named = [](const std::function<void(NodeInfo&)>& change = {}) {
    NodeInfo n;
    n.name = "n";
    if (change) change(n);
    return n;
  };
  const std::vector<Case> cases = {
      {"only a name", Json::parse(R"({"metadata": {"name": "n"}})"), named()},
      {"not ready", Json::parse(R"({"metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}})"),
       named()},
      {"ready unknown", Json::parse(R"({"metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}})"),
       named()},
      {"annotations without prefix length",
       Json::parse(R"({"metadata": {"name": "n", "annotations": {"projectcalico.org/IPv4Address": "10.0.0.6"}}})"),
       named([](auto& n) { n.bgp_ipv4 = "10.0.0.6"; })},
      {"only an IPv6 InternalIP",
       Json::parse(R"({"metadata": {"name": "n"}, "status": {"addresses": [{"type": "InternalIP", "address": "fd00::7"}]}})"),
       named([](auto& n) {
         n.internal_ip = "fd00::7";
         n.internal_ipv6 = "fd00::7";
       })},
      {"dual stack, IPv6 listed first: internal_ip is the first, internal_ipv6 the IPv6 one",
       Json::parse(R"({"metadata": {"name": "n"}, "status": {"addresses": [
         {"type": "ExternalIP", "address": "2001:db8::1"}, {"type": "InternalIP", "address": "fd00::8"},
         {"type": "InternalIP", "address": "10.0.0.8"}, {"type": "InternalIP", "address": "fd00::9"}]}})"),
       named([](auto& n) {
         n.internal_ip = "fd00::8";
         n.internal_ipv6 = "fd00::8";
       })},
      {"an InternalIP that is not an address is no IPv6 address",
       Json::parse(R"({"metadata": {"name": "n"}, "status": {"addresses": [{"type": "InternalIP", "address": "fd00::zz"}]}})"),
       named([](auto& n) { n.internal_ip = "fd00::zz"; })},
      {"wrong types read as absent",
       Json::parse(R"({"metadata": {"name": "n", "labels": {"a": 1, "b": "x"}, "annotations": ["x"]},
                       "spec": {"unschedulable": "yes", "taints": {"key": "k"}},
                       "status": {"conditions": "Ready", "addresses": [1, {"type": "InternalIP", "address": 5}]}})"),
       named([](auto& n) { n.labels = {{"b", "x"}}; })},
      {"taint without a key is dropped", Json::parse(R"({"metadata": {"name": "n"}, "spec": {"taints": [{"effect": "NoSchedule"}, "x"]}})"),
       named()},
      {"spec and status of the wrong type", Json::parse(R"({"metadata": {"name": "n"}, "spec": 1, "status": []})"), named()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto node = node_info_from(c.node);
    ASSERT_TRUE(node.has_value());
    EXPECT_EQ(*node, c.want);
  }
  for (const Json& nameless : {Json(), Json::array(), Json("n"), Json::parse(R"({"metadata": {"labels": {}}})"),
                               Json::parse(R"({"metadata": {"name": 3}})")}) {
    EXPECT_FALSE(node_info_from(nameless).has_value()) << nameless.dump();
  }
}

TEST(ContractObservedTest, LeaseCarriesTheAgentsAnnotations) {
  struct Case {
    std::string name;
    Json annotations;
    ReflectorLease want;
  };
  const std::vector<Case> cases = {
      {"everything",
       {{"rr.bgp.dev/rack", "r1"}, {"rr.bgp.dev/cluster-id", "10.255.0.1"}, {"rr.bgp.dev/address", "192.168.1.5"},
        {"rr.bgp.dev/port", "1179"}, {"rr.bgp.dev/sessions-established", "41"}, {"rr.bgp.dev/sessions-total", "42"},
        {"rr.bgp.dev/config-error", "syntax error, line 3"}},
       {"fabric-r1-0", "r1", "10.255.0.1", "192.168.1.5", 1179, 41, 42, "syntax error, line 3", false, false, ""}},
      {"a dual-stack reflector's IPv6 address",
       {{"rr.bgp.dev/address", "192.168.1.5"}, {"rr.bgp.dev/address-v6", "fd00::5"}},
       {"fabric-r1-0", "", "", "192.168.1.5", 179, 0, 0, "", false, false, "fd00::5"}},
      {"nothing yet", Json::object(), {"fabric-r1-0", "", "", "", 179, 0, 0, "", false, false, ""}},
      {"garbage numbers keep their defaults",
       {{"rr.bgp.dev/port", "http"}, {"rr.bgp.dev/sessions-established", "-3"}, {"rr.bgp.dev/sessions-total", "4x"}},
       {"fabric-r1-0", "", "", "", 179, 0, 0, "", false, false, ""}},
      {"port out of range", {{"rr.bgp.dev/port", "70000"}}, {"fabric-r1-0", "", "", "", 179, 0, 0, "", false, false, ""}},
      {"annotation of the wrong type", {{"rr.bgp.dev/rack", 1}}, {"fabric-r1-0", "", "", "", 179, 0, 0, "", false, false, ""}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json lease = {{"metadata", {{"name", "fabric-r1-0"}, {"annotations", c.annotations}}},
                  {"spec", {{"holderIdentity", "fabric-r1-0"}, {"leaseDurationSeconds", 15}}}};
    auto got = reflector_lease_from(lease);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, c.want);
  }
  EXPECT_FALSE(reflector_lease_from(Json::object()).has_value());
}

}  // namespace
}  // namespace rr::contract
