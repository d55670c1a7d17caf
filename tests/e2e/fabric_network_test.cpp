// The e2e fabric's network and its BGP speakers on their own, without the
// operator or the agents: what the dual-stack fabric test builds on. When that
// test fails, these say whether the fault is in the fabric under test or in
// the bench. IPv6 needs the namespaces (root): without root these fail, they
// do not skip.
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "fabric_harness.h"
#include "fabric_network.h"
#include "support/bird_speaker.h"
#include "support/eventually.h"

namespace {

using namespace rr::e2e;
using rr::testing::BirdSpeaker;
using rr::testing::eventually;
using rr::testing::SpeakerConfig;
using rr::testing::SpeakerPeer;

TEST(FabricNetworkDualStack, LoopbackNetworkOffersNoIpv6) {
  std::string why;
  auto network = FabricNetwork::create(NetworkMode::Loopback, &why);
  ASSERT_TRUE(network) << why;
  EXPECT_FALSE(network->supports_ipv6());
  EXPECT_EQ(network->node_ipv6(1, 3), "");
}

TEST(FabricNetworkDualStack, PeerIpFormsOfCalicoAreParsed) {
  struct Case {
    std::string name, peer_ip, address;
    int port;
  };
  for (const Case& c : {Case{"ipv4", "10.77.1.11", "10.77.1.11", 179},
                        Case{"ipv4 with port", "10.77.1.11:1179", "10.77.1.11", 1179},
                        Case{"ipv6", "fd77::1:11", "fd77::1:11", 179},
                        Case{"ipv6 with port", "[fd77::1:11]:1179", "fd77::1:11", 1179}}) {
    SCOPED_TRACE(c.name);
    const PeerEndpoint e = parse_peer_ip(c.peer_ip);
    EXPECT_EQ(e.address, c.address);
    EXPECT_EQ(e.port, c.port);
  }
}

// Two nodes on the bridge, each a stand-in announcing an IPv4 and an IPv6 pod CIDR over
// an IPv4 and an IPv6 session to the other: each learns both, the IPv6 one from the IPv6
// session with the other's IPv6 address as next hop, resolved on eth0.
TEST(FabricNetworkDualStack, StandInsExchangeIpv4AndIpv6PodCidrsWithOnLinkNextHops) {
  const std::string dir = "/tmp/rr-e2e/" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::string why;
  auto network = FabricNetwork::create(NetworkMode::Namespaces, &why);
  ASSERT_TRUE(network) << "IPv6 needs the network namespaces (root): " << why;
  ASSERT_TRUE(network->supports_ipv6());

  struct End {
    int rack, n;
    std::string name() const { return node_name(rack, n); }
  };
  const End ends[] = {{1, 3}, {2, 3}};
  for (const End& e : ends) ASSERT_TRUE(network->add_node(e.name(), e.rack, e.n, &why)) << why;
  std::unique_ptr<BirdSpeaker> speakers[2];
  for (int i = 0; i < 2; ++i) {
    const End& self = ends[i];
    const End& other = ends[1 - i];
    SpeakerConfig c;
    c.address = network->node_ip(self.rack, self.n);
    c.address_v6 = network->node_ipv6(self.rack, self.n);
    c.port = network->bgp_port();
    c.as_number = kAs;
    c.launcher = network->launcher(self.name());
    c.interface = network->interface();
    c.announce = {pod_cidr(self.rack, self.n), pod_cidr_v6(self.rack, self.n)};
    c.peers = {SpeakerPeer{"v4", network->node_ip(other.rack, other.n), network->bgp_port(), kAs, "", true},
               SpeakerPeer{"v6", network->node_ipv6(other.rack, other.n), network->bgp_port(), kAs, "", true}};
    speakers[i] = std::make_unique<BirdSpeaker>(dir + "/" + self.name(), c);
  }

  for (int i = 0; i < 2; ++i) {
    const End& other = ends[1 - i];
    const BirdSpeaker& s = *speakers[i];
    ASSERT_TRUE(eventually([&] { return s.route(pod_cidr_v6(other.rack, other.n)).has_value(); },
                           std::chrono::seconds(30)))
        << ends[i].name() << " never learned " << pod_cidr_v6(other.rack, other.n) << "\n"
        << s.birdc("show protocols all") << s.birdc("show route all");
    auto v6 = s.route(pod_cidr_v6(other.rack, other.n));
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->next_hop, network->node_ipv6(other.rack, other.n)) << "global only: the session is multihop (iBGP)";
    EXPECT_TRUE(v6->reachable) << "the IPv6 next hop resolves over eth0";
    EXPECT_EQ(s.session_state("v6"), "Established");
    ASSERT_TRUE(eventually([&] { return s.route(pod_cidr(other.rack, other.n)).has_value(); },
                           std::chrono::seconds(30)));
    auto v4 = s.route(pod_cidr(other.rack, other.n));
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->next_hop, network->node_ip(other.rack, other.n));
    EXPECT_TRUE(v4->reachable);
    // Each family over its own session.
    EXPECT_NE(s.birdc("show route " + pod_cidr_v6(other.rack, other.n)).find("[v6 "), std::string::npos);
    EXPECT_NE(s.birdc("show route " + pod_cidr(other.rack, other.n)).find("[v4 "), std::string::npos);
  }
  for (auto& s : speakers) s.reset();
  network.reset();
}

}  // namespace
