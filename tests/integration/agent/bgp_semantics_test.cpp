// What the reflector's BGP means, proven with real BGP: rr-agent and real BIRD 2
// as reflectors, real BIRD speakers as Calico nodes and routers, the real
// kube-apiserver as the only input (as in reflection_test.cpp, on 127.x
// addresses, no root needed).
//
//  - An iBGP external peer is a route-reflector client of its racks'
//    reflectors: its routes reach every rack.
//  - Colocated placement: a host's calico-node peers with the reflector on the
//    same host (same address, another port); the reflector's router ID is not
//    the host address, so BIRD accepts the session.
//  - eBGP peers get the fabric's own routes only (never what another eBGP peer
//    announced), limited to `exportPrefixes` when set.
//  - Tiers (spec.topTier): a route crosses rack, zone, zone and rack reflectors with each one's
//    cluster ID in its CLUSTER_LIST and its ORIGINATOR_ID unchanged; losing a top-tier
//    reflector loses no route; a running fabric goes from flat to tiered and back with every
//    route present at every poll.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <filesystem>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "bird/config_renderer.h"
#include "support/api_types.h"
#include "support/bird_speaker.h"
#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/loopback_octet.h"
#include "support/process.h"
#include "support/reflector_simulator.h"
#include "support/short_temp_dir.h"

