// What the stand-in decides for a node, checked against FACTS-calico-node.md
// without looking at the rendered text.
#include <gtest/gtest.h>

#include <algorithm>

#include "confd/node_bird_config.h"
#include "unit/fixtures.h"

namespace rr::calico {
namespace {

using testing::four_nodes;
using testing::mesh;
using testing::node;
using testing::operator_peer;

std::vector<std::string> names(const std::vector<BgpSession>& sessions) {
  std::vector<std::string> out;
  for (const auto& s : sessions) out.push_back(s.protocol);
  return out;
}

const BgpSession& session(const std::vector<BgpSession>& sessions, const std::string& protocol) {
  auto it = std::find_if(sessions.begin(), sessions.end(), [&](const auto& s) { return s.protocol == protocol; });
  if (it == sessions.end()) throw std::runtime_error("no session " + protocol);
  return *it;
}

TEST(NodeBirdConfigTest, MeshIsOnWithoutAnyBgpConfiguration) {
  auto c = build_node_bird_config(four_nodes("n2"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->mesh_enabled);
  EXPECT_EQ(c->router_id, "10.0.0.10");
  EXPECT_EQ(c->as_number, 64512u);
  EXPECT_FALSE(c->listen_port.has_value());
  EXPECT_EQ(c->pod_cidr, "10.1.2.0/24");
  EXPECT_EQ(names(c->mesh), (std::vector<std::string>{"Mesh_10_0_0_9", "Mesh_10_0_0_100", "Mesh_10_0_1_4"}));
  for (const auto& m : c->mesh) {
    SCOPED_TRACE(m.protocol);
    EXPECT_EQ(m.source_address, "10.0.0.10");
    EXPECT_EQ(m.graceful_restart_seconds, 120);
    EXPECT_EQ(m.as_number, 64512u);
    EXPECT_FALSE(m.port.has_value());
  }
}

TEST(NodeBirdConfigTest, PassiveByStringComparisonOfAddresses) {
  auto c = build_node_bird_config(four_nodes("n2"));  // 10.0.0.10
  ASSERT_TRUE(c.ok());
  // "10.0.0.9" > "10.0.0.10" as strings although 9 < 10 as numbers.
  EXPECT_TRUE(session(c->mesh, "Mesh_10_0_0_9").passive);
  EXPECT_TRUE(session(c->mesh, "Mesh_10_0_0_100").passive);
  EXPECT_TRUE(session(c->mesh, "Mesh_10_0_1_4").passive);
  auto from_n1 = build_node_bird_config(four_nodes("n1"));  // 10.0.0.9
  ASSERT_TRUE(from_n1.ok());
  EXPECT_FALSE(session(from_n1->mesh, "Mesh_10_0_0_10").passive);
  EXPECT_FALSE(session(from_n1->mesh, "Mesh_10_0_0_100").passive);
  EXPECT_TRUE(session(from_n1->mesh, "Mesh_10_0_1_4").passive);
}

TEST(NodeBirdConfigTest, MeshOffLeavesNoMeshProtocols) {
  auto in = four_nodes();
  in.configurations = {mesh(false)};
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->mesh_enabled);
  EXPECT_TRUE(c->mesh.empty());
}

TEST(NodeBirdConfigTest, RouteReflectorNodesLeaveTheMesh) {
  auto in = four_nodes("n2");
  in.nodes[0].rr_cluster_id = "224.0.0.1";  // n1
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(names(c->mesh), (std::vector<std::string>{"Mesh_10_0_0_100", "Mesh_10_0_1_4"}));
  in.node_name = "n1";
  auto rr = build_node_bird_config(in);
  ASSERT_TRUE(rr.ok());
  EXPECT_FALSE(rr->mesh_enabled);
  EXPECT_TRUE(rr->mesh.empty());
}

TEST(NodeBirdConfigTest, MeshOnlyWithNodesThatRunCalicoNode) {
  auto in = four_nodes("n2");
  in.nodes[0].registered = false;  // n1: address from its InternalIP only
  in.nodes[0].labels[kCalicoNodeLabel] = "false";
  in.nodes[2].registered = false;  // n3: unlabelled, so the DaemonSet runs there
  in.nodes[3].labels[kCalicoNodeLabel] = "false";  // n4: registered by a calico-node anyway
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(names(c->mesh), (std::vector<std::string>{"Mesh_10_0_0_100", "Mesh_10_0_1_4"}));

  in.calico_node_selector = "topology.kubernetes.io/rack == 'r2'";
  auto custom = build_node_bird_config(in);
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(names(custom->mesh), std::vector<std::string>{"Mesh_10_0_1_4"});

  in.calico_node_selector = "rack = 'r2'";
  auto bad = build_node_bird_config(in);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("calico-node selector"), std::string::npos);
}

TEST(NodeBirdConfigTest, TwoNodesOneAddressOneMeshSession) {
  auto in = four_nodes("n2");
  in.nodes.push_back(testing::node("n5", "10.0.0.9", "r1"));  // n1's address again
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(names(c->mesh), (std::vector<std::string>{"Mesh_10_0_0_9", "Mesh_10_0_0_100", "Mesh_10_0_1_4"}));
  ASSERT_EQ(c->skipped.size(), 1u);
  EXPECT_NE(c->skipped[0].find("n5"), std::string::npos);
}

TEST(NodeBirdConfigTest, ListenPortAndAsFromConfigurationsAndNodes) {
  auto in = four_nodes("n2");
  BgpConfiguration global = mesh(true);
  global.as_number = 65000;
  global.listen_port = 1179;
  BgpConfiguration n4;
  n4.name = "node.n4";
  n4.listen_port = 2179;
  in.configurations = {global, n4};
  in.nodes[2].as_number = 65003;  // n3
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen_port, 1179);
  EXPECT_EQ(c->as_number, 65000u);
  EXPECT_EQ(session(c->mesh, "Mesh_10_0_0_9").port, 1179);
  EXPECT_EQ(session(c->mesh, "Mesh_10_0_1_4").port, 2179);
  EXPECT_EQ(session(c->mesh, "Mesh_10_0_0_100").as_number, 65003u);
  EXPECT_EQ(session(c->mesh, "Mesh_10_0_0_9").as_number, 65000u);
}

