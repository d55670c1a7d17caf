// The stand-in's API side on the stateful fake API: what the informers keep
// (Secrets of its own namespace only, objects calico-node would reject left
// out), and the loop writing bird.cfg before BIRD starts and again on change.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fakes/fake_kube_client.h"
#include "fakes/real_bird.h"
#include "integration/support/eventually.h"
#include "node/standin.h"
#include "unit/bird1.h"

namespace rr::calico {
namespace {

namespace fs = std::filesystem;
using ::kube::testing::read_file;
using ::rr::testing::eventually;
using kube::Json;

Json node(const std::string& name, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"annotations", {{"projectcalico.org/IPv4Address", ip + "/24"}}}}},
          {"spec", {{"podCIDR", "10.9." + ip.substr(ip.rfind('.') + 1) + ".0/24"}}}};
}

Json peer(const std::string& name, Json spec) {
  return {{"apiVersion", "crd.projectcalico.org/v1"}, {"kind", "BGPPeer"}, {"metadata", {{"name", name}}}, {"spec", spec}};
}

Json secret(const std::string& ns, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", "bgp"}, {"namespace", ns}}},
          {"data", {{"pw", value}}}};  // base64
}

class StandinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/rr-cns.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(api_.create(kube::resources::nodes(), "", node("n1", "10.0.0.1")).ok());
    ASSERT_TRUE(api_.create(kube::resources::nodes(), "", node("n2", "10.0.0.2")).ok());
    ASSERT_TRUE(api_.create(kube::resources::secrets(), "calico", secret("calico", "b3du")).ok());   // "own"
    ASSERT_TRUE(api_.create(kube::resources::secrets(), "other", secret("other", "b3RoZXI=")).ok());  // "other"
    ASSERT_TRUE(api_.create(bgp_peers(), "",
                            peer("rr-a", {{"nodeSelector", "all()"},
                                          {"peerIP", "10.0.0.9:1179"},
                                          {"asNumber", 64512},
                                          {"password", {{"secretKeyRef", {{"name", "bgp"}, {"key", "pw"}}}}}}))
                    .ok());
    ASSERT_TRUE(api_.create(bgp_peers(), "", peer("bad", {{"peerIP", "10.0.0.8"}})).ok());  // no asNumber
  }
  void TearDown() override { fs::remove_all(dir_); }

  Bird16DriverOptions driver_options() const {
    return {(dir_ / "bird.cfg").string(), (dir_ / "bird.ctl").string(), testing::bird1_binary(),
            testing::birdc1_binary()};
  }

  kube::testing::FakeKubeClient api_;
  fs::path dir_;
  kube::Logger log_{"standin-test", kube::LogFormat::Text, kube::LogLevel::Error};
};

TEST_F(StandinTest, InformersKeepWhatTheRendererNeeds) {
  Bird16Driver driver(driver_options());
  CalicoNodeStandin standin(api_, {"n1", "calico"}, driver, log_);
  standin.start_informers();
  ASSERT_TRUE(eventually([&] { return standin.synced(); }));
  const NodeInputs in = standin.inputs();
  EXPECT_EQ(in.node_name, "n1");
  EXPECT_EQ(in.nodes.size(), 2u);
  ASSERT_EQ(in.peers.size(), 1u) << "the BGPPeer without asNumber is left out";
  EXPECT_EQ(in.peers[0].name, "rr-a");
  ASSERT_EQ(in.secrets.size(), 1u);
  EXPECT_EQ(in.secrets.at(SecretKeyRef{"bgp", "pw"}), "own");
}

TEST_F(StandinTest, WritesBeforeBirdStartsAndRewritesOnChange) {
  Bird16Driver driver(driver_options());
  CalicoNodeStandin standin(api_, {"n1", "calico", false, NodeInputs{}.calico_node_selector,
                                   std::chrono::milliseconds(200)},
                            driver, log_);
  standin.start_informers();
  std::atomic<int> starts{0};
  std::stop_source stop;
  std::jthread loop([&](std::stop_token) {
    standin.run(stop.get_token(), [] { return false; }, [&] { ++starts; });
  });
  ASSERT_TRUE(eventually([&] { return starts.load() == 1; }));
  std::string config = read_file(dir_ / "bird.cfg");
  EXPECT_NE(config.find("protocol bgp Mesh_10_0_0_2 "), std::string::npos) << config;
  EXPECT_NE(config.find("protocol bgp Node_10_0_0_9_port_1179 "), std::string::npos) << config;
  EXPECT_NE(config.find("  password \"own\";\n"), std::string::npos) << config;
  EXPECT_FALSE(standin.readiness(false).ok);
  EXPECT_TRUE(standin.readiness(true).ok);

  ASSERT_TRUE(api_.create(bgp_configurations(), "",
                          Json{{"apiVersion", "crd.projectcalico.org/v1"},
                               {"kind", "BGPConfiguration"},
                               {"metadata", {{"name", "default"}}},
                               {"spec", {{"nodeToNodeMeshEnabled", false}}}})
                  .ok());
  EXPECT_TRUE(eventually([&] { return read_file(dir_ / "bird.cfg").find("Mesh_") == std::string::npos; }));
  EXPECT_NE(read_file(dir_ / "bird.cfg").find("Node_10_0_0_9_port_1179"), std::string::npos);
  stop.request_stop();
  loop.join();
  EXPECT_EQ(starts.load(), 1);
}

}  // namespace
}  // namespace rr::calico
