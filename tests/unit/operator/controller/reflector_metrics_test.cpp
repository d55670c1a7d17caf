// rr_operator_reflectors{state}: one series per state from the start, and each one back to 0
// once no reflector is in that state (a gauge left at its last value would keep an alert on
// a reflector long gone).
#include "one_reflector_fixture.h"

#include <iterator>
#include <map>

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

// The series a fresh OperatorMetrics exposes, read as a scrape reads them (reflectors() would
// create the series it asks for): state -> value.
std::map<std::string, double> exposed_reflector_states(prometheus::Registry& registry) {
  std::map<std::string, double> out;
  for (const auto& family : registry.Collect()) {
    if (family.name != "rr_operator_reflectors") continue;
    for (const auto& m : family.metric) {
      for (const auto& label : m.label) {
        if (label.name == "state") out[label.value] = m.gauge.value;
      }
    }
  }
  return out;
}

TEST(ReflectorMetricsSeriesTest, EveryStateHasASeriesAtZeroBeforeAnyFabric) {
  prometheus::Registry registry;
  OperatorMetrics metrics(registry);
  const auto exposed = exposed_reflector_states(registry);
  for (auto s : planner::kReflectorStates) {
    auto it = exposed.find(std::string(api::to_string(s)));
    ASSERT_NE(it, exposed.end()) << api::to_string(s) << " has no series";
    EXPECT_EQ(it->second, 0) << api::to_string(s);
  }
  EXPECT_EQ(exposed.size(), std::size(planner::kReflectorStates));
}

TEST_F(ReflectorMetricsTest, EveryStateHasASeriesAndAStateLeftGoesBackToZero) {
  // The controller already runs (and may have created the Pod): every series is there either way.
  EXPECT_EQ(exposed_reflector_states(registry_).size(), std::size(planner::kReflectorStates));
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