namespace {

using kube::Json;
using rr::testing::BirdSpeaker;
using rr::testing::ChildProcess;
using rr::testing::eventually;
using rr::testing::kFabrics;
using rr::testing::SpeakerConfig;
using rr::testing::SpeakerPeer;

constexpr int kNodePort = 12179;    // calico-node's BGP port in these tests (179 in a cluster)
constexpr int kRrPort = 12180;  // the reflectors' port when they share hosts with calico-node

class BgpSemanticsIT : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    ASSERT_TRUE(client_);
    cp_->install_crds(/*with_calico=*/false);
    ns_ = cp_->create_namespace(*client_, "sem");
    octet_ = loopback_.value();  // this test's own 127.N.x.y addresses
    ASSERT_NE(octet_, 0) << "every 127.N of /tmp/rr-loopback-octets is taken";
    tag_ = ns_;
    dir_ = cp_->dir() + "/logs/sem-" + tag_;
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    agents_.clear();
    speakers_.clear();
    (void)client_->remove(kFabrics, "", fabric(), {});
    kube::ListOptions lo;
    lo.label_selector = "e2e=" + tag_;
    if (auto nodes = client_->list(kube::resources::nodes(), "", lo); nodes.ok()) {
      for (const auto& n : nodes->items) (void)client_->remove(kube::resources::nodes(), "", kube::name_of(n), {});
    }
  }

  std::string ip(int rack, int host) const {
    return "127." + std::to_string(octet_) + "." + std::to_string(rack) + "." + std::to_string(host);
  }
  std::string fabric() const { return "sem-" + tag_; }
  std::string prefix(int i) const { return "10." + std::to_string(octet_) + "." + std::to_string(i) + ".0/24"; }

  void CreateFabric(int reflector_port, Json extra_spec = Json::object()) {
    Json spec = {{"namespace", ns_},
                 {"nodeSelector", {{"e2e", tag_}}},
                 {"reflectors", {{"port", reflector_port}}},
                 {"lease", {{"durationSeconds", 6}}},
                 {"bgp", {{"holdTimeSeconds", 9}, {"keepaliveSeconds", 3}}}};
    spec.merge_patch(extra_spec);
    auto r = client_->create(kFabrics, "", Json{{"apiVersion", "rr.bgp.dev/v1alpha1"},
                                               {"kind", "RouteReflectorCluster"},
                                               {"metadata", {{"name", fabric()}}},
                                               {"spec", spec}});
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }

  std::string NodeName(const std::string& name) const { return name + "-" + tag_; }

  void AddNode(const std::string& name, const std::string& rack, const std::string& address,
               const std::string& zone = "") {
    std::map<std::string, std::string> labels = {{"e2e", tag_}, {"topology.kubernetes.io/rack", rack}};
    if (!zone.empty()) labels["topology.kubernetes.io/zone"] = zone;
    Json node = rr::testing::make_node(NodeName(name), labels, "10.250.0.1");
    node["metadata"]["annotations"]["projectcalico.org/IPv4Address"] = address + "/32";
    rr::testing::create_ready_node(*client_, node);
  }

  // A BGP speaker at address:kNodePort; peers named rr0, rr1, ... (or as given).
  BirdSpeaker& AddSpeaker(const std::string& name, const std::string& address, unsigned as_number,
                          std::vector<SpeakerPeer> peers, std::vector<std::string> announce = {}) {
    SpeakerConfig c;
    c.address = address;
    c.port = kNodePort;
    c.as_number = as_number;
    c.peers = std::move(peers);
    c.announce = std::move(announce);
    speakers_[name] = std::make_unique<BirdSpeaker>(dir_ + "/" + name, c);
    return *speakers_[name];
  }
  static std::vector<SpeakerPeer> Reflectors(const std::vector<std::string>& addresses, int port) {
    std::vector<SpeakerPeer> out;
    for (size_t i = 0; i < addresses.size(); ++i) {
      out.push_back(SpeakerPeer{"rr" + std::to_string(i), addresses[i], port, 64512, "", true});
    }
    return out;
  }

  // `rack` empty: a top-tier reflector of `zone` (RR_TIER=top), as the operator renders one.
  ChildProcess& StartAgent(const std::string& pod, const std::string& node, const std::string& rack,
                           const std::string& address, int port, const std::string& cluster_id,
                           const std::string& zone = "") {
    std::string d = dir_ + "/" + pod;
    std::filesystem::create_directories(d + "/scratch");
    sockets_[pod] = std::make_unique<rr::testing::ShortTempDir>("rr-agent");
    std::vector<std::string> argv = {RR_AGENT_BIN, "--kubeconfig", cp_->kubeconfig(), "--metrics-address",
                                     "127.0.0.1:0", "--bird-config", d + "/bird.conf", "--bird-socket",
                                     Socket(pod), "--scratch-dir", d + "/scratch",
                                     "--client-port", std::to_string(kNodePort),
                                     "--connect-retry-seconds", "2", "--connect-delay-seconds", "1",
                                     "--error-wait-min-seconds", "1", "--error-wait-max-seconds", "5",
                                     "--session-poll", "500ms", "--log-level", "debug"};
    std::map<std::string, std::string> env = {{"RR_POD_NAME", pod},          {"RR_NAMESPACE", ns_},
                                              {"RR_NODE_NAME", node},        {"RR_HOST_IP", address},
                                              {"RR_FABRIC", fabric()},       {"RR_RACK", rack},
                                              {"RR_CLUSTER_ID", cluster_id}, {"RR_BGP_PORT", std::to_string(port)},
                                              {"RR_LEASE_DURATION_SECONDS", "6"}};
    if (rack.empty()) {
      env.erase("RR_RACK");
      env["RR_TIER"] = "top";
      env["RR_ZONE"] = zone;
    }
    agents_[pod] = std::make_unique<ChildProcess>(argv, d + "/agent.log", env);
    return *agents_[pod];
  }

  std::string Socket(const std::string& pod) const { return sockets_.at(pod)->file("bird.ctl"); }
  std::string Birdc(const std::string& pod, const std::string& command) {
    return rr::testing::birdc(Socket(pod), command);
  }
  bool ReflectorHas(const std::string& pod, const std::string& p) {
    return rr::testing::parse_route(Birdc(pod, "show route all " + p)).has_value();
  }
  std::string Diagnostics(const std::string& pod) {
    return Birdc(pod, "show protocols all") + Birdc(pod, "show route all") + agents_.at(pod)->log();
  }

  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::string ns_, tag_, dir_;
  rr::testing::LoopbackOctet loopback_;
  int octet_ = 0;
  std::map<std::string, std::unique_ptr<BirdSpeaker>> speakers_;
  std::map<std::string, std::unique_ptr<rr::testing::ShortTempDir>> sockets_;  // outlive the agents
  std::map<std::string, std::unique_ptr<ChildProcess>> agents_;
};

