// The controller on a fake API and a fake clock (one_reflector_fixture.h): a reflector whose
// Node turns NotReady is replaced (make before break) only once the Node has stayed NotReady
// for --host-not-ready-grace (30 s). A Node NotReady for a moment, as every node is right
// after a kube-apiserver outage, changes nothing.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "one_reflector_fixture.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using namespace rr::controller::testing;
using kube::Json;

class HostNotReadyTest : public testing::OneReflectorControllerTest {
 protected:
  bool set_node(const std::string& name, const std::function<void(Json&)>& edit, bool status) {
    auto got = api_.get(kube::resources::nodes(), "", name);
    if (!got.ok()) return false;
    Json n = *got;
    edit(n);
    return status ? api_.update_status(kube::resources::nodes(), n).ok() : api_.update(kube::resources::nodes(), n).ok();
  }
  bool set_ready(const std::string& name, bool ready) {
    return set_node(name, [&](Json& n) {
      n["status"]["conditions"] = Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "Unknown"}}});
    }, true);
  }
  // Fake time in steps of a third of the lease, the agent renewing at each (it keeps running:
  // only its host's kubelet is away); renew() waits until the controller has seen each one.
  bool pass(std::chrono::seconds total, const std::string& uid) {
    for (auto t = 0s; t < total; t += std::chrono::seconds(kLeaseSeconds) / 3) {
      clock_.advance(std::chrono::seconds(kLeaseSeconds) / 3);
      if (!renew(uid)) return false;
    }
    return true;
  }
  std::string replacement() const { return planner::reflector_pod_name(kFabric, kRack, "n2"); }
  bool replacement_exists() { return api_.peek(kube::resources::pods(), kNs, replacement()).has_value(); }
};

TEST_F(HostNotReadyTest, AReflectorIsReplacedOnlyOnceItsNodeStaysNotReadyForTheGrace) {
  ASSERT_TRUE(eventually([&] { return !pod_uid().empty(); })) << "the operator never created " << pod_;
  const std::string uid = pod_uid();
  ASSERT_TRUE(run_pod(uid));
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();
  // A second host the rack could use.
  ASSERT_TRUE(set_node("n2", [](Json& n) { n["metadata"]["labels"]["rr.bgp.dev/reflector"] = "true"; }, false));

  // NotReady for 20 s, then Ready again (the kubelets after an API outage): nothing changes.
  ASSERT_TRUE(set_ready("n1", false));
  ASSERT_TRUE(eventually([&] { return state() == "HostNotReady"; })) << state();
  ASSERT_TRUE(pass(20s, uid));
  EXPECT_FALSE(replacement_exists()) << "replaced before the grace ran out";
  ASSERT_TRUE(set_ready("n1", true));
  ASSERT_TRUE(eventually([&] { return state() == "Ready"; })) << state();
  ASSERT_TRUE(pass(40s, uid));
  EXPECT_FALSE(replacement_exists()) << "a NotReady spell shorter than the grace counted after it ended";

  // NotReady for good (its kubelet stopped): a replacement once the grace runs out, the
  // reflector on the NotReady host kept until the replacement is Ready.
  ASSERT_TRUE(set_ready("n1", false));
  ASSERT_TRUE(pass(20s, uid));
  EXPECT_FALSE(replacement_exists());
  for (int i = 0; i < 20 && !replacement_exists(); ++i) ASSERT_TRUE(pass(std::chrono::seconds(kLeaseSeconds) / 3, uid));
  ASSERT_TRUE(replacement_exists()) << "never replaced; state " << state();
  EXPECT_EQ(pod_uid(), uid) << "make before break: the reflector stays until its replacement is Ready";
  EXPECT_EQ(count("delete pods " + std::string(kNs) + "/" + pod_), 0);
}

}  // namespace
}  // namespace rr::controller
