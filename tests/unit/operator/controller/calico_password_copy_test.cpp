// The copy of a fabric's BGP password that calico-node reads in its own namespace
// (--calico-password-namespace, issue 12 item 2): a Secret holding exactly the keys the
// BGPPeers name, a Role granting get on it alone, and its binding to calico-node's
// ServiceAccount, kept by the controller on the stateful fake API; off by default.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/render.h"
#include "one_reflector_fixture.h"
#include "request_log.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using namespace rr::controller::testing;
using kube::Json;

const std::string kCalicoNs = "calico-system";
const std::string kCopy = std::string("rr-bgp-passwords-") + kFabric;
const std::string kCopyRole = std::string("rr-calico-node-passwords-") + kFabric;
const kube::ResourceType kRoles{"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
const kube::ResourceType kBindings{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true};

Json PasswordSecret(const std::string& base64) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", "bgp-auth"}, {"namespace", kNs}}},
          {"data", {{"password", base64}, {"unrelated", "bm90IGZvciBjYWxpY28="}}}};
}

class CalicoPasswordCopyTest : public OneReflectorControllerTest {
 protected:
  void configure(ControllerOptions& options, Json& spec) override {
    api_.seed(kube::resources::secrets(), PasswordSecret("c2VjcmV0"));  // "secret"
    spec["bgp"] = {{"passwordSecretRef", {{"name", "bgp-auth"}, {"key", "password"}}}};
    if (copies_on()) {
      options.reconciler.calico_passwords.ns = kCalicoNs;
      options.reconciler.calico_passwords.service_account = "calico-node";
    }
  }
  virtual bool copies_on() const { return true; }
  kube::KubeClient& client() override { return requests_; }

  // Reads of the copy: each reconcile of the fabric makes one (no informer watches there).
  int copy_reads() { return requests_.count("get /api/v1/namespaces/" + kCalicoNs + "/secrets/" + kCopy); }

  std::optional<Json> copy() { return api_.peek(kube::resources::secrets(), kCalicoNs, kCopy); }
  std::optional<Json> role() { return api_.peek(kRoles, kCalicoNs, kCopyRole); }
  std::optional<Json> binding() { return api_.peek(kBindings, kCalicoNs, kCopyRole); }
  std::optional<Json> peer() {
    auto peers = api_.list(contract::calico_crd_bgp_peers(), "", {});
    if (!peers.ok() || peers->items.size() != 1u) return std::nullopt;
    return peers->items.front();
  }

  // A reflector that runs and renews its Lease: its BGPPeer exists.
  void RunTheReflector() {
    ASSERT_TRUE(eventually([&] { return !pod_uid().empty(); })) << "the operator never created " << pod_;
    ASSERT_TRUE(run_pod(pod_uid()));
    ASSERT_TRUE(renew(pod_uid()));
    ASSERT_TRUE(eventually([&] { return peer().has_value(); })) << "no BGPPeer for the live reflector";
  }

  // Writes of the operator in calico-node's namespace.
  std::vector<std::string> writes_there() {
    std::vector<std::string> out;
    for (const auto& w : api_.write_log()) {
      if (w.find(" " + kCalicoNs + "/") != std::string::npos) out.push_back(w);
    }
    return out;
  }

  void SetBgp(const Json& bgp) {
    ASSERT_TRUE(api_.patch(contract::route_reflector_clusters(), "", kFabric, kube::PatchType::Merge,
                           Json{{"spec", {{"bgp", bgp}}}}, {})
                    .ok());
  }

  RequestLog requests_{api_, [](const kube::ResourceType& t) { return t.plural == "secrets"; }};

  void ExpectTheFabrics(const Json& object) {
    const Json& meta = object["metadata"];
    EXPECT_EQ(meta["labels"].value(std::string(contract::kManagedByLabel), ""), contract::kManagedByValue) << object.dump();
    EXPECT_EQ(meta["labels"].value(std::string(contract::kClusterLabel), ""), kFabric) << object.dump();
    // Not by an ownerReference: the garbage collector could delete calico-node's copy after an
    // API server restart, and calico-node would lose the session's password.
    EXPECT_FALSE(meta.contains("ownerReferences")) << object.dump();
  }
};

