// Golden bird.cfg files of the stand-in. Each golden is also parsed by the
// real BIRD 1.6 (`bird -p`), so no golden can hold a config BIRD refuses, and
// the lines FACTS-calico-node.md describes are checked in the text directly.
//
// RR_UPDATE_GOLDEN=1 rewrites unit/testdata/*.cfg; review the diff.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "confd/bird16_renderer.h"
#include "fakes/real_bird.h"
#include "node/command.h"
#include "testing/source_dir.h"
#include "unit/bird1.h"
#include "unit/fixtures.h"

namespace rr::calico {
namespace {

namespace fs = std::filesystem;
using ::kube::testing::read_file;
using testing::four_nodes;
using testing::mesh;
using testing::operator_peer;

fs::path testdata() { return ::rr::testing::source_dir() / "tests/calico-node/unit/testdata"; }

std::string render(const NodeInputs& in) {
  auto c = build_node_bird_config(in);
  if (!c.ok()) throw std::runtime_error(c.error().message);
  return render_bird16(*c);
}

void expect_golden(const std::string& name, const std::string& text) {
  const fs::path path = testdata() / (name + ".cfg");
  const char* update = std::getenv("RR_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") std::ofstream(path, std::ios::binary) << text;
  ASSERT_TRUE(fs::exists(path)) << path << " missing; RR_UPDATE_GOLDEN=1 writes it";
  EXPECT_EQ(read_file(path), text) << path << " differs";
  const CommandOutput parsed = run_command({testing::bird1_binary(), "-p", "-c", path.string()});
  EXPECT_TRUE(parsed.ok()) << "BIRD 1.6 refuses " << path << ": " << parsed.output;
}

NodeInputs migration() {
  auto in = four_nodes("n2");
  in.peers = {operator_peer("rr-fabric-r1-a", "topology.kubernetes.io/rack == 'r1'", "10.0.0.9:1179"),
              operator_peer("rr-fabric-r1-b", "topology.kubernetes.io/rack == 'r1'", "10.0.0.100:1179"),
              operator_peer("rr-fabric-r2-a", "topology.kubernetes.io/rack == 'r2'", "10.0.1.4:1179")};
  return in;
}

TEST(Bird16RendererTest, MeshOn) {
  const std::string text = render(four_nodes("n2"));
  expect_golden("mesh_on", text);
  EXPECT_NE(text.find("router id 10.0.0.10;\n"), std::string::npos);
  EXPECT_NE(text.find("protocol bgp Mesh_10_0_0_9 from bgp_template {\n"
                      "  neighbor 10.0.0.9 as 64512;\n"
                      "  source address 10.0.0.10;\n"
                      "  graceful restart time 120;\n"
                      "  passive on;\n}"),
            std::string::npos);
  EXPECT_NE(text.find("protocol static {\n  route 10.1.2.0/24 blackhole;\n}"), std::string::npos);
  EXPECT_EQ(text.find("listen bgp"), std::string::npos);
  EXPECT_EQ(text.find("Node_"), std::string::npos);
}

TEST(Bird16RendererTest, MeshWithOperatorPeersDuringMigration) {
  const std::string text = render(migration());
  expect_golden("migration", text);
  EXPECT_NE(text.find("protocol bgp Mesh_10_0_0_9 "), std::string::npos);
  EXPECT_NE(text.find("protocol bgp Node_10_0_0_9_port_1179 from bgp_template {\n"
                      "  neighbor 10.0.0.9 port 1179 as 64512;\n"
                      "  source address 10.0.0.10;\n}"),
            std::string::npos);
  EXPECT_EQ(text.find("Node_10_0_1_4"), std::string::npos);  // rack r2's reflector is not n2's
}

TEST(Bird16RendererTest, MeshOffOnlyNodeSessionsWithPassword) {
  auto in = migration();
  in.configurations = {mesh(false)};
  in.peers[0].password = SecretKeyRef{"bgp", "pw"};
  in.peers[1].password = SecretKeyRef{"bgp", "pw"};
  in.secrets[SecretKeyRef{"bgp", "pw"}] = "rr-pass-1";
  const std::string text = render(in);
  expect_golden("mesh_off_password", text);
  EXPECT_EQ(text.find("Mesh_"), std::string::npos);
  EXPECT_NE(text.find("# Node-to-node mesh disabled"), std::string::npos);
  EXPECT_NE(text.find("  password \"rr-pass-1\";\n"), std::string::npos);
}

TEST(Bird16RendererTest, ListenPortBindModeGlobalPeerAndOptions) {
  auto in = four_nodes("n2");
  BgpConfiguration global = mesh(true);
  global.listen_port = 1179;
  global.bind_mode = "NodeIP";
  global.as_number = 65000;
  global.node_mesh_max_restart_seconds = 90;
  in.configurations = {global};
  in.nodes[3].as_number = 65004;
  BgpPeer tor = operator_peer("tor", "", "192.168.9.1", 65100);
  tor.source_address = "None";
  tor.max_restart_seconds = 300;
  in.peers = {tor};
  const std::string text = render(in);
  expect_golden("listen_port_global_peer", text);
  EXPECT_NE(text.find("listen bgp address 10.0.0.10 port 1179;\n"), std::string::npos);
  EXPECT_NE(text.find("  local as 65000;\n"), std::string::npos);
  EXPECT_NE(text.find("  neighbor 10.0.1.4 port 1179 as 65004;\n"), std::string::npos);
  EXPECT_NE(text.find("protocol bgp Global_192_168_9_1 from bgp_template {\n"
                      "  neighbor 192.168.9.1 as 65100;\n"
                      "  graceful restart time 300;\n}"),
            std::string::npos);
}

TEST(Bird16RendererTest, CalicoReflectorNodeAndKernelProgramming) {
  auto in = four_nodes("n2");
  in.nodes[1].rr_cluster_id = "224.0.0.7";
  in.program_kernel = true;
  in.peers = {operator_peer("p", "all()", "10.0.9.1")};
  const std::string text = render(in);
  expect_golden("calico_reflector_kernel", text);
  EXPECT_NE(text.find("  rr client;\n  rr cluster id 224.0.0.7;\n"), std::string::npos);
  EXPECT_NE(text.find("  export filter calico_kernel_programming;\n"), std::string::npos);
  EXPECT_EQ(text.find("protocol bgp Mesh_"), std::string::npos);
}

TEST(Bird16RendererTest, NoPodCidrAnnouncesNothing) {
  auto in = four_nodes("n2");
  in.nodes[1].pod_cidr.clear();
  const std::string text = render(in);
  expect_golden("no_pod_cidr", text);
  EXPECT_EQ(text.find("protocol static"), std::string::npos);
}

TEST(Bird16RendererTest, DeterministicWhateverTheInputOrder) {
  auto a = migration();
  auto b = migration();
  std::reverse(b.nodes.begin(), b.nodes.end());
  std::reverse(b.peers.begin(), b.peers.end());
  EXPECT_EQ(render(a), render(b));
}

}  // namespace
}  // namespace rr::calico
