// The Role and RoleBinding that let a fabric's agents get exactly the password Secrets its spec
// names (issue 12, item 2): kept by the reconciler on the stateful fake API, with real informers.
#include <gtest/gtest.h>

#include <map>

#include "unit/operator/controller/reconciler_harness.h"

namespace rr::controller {
namespace {

using namespace rr::controller::testing;
using kube::Json;
using kube::testing::FakeKubeClient;

const std::string kRole = "rr-agent-secrets-f";

Json Secret(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"data", {{"password", "c2VjcmV0"}}}};  // "secret"
}

Json PasswordRef(const std::string& name) { return {{"name", name}, {"key", "password"}}; }

Json ExternalPeer(const std::string& name, const std::string& address, const std::optional<std::string>& secret) {
  Json peer = {{"name", name}, {"address", address}, {"asNumber", 65000}};
  if (secret) peer["passwordSecretRef"] = PasswordRef(*secret);
  return peer;
}

void SetSpec(FakeKubeClient& api, const Json& spec) {
  auto fabric = api.peek(contract::route_reflector_clusters(), "", "f");
  ASSERT_TRUE(fabric);
  Json updated = *fabric;
  updated["spec"] = spec;
  ASSERT_TRUE(api.update(contract::route_reflector_clusters(), updated).ok());
}

std::optional<Json> Role(Harness& h) { return h.api.peek(contract::roles(), kNs, kRole); }
std::optional<Json> Binding(Harness& h) { return h.api.peek(contract::role_bindings(), kNs, kRole); }

Json ResourceNames(Harness& h) {
  auto role = Role(h);
  if (!role) return nullptr;
  return (*role)["rules"][0].value("resourceNames", Json());
}

void ExpectTheFabrics(const Json& object) {
  const Json& meta = object["metadata"];
  EXPECT_EQ(meta["labels"].value(std::string(contract::kManagedByLabel), ""), contract::kManagedByValue) << object.dump();
  EXPECT_EQ(meta["labels"].value(std::string(contract::kClusterLabel), ""), "f") << object.dump();
  // The fabric's by its labels, not by an ownerReference the garbage collector could act on.
  EXPECT_FALSE(meta.contains("ownerReferences")) << object.dump();
}

struct SecretAccessTest : ::testing::Test {
  void SetUp() override {
    h.api.seed(kube::resources::nodes(), Node("n1", "r1", "10.0.0.1"));
    h.api.seed(kube::resources::nodes(), Node("n2", "r1", "10.0.0.2"));
    h.api.seed(kube::resources::secrets(), Secret("bgp-auth"));
    h.api.seed(kube::resources::secrets(), Secret("edge-auth"));
    h.api.seed(kube::resources::secrets(), Secret("unrelated"));
  }
  Harness h;
};