TEST_F(CalicoPasswordCopyTest, TheCopyFollowsTheSourceAndTheBgpPeerNamesIt) {
  RunTheReflector();
  ASSERT_TRUE(eventually([&] { return copy() && role() && binding(); }))
      << "no Secret/Role/RoleBinding in " << kCalicoNs << ": " << ::testing::PrintToString(api_.write_log());
  EXPECT_EQ((*copy())["data"], (Json{{"bgp-auth.password", "c2VjcmV0"}})) << "exactly the key a BGPPeer names";
  EXPECT_EQ((*copy()).value("type", ""), "Opaque");
  EXPECT_EQ((*role())["rules"], Json::parse(R"([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                                                "resourceNames": [")" + kCopy + R"("]}])"));
  EXPECT_EQ((*binding())["subjects"],
            Json::parse(R"([{"kind": "ServiceAccount", "name": "calico-node", "namespace": ")" + kCalicoNs + R"("}])"));
  for (const auto& object : {*copy(), *role(), *binding()}) ExpectTheFabrics(object);
  ASSERT_TRUE(eventually([&] {
    auto p = peer();
    return p && (*p)["spec"].value("password", Json()) ==
                    Json{{"secretKeyRef", {{"name", kCopy}, {"key", "bgp-auth.password"}}}};
  })) << "the BGPPeer names the copy: " << (peer() ? peer()->dump() : "none");

  // Steady state: reconciles (each renewal wakes one) read the copy but write nothing there.
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; }));
  api_.reset_counters();
  const int reads = copy_reads();
  ASSERT_TRUE(eventually([&] {
    clock_.advance(1s);
    (void)renew(pod_uid());
    return copy_reads() >= reads + 3;
  })) << "no reconcile after the renewals";
  EXPECT_TRUE(writes_there().empty()) << ::testing::PrintToString(writes_there());

  // The password rotates in the source: the next reconcile (the next renewal) carries it over.
  auto source = api_.peek(kube::resources::secrets(), kNs, "bgp-auth");
  ASSERT_TRUE(source);
  (*source)["data"]["password"] = "cm90YXRlZA==";  // "rotated"
  ASSERT_TRUE(api_.update(kube::resources::secrets(), *source).ok());
  ASSERT_TRUE(eventually([&] {
    clock_.advance(1s);
    (void)renew(pod_uid());
    return copy() && (*copy())["data"] == Json{{"bgp-auth.password", "cm90YXRlZA=="}};
  })) << (copy() ? copy()->dump() : "no copy");

  // The spec stops naming a password: the copy, its Role and binding go; the BGPPeer names none.
  SetBgp(nullptr);
  ASSERT_TRUE(eventually([&] { return !copy() && !role() && !binding(); }))
      << ::testing::PrintToString(writes_there());
  EXPECT_TRUE(eventually([&] { return peer() && !(*peer())["spec"].contains("password"); }))
      << (peer() ? peer()->dump() : "none");
}

TEST_F(CalicoPasswordCopyTest, TheFinalizerDeletesTheCopy) {
  RunTheReflector();
  ASSERT_TRUE(eventually([&] { return copy() && role() && binding(); }));
  ASSERT_TRUE(delete_fabric()) << "the fabric was never finalized";
  EXPECT_FALSE(copy()) << "the finalizer deletes it, not only the garbage collector";
  EXPECT_FALSE(role());
  EXPECT_FALSE(binding());
}

class CalicoPasswordCopyForbiddenTest : public CalicoPasswordCopyTest {
 protected:
  void configure(ControllerOptions& options, Json& spec) override {
    CalicoPasswordCopyTest::configure(options, spec);
    kube::Error forbidden = kube::make_error(kube::ErrorKind::Forbidden,
                                             "secrets is forbidden: User \"system:serviceaccount:rr-system:rr-operator\" "
                                             "cannot create resource \"secrets\" in the namespace \"calico-system\"");
    forbidden.http_status = 403;
    api_.inject_error("create", kube::resources::secrets(), forbidden, 1000);
  }
};

TEST_F(CalicoPasswordCopyForbiddenTest, ARefusedWriteIsReportedOnTheFabricNamingTheObject) {
  std::string message;
  ASSERT_TRUE(eventually([&] {
    auto fabric = api_.peek(contract::route_reflector_clusters(), "", kFabric);
    if (!fabric) return false;
    for (const auto& c : fabric->value("status", Json::object()).value("conditions", Json::array())) {
      if (c.value("type", "") == "Degraded" && c.value("reason", "") == "CalicoPasswordsNotCopied") {
        message = c.value("message", "");
        return c.value("status", "") == "True";
      }
    }
    return false;
  })) << api_.peek(contract::route_reflector_clusters(), "", kFabric)->dump(2);
  EXPECT_NE(message.find("Secret " + kCalicoNs + "/" + kCopy), std::string::npos) << message;
  EXPECT_NE(message.find("forbidden"), std::string::npos) << message;
  EXPECT_EQ(message.find("c2VjcmV0"), std::string::npos) << "never the value: " << message;
  EXPECT_FALSE(role()) << "no Role for a Secret that could not be written";
  EXPECT_FALSE(binding());
  EXPECT_FALSE(pod_uid().empty()) << "the reflectors are still placed: degraded, not held";
}

class CalicoPasswordCopyOffTest : public CalicoPasswordCopyTest {
 protected:
  bool copies_on() const override { return false; }
};

TEST_F(CalicoPasswordCopyOffTest, OffByDefaultNothingIsWrittenThereAndTheBgpPeerNamesTheSource) {
  RunTheReflector();
  ASSERT_TRUE(eventually([&] {
    auto p = peer();
    return p && (*p)["spec"].value("password", Json()) ==
                    Json{{"secretKeyRef", {{"name", "bgp-auth"}, {"key", "password"}}}};
  })) << (peer() ? peer()->dump() : "none");
  EXPECT_TRUE(writes_there().empty()) << ::testing::PrintToString(writes_there());
  for (const auto& w : api_.write_log()) {
    EXPECT_EQ(w.find("rr-bgp-passwords-"), std::string::npos) << w;
    EXPECT_EQ(w.find("rr-calico-node-passwords-"), std::string::npos) << w;
  }
}

}  // namespace
}  // namespace rr::controller