// A ToR switch in the fabric's AS attached to rack A: a reflector client of rack
// A's reflectors, so what it announces is reflected to the mesh and reaches
// rack B (a non-client's routes go to clients only, never to the mesh).
TEST_F(BgpSemanticsIT, AnIbgpExternalPeerIsAReflectorClientAndItsRoutesReachOtherRacks) {
  CreateFabric(kNodePort, Json{{"externalPeers", Json::array({{{"name", "tor-a"},
                                                           {"address", ip(1, 250)},
                                                           {"asNumber", 64512},
                                                           {"port", kNodePort},
                                                           {"racks", {"rack-a"}}}})}});
  AddNode("a1", "rack-a", ip(1, 11));
  AddNode("b1", "rack-b", ip(2, 21));
  auto& a1 = AddSpeaker("a1", ip(1, 11), 64512, Reflectors({ip(1, 1)}, kNodePort));
  auto& b1 = AddSpeaker("b1", ip(2, 21), 64512, Reflectors({ip(2, 1)}, kNodePort));
  auto& tor = AddSpeaker("tor", ip(1, 250), 64512, Reflectors({ip(1, 1)}, kNodePort), {prefix(5)});
  StartAgent("ra", NodeName("ra"), "rack-a", ip(1, 1), kNodePort, "10.255.0.1");
  StartAgent("rb", NodeName("rb"), "rack-b", ip(2, 1), kNodePort, "10.255.0.2");

  // Rack A's own client: reflected once.
  std::optional<rr::testing::RouteInfo> in_rack;
  ASSERT_TRUE(eventually([&] { return (in_rack = a1.route(prefix(5))).has_value(); }, std::chrono::seconds(45)))
      << tor.birdc("show protocols all") << Diagnostics("ra");
  EXPECT_EQ(in_rack->originator_id, ip(1, 250));
  EXPECT_EQ(in_rack->cluster_list, (std::vector<std::string>{"10.255.0.1"}));

  // Rack B, through the mesh: rack A reflected it as a client's route.
  std::optional<rr::testing::RouteInfo> across;
  ASSERT_TRUE(eventually([&] { return (across = b1.route(prefix(5))).has_value(); }, std::chrono::seconds(30)))
      << "rack B never learned the iBGP external peer's route\n"
      << Diagnostics("ra") << Diagnostics("rb") << b1.birdc("show route all");
  EXPECT_EQ(across->next_hop, ip(1, 250));
  EXPECT_EQ(across->originator_id, ip(1, 250));
  EXPECT_EQ(across->cluster_list, (std::vector<std::string>{"10.255.0.2", "10.255.0.1"}));
  const std::string tor_protocol = rr::bird::protocol_name(rr::bird::PeerRole::External, "tor-a");
  EXPECT_NE(Birdc("ra", "show protocols all " + tor_protocol).find("route-reflector"), std::string::npos)
      << Birdc("ra", "show protocols all " + tor_protocol);
}

