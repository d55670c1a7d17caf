// rr_operator_reflectors{state}: one series per state from the start, and each one back to 0
// once no reflector is in that state (a gauge left at its last value would keep an alert on
// a reflector long gone).
#include "one_reflector_fixture.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using namespace rr::controller::testing;
using kube::Json;

class ReflectorMetricsTest : public testing::OneReflectorControllerTest {
 protected:
  bool set_node_ready(const std::string& name, bool ready) {
    auto n = api_.get(kube::resources::nodes(), "", name);
    if (!n.ok()) return false;
    Json updated = *n;
    updated["status"]["conditions"] = Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}});
    return api_.update_status(kube::resources::nodes(), updated).ok();
  }
};

TEST_F(ReflectorMetricsTest, EveryStateHasASeriesAndAStateLeftGoesBackToZero) {
  for (auto s : planner::kReflectorStates) {
    EXPECT_EQ(metrics_.reflectors(api::to_string(s)), 0) << api::to_string(s);
  }
  ASSERT_TRUE(eventually([&] { return !pod_uid().empty(); }));
  const std::string uid = pod_uid();
  ASSERT_TRUE(run_pod(uid));
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(eventually([&] { return state() == "Ready" && metrics_.reflectors("Ready") == 1; })) << state();

  // Its host goes NotReady: the reflector (no other eligible host to move to) is HostNotReady.
  ASSERT_TRUE(set_node_ready("n1", false));
  ASSERT_TRUE(eventually([&] { return state() == "HostNotReady"; })) << state();
  ASSERT_TRUE(eventually([&] { return metrics_.reflectors("HostNotReady") == 1; }));
  EXPECT_EQ(metrics_.reflectors("Ready"), 0);

  // And Ready again.
  ASSERT_TRUE(set_node_ready("n1", true));
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();
  ASSERT_TRUE(eventually([&] { return metrics_.reflectors("Ready") == 1; }));
  EXPECT_EQ(metrics_.reflectors("HostNotReady"), 0) << "the gauge kept its last value";
}

}  // namespace
}  // namespace rr::controller
