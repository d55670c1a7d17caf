#include "cli/status_view.h"

#include <gtest/gtest.h>

namespace rr::cli {
namespace {

using kube::Json;

// 2026-12-04T10:00:00Z
const auto kNow = std::chrono::system_clock::from_time_t(1796378400);

Json reflector(const std::string& pod, const std::string& node, const std::string& state, int up, int total) {
  return {{"pod", pod}, {"node", node}, {"address", "10.0.0." + node.substr(5)}, {"state", state},
          {"sessionsEstablished", up}, {"sessionsTotal", total}};
}

Json fabric() {
  Json racks = Json::array();
  racks.push_back({{"name", "rack-1"}, {"clusterID", "10.255.0.1"}, {"nodes", 3}, {"reflectorsWanted", 2},
                   {"reflectorsReady", 2},
                   {"reflectors", {reflector("rr-a-rack-1-0", "node-1", "Ready", 4, 4),
                                   reflector("rr-a-rack-1-1", "node-4", "Ready", 4, 4)}}});
  racks.push_back({{"name", "rack-2"}, {"clusterID", "10.255.0.2"}, {"nodes", 2}, {"reflectorsWanted", 2},
                   {"reflectorsReady", 1},
                   {"reflectors", {reflector("rr-a-rack-2-0", "node-2", "Ready", 3, 3),
                                   reflector("rr-a-rack-2-1", "node-5", "Starting", 0, 3)}}});
  racks.push_back({{"name", "rack-3"}, {"clusterID", "10.255.0.3"}, {"nodes", 2}, {"reflectorsWanted", 1},
                   {"reflectorsReady", 1},
                   {"reflectors", {reflector("rr-a-rack-3-0", "node-3", "Ready", 2, 3)}}});
  Json conditions = Json::array();
  conditions.push_back({{"type", "Ready"}, {"status", "False"}, {"reason", "ReflectorsNotReady"},
                        {"message", "5/6 reflectors ready"}, {"lastTransitionTime", "2026-12-04T09:56:48Z"}});
  conditions.push_back({{"type", "Progressing"}, {"status", "True"}, {"reason", "ReflectorsChanging"},
                        {"message", "creating rr-a-rack-2-1"}, {"lastTransitionTime", "2026-12-04T09:56:48Z"}});
  conditions.push_back({{"type", "Degraded"}, {"status", "False"}, {"reason", "ReflectorsNotReady"},
                        {"message", ""}, {"lastTransitionTime", "2026-12-04T09:00:00Z"}});
  return {{"metadata", {{"name", "a"}, {"generation", 3}}},
          {"status",
           {{"observedGeneration", 3}, {"conditions", conditions}, {"racks", racks}, {"rackCount", 3},
            {"reflectorsReady", 4}, {"reflectorsWanted", 5}, {"sessionsEstablished", 13}, {"sessionsTotal", 17}}}};
}

TEST(StatusViewTest, TheFabricLineSaysReadyWhySinceWhenAndTheTotals) {
  const std::string out = render_status(fabric(), kNow);
  EXPECT_EQ(out.substr(0, out.find('\n')),
            "FABRIC a: Ready=False (ReflectorsNotReady, for 3m12s)  reflectors 4/5  sessions 13/17  racks 3");
  EXPECT_NE(out.find("  WAITING: 5/6 reflectors ready\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  Progressing=True (ReflectorsChanging): creating rr-a-rack-2-1\n"), std::string::npos) << out;
}

TEST(StatusViewTest, RacksComeWorstFirstWithTheirProblem) {
  const std::string out = render_status(fabric(), kNow);
  const auto r1 = out.find("rack-1"), r2 = out.find("rack-2"), r3 = out.find("rack-3");
  ASSERT_NE(r1, std::string::npos);
  // rack-2 misses a reflector, rack-3 has a session down, rack-1 is whole.
  EXPECT_LT(r2, r3);
  EXPECT_LT(r3, r1);
  EXPECT_NE(out.find("1 of 2 reflectors not Ready"), std::string::npos) << out;
  EXPECT_NE(out.find("1 BGP sessions not Established"), std::string::npos) << out;
  // One row per reflector, with its node, address, state and sessions.
  EXPECT_NE(out.find("rr-a-rack-2-1  node-5  10.0.0.5  Starting  0/3"), std::string::npos) << out;
}

TEST(StatusViewTest, EachZonesTopTierFollowsTheRacks) {
  Json f = fabric();
  Json tops = Json::array();
  tops.push_back({{"name", "z1"}, {"clusterID", "10.254.0.1"}, {"nodes", 0}, {"reflectorsWanted", 2},
                  {"reflectorsReady", 2},
                  {"reflectors", {reflector("rr-a-top-z1-0", "node-7", "Ready", 5, 5),
                                  reflector("rr-a-top-z1-1", "node-8", "Ready", 5, 5)}}});
  f["status"]["topTier"] = tops;
  const std::string out = render_status(f, kNow);
  const auto top = out.find("top:z1  10.254.0.1");
  ASSERT_NE(top, std::string::npos) << out;
  EXPECT_GT(top, out.find("rack-1")) << out;
  EXPECT_NE(out.find("rr-a-top-z1-1  node-8"), std::string::npos) << out;
}

TEST(StatusViewTest, ADegradedFabricShowsItsProblemFirst) {
  Json f = fabric();
  f["status"]["conditions"][2]["status"] = "True";
  f["status"]["conditions"][2]["message"] = "spec.reflectors.perRack: rack rack-9 has no eligible host";
  const std::string out = render_status(f, kNow);
  const auto problem = out.find("  PROBLEM: spec.reflectors.perRack: rack rack-9 has no eligible host\n");
  EXPECT_NE(problem, std::string::npos) << out;
  EXPECT_LT(problem, out.find("RACK")) << out;
  EXPECT_EQ(out.find("WAITING"), std::string::npos) << out;
}

TEST(StatusViewTest, ANewerSpecThanTheStatusIsSaid) {
  Json f = fabric();
  f["metadata"]["generation"] = 4;
  EXPECT_NE(render_status(f, kNow).find("PENDING: the spec changed (generation 4); this status describes generation 3"),
            std::string::npos);
}

TEST(StatusViewTest, AFabricWithoutStatusOrWithGarbageDoesNotThrow) {
  Json bare = {{"metadata", {{"name", "b"}}}};
  EXPECT_NE(render_status(bare, kNow).find("FABRIC b: no status yet"), std::string::npos);
  Json garbage = {{"metadata", {{"name", "c"}}},
                  {"status", {{"conditions", {{{"type", "Ready"}, {"status", 7}}}}, {"racks", "nope"}}}};
  EXPECT_NO_THROW((void)render_status(garbage, kNow));
  EXPECT_NO_THROW((void)render_status(Json("not an object"), kNow));
}

TEST(StatusViewTest, UnhealthyFabricsComeFirstAndSetTheExitCode) {
  Json ready = fabric();
  ready["metadata"]["name"] = "a-ready";
  ready["status"]["conditions"][0]["status"] = "True";
  Json not_ready = fabric();
  not_ready["metadata"]["name"] = "z-not-ready";
  const std::string out = render_statuses({ready, not_ready}, kNow);
  EXPECT_LT(out.find("FABRIC z-not-ready"), out.find("FABRIC a-ready")) << out;
  EXPECT_EQ(status_exit_code({ready}), 0);
  EXPECT_EQ(status_exit_code({ready, not_ready}), 1);
}

TEST(StatusViewTest, AgesReadAsPeopleSayThem) {
  EXPECT_EQ(age("2026-12-04T09:59:15Z", kNow), "45s");
  EXPECT_EQ(age("2026-12-04T08:55:00Z", kNow), "1h5m");
  EXPECT_EQ(age("2026-12-01T07:00:00Z", kNow), "3d3h");
  EXPECT_EQ(age("yesterday", kNow), "?");
}

}  // namespace
}  // namespace rr::cli