TEST(NodeBirdConfigTest, BindModeNodeIP) {
  auto in = four_nodes("n2");
  BgpConfiguration global = mesh(true);
  global.bind_mode = "NodeIP";
  in.configurations = {global};
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen_address, "10.0.0.10");
}

TEST(NodeBirdConfigTest, PeersSelectNodesAsCalicoSelectorsSay) {
  struct Case {
    const char* name;
    std::string self;
    BgpPeer peer;
    std::vector<std::string> node_peers;
    std::vector<std::string> global_peers;
  };
  const std::vector<Case> cases = {
      {"rack selector selects", "n2",
       operator_peer("p", "topology.kubernetes.io/rack == 'r1'", "10.0.9.1"), {"Node_10_0_9_1"}, {}},
      {"rack selector of another rack", "n4",
       operator_peer("p", "topology.kubernetes.io/rack == 'r1'", "10.0.9.1"), {}, {}},
      {"colocated selector excludes the reflector's host", "n2",
       operator_peer("p", "topology.kubernetes.io/rack == 'r1' && kubernetes.io/hostname != 'n2'", "10.0.0.10:1179"),
       {}, {}},
      {"colocated selector keeps the others", "n1",
       operator_peer("p", "topology.kubernetes.io/rack == 'r1' && kubernetes.io/hostname != 'n2'", "10.0.0.10:1179"),
       {"Node_10_0_0_10_port_1179"}, {}},
      {"port form", "n2", operator_peer("p", "all()", "10.0.9.1:1179"), {"Node_10_0_9_1_port_1179"}, {}},
      {"no selector, no node: global", "n2", operator_peer("p", "", "10.0.9.1"), {}, {"Global_10_0_9_1"}},
      {"global with a port", "n2", operator_peer("p", "", "10.0.9.1:2179"), {}, {"Global_10_0_9_1_port_2179"}},
      {"IPv6 goes to bird6.cfg", "n2", operator_peer("p", "all()", "[fd00::1]:1179"), {}, {}},
      {"bad selector selects nothing", "n2", operator_peer("p", "rack = 'r1'", "10.0.9.1"), {}, {}},
      {"own address and port is ourselves", "n2", operator_peer("p", "all()", "10.0.0.10"), {}, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto in = four_nodes(c.self);
    in.peers = {c.peer};
    auto out = build_node_bird_config(in);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(names(out->node_peers), c.node_peers);
    EXPECT_EQ(names(out->global_peers), c.global_peers);
  }
}

TEST(NodeBirdConfigTest, PeerByNodeName) {
  auto in = four_nodes("n3");
  BgpPeer p = operator_peer("p", "", "10.0.9.1");
  p.node = "n3";
  in.peers = {p};
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(names(c->node_peers), std::vector<std::string>{"Node_10_0_9_1"});
  in.node_name = "n2";
  auto other = build_node_bird_config(in);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->node_peers.empty());
  EXPECT_TRUE(other->global_peers.empty());
}

