#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/match.h"
#include "api/observed.h"

namespace rr::api {
namespace {

using kube::Json;

TEST(ApiMatchTest, Contains) {
  struct Case {
    std::string name;
    Json live, desired;
    bool want;
  };
  const std::vector<Case> cases = {
      {"extra live keys", {{"a", 1}, {"b", 2}}, {{"a", 1}}, true},
      {"differing value", {{"a", 1}}, {{"a", 2}}, false},
      {"missing key", Json::object(), {{"a", 1}}, false},
      {"omitted empty values", Json::object(), {{"a", ""}, {"b", false}, {"c", 0}, {"d", Json::object()}, {"e", Json::array()}}, true},
      {"scalar arrays exactly", {{"v", {"a", "b"}}}, {{"v", {"a"}}}, false},
      {"scalar arrays in order", {{"v", {"b", "a"}}}, {{"v", {"a", "b"}}}, false},
      {"object arrays in any order with extras",
       {{"v", {{{"name", "c"}}, {{"name", "b"}, {"x", 1}}, {{"name", "a"}}}}}, {{"v", {{{"name", "a"}}, {{"name", "b"}}}}}, true},
      {"object array element missing", {{"v", {{{"name", "a"}}}}}, {{"v", {{{"name", "a"}}, {{"name", "b"}}}}}, false},
      {"signed and unsigned numbers", Json::parse(R"({"a": 30})"), {{"a", 30}}, true},
      {"quantities only under resources", {{"resources", {{"limits", {{"cpu", "100m"}}}}}, {"x", "100m"}},
       {{"resources", {{"limits", {{"cpu", "0.1"}}}}}, {"x", "0.1"}}, false},
      {"quantities under resources", {{"resources", {{"limits", {{"cpu", "100m"}}}}}},
       {{"resources", {{"limits", {{"cpu", "0.1"}}}}}}, true},
      {"type mismatch", {{"a", "1"}}, {{"a", 1}}, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(contains(c.live, c.desired), c.want);
  }
  EXPECT_EQ(to_string(Match::Replace), "Replace");
}

// Informers hand over whatever the server sent; none of these may throw on it.
TEST(ApiMatchTest, NothingThrowsOnOddObjects) {
  std::vector<Json> odd = {Json(), Json(1), Json("x"), Json::array(), Json::object()};
  for (const char* text : {
           R"({"metadata": 1, "spec": 1, "status": 1})",
           R"({"metadata": {"name": "n", "labels": [], "annotations": 1, "ownerReferences": {}}, "spec": [], "status": "x"})",
           R"({"metadata": {"name": "n", "annotations": {"rr.bgp.dev/port": 1, "projectcalico.org/IPv4Address": []}},
               "spec": {"taints": [null, 1, {"key": 1}], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                 {"nodeSelectorTerms": [null, {"matchFields": [null, {"key": "metadata.name", "operator": "In", "values": [1]}]}]}}},
                 "containers": [{"resources": {"limits": {"cpu": []}}}], "nodeToNodeMeshEnabled": 1},
               "status": {"conditions": [null, 1, {"type": 1}], "addresses": [null], "racks": [null, {"name": []}]},
               "data": []})",
       }) {
    odd.push_back(Json::parse(text));
  }
  for (const auto& a : odd) {
    SCOPED_TRACE(a.dump());
    EXPECT_NO_THROW((void)node_info_from(a));
    EXPECT_NO_THROW((void)reflector_pod_from(a));
    EXPECT_NO_THROW((void)reflector_lease_from(a));
    EXPECT_NO_THROW((void)node_to_node_mesh_from(a));
    EXPECT_NO_THROW((void)allocations_from_status(a));
    EXPECT_NO_THROW((void)secret_keys_from(a));
    for (const auto& b : odd) {
      EXPECT_NO_THROW((void)pod_matches(a, b));
      EXPECT_NO_THROW((void)peer_matches(a, b));
      EXPECT_NO_THROW((void)contains(a, b));
    }
  }
}

}  // namespace
}  // namespace rr::api