// Colocated: two hosts, each with calico-node (port kNodePort) and a reflector on the
// same address (port kRrPort). Each node peers with both reflectors of its rack,
// its own host's included; with the host address as the reflector's router ID
// BIRD refuses that session (Bad BGP identifier) and, without it, a reflector
// host learns nothing its own reflector would reflect.
TEST_F(BgpSemanticsIT, ColocatedReflectorsPeerWithTheCalicoNodeOfTheirOwnHost) {
  CreateFabric(kRrPort, Json{{"reflectors", {{"placement", "Colocated"}}}});
  AddNode("h1", "rack-a", ip(1, 1));
  AddNode("h2", "rack-a", ip(1, 2));
  const std::vector<std::string> reflectors = {ip(1, 1), ip(1, 2)};
  auto& c1 = AddSpeaker("c1", ip(1, 1), 64512, Reflectors(reflectors, kRrPort), {prefix(1)});
  auto& c2 = AddSpeaker("c2", ip(1, 2), 64512, Reflectors(reflectors, kRrPort), {prefix(2)});
  StartAgent("r1", NodeName("h1"), "rack-a", ip(1, 1), kRrPort, "10.255.0.1");
  StartAgent("r2", NodeName("h2"), "rack-a", ip(1, 2), kRrPort, "10.255.0.1");

  // The session to the reflector on the node's own host (rr0 for h1, rr1 for h2).
  ASSERT_TRUE(eventually([&] { return c1.session_state("rr0") == "Established"; }, std::chrono::seconds(45)))
      << c1.birdc("show protocols all rr0") << Diagnostics("r1");
  ASSERT_TRUE(eventually([&] { return c2.session_state("rr1") == "Established"; }, std::chrono::seconds(30)))
      << c2.birdc("show protocols all rr1") << Diagnostics("r2");
  const std::string r1_id = Birdc("r1", "show status");
  EXPECT_EQ(r1_id.find("Router ID is " + ip(1, 1)), std::string::npos) << r1_id;

  // h1's route reaches h2 through h2's own reflector, and the other way round.
  std::optional<rr::testing::RouteInfo> at_h2, at_h1;
  ASSERT_TRUE(eventually([&] { return (at_h2 = c2.route(prefix(1))).has_value(); }, std::chrono::seconds(30)))
      << Diagnostics("r1") << Diagnostics("r2") << c2.birdc("show route all");
  EXPECT_EQ(at_h2->next_hop, ip(1, 1));
  EXPECT_EQ(at_h2->originator_id, ip(1, 1));
  EXPECT_EQ(at_h2->cluster_list, (std::vector<std::string>{"10.255.0.1"}));
  ASSERT_TRUE(eventually([&] { return (at_h1 = c1.route(prefix(2))).has_value(); }, std::chrono::seconds(30)))
      << Diagnostics("r1") << Diagnostics("r2") << c1.birdc("show route all");
  EXPECT_EQ(at_h1->next_hop, ip(1, 2));
  EXPECT_EQ(at_h1->originator_id, ip(1, 2));

  // h1's calico-node (c1) and h1's reflector (r1) both reach r2 from ip(1, 1), and BIRD tells
  // incoming sessions apart by local port only: on one port they took each other's session and
  // both flapped ("Connection closed", seen on the real cluster). Reflectors mesh one port up.
  auto mesh_up = [&](const std::string& agent) {
    std::istringstream lines(Birdc(agent, "show protocols"));
    bool any = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("mesh_", 0) != 0) continue;
      any = true;
      if (line.find("Established") == std::string::npos) return false;
    }
    return any;
  };
  auto all_up = [&] {
    return mesh_up("r1") && mesh_up("r2") && c1.session_state("rr0") == "Established" &&
           c1.session_state("rr1") == "Established" && c2.session_state("rr0") == "Established" &&
           c2.session_state("rr1") == "Established";
  };
  ASSERT_TRUE(eventually(all_up, std::chrono::seconds(45)))
      << Birdc("r1", "show protocols") << Birdc("r2", "show protocols") << c1.birdc("show protocols");
  for (int i = 0; i < 10; ++i) {  // and they stay up (a clash shows as a flap within seconds)
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_TRUE(all_up()) << "round " << i << "\n" << Birdc("r1", "show protocols") << Birdc("r2", "show protocols");
  }
}

