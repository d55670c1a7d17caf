#include "agent/identity.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rr::agent {
namespace {

using Env = std::map<std::string, std::string>;

Env good_env() {
  return {{"RR_POD_NAME", "rr-fab-r1-0"},  {"RR_NAMESPACE", "rr-system"}, {"RR_NODE_NAME", "node-1"},
          {"RR_HOST_IP", "10.0.0.11"},     {"RR_FABRIC", "fab"},          {"RR_RACK", "r1"},
          {"RR_CLUSTER_ID", "10.255.0.1"}, {"RR_BGP_PORT", "1179"},       {"RR_LEASE_DURATION_SECONDS", "30"}};
}

kube::Result<AgentIdentity> parse(const Env& env) {
  return identity_from_env([&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(IdentityFromEnv, ReadsEveryVariable) {
  auto id = parse(good_env());
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(id->pod, "rr-fab-r1-0");
  EXPECT_EQ(id->ns, "rr-system");
  EXPECT_EQ(id->node, "node-1");
  EXPECT_EQ(id->address, "10.0.0.11");
  EXPECT_EQ(id->fabric, "fab");
  EXPECT_EQ(id->rack, "r1");
  EXPECT_EQ(id->cluster_id, "10.255.0.1");
  EXPECT_EQ(id->port, 1179);
  EXPECT_EQ(id->lease_duration_seconds, 30);
  EXPECT_EQ(id->address_v6, "");
}

TEST(IdentityFromEnv, ThePodsUidHoldsTheLeaseAndItsNameWithoutOne) {
  Env env = good_env();
  env["RR_POD_UID"] = "5f0c1a2e-0000-4000-8000-000000000001";
  auto id = parse(env);
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(id->uid, "5f0c1a2e-0000-4000-8000-000000000001");
  EXPECT_EQ(id->lease_holder(), "5f0c1a2e-0000-4000-8000-000000000001");
  // A Pod rendered by an operator of the previous version has no RR_POD_UID.
  id = parse(good_env());
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(id->uid, "");
  EXPECT_EQ(id->lease_holder(), "rr-fab-r1-0");
}

TEST(IdentityFromEnv, OptionalVariablesDefault) {
  Env env = good_env();
  env.erase("RR_BGP_PORT");
  env["RR_LEASE_DURATION_SECONDS"] = "";  // set but empty reads as unset
  env["RR_HOST_IPV6"] = "fd00::11";
  auto id = parse(env);
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(id->port, 179);
  EXPECT_EQ(id->lease_duration_seconds, 15);
  EXPECT_EQ(id->address_v6, "fd00::11");
}

// The Pod is on the host network: the agent's endpoints listen on the host's address
// (the kubelet probes there), not on every interface; --metrics-address overrides.
TEST(MetricsListenAddress, TheHostsAddressUnlessConfigured) {
  auto id = parse(good_env());
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(metrics_listen_address("", *id), id->address + ":9179");
  EXPECT_EQ(metrics_listen_address("127.0.0.1:0", *id), "127.0.0.1:0");
}

TEST(IdentityFromEnv, NamesEachMissingOrBadVariable) {
  struct Case {
    std::string name;
    std::string variable;
    std::string value;  // "<unset>" removes it
    std::string message;
  };
  const std::vector<Case> cases = {
      {"pod missing", "RR_POD_NAME", "<unset>", "RR_POD_NAME is not set"},
      {"namespace missing", "RR_NAMESPACE", "<unset>", "RR_NAMESPACE is not set"},
      {"node empty", "RR_NODE_NAME", "", "RR_NODE_NAME is not set"},
      {"host ip missing", "RR_HOST_IP", "<unset>", "RR_HOST_IP is not set"},
      {"host ip v6", "RR_HOST_IP", "fd00::1", "RR_HOST_IP=\"fd00::1\" is not a nonzero IPv4 address"},
      {"host ip junk", "RR_HOST_IP", "10.0.0", "RR_HOST_IP=\"10.0.0\" is not a nonzero IPv4 address"},
      {"fabric missing", "RR_FABRIC", "<unset>", "RR_FABRIC is not set"},
      {"rack missing", "RR_RACK", "<unset>", "RR_RACK is not set"},
      {"cluster id missing", "RR_CLUSTER_ID", "<unset>", "RR_CLUSTER_ID is not set"},
      {"cluster id zero", "RR_CLUSTER_ID", "0.0.0.0", "RR_CLUSTER_ID=\"0.0.0.0\" is not a nonzero IPv4 address"},
      {"cluster id not ipv4", "RR_CLUSTER_ID", "rack-1", "RR_CLUSTER_ID=\"rack-1\" is not a nonzero IPv4"},
      {"port zero", "RR_BGP_PORT", "0", "RR_BGP_PORT=\"0\" is not an integer in 1..65535"},
      {"port too big", "RR_BGP_PORT", "65536", "RR_BGP_PORT=\"65536\""},
      {"port trailing junk", "RR_BGP_PORT", "179x", "RR_BGP_PORT=\"179x\""},
      {"duration negative", "RR_LEASE_DURATION_SECONDS", "-5", "RR_LEASE_DURATION_SECONDS=\"-5\""},
      {"duration word", "RR_LEASE_DURATION_SECONDS", "fifteen", "RR_LEASE_DURATION_SECONDS=\"fifteen\""},
      {"ipv6 not v6", "RR_HOST_IPV6", "10.0.0.1", "RR_HOST_IPV6=\"10.0.0.1\" is not an IPv6 address"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Env env = good_env();
    if (c.value == "<unset>") {
      env.erase(c.variable);
    } else {
      env[c.variable] = c.value;
    }
    auto id = parse(env);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.error().kind, kube::ErrorKind::BadConfig);
    EXPECT_NE(id.error().message.find(c.message), std::string::npos) << id.error().message;
  }
}

TEST(IdentityFromEnv, ReportsEveryProblemAtOnce) {
  auto id = parse({});
  ASSERT_FALSE(id.ok());
  for (const char* name : {"RR_POD_NAME", "RR_NAMESPACE", "RR_NODE_NAME", "RR_HOST_IP", "RR_FABRIC", "RR_RACK",
                           "RR_CLUSTER_ID"}) {
    EXPECT_NE(id.error().message.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace rr::agent
