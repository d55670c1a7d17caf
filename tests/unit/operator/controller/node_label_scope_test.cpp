// The operator's Node cache keeps only the labels some fabric reads (memory at 100k Nodes). A
// fabric edited to read a new label key makes it list every Node again, and no fabric is
// reconciled until that list is in: a plan made before would see Nodes without the label and
// move reflectors off hosts that carry it.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "controller/node_label_scope.h"
#include "kube/forwarding_client.h"
#include "one_reflector_fixture.h"
#include "planner/planner.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using kube::Json;

// Passes every call to the fake; Node lists wait while the gate is closed.
class NodeListGate final : public kube::ForwardingClient {
 public:
  using ForwardingClient::ForwardingClient;

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void open() {
    std::lock_guard lock(mu_);
    closed_ = false;
    cv_.notify_all();
  }
  // Node list calls so far (a waiting one counts).
  int node_lists() {
    std::lock_guard lock(mu_);
    return node_lists_;
  }

  kube::Result<kube::ObjectList> list(const kube::ResourceType& t, const std::string& ns,
                                      const kube::ListOptions& o) override {
    if (t.plural == "nodes") {
      std::unique_lock lock(mu_);
      ++node_lists_;
      cv_.wait_for(lock, 20s, [this] { return !closed_; });
    }
    return ForwardingClient::list(t, ns, o);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int node_lists_ = 0;
};

TEST(NodeLabelScope, KeepsTheKeysAFabricReadsAndSaysWhenOneIsNew) {
  NodeLabelScope scope;
  planner::FabricSpec spec;
  spec.node_selector = {{"pool", "bgp"}};
  const planner::LabelKeys keys = planner::node_label_keys(spec);
  EXPECT_EQ(keys, (planner::LabelKeys{planner::kCalicoNodeLabel, "pool", "rr.bgp.dev/reflector",
                                      "topology.kubernetes.io/rack"}));
  EXPECT_TRUE(scope.add(keys));
  EXPECT_FALSE(scope.add(keys)) << "nothing new: no relist";
  spec.top_tier = planner::TopTier{};
  spec.top_tier->zone_label = "topology.kubernetes.io/zone";
  EXPECT_TRUE(scope.add(planner::node_label_keys(spec)));

  Json node = testing::node("n1", true, "192.0.2.1");
  node["metadata"]["labels"]["kubernetes.io/arch"] = "amd64";
  node["metadata"]["labels"]["topology.kubernetes.io/zone"] = "z1";
  auto info = scope.trim(node);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->labels, (planner::Labels{{"rr.bgp.dev/reflector", "true"},
                                           {"topology.kubernetes.io/rack", "r1"},
                                           {"topology.kubernetes.io/zone", "z1"}}))
      << "kubernetes.io/hostname and kubernetes.io/arch are read by no fabric";
  EXPECT_EQ(info->internal_ip, "192.0.2.1");
}

class NodeLabelsTest : public testing::OneReflectorControllerTest {
 protected:
  kube::KubeClient& client() override { return gate_; }
  NodeListGate gate_{api_};
};

TEST_F(NodeLabelsTest, AFabricReadingANewLabelWaitsForEveryNodeListedAgainWithIt) {
  ASSERT_TRUE(testing::eventually([&] { return !pod_uid().empty(); }));
  const std::string uid = pod_uid();
  ASSERT_TRUE(run_pod(uid));
  ASSERT_TRUE(renew(uid));
  ASSERT_TRUE(testing::eventually([&] { return state() == "Ready"; })) << state();
  // The reflector's Ready comes a reconcile before the fabric's (its BGPPeer and the mesh's end
  // come between): the fabric is done writing only once its own condition says so.
  ASSERT_TRUE(testing::eventually([&] { return condition("Ready") == "True/FabricReady"; })) << condition("Ready");
  auto labelled = api_.patch(kube::resources::nodes(), "", "n1", kube::PatchType::Merge,
                             {{"metadata", {{"labels", {{"site", "a"}}}}}}, {});
  ASSERT_TRUE(labelled.ok());
  auto n1 = [&] { return controller_->nodes().get("n1"); };
  // The label's watch event is in the cache (read with the keys of then) before the edit below:
  // one that came later would be read with the new keys, which a watch event may.
  ASSERT_TRUE(testing::eventually(
      [&] { return controller_->nodes().resource_version("n1") == kube::resource_version_of(*labelled); }));
  ASSERT_TRUE(n1());
  EXPECT_FALSE(n1()->labels.count("kubernetes.io/hostname")) << "no fabric reads it";
  const int lists_before = gate_.node_lists();

  // The reflectors may now run only where site=a: n1 is such a host, but the cache kept no "site".
  gate_.close();
  auto fabric = api_.get(contract::route_reflector_clusters(), "", testing::kFabric);
  ASSERT_TRUE(fabric.ok());
  Json edited = *fabric;
  edited["spec"]["reflectors"]["nodeSelector"] = {{"rr.bgp.dev/reflector", "true"}, {"site", "a"}};
  const size_t writes = api_.write_log().size() + 1;  // and the edit itself
  ASSERT_TRUE(api_.update(contract::route_reflector_clusters(), edited).ok());
  ASSERT_TRUE(testing::eventually([&] { return gate_.node_lists() > lists_before; }))
      << "the edit must make the controller list the Nodes again";
  for (int i = 0; i < 5; ++i) {  // requeues and lease expiries come due: still no plan without the list
    clock_.advance(1s);
    std::this_thread::sleep_for(50ms);
  }
  // A reconcile of the old spec may still finish meanwhile (its status patch, with the old
  // generation); nothing may be planned for the new one.
  const auto log = api_.write_log();
  std::string extra;
  for (size_t i = std::min(writes, log.size()); i < log.size(); ++i) {
    if (log[i] != "patch_status routereflectorclusters " + std::string(testing::kFabric)) extra += "\n  " + log[i];
  }
  EXPECT_EQ(extra, "") << "a fabric was reconciled on Nodes listed without its label";
  auto now = api_.peek(contract::route_reflector_clusters(), "", testing::kFabric);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->value("status", Json::object()).value("observedGeneration", 0), kube::generation_of(*fabric))
      << "the edited spec was planned on Nodes listed without its label: " << now->value("status", Json::object());
  EXPECT_FALSE(n1()->labels.count("site"));

  gate_.open();
  ASSERT_TRUE(testing::eventually([&] { return n1() && n1()->labels.count("site"); }));
  ASSERT_TRUE(testing::eventually([&] {
    auto f = api_.peek(contract::route_reflector_clusters(), "", testing::kFabric);
    return f && f->value("status", Json::object()).value("observedGeneration", 0) == kube::generation_of(*f);
  })) << "the fabric is reconciled once the list is in";
  EXPECT_EQ(pod_uid(), uid) << "n1 carries site=a: its reflector stays";
  EXPECT_EQ(count("delete pods " + std::string(testing::kNs) + "/" + pod_), 0);
}

}  // namespace
}  // namespace rr::controller
