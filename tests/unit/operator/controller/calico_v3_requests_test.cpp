// --calico-api=projectcalico.org/v3: Calico's aggregated API server cannot run in the tests,
// so what this mode is tested for is its requests (and, in tests/deploy, its rights): through
// a fabric's whole life (reflector Ready, its BGPPeer, Calico's mesh off, deletion with the
// mesh back on first) every BGPPeer and BGPConfiguration request the controller makes goes to
// /apis/projectcalico.org/v3/..., and none to Calico's CRDs.
#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "one_reflector_fixture.h"
#include "request_log.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using namespace rr::controller::testing;
using kube::Json;

class CalicoV3RequestsTest : public testing::OneReflectorControllerTest {
 protected:
  kube::KubeClient& client() override { return requests_; }
  void configure(ControllerOptions& options, Json& spec) override {
    options.reconciler.calico_api = planner::CalicoApi::ProjectCalicoV3;
    options.reconciler.mesh_settle = 5s;
    spec["calicoAPI"] = "projectcalico.org/v3";
  }

  std::optional<bool> mesh() {
    auto config = api_.peek(contract::calico_v3_bgp_configurations(), "", "default");
    if (!config) return std::nullopt;
    return (*config)["spec"].value("nodeToNodeMeshEnabled", true);
  }

  RequestLog requests_{api_, [](const kube::ResourceType& t) {
    return t.plural == "bgppeers" || t.plural == "bgpconfigurations";
  }};
};

TEST_F(CalicoV3RequestsTest, EveryBgpPeerAndBgpConfigurationRequestGoesToProjectCalicoV3) {
  ASSERT_TRUE(eventually([&] { return !pod_uid().empty(); })) << "the operator never created " << pod_;
  ASSERT_TRUE(run_pod(pod_uid()));
  ASSERT_TRUE(renew(pod_uid()));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();
  ASSERT_TRUE(eventually([&] {
    auto peers = api_.list(contract::calico_v3_bgp_peers(), "", {});
    return peers.ok() && peers->items.size() == 1u;
  })) << "the reflector's BGPPeer";
  ASSERT_TRUE(eventually([&] { return mesh() == false; })) << "every node covered: Calico's mesh goes off";

  // Deletion: the mesh back on, then (after the settle time) the BGPPeer goes.
  ASSERT_TRUE(delete_fabric()) << "the fabric was never finalized";
  EXPECT_EQ(mesh(), true);
  EXPECT_TRUE(api_.list(contract::calico_v3_bgp_peers(), "", {}).value().items.empty());

  const auto log = requests_.requests();
  std::vector<std::string> elsewhere;
  std::copy_if(log.begin(), log.end(), std::back_inserter(elsewhere),
               [](const std::string& r) { return r.find(" /apis/projectcalico.org/v3/") == std::string::npos; });
  EXPECT_TRUE(elsewhere.empty()) << "not to projectcalico.org/v3: " << ::testing::PrintToString(elsewhere);
  auto made = [&](const std::string& request) { return std::count(log.begin(), log.end(), request) > 0; };
  const bool peer_deleted = std::any_of(log.begin(), log.end(), [](const std::string& r) {
    return r.rfind("delete /apis/projectcalico.org/v3/bgppeers/", 0) == 0;
  });
  for (const std::string& request :
       {std::string("list /apis/projectcalico.org/v3/bgppeers"), std::string("watch /apis/projectcalico.org/v3/bgppeers"),
        std::string("create /apis/projectcalico.org/v3/bgppeers"),
        std::string("list /apis/projectcalico.org/v3/bgpconfigurations"),
        std::string("watch /apis/projectcalico.org/v3/bgpconfigurations"),
        std::string("create /apis/projectcalico.org/v3/bgpconfigurations"),
        std::string("patch /apis/projectcalico.org/v3/bgpconfigurations/default")}) {
    EXPECT_TRUE(made(request)) << request << " not among: " << ::testing::PrintToString(log);
  }
  EXPECT_TRUE(peer_deleted) << "the BGPPeer was never deleted: " << ::testing::PrintToString(log);
  EXPECT_TRUE(api_.list(contract::calico_crd_bgp_peers(), "", {}).value().items.empty());
  EXPECT_FALSE(api_.peek(contract::calico_crd_bgp_configurations(), "", "default").has_value());
}

}  // namespace
}  // namespace rr::controller