// eBGP peers get the fabric's routes only: `edge` limited to 10.N.0.0/16 up to
// /24, `open` (no exportPrefixes) everything the fabric originated; neither
// gets what `transit`, another eBGP peer, announced.
TEST_F(BgpSemanticsIT, EbgpPeersGetOnlyTheFabricsRoutesWithinTheirExportPrefixes) {
  const std::string allowed = "10." + std::to_string(octet_) + ".0.0/16";
  const std::string too_long = "10." + std::to_string(octet_) + ".2.0/25";
  const std::string outside = "172.16." + std::to_string(octet_) + ".0/24";
  auto ebgp = [&](const std::string& name, int host, unsigned as) {
    return Json{{"name", name}, {"address", ip(9, host)}, {"asNumber", as}, {"port", kNodePort}, {"racks", {"rack-a"}}};
  };
  Json edge = ebgp("edge", 1, 65010);
  edge["exportPrefixes"] = Json::array({{{"cidr", allowed}, {"maxLength", 24}}});
  CreateFabric(kNodePort, Json{{"externalPeers", Json::array({edge, ebgp("open", 2, 65020), ebgp("transit", 3, 65030)})}});
  AddNode("a1", "rack-a", ip(1, 11));
  auto& a1 = AddSpeaker("a1", ip(1, 11), 64512, Reflectors({ip(1, 1)}, kNodePort), {too_long, outside});
  const std::vector<SpeakerPeer> uplink = {SpeakerPeer{"uplink", ip(1, 1), kNodePort, 64512, "", true}};
  auto& e = AddSpeaker("edge", ip(9, 1), 65010, uplink);
  auto& open = AddSpeaker("open", ip(9, 2), 65020, uplink);
  AddSpeaker("transit", ip(9, 3), 65030, uplink, {prefix(4)});
  StartAgent("ra", NodeName("ra"), "rack-a", ip(1, 1), kNodePort, "10.255.0.1");

  // The disallowed routes are in the reflector's table before the allowed one is announced.
  ASSERT_TRUE(eventually([&] { return ReflectorHas("ra", too_long) && ReflectorHas("ra", outside) &&
                                      ReflectorHas("ra", prefix(4)); },
                         std::chrono::seconds(45)))
      << Diagnostics("ra");
  auto config = a1.config();
  config.announce.push_back(prefix(1));
  a1.reconfigure(config);

  // BIRD exports a channel's changes in order: once the allowed route arrived,
  // any export of the earlier ones would have too.
  ASSERT_TRUE(eventually([&] { return e.route(prefix(1)).has_value() && open.route(prefix(1)).has_value(); },
                         std::chrono::seconds(30)))
      << Diagnostics("ra") << e.birdc("show route all") << open.birdc("show route all");
  EXPECT_EQ(e.route(prefix(1))->next_hop, ip(1, 11)) << "the filter replaced the template's `next hop keep`";
  EXPECT_FALSE(e.route(too_long)) << "a /25 went past maxLength 24";
  EXPECT_FALSE(e.route(outside)) << "a prefix outside exportPrefixes was exported";
  EXPECT_FALSE(e.route(prefix(4))) << "a route learned from another eBGP peer was exported";
  EXPECT_TRUE(open.route(too_long)) << open.birdc("show route all");
  EXPECT_TRUE(open.route(outside)) << open.birdc("show route all");
  EXPECT_FALSE(open.route(prefix(4))) << "a route learned from another eBGP peer was exported";
  // The fabric's clients still get the transit route (imports are not filtered).
  EXPECT_TRUE(eventually([&] { return a1.route(prefix(4)).has_value(); })) << a1.birdc("show route all");
}

}  // namespace

// --- Tiers (spec.topTier) ---
// Rack a (zone z1) and rack b (zone z2), a Calico node in each (a1 announces prefix 1, b1
// prefix 2), rack reflectors ra and rb; top tier t1a, t1b for z1 (cluster ID 10.254.0.1) and t2
// for z2 (10.254.0.2). The agents run as the operator's Pods would run them.
class TiersIT : public BgpSemanticsIT {
 protected:
  static constexpr const char* kRackA = "10.255.0.1";
  static constexpr const char* kRackB = "10.255.0.2";
  static constexpr const char* kZone1 = "10.254.0.1";
  static constexpr const char* kZone2 = "10.254.0.2";

