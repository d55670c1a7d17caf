// rr-agent reads only the password Secrets its fabric names, by name (issue 12, item 2).
#include "agent/secret_reader.h"

#include <gtest/gtest.h>

#include "contract/fabric_spec.h"
#include "fakes/fake_kube_client.h"

namespace rr::agent {
namespace {

using kube::Json;
using kube::testing::FakeKubeClient;

const std::string kNs = "rr-system";

Json Secret(const std::string& name, const std::string& base64_password) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"data", {{"password", base64_password}}}};
}

contract::FabricSpec Spec(const Json& spec) {
  Json object = {{"metadata", {{"name", "f"}, {"uid", "uid-f"}, {"generation", 1}}}, {"spec", spec}};
  object["spec"]["namespace"] = kNs;
  auto parsed = contract::parse_fabric(object, "rr-agent:test");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : contract::FabricSpec{};
}

Json Ref(const std::string& name) { return {{"name", name}, {"key", "password"}}; }

kube::Error Forbidden(const std::string& name) {
  kube::Error e = kube::make_error(kube::ErrorKind::Forbidden,
                                   "secrets \"" + name + "\" is forbidden: User \"system:serviceaccount:rr-system:rr-agent\" "
                                   "cannot get resource \"secrets\" in the namespace \"rr-system\"");
  e.http_status = 403;
  return e;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

struct SecretReaderTest : ::testing::Test {
  void SetUp() override {
    api.seed(kube::resources::secrets(), Secret("bgp-auth", "czNjcmV0"));   // "s3cret"
    api.seed(kube::resources::secrets(), Secret("edge-auth", "ZWRnZTE="));  // "edge1"
    api.seed(kube::resources::secrets(), Secret("rr-operator-token-x", "dG9rZW4="));
    // The agent has no right to list or watch Secrets: any attempt fails.
    api.inject_error("list", kube::resources::secrets(), Forbidden(""), 1000);
    api.inject_error("watch", kube::resources::secrets(), Forbidden(""), 1000);
  }
  FakeKubeClient api;
  kube::Logger log{"rr-agent", kube::LogFormat::Text, kube::LogLevel::Debug};
  SecretReader reader{api, kNs, log};
};

TEST_F(SecretReaderTest, ReadsExactlyTheNamedSecretsByName) {
  auto spec = Spec(Json{{"bgp", {{"passwordSecretRef", Ref("bgp-auth")}}},
                        {"externalPeers", {{{"name", "edge-1"}, {"address", "192.0.2.1"}, {"asNumber", 65000},
                                            {"passwordSecretRef", Ref("edge-auth")}}}}});
  EXPECT_TRUE(reader.refresh(spec));
  EXPECT_EQ(reader.values(), (std::map<std::string, std::string>{{"bgp-auth/password", "s3cret"},
                                                                  {"edge-auth/password", "edge1"}}));
  EXPECT_TRUE(reader.failures().empty());
  EXPECT_FALSE(reader.refresh(spec)) << "nothing changed";

  // A new password value is picked up by the next read.
  ASSERT_TRUE(api.patch(kube::resources::secrets(), kNs, "bgp-auth", kube::PatchType::Merge,
                        Json{{"data", {{"password", "bmV3"}}}}, {})
                  .ok());
  EXPECT_TRUE(reader.refresh(spec));
  EXPECT_EQ(reader.values().at("bgp-auth/password"), "new");

  // A Secret the spec no longer names is forgotten.
  EXPECT_TRUE(reader.refresh(Spec(Json{{"bgp", {{"passwordSecretRef", Ref("bgp-auth")}}}})));
  EXPECT_EQ(reader.values(), (std::map<std::string, std::string>{{"bgp-auth/password", "new"}}));
}

TEST_F(SecretReaderTest, AForbiddenReadKeepsTheLastGoodValueAndNamesSecretAndFieldOnce) {
  auto spec = Spec(Json{{"bgp", {{"passwordSecretRef", Ref("bgp-auth")}}}});
  ASSERT_TRUE(reader.refresh(spec));
  api.inject_error("get", kube::resources::secrets(), Forbidden("bgp-auth"), 2);
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(reader.refresh(spec)) << "the last good value stays";
  EXPECT_FALSE(reader.refresh(spec));
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(reader.values(), (std::map<std::string, std::string>{{"bgp-auth/password", "s3cret"}}));
  ASSERT_EQ(reader.failures().count("bgp-auth"), 1u);
  EXPECT_EQ(Count(logged, "spec.bgp.passwordSecretRef"), 1) << "one line per change of state, not per read:\n"
                                                              << logged;
  EXPECT_NE(logged.find("bgp-auth"), std::string::npos) << logged;
  EXPECT_NE(logged.find("forbidden"), std::string::npos) << logged;
  EXPECT_EQ(logged.find("s3cret"), std::string::npos) << "never a value: " << logged;

  // Readable again: the failure clears.
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(reader.refresh(spec));
  const std::string recovered = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(reader.failures().empty());
  EXPECT_NE(recovered.find("bgp-auth"), std::string::npos) << "the recovery is said too: " << recovered;
}

TEST_F(SecretReaderTest, AMissingSecretNamesTheExternalPeerField) {
  auto spec = Spec(Json{{"externalPeers", {{{"name", "edge-1"}, {"address", "192.0.2.1"}, {"asNumber", 65000}},
                                           {{"name", "edge-2"}, {"address", "192.0.2.2"}, {"asNumber", 65000},
                                            {"passwordSecretRef", Ref("absent")}}}}});
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(reader.refresh(spec));
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(reader.values().empty());
  ASSERT_EQ(reader.failures().count("absent"), 1u);
  EXPECT_NE(logged.find("absent"), std::string::npos) << logged;
  EXPECT_NE(logged.find("spec.externalPeers[1].passwordSecretRef"), std::string::npos) << logged;
  EXPECT_NE(logged.find("not found"), std::string::npos) << logged;
}

TEST(PasswordSecretFields, NamesEveryFieldThatNamesASecret) {
  auto spec = Spec(Json{{"bgp", {{"passwordSecretRef", Ref("bgp-auth")}}},
                        {"externalPeers", {{{"name", "edge-1"}, {"address", "192.0.2.1"}, {"asNumber", 65000},
                                            {"passwordSecretRef", Ref("bgp-auth")}}}}});
  EXPECT_EQ(password_secret_fields(spec),
            (std::map<std::string, std::vector<std::string>>{
                {"bgp-auth", {"spec.bgp.passwordSecretRef", "spec.externalPeers[0].passwordSecretRef"}}}));
}

}  // namespace
}  // namespace rr::agent