TEST_F(SecretAccessTest, TheAgentsMayGetExactlyTheNamedSecretsFollowingTheSpec) {
  auto fabric = h.api.seed(contract::route_reflector_clusters(),
                           Fabric("f", Json{{"namespace", kNs}, {"bgp", {{"passwordSecretRef", PasswordRef("bgp-auth")}}}}));
  h.start();
  ASSERT_TRUE(h.reconcile_until("f", [&] { return Binding(h).has_value() && Role(h).has_value(); }))
      << "no Role/RoleBinding " << kRole << " in " << kNs;
  EXPECT_EQ(ResourceNames(h), Json::array({"bgp-auth"}));
  ExpectTheFabrics(*Role(h));
  ExpectTheFabrics(*Binding(h));
  const Json binding = *Binding(h);
  EXPECT_EQ(binding["roleRef"], (Json{{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", kRole}}));
  EXPECT_EQ(binding["subjects"], Json::array({{{"kind", "ServiceAccount"}, {"name", "rr-agent"}, {"namespace", kNs}}}));

  // Steady state: no write to either.
  h.api.reset_counters();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.reconciler->reconcile("f").ok());
  for (const auto& w : h.api.write_log()) {
    EXPECT_EQ(w.find("roles"), std::string::npos) << w;
    EXPECT_EQ(w.find("rolebindings"), std::string::npos) << w;
  }

  // An external peer names a second Secret: the Role follows.
  SetSpec(h.api, Json{{"namespace", kNs},
                      {"bgp", {{"passwordSecretRef", PasswordRef("bgp-auth")}}},
                      {"externalPeers", {ExternalPeer("edge-1", "192.0.2.1", "edge-auth")}}});
  ASSERT_TRUE(h.reconcile_until("f", [&] { return ResourceNames(h) == Json::array({"bgp-auth", "edge-auth"}); }))
      << ResourceNames(h).dump();

  // The fabric-wide password goes: so does the agents' access to its Secret.
  SetSpec(h.api, Json{{"namespace", kNs}, {"externalPeers", {ExternalPeer("edge-1", "192.0.2.1", "edge-auth")}}});
  ASSERT_TRUE(h.reconcile_until("f", [&] { return ResourceNames(h) == Json::array({"edge-auth"}); }))
      << ResourceNames(h).dump();

  // No Secret named at all: no Role (an empty resourceNames would grant every Secret) and no binding.
  SetSpec(h.api, Json{{"namespace", kNs}, {"externalPeers", {ExternalPeer("edge-1", "192.0.2.1", std::nullopt)}}});
  ASSERT_TRUE(h.reconcile_until("f", [&] { return !Role(h) && !Binding(h); }))
      << (Role(h) ? Role(h)->dump() : std::string("binding left"));
}

TEST_F(SecretAccessTest, ARoleEditedByHandIsPutBack) {
  h.api.seed(contract::route_reflector_clusters(),
             Fabric("f", Json{{"namespace", kNs}, {"bgp", {{"passwordSecretRef", PasswordRef("bgp-auth")}}}}));
  h.start();
  ASSERT_TRUE(h.reconcile_until("f", [&] { return Binding(h).has_value() && Role(h).has_value(); }));
  Json widened = *Role(h);
  widened["rules"][0].erase("resourceNames");  // every Secret of the namespace
  ASSERT_TRUE(h.api.update(contract::roles(), widened).ok());
  EXPECT_TRUE(h.reconcile_until("f", [&] { return ResourceNames(h) == Json::array({"bgp-auth"}); }))
      << Role(h)->dump();
}

// An older rr-operator's Role and RoleBinding carry the fabric's ownerReference: it is taken off
// (the garbage collector must not delete the agents' access after an API server restart).
TEST_F(SecretAccessTest, AnOwnerReferenceToTheFabricIsTakenOff) {
  h.api.seed(contract::route_reflector_clusters(),
             Fabric("f", Json{{"namespace", kNs}, {"bgp", {{"passwordSecretRef", PasswordRef("bgp-auth")}}}}));
  h.start();
  ASSERT_TRUE(h.reconcile_until("f", [&] { return Binding(h).has_value() && Role(h).has_value(); }));
  const Json owner = Json::array({{{"apiVersion", contract::kApiVersion},
                                   {"kind", contract::kKind},
                                   {"name", "f"},
                                   {"uid", "uid-of-f"},
                                   {"controller", true},
                                   {"blockOwnerDeletion", true}}});
  for (const auto& type : {contract::roles(), contract::role_bindings()}) {
    Json owned = type.kind == "Role" ? *Role(h) : *Binding(h);
    owned["metadata"]["ownerReferences"] = owner;
    ASSERT_TRUE(h.api.update(type, owned).ok());
  }
  EXPECT_TRUE(h.reconcile_until("f", [&] {
    return !Role(h)->at("metadata").contains("ownerReferences") && !Binding(h)->at("metadata").contains("ownerReferences");
  })) << Role(h)->dump() << Binding(h)->dump();
}

TEST_F(SecretAccessTest, TheRoleGoesWithTheFabric) {
  h.api.seed(contract::route_reflector_clusters(),
             Fabric("f", Json{{"namespace", kNs}, {"bgp", {{"passwordSecretRef", PasswordRef("bgp-auth")}}}}));
  h.start();
  ASSERT_TRUE(h.reconcile_until("f", [&] { return Binding(h).has_value() && Role(h).has_value(); }));
  ASSERT_TRUE(h.api.remove(contract::route_reflector_clusters(), "", "f", {}).ok());
  EXPECT_TRUE(h.reconcile_until("f", [&] { return !h.api.peek(contract::route_reflector_clusters(), "", "f"); }));
  EXPECT_FALSE(Role(h)) << "the finalizer deletes it, not only the garbage collector";
  EXPECT_FALSE(Binding(h));
}

TEST_F(SecretAccessTest, AForbiddenRoleWriteIsReportedOnTheFabric) {
  kube::Error forbidden = kube::make_error(kube::ErrorKind::Forbidden,
                                           "roles.rbac.authorization.k8s.io is forbidden: User "
                                           "\"system:serviceaccount:rr-system:rr-operator\" cannot create resource");
  forbidden.http_status = 403;
  h.api.inject_error("create", contract::roles(), forbidden, 1);  // the first reconcile's create
  h.api.seed(contract::route_reflector_clusters(),
             Fabric("f", Json{{"namespace", kNs}, {"bgp", {{"passwordSecretRef", PasswordRef("bgp-auth")}}}}));
  h.start();
  auto outcome = h.reconciler->reconcile("f");
  ASSERT_TRUE(outcome.ok()) << "a status to report, not only an error to retry: " << outcome.error().describe();
  EXPECT_TRUE(outcome->requeue_after.has_value()) << "RBAC being granted sends no event: it must look again";
  auto fabric = h.api.peek(contract::route_reflector_clusters(), "", "f");
  ASSERT_TRUE(fabric);
  std::map<std::string, Json> conditions;
  for (const auto& c : (*fabric)["status"]["conditions"]) conditions[c["type"]] = c;
  EXPECT_EQ(conditions["Ready"].value("status", ""), "False") << fabric->dump(2);
  EXPECT_EQ(conditions["Ready"].value("reason", ""), "AgentSecretsNotGranted") << fabric->dump(2);
  EXPECT_EQ(conditions["Degraded"].value("status", ""), "True");
  EXPECT_EQ(conditions["Degraded"].value("reason", ""), "AgentSecretsNotGranted");
  const std::string message = conditions["Degraded"].value("message", "");
  EXPECT_NE(message.find("Role " + kNs + "/" + kRole), std::string::npos) << message;
  EXPECT_NE(message.find("forbidden"), std::string::npos) << message;
  EXPECT_FALSE(Binding(h)) << "no binding to a Role that does not exist";
  // Reflectors are still placed: the fabric is degraded, not held.
  EXPECT_FALSE(h.api.list(kube::resources::pods(), kNs, {})->items.empty());

  // Granted (the injected error is spent): the next reconcile writes the Role and the condition clears.
  EXPECT_TRUE(h.reconcile_until("f", [&] {
    auto f = h.api.peek(contract::route_reflector_clusters(), "", "f");
    for (const auto& c : (*f)["status"]["conditions"]) {
      if (c["type"] == "Degraded") return c["reason"] != "AgentSecretsNotGranted" && Role(h).has_value();
    }
    return false;
  }));
}

}  // namespace
}  // namespace rr::controller