  static Json TopTier() { return Json{{"topTier", {{"zoneLabel", "topology.kubernetes.io/zone"}}}}; }

  void StartRacks() {
    AddNode("a1", "rack-a", ip(1, 11), "z1");
    AddNode("b1", "rack-b", ip(2, 21), "z2");
    a1_ = &AddSpeaker("a1", ip(1, 11), 64512, Reflectors({ip(1, 1)}, kNodePort), {prefix(1)});
    b1_ = &AddSpeaker("b1", ip(2, 21), 64512, Reflectors({ip(2, 1)}, kNodePort), {prefix(2)});
    StartAgent("ra", NodeName("ra"), "rack-a", ip(1, 1), kNodePort, kRackA);
    StartAgent("rb", NodeName("rb"), "rack-b", ip(2, 1), kNodePort, kRackB);
  }
  void StartTopTier() {
    StartAgent("t1a", NodeName("t1a"), "", ip(9, 1), kNodePort, kZone1, "z1");
    StartAgent("t1b", NodeName("t1b"), "", ip(9, 2), kNodePort, kZone1, "z1");
    StartAgent("t2", NodeName("t2"), "", ip(9, 3), kNodePort, kZone2, "z2");
  }

  // The cluster list of the route each node learned from the other rack; empty when it has none.
  std::vector<std::string> ClusterListAtB() {
    auto r = b1_->route(prefix(1));
    return r ? r->cluster_list : std::vector<std::string>{};
  }
  std::vector<std::string> ClusterListAtA() {
    auto r = a1_->route(prefix(2));
    return r ? r->cluster_list : std::vector<std::string>{};
  }
  bool HasProtocol(const std::string& pod, const std::string& peer) {
    const std::string name = rr::bird::protocol_name(rr::bird::PeerRole::Mesh, peer);
    return Birdc(pod, "show protocols " + name).find(name) != std::string::npos;
  }
  bool Established(const std::string& pod, const std::string& peer) {
    const std::string name = rr::bird::protocol_name(rr::bird::PeerRole::Mesh, peer);
    return Birdc(pod, "show protocols " + name).find("Established") != std::string::npos;
  }
  // Every session of the rack reflectors up, as their Leases report it for the configuration of
  // `generation` (what the operator reads before it deletes a top tier the spec dropped).
  bool RackLeasesComplete(std::int64_t generation) {
    for (const char* pod : {"ra", "rb"}) {
      auto lease = client_->get(kube::resources::leases(), ns_, pod);
      if (!lease.ok()) return false;
      auto a = kube::annotations_of(*lease);
      if (a["rr.bgp.dev/sessions-total"] == "0" || a["rr.bgp.dev/sessions-established"] != a["rr.bgp.dev/sessions-total"]) {
        return false;
      }
      if (std::stoll(a["rr.bgp.dev/observed-generation"].empty() ? "0" : a["rr.bgp.dev/observed-generation"]) <
          generation) {
        return false;
      }
    }
    return true;
  }
  // Whether `pod`'s BIRD holds `prefix` as learned over its mesh session with `peer`.
  bool HasRouteVia(const std::string& pod, const std::string& prefix, const std::string& peer) {
    return Birdc(pod, "show route for " + prefix + " all")
               .find(rr::bird::protocol_name(rr::bird::PeerRole::Mesh, peer)) != std::string::npos;
  }

  // Polls both nodes for the other rack's route until stopped; counts polls that missed one.
  class RoutePoller {
   public:
    explicit RoutePoller(TiersIT& t) : t_(t), thread_([this](std::stop_token stop) { run(stop); }) {}
    ~RoutePoller() { thread_.request_stop(); }
    void stop() {
      thread_.request_stop();
      thread_.join();
    }
    // Polls at which both speakers' BIRDs answered; the others are counted apart.
    int polls() const { return polls_; }
    int unanswered() const { return unanswered_; }
    const std::vector<std::string>& lost() const { return lost_; }