TEST(NodeBirdConfigTest, PeerSessionDetails) {
  auto in = four_nodes("n2");
  BgpPeer plain = operator_peer("a", "all()", "10.0.9.1:1179", 64512);
  BgpPeer none = operator_peer("b", "all()", "10.0.9.2", 65009);
  none.source_address = "None";
  none.max_restart_seconds = 300;
  in.peers = {plain, none};
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok());
  const auto& a = session(c->node_peers, "Node_10_0_9_1_port_1179");
  EXPECT_EQ(a.neighbor, "10.0.9.1");
  EXPECT_EQ(a.port, 1179);
  EXPECT_EQ(a.as_number, 64512u);
  EXPECT_EQ(a.source_address, "10.0.0.10");
  EXPECT_FALSE(a.graceful_restart_seconds.has_value());
  EXPECT_FALSE(a.passive);
  EXPECT_TRUE(a.rr_cluster_id.empty());  // a plain node is never a reflector toward rr-operator's
  const auto& b = session(c->node_peers, "Node_10_0_9_2");
  EXPECT_FALSE(b.port.has_value());
  EXPECT_EQ(b.as_number, 65009u);
  EXPECT_EQ(b.source_address, "");
  EXPECT_EQ(b.graceful_restart_seconds, 300);
}

TEST(NodeBirdConfigTest, PasswordsComeFromSecretsOfCalicoNodesNamespace) {
  auto in = four_nodes("n2");
  BgpPeer p = operator_peer("p", "all()", "10.0.9.1:1179");
  p.password = SecretKeyRef{"bgp-secret", "password"};
  in.peers = {p};
  auto missing = build_node_bird_config(in);
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->node_peers.empty());
  ASSERT_EQ(missing->skipped.size(), 1u);
  EXPECT_NE(missing->skipped[0].find("bgp-secret"), std::string::npos);

  in.secrets[SecretKeyRef{"bgp-secret", "password"}] = "s3cret!";
  auto found = build_node_bird_config(in);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->node_peers.size(), 1u);
  EXPECT_EQ(found->node_peers[0].password, "s3cret!");

  in.secrets[SecretKeyRef{"bgp-secret", "password"}] = "zq\"zq";
  auto unusable = build_node_bird_config(in);
  ASSERT_TRUE(unusable.ok());
  EXPECT_TRUE(unusable->node_peers.empty());
  for (const auto& s : unusable->skipped) EXPECT_EQ(s.find("zq"), std::string::npos) << "a password leaked: " << s;
}

TEST(NodeBirdConfigTest, TwoPeersOneSessionFirstByNameWins) {
  auto in = four_nodes("n2");
  in.peers = {operator_peer("zz", "all()", "10.0.9.1", 65002), operator_peer("aa", "all()", "10.0.9.1", 65001)};
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->node_peers.size(), 1u);
  EXPECT_EQ(c->node_peers[0].as_number, 65001u);
  EXPECT_EQ(c->skipped.size(), 1u);
}

TEST(NodeBirdConfigTest, CalicoReflectorNodeGetsRrClient) {
  auto in = four_nodes("n2");
  in.nodes[1].rr_cluster_id = "224.0.0.7";
  in.peers = {operator_peer("p", "all()", "10.0.9.1"), operator_peer("q", "all()", "10.0.9.2", 65001)};
  auto c = build_node_bird_config(in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(session(c->node_peers, "Node_10_0_9_1").rr_cluster_id, "224.0.0.7");
  EXPECT_EQ(session(c->node_peers, "Node_10_0_9_2").rr_cluster_id, "");  // another AS
}

TEST(NodeBirdConfigTest, NodeWithoutAddressOrUnknownIsAnError) {
  auto in = four_nodes("n9");
  auto unknown = build_node_bird_config(in);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, kube::ErrorKind::NotFound);
  in.node_name = "n2";
  in.nodes[1].ipv4.clear();
  auto no_ip = build_node_bird_config(in);
  ASSERT_FALSE(no_ip.ok());
  EXPECT_NE(no_ip.error().message.find("projectcalico.org/IPv4Address"), std::string::npos);
}

TEST(NodeBirdConfigTest, PeerIpForms) {
  struct Case {
    const char* text;
    bool ok;
    std::string ip;
    std::optional<int> port;
    bool ipv6;
  };
  const std::vector<Case> cases = {
      {"10.0.0.1", true, "10.0.0.1", std::nullopt, false},
      {"10.0.0.1:1179", true, "10.0.0.1", 1179, false},
      {"[fd00::1]:1179", true, "fd00::1", 1179, true},
      {"fd00::1", true, "fd00::1", std::nullopt, true},
      {"10.0.0.1:", false, "", std::nullopt, false},
      {"10.0.0.1:70000", false, "", std::nullopt, false},
      {"[fd00::1]", false, "", std::nullopt, false},
      {"host:179", false, "", std::nullopt, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto p = parse_peer_ip(c.text);
    ASSERT_EQ(p.ok(), c.ok);
    if (!c.ok) continue;
    EXPECT_EQ(p->ip, c.ip);
    EXPECT_EQ(p->port, c.port);
    EXPECT_EQ(p->ipv6, c.ipv6);
  }
}

}  // namespace
}  // namespace rr::calico
