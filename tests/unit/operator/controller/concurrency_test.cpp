// Two workers reconcile two fabrics at the same time, as the controller's default
// two workers do (issue 11 G3). In a TSan build (RR_SANITIZE=thread, target
// controller_concurrency_tests, ctest label "tsan") an unsynchronised write to
// state the reconciler or the applier share is a report, and the test fails.
#include <latch>
#include <thread>

#include <gtest/gtest.h>

#include "unit/operator/controller/reconciler_harness.h"

namespace rr::controller {
namespace {

using namespace rr::controller::testing;
using kube::Json;

TEST(FabricReconcilerConcurrency, TwoWorkersReconcileAtOnceWithoutSharingUnsynchronisedState) {
  Harness h;
  h.api.seed(contract::calico_crd_bgp_configurations(), Json{{"apiVersion", "crd.projectcalico.org/v1"},
                                                        {"kind", "BGPConfiguration"},
                                                        {"metadata", {{"name", "default"}}},
                                                        {"spec", {{"nodeToNodeMeshEnabled", true}}}});
  for (const std::string rack : {"a", "b"}) {
    for (int i = 0; i < 3; ++i) {
      h.api.seed(kube::resources::nodes(),
                 Node("n-" + rack + std::to_string(i), "rack-" + rack,
                      "10.0." + std::to_string(rack == "a" ? 1 : 2) + "." + std::to_string(10 + i)));
    }
  }
  for (const std::string name : {"fa", "fb"}) {
    const std::string rack = name == "fa" ? "rack-a" : "rack-b";
    h.api.seed(contract::route_reflector_clusters(),
               Fabric(name, Json{{"namespace", kNs},
                                 {"clusterIDPool", name == "fa" ? "10.250.0.0/16" : "10.251.0.0/16"},
                                 {"nodeSelector", {{"topology.kubernetes.io/rack", rack}}}}));
  }
  h.start();
  std::latch go(2);
  auto worker = [&](const std::string& fabric) {
    go.arrive_and_wait();
    for (int i = 0; i < 100; ++i) {
      auto r = h.reconciler->reconcile(fabric);
      (void)r;
    }
  };
  {
    std::jthread a(worker, "fa");
    std::jthread b(worker, "fb");
  }
  EXPECT_TRUE(h.api.peek(kube::resources::pods(), kNs, "fa-rack-a-n-a0").has_value() ||
              !h.api.write_log().empty())
      << "the reconciles did work";

  // The applier alone, on both workers at once: every write it makes is counted once.
  const int before = h.applier.writes();
  const int fake_before = h.api.writes();
  std::latch again(2);
  auto status_writer = [&](const std::string& fabric) {
    again.arrive_and_wait();
    for (int i = 0; i < 200; ++i) {
      Json live = Fabric(fabric, Json::object());
      live["status"] = {{"seen", i}};
      EXPECT_TRUE(h.applier.apply_status(live, Json{{"seen", i + 1}}).ok());
    }
  };
  {
    std::jthread c(status_writer, "fa");
    std::jthread d(status_writer, "fb");
  }
  EXPECT_EQ(h.api.writes() - fake_before, 400);
  EXPECT_EQ(h.applier.writes() - before, 400);
}

}  // namespace
}  // namespace rr::controller