   private:
    enum class Seen { Present, Missing, NoAnswer };
    // A birdc that did not answer within its bound (a busy machine) says nothing about the
    // route: that poll is not counted, rather than counted as a loss.
    static Seen look(const BirdSpeaker& speaker, const std::string& prefix) {
      const std::string shown = rr::testing::birdc(speaker.socket(), "show route all " + prefix);
      if (shown.find(" ready.") == std::string::npos) return Seen::NoAnswer;
      return rr::testing::parse_route(shown) ? Seen::Present : Seen::Missing;
    }
    void run(std::stop_token stop) {
      while (!stop.stop_requested()) {
        const Seen at_b = look(*t_.b1_, t_.prefix(1));
        const Seen at_a = look(*t_.a1_, t_.prefix(2));
        if (at_b == Seen::NoAnswer || at_a == Seen::NoAnswer) {
          ++unanswered_;
        } else {
          ++polls_;
          if (at_b == Seen::Missing) lost_.push_back("poll " + std::to_string(polls_) + ": b1 lost a1's route");
          if (at_a == Seen::Missing) lost_.push_back("poll " + std::to_string(polls_) + ": a1 lost b1's route");
        }
        // The poll interval, cut short by stop(): a sample rate, not a wait for anything.
        std::unique_lock lock(mu_);
        wake_.wait_for(lock, stop, std::chrono::milliseconds(100), [] { return false; });
      }
    }
    TiersIT& t_;
    std::atomic<int> polls_ = 0;
    std::atomic<int> unanswered_ = 0;
    std::vector<std::string> lost_;
    std::mutex mu_;
    std::condition_variable_any wake_;
    std::jthread thread_;
  };

  BirdSpeaker* a1_ = nullptr;
  BirdSpeaker* b1_ = nullptr;
};

TEST_F(TiersIT, ARouteCrossesEveryTierWithEachClusterIdAndLosesNothingWhenATopTierReflectorDies) {
  CreateFabric(kNodePort, TopTier());
  StartRacks();
  StartTopTier();
  const std::vector<std::string> through_tiers = {kRackB, kZone2, kZone1, kRackA};
  ASSERT_TRUE(eventually([&] { return ClusterListAtB() == through_tiers; }, std::chrono::seconds(90)))
      << "b1 never learned a1's route through both zones' top tiers\n"
      << Diagnostics("ra") << Diagnostics("t1a") << Diagnostics("t2") << Diagnostics("rb");
  auto route = b1_->route(prefix(1));
  EXPECT_EQ(route->originator_id, ip(1, 11));
  EXPECT_EQ(route->next_hop, ip(1, 11));
  EXPECT_EQ(ClusterListAtA(), (std::vector<std::string>{kRackA, kZone1, kZone2, kRackB}));
  // The flat-mesh session between the racks went once routes crossed the top tier.
  ASSERT_TRUE(eventually([&] { return !HasProtocol("ra", "rb") && !HasProtocol("rb", "ra"); },
                         std::chrono::seconds(30)))
      << Birdc("ra", "show protocols") << Birdc("rb", "show protocols");
  // A top-tier reflector serves no node and has the rack reflectors as clients.
  EXPECT_NE(Birdc("t1a", "show protocols all " + rr::bird::protocol_name(rr::bird::PeerRole::Mesh, "ra"))
                .find("route-reflector"),
            std::string::npos);
  ASSERT_TRUE(eventually([&] { return Established("ra", "t1b"); }, std::chrono::seconds(30)))
      << Diagnostics("ra");

  // One of zone 1's two top-tier reflectors dies: every poll still finds both routes, until its
  // Lease has lapsed and rack a's reflector has dropped it from its configuration.
  RoutePoller poller(*this);
  agents_.at("t1a")->kill_now();
  ASSERT_TRUE(eventually([&] { return !HasProtocol("ra", "t1a") && !HasProtocol("t2", "t1a"); },
                         std::chrono::seconds(60)))
      << Diagnostics("ra") << Diagnostics("t2");
  const int seen = poller.polls();
  ASSERT_TRUE(eventually([&] { return poller.polls() >= seen + 20; }, std::chrono::seconds(60)));
  poller.stop();
  EXPECT_TRUE(poller.lost().empty()) << poller.lost().size() << " misses in " << poller.polls()
                                      << " polls (" << poller.unanswered() << " unanswered), first: " << poller.lost().front();
  EXPECT_FALSE(HasProtocol("ra", "rb")) << "the flat mesh came back although t1b still carries the routes";
}

