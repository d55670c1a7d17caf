#include "agent/config_builder.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bird/config_renderer.h"
#include "bird/config_validator.h"
#include "fakes/real_bird.h"

namespace rr::agent {
namespace {

using bird::Peer;
using bird::PeerRole;

const std::string kRackLabel = "topology.kubernetes.io/rack";

contract::NodeInfo node(std::string name, std::string rack, std::string internal_ip) {
  contract::NodeInfo n;
  n.name = std::move(name);
  n.ready = true;
  if (!rack.empty()) n.labels[kRackLabel] = std::move(rack);
  n.internal_ip = std::move(internal_ip);
  return n;
}

// A node as the informer's cache shares it.
std::shared_ptr<const contract::NodeInfo> shared(contract::NodeInfo n) {
  return std::make_shared<const contract::NodeInfo>(std::move(n));
}

// Node i of `in`, replaced by a copy the test may change (the cache's values are immutable).
contract::NodeInfo& edit(AgentInputs& in, size_t i) {
  auto copy = std::make_shared<contract::NodeInfo>(*in.nodes.at(i));
  in.nodes[i] = copy;
  return *copy;
}

contract::ReflectorLease lease(std::string pod, std::string address, int port = 179, std::string rack = "r1") {
  contract::ReflectorLease l;
  l.name = std::move(pod);
  l.address = std::move(address);
  l.port = port;
  l.rack = std::move(rack);
  return l;
}

contract::ExternalPeer external(std::string name, std::string address, std::uint32_t as,
                               std::vector<std::string> racks = {}) {
  contract::ExternalPeer p;
  p.name = std::move(name);
  p.address = std::move(address);
  p.as_number = as;
  p.racks = std::move(racks);
  return p;
}

// Reflector rr-fab-r1-0 on node-1 (10.0.0.1) in rack r1 of fabric "fab".
AgentInputs inputs() {
  AgentInputs in;
  in.self.pod = "rr-fab-r1-0";
  in.self.ns = "rr-system";
  in.self.node = "node-1";
  in.self.fabric = "fab";
  in.self.rack = "r1";
  in.self.cluster_id = "10.255.0.1";
  in.self.address = "10.0.0.1";
  in.spec.name = "fab";
  in.spec.as_number = 64512;
  in.nodes = {shared(node("node-1", "r1", "10.0.0.1")), shared(node("node-2", "r1", "10.0.0.2")),
              shared(node("node-3", "r1", "10.0.0.3"))};
  return in;
}

std::vector<std::string> names(const BuildResult& r, PeerRole role) {
  std::vector<std::string> out;
  for (const Peer& p : r.config.peers) {
    if (p.role == role) out.push_back(p.name);
  }
  return out;
}

const Peer* find_peer(const BuildResult& r, PeerRole role, const std::string& name) {
  for (const Peer& p : r.config.peers) {
    if (p.role == role && p.name == name) return &p;
  }
  return nullptr;
}

bool has_warning(const BuildResult& r, const std::string& text) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

BuildResult build_ok(const AgentInputs& in) {
  auto r = build_reflector_config(in);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().describe();
    return {};
  }
  return std::move(r).value();
}

TEST(ConfigBuilder, ReflectorSettingsComeFromIdentityAndSpec) {
  AgentInputs in = inputs();
  in.self.port = 1179;
  in.spec.as_number = 65010;
  in.spec.bgp.hold_time_seconds = 9;
  in.spec.bgp.keepalive_seconds = 3;
  in.spec.bgp.graceful_restart = false;
  BuildResult r = build_ok(in);
  EXPECT_EQ(r.config.router_id, "250.0.0.1") << "never the host address: calico-node's router ID";
  EXPECT_EQ(r.config.cluster_id, "10.255.0.1");
  EXPECT_EQ(r.config.listen_address, "10.0.0.1");
  EXPECT_EQ(r.config.listen_port, 1179);
  EXPECT_EQ(r.config.as_number, 65010u);
  EXPECT_EQ(r.config.timers.hold_seconds, 9);
  EXPECT_EQ(r.config.timers.keepalive_seconds, 3);
  EXPECT_FALSE(r.config.graceful_restart);
  EXPECT_TRUE(r.config.ipv4);
  EXPECT_FALSE(r.config.ipv6);
  EXPECT_EQ(r.config.listen_address_v6, "");
  EXPECT_TRUE(r.warnings.empty());
}

TEST(ConfigBuilder, ClientsAreTheReadyNodesOfTheRackTheFabricSelects) {
  struct Case {
    std::string name;
    std::function<void(AgentInputs&)> change;
    std::vector<std::string> clients;
  };
  const std::vector<Case> cases = {
      {"rack nodes except own host", [](AgentInputs&) {}, {"node-2", "node-3"}},
      {"other rack",
       [](AgentInputs& in) { in.nodes.push_back(shared(node("node-9", "r2", "10.0.9.9"))); },
       {"node-2", "node-3"}},
      {"no rack label",
       [](AgentInputs& in) { in.nodes.push_back(shared(node("node-9", "", "10.0.9.9"))); },
       {"node-2", "node-3"}},
      {"not ready",
       [](AgentInputs& in) { edit(in, 1).ready = false; },
       {"node-3"}},
      {"selector",
       [](AgentInputs& in) {
         in.spec.node_selector = {{"bgp", "on"}};
         edit(in, 2).labels["bgp"] = "on";
       },
       {"node-3"}},
      {"own host included in Colocated: its calico-node on 179, the reflector on 1179",
       [](AgentInputs& in) {
         in.spec.placement = contract::Placement::Colocated;
         in.self.port = 1179;
       },
       {"node-1", "node-2", "node-3"}},
      {"custom rack label",
       [](AgentInputs& in) {
         in.spec.rack_label = "rack";
         edit(in, 2).labels["rack"] = "r1";
       },
       {"node-3"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    AgentInputs in = inputs();
    c.change(in);
    BuildResult r = build_ok(in);
    EXPECT_EQ(names(r, PeerRole::Client), c.clients);
    if (in.spec.placement == contract::Placement::Dedicated) {
      for (const Peer& p : r.config.peers) EXPECT_NE(p.name, "node-1") << "a Dedicated host runs no calico-node BGP";
    }
  }
}

TEST(ConfigBuilder, ClientAddressPrefersCalicoAnnotation) {
  struct Case {
    std::string name;
    std::string bgp_ipv4;
    std::string internal_ip;
    std::string address;  // "" = skipped
    std::string warning;
  };
  const std::vector<Case> cases = {
      {"annotation wins", "10.1.0.2", "10.0.0.2", "10.1.0.2", ""},
      {"internal ip fallback", "", "10.0.0.2", "10.0.0.2", ""},
      {"malformed annotation", "10.1.0", "10.0.0.2", "10.0.0.2", "is not an IPv4 address; using its InternalIP"},
      {"neither", "", "", "", "client \"node-2\" skipped: no BGP address"},
      {"ipv6 internal ip only", "", "fd00::2", "", "client \"node-2\" skipped: no BGP address"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    AgentInputs in = inputs();
    edit(in, 1).bgp_ipv4 = c.bgp_ipv4;
    edit(in, 1).internal_ip = c.internal_ip;
    BuildResult r = build_ok(in);
    const Peer* p = find_peer(r, PeerRole::Client, "node-2");
    if (c.address.empty()) {
      EXPECT_EQ(p, nullptr);
    } else {
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(p->address, c.address);
      EXPECT_EQ(p->port, 179);
      EXPECT_EQ(p->as_number, 64512u);
    }
    if (c.warning.empty()) {
      EXPECT_TRUE(r.warnings.empty());
    } else {
      EXPECT_TRUE(has_warning(r, c.warning)) << ::testing::PrintToString(r.warnings);
    }
  }
}

TEST(ConfigBuilder, ColocatedOwnHostOnTheSamePortIsSkipped) {
  AgentInputs in = inputs();
  in.spec.placement = contract::Placement::Colocated;
  in.self.port = 179;  // the operator refuses this spec; the builder still never peers with itself
  BuildResult r = build_ok(in);
  EXPECT_EQ(names(r, PeerRole::Client), (std::vector<std::string>{"node-2", "node-3"}));
  EXPECT_TRUE(has_warning(r, "is this reflector's own address"));
}

// Colocated on a real cluster: node-2's calico-node (client) and node-2's reflector (mesh) both
// connect from 10.0.0.2, and BIRD told them apart by local port only; on one port the sessions
// flapped "Connection closed". Reflectors now mesh one port up.
TEST(ConfigBuilder, ColocatedReflectorsMeshOnePortUp) {
  AgentInputs in = inputs();
  in.spec.placement = contract::Placement::Colocated;
  in.self.port = 1179;
  in.mesh = {lease("rr-fab-r1-0", "10.0.0.1", 1179), lease("rr-fab-r1-1", "10.0.0.2", 1179)};
  BuildResult r = build_ok(in);
  EXPECT_EQ(r.config.listen_port, 1179);
  EXPECT_EQ(r.config.mesh_port, 1180);
  std::map<std::string, std::pair<std::string, int>> endpoints;
  for (const Peer& p : r.config.peers) endpoints[p.name] = {p.address, p.port};
  EXPECT_EQ(endpoints["rr-fab-r1-1"], std::make_pair(std::string("10.0.0.2"), 1180)) << "mesh: one port up";
  EXPECT_EQ(endpoints["node-2"], std::make_pair(std::string("10.0.0.2"), 179)) << "the host's calico-node";
  EXPECT_EQ(endpoints["node-1"], std::make_pair(std::string("10.0.0.1"), 179)) << "its own host's calico-node";
  EXPECT_EQ(endpoints.count("rr-fab-r1-0"), 0u) << "never itself";

  in.spec.placement = contract::Placement::Dedicated;
  in.self.port = 179;
  in.mesh = {lease("rr-fab-r1-1", "10.0.0.2", 179)};
  r = build_ok(in);
  EXPECT_EQ(r.config.mesh_port, 0) << "Dedicated hosts run no calico-node: one port";
  for (const Peer& p : r.config.peers) {
    if (p.role == PeerRole::Mesh) {
      EXPECT_EQ(p.port, 179);
    }
  }
}

TEST(ConfigBuilder, RouterIdIsTheHostAddressMovedInto240Slash4) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"10.0.0.1", "250.0.0.1"},     {"10.0.3.7", "250.0.3.7"},       {"172.16.5.9", "252.16.5.9"},
      {"192.168.1.2", "240.168.1.2"}, {"127.120.1.1", "255.120.1.1"}, {"0.0.0.1", "240.0.0.1"},
      {"fd00::1", "fd00::1"}};
  for (const auto& [host, id] : cases) EXPECT_EQ(reflector_router_id(host), id) << host;
  // Distinct hosts of a cluster network, distinct IDs; none is a host address.
  EXPECT_NE(reflector_router_id("10.0.0.1"), reflector_router_id("172.16.0.1"));
  EXPECT_NE(reflector_router_id("10.0.0.1"), reflector_router_id("192.168.0.1"));
}

TEST(ConfigBuilder, ClientPortIsAParameter) {
  AgentInputs in = inputs();
  in.client_port = 1179;
  BuildResult r = build_ok(in);
  for (const Peer& p : r.config.peers) EXPECT_EQ(p.port, 1179);
}

TEST(ConfigBuilder, DuplicateClientAddressKeepsTheFirstByName) {
  AgentInputs in = inputs();
  edit(in, 2).internal_ip = "10.0.0.2";
  BuildResult r = build_ok(in);
  EXPECT_EQ(names(r, PeerRole::Client), std::vector<std::string>{"node-2"});
  EXPECT_TRUE(has_warning(r, "client \"node-3\" skipped: 10.0.0.2 port 179 is already client \"node-2\""));
}

TEST(ConfigBuilder, MeshIsEveryOtherLease) {
  AgentInputs in = inputs();
  in.mesh = {lease("rr-fab-r1-0", "10.0.0.1"), lease("rr-fab-r1-1", "10.0.0.5"),
             lease("rr-fab-r2-0", "10.0.1.5", 1179, "r2"), lease("rr-fab-r3-0", "", 179, "r3")};
  in.spec.bgp.password = contract::SecretKeyRef{"bgp", "password"};
  in.secrets["bgp/password"] = "s3cret";
  BuildResult r = build_ok(in);
  EXPECT_EQ(names(r, PeerRole::Mesh), (std::vector<std::string>{"rr-fab-r1-1", "rr-fab-r2-0"}));
  const Peer* other_rack = find_peer(r, PeerRole::Mesh, "rr-fab-r2-0");
  ASSERT_NE(other_rack, nullptr);
  EXPECT_EQ(other_rack->address, "10.0.1.5");
  EXPECT_EQ(other_rack->port, 1179);
  EXPECT_EQ(other_rack->as_number, 64512u);
  EXPECT_EQ(other_rack->password, "s3cret");
  EXPECT_TRUE(has_warning(r, "mesh peer \"rr-fab-r3-0\" skipped: its Lease has no address"));
}

TEST(ConfigBuilder, MeshWinsOverAClientAtTheSameEndpoint) {
  // Dedicated placement: node-2 hosts the rack's other reflector on port 179.
  AgentInputs in = inputs();
  in.mesh = {lease("rr-fab-r1-1", "10.0.0.2")};
  BuildResult r = build_ok(in);
  EXPECT_EQ(names(r, PeerRole::Mesh), std::vector<std::string>{"rr-fab-r1-1"});
  EXPECT_EQ(names(r, PeerRole::Client), std::vector<std::string>{"node-3"});
  EXPECT_TRUE(has_warning(r, "client \"node-2\" skipped"));
}

TEST(ConfigBuilder, LeaseAtOwnEndpointIsSkipped) {
  // A previous Pod of this slot on the same host, whose Lease has not lapsed yet.
  AgentInputs in = inputs();
  in.mesh = {lease("rr-fab-r1-0-old", "10.0.0.1")};
  BuildResult r = build_ok(in);
  EXPECT_TRUE(names(r, PeerRole::Mesh).empty());
  EXPECT_TRUE(has_warning(r, "is this reflector's own address"));
}

TEST(ConfigBuilder, ExternalPeersByRackAndAs) {
  AgentInputs in = inputs();
  in.spec.external_peers = {external("edge-all", "192.0.2.1", 65000), external("edge-r1", "192.0.2.2", 65001, {"r1"}),
                            external("edge-r2", "192.0.2.3", 65002, {"r2"}),
                            external("tor-ibgp", "192.0.2.4", 64512, {"r2", "r1"})};
  in.spec.external_peers[1].multihop = false;
  in.spec.external_peers[1].port = 1790;
  BuildResult r = build_ok(in);
  EXPECT_EQ(names(r, PeerRole::External), (std::vector<std::string>{"edge-all", "edge-r1", "tor-ibgp"}));
  const Peer* ebgp = find_peer(r, PeerRole::External, "edge-r1");
  ASSERT_NE(ebgp, nullptr);
  EXPECT_EQ(ebgp->as_number, 65001u);
  EXPECT_FALSE(ebgp->multihop);
  EXPECT_EQ(ebgp->port, 1790);
  EXPECT_FALSE(ebgp->rr_client);
  EXPECT_FALSE(ebgp->export_prefixes) << "no exportPrefixes: the fabric's own routes";
  const Peer* ibgp = find_peer(r, PeerRole::External, "tor-ibgp");
  ASSERT_NE(ibgp, nullptr);
  EXPECT_EQ(ibgp->as_number, 64512u);
  EXPECT_TRUE(ibgp->rr_client) << "an iBGP external peer is a route-reflector client";
  // The renderer makes eBGP from the AS difference.
  const std::string text = bird::render_bird_config(r.config);
  EXPECT_NE(text.find("neighbor 192.0.2.2 port 1790 as 65001;"), std::string::npos) << text;
  EXPECT_NE(text.find("neighbor 192.0.2.4 port 179 as 64512;"), std::string::npos) << text;
}

TEST(ConfigBuilder, ExternalPeerClientFlagAndExportPrefixes) {
  AgentInputs in = inputs();
  in.spec.external_peers = {external("edge", "192.0.2.1", 65000), external("tor", "192.0.2.4", 64512)};
  in.spec.external_peers[0].export_prefixes =
      std::vector<contract::ExportPrefix>{{"10.244.0.0/16", 26}, {"fd00:10::/48", 128}};
  in.spec.external_peers[1].reflector_client = false;
  BuildResult r = build_ok(in);
  const Peer* edge = find_peer(r, PeerRole::External, "edge");
  ASSERT_NE(edge, nullptr);
  ASSERT_TRUE(edge->export_prefixes);
  EXPECT_EQ(*edge->export_prefixes,
            (std::vector<bird::ExportPrefix>{{"10.244.0.0/16", 26}, {"fd00:10::/48", 128}}));
  const Peer* tor = find_peer(r, PeerRole::External, "tor");
  ASSERT_NE(tor, nullptr);
  EXPECT_FALSE(tor->rr_client) << "reflectorClient: false keeps an iBGP peer a non-client";
  const std::string text = bird::render_bird_config(r.config);
  EXPECT_NE(text.find("export where bgp_path.len = 0 && net ~ [ 10.244.0.0/16{16,26} ];"), std::string::npos)
      << text;
}

TEST(ConfigBuilder, Passwords) {
  struct Case {
    std::string name;
    std::function<void(AgentInputs&)> change;
    std::string error;  // "" = builds
  };
  const std::vector<Case> cases = {
      {"fabric password present",
       [](AgentInputs& in) {
         in.spec.bgp.password = contract::SecretKeyRef{"bgp", "password"};
         in.secrets["bgp/password"] = "s3cret";
       },
       ""},
      {"fabric secret missing",
       [](AgentInputs& in) { in.spec.bgp.password = contract::SecretKeyRef{"bgp", "password"}; },
       "spec.bgp.passwordSecretRef: Secret rr-system/bgp has no key \"password\""},
      {"fabric secret other key only",
       [](AgentInputs& in) {
         in.spec.bgp.password = contract::SecretKeyRef{"bgp", "password"};
         in.secrets["bgp/other"] = "s3cret";
       },
       "Secret rr-system/bgp has no key \"password\""},
      {"fabric password with newline",
       [](AgentInputs& in) {
         in.spec.bgp.password = contract::SecretKeyRef{"bgp", "password"};
         in.secrets["bgp/password"] = "s3cret\n";
       },
       "key \"password\" is not a usable BGP password"},
      {"external secret missing",
       [](AgentInputs& in) {
         in.spec.external_peers = {external("edge", "192.0.2.1", 65000)};
         in.spec.external_peers[0].password = contract::SecretKeyRef{"edge", "md5"};
       },
       "spec.externalPeers[0].passwordSecretRef: Secret rr-system/edge has no key \"md5\""},
      {"external secret of another rack's peer is not needed",
       [](AgentInputs& in) {
         in.spec.external_peers = {external("edge", "192.0.2.1", 65000, {"r2"})};
         in.spec.external_peers[0].password = contract::SecretKeyRef{"edge", "md5"};
       },
       ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    AgentInputs in = inputs();
    in.mesh = {lease("rr-fab-r1-1", "10.0.0.5")};
    in.spec.ns = "rr-system";
    c.change(in);
    auto r = build_reflector_config(in);
    if (!c.error.empty()) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().kind, kube::ErrorKind::BadConfig);
      EXPECT_NE(r.error().message.find(c.error), std::string::npos) << r.error().message;
      EXPECT_EQ(r.error().message.find("s3cret"), std::string::npos) << "never the value";
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.error().describe();
    for (const Peer& p : r->config.peers) {
      if (p.role == PeerRole::External) continue;
      EXPECT_EQ(p.password, in.spec.bgp.password ? std::optional<std::string>("s3cret") : std::nullopt) << p.name;
    }
  }
}

TEST(ConfigBuilder, ExternalPasswordComesFromItsOwnSecret) {
  AgentInputs in = inputs();
  in.spec.bgp.password = contract::SecretKeyRef{"bgp", "password"};
  in.secrets["bgp/password"] = "fabric-pw";
  in.spec.external_peers = {external("edge", "192.0.2.1", 65000), external("plain", "192.0.2.2", 65000)};
  in.spec.external_peers[0].password = contract::SecretKeyRef{"edge", "md5"};
  in.secrets["edge/md5"] = "edge-pw";
  BuildResult r = build_ok(in);
  EXPECT_EQ(find_peer(r, PeerRole::External, "edge")->password, "edge-pw");
  EXPECT_EQ(find_peer(r, PeerRole::External, "plain")->password, std::nullopt);
  EXPECT_EQ(find_peer(r, PeerRole::Client, "node-2")->password, "fabric-pw");
}

TEST(ConfigBuilder, Ipv6Clients) {
  AgentInputs in = inputs();
  in.spec.bgp.ipv6 = true;
  in.self.address_v6 = "fd00::1";
  edit(in, 1).bgp_ipv6 = "fd00::2";
  // IPv6-only node, as api::node_info_from reads it: its InternalIP serves the IPv6 session.
  edit(in, 2).internal_ip = "fd00::3";
  edit(in, 2).internal_ipv6 = "fd00::3";
  in.nodes.push_back(shared(node("node-4", "r1", "10.0.0.4")));
  // Dual stack without Calico's annotation: the kubelet's IPv6 InternalIP beside the IPv4 one.
  contract::NodeInfo dual = node("node-5", "r1", "10.0.0.5");
  dual.internal_ipv6 = "fd00::5";
  in.nodes.push_back(shared(dual));
  BuildResult r = build_ok(in);
  EXPECT_TRUE(r.config.ipv6);
  EXPECT_EQ(r.config.listen_address_v6, "fd00::1");
  EXPECT_EQ(names(r, PeerRole::Client),
            (std::vector<std::string>{"node-2", "node-2/v6", "node-3/v6", "node-4", "node-5", "node-5/v6"}));
  EXPECT_EQ(find_peer(r, PeerRole::Client, "node-2/v6")->address, "fd00::2");
  EXPECT_EQ(find_peer(r, PeerRole::Client, "node-3/v6")->address, "fd00::3");
  EXPECT_EQ(find_peer(r, PeerRole::Client, "node-5/v6")->address, "fd00::5");
  EXPECT_NE(bird::protocol_name(PeerRole::Client, "node-2"), bird::protocol_name(PeerRole::Client, "node-2/v6"));
  EXPECT_TRUE(r.warnings.empty()) << ::testing::PrintToString(r.warnings);
}

// IPv6 routes cross racks on IPv6 mesh sessions, to the address each reflector's Lease
// publishes (rr.bgp.dev/address-v6), on the same port as its IPv4 one.
TEST(ConfigBuilder, Ipv6MeshReachesTheOtherReflectorsIpv6Addresses) {
  AgentInputs in = inputs();
  in.spec.bgp.ipv6 = true;
  in.self.address_v6 = "fd00::1";
  auto v6 = [](contract::ReflectorLease l, std::string address) {
    l.address_v6 = std::move(address);
    return l;
  };
  in.mesh = {v6(lease("rr-fab-r1-0", "10.0.0.1"), "fd00::1"), v6(lease("rr-fab-r2-0", "10.0.1.5", 1179, "r2"), "fd00:1::5"),
             lease("rr-fab-r3-0", "10.0.2.5", 179, "r3")};
  BuildResult r = build_ok(in);
  EXPECT_EQ(names(r, PeerRole::Mesh), (std::vector<std::string>{"rr-fab-r2-0", "rr-fab-r2-0/v6", "rr-fab-r3-0"}));
  const Peer* mesh6 = find_peer(r, PeerRole::Mesh, "rr-fab-r2-0/v6");
  ASSERT_NE(mesh6, nullptr);
  EXPECT_EQ(mesh6->address, "fd00:1::5");
  EXPECT_EQ(mesh6->port, 1179);

  in.spec.bgp.ipv6 = false;  // single stack: the published IPv6 addresses are not used
  r = build_ok(in);
  EXPECT_EQ(names(r, PeerRole::Mesh), (std::vector<std::string>{"rr-fab-r2-0", "rr-fab-r3-0"}));
}

TEST(ConfigBuilder, Ipv6SessionsNeedAnIpv6HostAddress) {
  AgentInputs in = inputs();
  in.spec.bgp.ipv6 = true;
  edit(in, 1).bgp_ipv6 = "fd00::2";
  in.spec.external_peers = {external("edge6", "2001:db8::1", 65000)};
  BuildResult r = build_ok(in);
  EXPECT_EQ(names(r, PeerRole::Client), (std::vector<std::string>{"node-2", "node-3"}));
  EXPECT_TRUE(names(r, PeerRole::External).empty());
  EXPECT_TRUE(has_warning(r, "1 IPv6 client session(s) skipped"));
  EXPECT_TRUE(has_warning(r, "external peer \"edge6\" skipped: this reflector has no IPv6 sessions"));
}

TEST(ConfigBuilder, Ipv6OffIgnoresIpv6Addresses) {
  AgentInputs in = inputs();
  in.self.address_v6 = "fd00::1";
  edit(in, 1).bgp_ipv6 = "fd00::2";
  BuildResult r = build_ok(in);
  EXPECT_FALSE(r.config.ipv6);
  EXPECT_EQ(r.config.listen_address_v6, "");
  EXPECT_EQ(names(r, PeerRole::Client), (std::vector<std::string>{"node-2", "node-3"}));
}

TEST(ConfigBuilder, PeersAreSortedWhateverTheInputOrder) {
  AgentInputs in = inputs();
  in.mesh = {lease("rr-b", "10.0.1.2"), lease("rr-a", "10.0.1.1")};
  in.spec.external_peers = {external("z-edge", "192.0.2.9", 65000), external("a-edge", "192.0.2.8", 65000)};
  std::reverse(in.nodes.begin(), in.nodes.end());
  BuildResult forward = build_ok(in);
  std::reverse(in.nodes.begin(), in.nodes.end());
  std::reverse(in.mesh.begin(), in.mesh.end());
  BuildResult backward = build_ok(in);
  std::vector<std::string> order;
  for (const Peer& p : forward.config.peers) order.push_back(p.name);
  EXPECT_EQ(order, (std::vector<std::string>{"node-2", "node-3", "rr-a", "rr-b", "a-edge", "z-edge"}));
  EXPECT_EQ(bird::render_bird_config(forward.config), bird::render_bird_config(backward.config));
}

TEST(ConfigBuilder, MalformedIdentityIsInvalid) {
  AgentInputs in = inputs();
  in.self.cluster_id = "rack-1";
  auto r = build_reflector_config(in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, kube::ErrorKind::Invalid);
  EXPECT_NE(r.error().message.find("cluster id"), std::string::npos) << r.error().message;
}

TEST(ConfigBuilder, RealBirdAcceptsTheResult) {
  AgentInputs in = inputs();
  in.spec.bgp.ipv6 = true;
  in.self.address_v6 = "fd00::1";
  edit(in, 1).bgp_ipv6 = "fd00::2";
  in.mesh = {lease("rr-fab-r2-0", "10.0.1.5", 1179, "r2")};
  in.spec.external_peers = {external("edge", "192.0.2.1", 65000)};
  in.spec.external_peers[0].password = contract::SecretKeyRef{"edge", "md5"};
  in.secrets["edge/md5"] = "edge-pw";
  BuildResult r = build_ok(in);
  const kube::testing::TempDir scratch("rr-config-builder-check");
  bird::BirdValidatorOptions options;
  options.scratch_dir = scratch.path();
  const kube::Status parsed = bird::check_with_bird(bird::render_bird_config(r.config), options);
  EXPECT_TRUE(parsed.ok()) << parsed.error().describe();
}

}  // namespace
}  // namespace rr::agent
