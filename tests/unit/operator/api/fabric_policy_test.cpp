// What a fabric's spec may choose (spec.namespace, spec.reflectors.image) is bounded by the
// operator's configuration: a table of named cases.
#include "api/fabric_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rr::api {
namespace {

struct Case {
  std::string name;
  std::string ns;
  std::string image;
  std::vector<std::string> reasons;      // in order
  std::vector<std::string> in_messages;  // each found in the message of the same index
};

TEST(FabricPolicy, SpecsChooseOnlyAmongWhatTheOperatorAllows) {
  FabricPolicy policy;
  policy.namespaces = {"rr-system", "fabric-b"};
  policy.images = {"rr-agent:0.1.0", "registry.example/rr-agent@sha256:abc"};
  const std::vector<Case> cases = {
      {"allowed namespace and image", "rr-system", "rr-agent:0.1.0", {}, {}},
      {"second allowed namespace, digest reference", "fabric-b", "registry.example/rr-agent@sha256:abc", {}, {}},
      {"foreign image", "rr-system", "evil/miner:latest",
       {"ImageNotAllowed"},
       {"spec.reflectors.image: \"evil/miner:latest\" is not allowed (allowed: rr-agent:0.1.0, "
        "registry.example/rr-agent@sha256:abc; rr-operator flag --allowed-reflector-images)"}},
      {"references are exact: another tag is another image", "rr-system", "rr-agent:0.1.1",
       {"ImageNotAllowed"}, {"\"rr-agent:0.1.1\""}},
      {"references are exact: no implicit registry or tag", "rr-system", "docker.io/library/rr-agent:0.1.0",
       {"ImageNotAllowed"}, {"spec.reflectors.image"}},
      {"foreign namespace", "kube-system", "rr-agent:0.1.0",
       {"NamespaceNotAllowed"},
       {"spec.namespace: \"kube-system\" is not allowed (allowed: rr-system, fabric-b; rr-operator flag "
        "--allowed-namespaces)"}},
      {"both: the namespace first, as in the conditions table", "default", "evil/miner:latest",
       {"NamespaceNotAllowed", "ImageNotAllowed"},
       {"spec.namespace", "spec.reflectors.image"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    planner::FabricSpec spec;
    spec.ns = c.ns;
    spec.image = c.image;
    auto violations = check_policy(spec, policy);
    ASSERT_EQ(violations.size(), c.reasons.size());
    for (std::size_t i = 0; i < violations.size(); ++i) {
      EXPECT_EQ(violations[i].reason, c.reasons[i]);
      EXPECT_NE(violations[i].message.find(c.in_messages[i]), std::string::npos) << violations[i].message;
    }
  }
}

TEST(FabricPolicy, AnEmptyPolicyAllowsNothing) {
  planner::FabricSpec spec;
  auto violations = check_policy(spec, FabricPolicy{{}, {}});
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_NE(violations[0].message.find("(allowed: none;"), std::string::npos) << violations[0].message;
}

}  // namespace
}  // namespace rr::api