TEST_F(TiersIT, AFabricGoesFromFlatToTieredAndBackWithEveryRoutePresentAtEveryPoll) {
  CreateFabric(kNodePort);
  StartRacks();
  const std::vector<std::string> flat = {kRackB, kRackA};
  ASSERT_TRUE(eventually([&] { return ClusterListAtB() == flat && !ClusterListAtA().empty(); },
                         std::chrono::seconds(60)))
      << Diagnostics("ra") << Diagnostics("rb");

  RoutePoller poller(*this);
  // Flat to tiered: the spec changes, the top tier starts (the operator's part, played here).
  auto patched = client_->patch(kFabrics, "", fabric(), kube::PatchType::Merge, Json{{"spec", TopTier()}}, {});
  ASSERT_TRUE(patched.ok()) << patched.error().describe();
  StartTopTier();
  const std::vector<std::string> through_tiers = {kRackB, kZone2, kZone1, kRackA};
  ASSERT_TRUE(eventually([&] { return ClusterListAtB() == through_tiers && !HasProtocol("ra", "rb"); },
                         std::chrono::seconds(90)))
      << Diagnostics("ra") << Diagnostics("rb") << Diagnostics("t1a") << Diagnostics("t2");
  const int tiered_at = poller.polls();

  // Back to flat: the racks mesh again first; the top tier goes once their Leases say every
  // session is up (the operator's rule, played here).
  patched = client_->patch(kFabrics, "", fabric(), kube::PatchType::Merge, Json{{"spec", {{"topTier", nullptr}}}}, {});
  ASSERT_TRUE(patched.ok()) << patched.error().describe();
  const std::int64_t flat_again = patched->at("metadata").at("generation").get<std::int64_t>();
  ASSERT_TRUE(eventually([&] { return RackLeasesComplete(flat_again); }, std::chrono::seconds(60)))
      << Diagnostics("ra") << Diagnostics("rb");
  // What the Leases vouch for: the flat mesh carries the routes already, not only its sessions
  // (BGP says Established before the first route has crossed).
  EXPECT_TRUE(HasRouteVia("rb", prefix(1), "ra")) << Birdc("rb", "show route for " + prefix(1) + " all");
  EXPECT_TRUE(HasRouteVia("ra", prefix(2), "rb")) << Birdc("ra", "show route for " + prefix(2) + " all");
  for (const char* top : {"t1a", "t1b", "t2"}) agents_.at(top)->stop();
  ASSERT_TRUE(eventually([&] { return ClusterListAtB() == flat; }, std::chrono::seconds(60)))
      << Diagnostics("ra") << Diagnostics("rb") << b1_->birdc("show route all");
  const int seen = poller.polls();
  ASSERT_TRUE(eventually([&] { return poller.polls() >= seen + 20; }, std::chrono::seconds(60)));
  poller.stop();
  EXPECT_GT(tiered_at, 0);
  EXPECT_TRUE(poller.lost().empty()) << poller.lost().size() << " misses in " << poller.polls()
                                      << " polls (" << poller.unanswered() << " unanswered), first: " << poller.lost().front();
}
