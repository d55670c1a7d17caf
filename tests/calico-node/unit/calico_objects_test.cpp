#include <gtest/gtest.h>

#include "confd/calico_objects.h"

namespace rr::calico {
namespace {

using kube::Json;

Json node_json(Json annotations, Json addresses, const std::string& pod_cidr = "10.1.0.0/24") {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", "n1"}, {"labels", {{"rack", "r1"}}}, {"annotations", annotations}}},
          {"spec", {{"podCIDR", pod_cidr}}},
          {"status", {{"addresses", addresses}}}};
}

TEST(CalicoObjectsTest, NodeAddressFromTheAnnotationElseTheInternalIP) {
  const Json addresses = Json::array({{{"type", "Hostname"}, {"address", "n1"}},
                                      {{"type", "InternalIP"}, {"address", "fd00::5"}},
                                      {{"type", "InternalIP"}, {"address", "192.168.0.5"}}});
  auto annotated = node_from_json(node_json({{"projectcalico.org/IPv4Address", "10.0.0.5/24"}}, addresses));
  ASSERT_TRUE(annotated.ok()) << annotated.error().message;
  EXPECT_EQ(annotated->ipv4, "10.0.0.5");
  EXPECT_TRUE(annotated->registered);
  EXPECT_EQ(annotated->pod_cidr, "10.1.0.0/24");
  EXPECT_EQ(annotated->labels.at("rack"), "r1");

  auto plain = node_from_json(node_json(Json::object(), addresses));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->ipv4, "192.168.0.5");
  EXPECT_FALSE(plain->registered);

  auto none = node_from_json(node_json(Json::object(), Json::array()));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->ipv4, "");
}

TEST(CalicoObjectsTest, NodeAnnotationsParsed) {
  auto n = node_from_json(node_json({{"projectcalico.org/ASNumber", "65001"},
                                     {"projectcalico.org/RouteReflectorClusterID", "224.0.0.1"},
                                     {"projectcalico.org/IPv4Address", "10.0.0.5"}},
                                    Json::array()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->as_number, 65001u);
  EXPECT_EQ(n->rr_cluster_id, "224.0.0.1");
  auto bad = node_from_json(node_json({{"projectcalico.org/IPv4Address", "ten"}}, Json::array()));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("projectcalico.org/IPv4Address"), std::string::npos);
  auto bad_as = node_from_json(node_json({{"projectcalico.org/ASNumber", "6x"}}, Json::array()));
  ASSERT_FALSE(bad_as.ok());
  EXPECT_NE(bad_as.error().message.find("projectcalico.org/ASNumber"), std::string::npos);
}

Json peer_json(Json spec) {
  return {{"apiVersion", "crd.projectcalico.org/v1"}, {"kind", "BGPPeer"}, {"metadata", {{"name", "p"}}}, {"spec", spec}};
}

TEST(CalicoObjectsTest, PeerAsTheOperatorWritesIt) {
  auto p = bgp_peer_from_json(peer_json({{"nodeSelector", "rack == 'r1'"},
                                         {"peerIP", "10.0.0.9:1179"},
                                         {"asNumber", 64512},
                                         {"password", {{"secretKeyRef", {{"name", "bgp"}, {"key", "pw"}}}}},
                                         {"maxRestartTime", "2m30s"}}));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->node_selector, "rack == 'r1'");
  EXPECT_EQ(p->peer_ip, "10.0.0.9:1179");
  EXPECT_EQ(p->as_number, 64512u);
  ASSERT_TRUE(p->password.has_value());
  EXPECT_EQ(p->password->name, "bgp");
  EXPECT_EQ(p->password->key, "pw");
  EXPECT_EQ(p->max_restart_seconds, 150);
}

TEST(CalicoObjectsTest, BadPeersNameTheField) {
  struct Case {
    const char* name;
    Json spec;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"as number missing", {{"peerIP", "10.0.0.1"}}, "spec.asNumber"},
      {"as number a string", {{"peerIP", "10.0.0.1"}, {"asNumber", "x"}}, "spec.asNumber"},
      {"password without key", {{"password", {{"secretKeyRef", {{"name", "s"}}}}}}, "spec.password.secretKeyRef.key"},
      {"source address", {{"sourceAddress", "Elsewhere"}}, "spec.sourceAddress"},
      {"restart time", {{"maxRestartTime", "soon"}}, "spec.maxRestartTime"},
      {"node and selector", {{"node", "n1"}, {"nodeSelector", "all()"}}, "spec.node"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto p = bgp_peer_from_json(peer_json(c.spec));
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message.find(c.field), std::string::npos) << p.error().message;
    EXPECT_NE(p.error().message.find("BGPPeer p"), std::string::npos) << p.error().message;
  }
}

TEST(CalicoObjectsTest, Configuration) {
  auto c = bgp_configuration_from_json({{"metadata", {{"name", "default"}}},
                                        {"spec",
                                         {{"nodeToNodeMeshEnabled", false},
                                          {"asNumber", 65000},
                                          {"listenPort", 1179},
                                          {"bindMode", "NodeIP"},
                                          {"nodeMeshMaxRestartTime", "90s"}}}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->node_to_node_mesh, false);
  EXPECT_EQ(c->as_number, 65000u);
  EXPECT_EQ(c->listen_port, 1179);
  EXPECT_EQ(c->bind_mode, "NodeIP");
  EXPECT_EQ(c->node_mesh_max_restart_seconds, 90);
  auto empty = bgp_configuration_from_json({{"metadata", {{"name", "default"}}}, {"spec", Json::object()}});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->node_to_node_mesh.has_value());
  auto bad = bgp_configuration_from_json({{"metadata", {{"name", "default"}}}, {"spec", {{"listenPort", 0}}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("spec.listenPort"), std::string::npos);
}

TEST(CalicoObjectsTest, Durations) {
  EXPECT_EQ(*duration_seconds("120s"), 120);
  EXPECT_EQ(*duration_seconds("2m"), 120);
  EXPECT_EQ(*duration_seconds("1h1m1s"), 3661);
  EXPECT_EQ(*duration_seconds("1500ms"), 1);
  EXPECT_FALSE(duration_seconds("120").ok());
  EXPECT_FALSE(duration_seconds("").ok());
  EXPECT_FALSE(duration_seconds("-1s").ok());
}

}  // namespace
}  // namespace rr::calico
