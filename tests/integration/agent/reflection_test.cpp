// rr-agent with real BIRD 2 as the reflector, real BIRD speakers as Calico
// nodes and an edge router, and the real kube-apiserver as the only input.
// Everything binds distinct 127.x addresses on a high port, so no root or
// network namespace is needed. What BGP itself says is checked: next hop,
// ORIGINATOR_ID, CLUSTER_LIST, session state and uptime.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "agent/bgp_port.h"
#include "support/api_types.h"
#include "support/bird_speaker.h"
#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/loopback_octet.h"
#include "support/process.h"
#include "support/reflector_simulator.h"
#include "support/short_temp_dir.h"

namespace {

using rr::testing::eventually;

using kube::Json;
using rr::testing::BirdSpeaker;
using rr::testing::ChildProcess;
using rr::testing::SpeakerConfig;
using rr::testing::SpeakerPeer;

using rr::testing::kFabrics;
using rr::testing::kPort;

class ReflectionIT : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    ASSERT_TRUE(client_);
    cp_->install_crds(/*with_calico=*/false);
    ns_ = cp_->create_namespace(*client_, "bgp");
    octet_ = loopback_.value();  // this test's own 127.N.x.y addresses
    ASSERT_NE(octet_, 0) << "every 127.N of /tmp/rr-loopback-octets is taken";
    tag_ = ns_;
    dir_ = cp_->dir() + "/logs/bgp-" + tag_;  // logs/ outlives the fixture, for post-mortems
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
  std::string fabric() const { return "bgp-" + tag_; }
  std::string prefix(int i) const { return "10." + std::to_string(octet_) + "." + std::to_string(i) + ".0/24"; }

  void CreateFabric(Json extra_spec = Json::object()) {
    Json spec = {{"namespace", ns_},
                 {"nodeSelector", {{"e2e", tag_}}},
                 {"reflectors", {{"port", kPort}}},
                 {"lease", {{"durationSeconds", 6}}},
                 {"bgp", {{"holdTimeSeconds", 9}, {"keepaliveSeconds", 3}}}};
    spec.merge_patch(extra_spec);
    auto r = client_->create(kFabrics, "", Json{{"apiVersion", "rr.bgp.dev/v1alpha1"},
                                               {"kind", "RouteReflectorCluster"},
                                               {"metadata", {{"name", fabric()}}},
                                               {"spec", spec}});
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }

  void AddNode(const std::string& name, const std::string& rack, const std::string& address) {
    Json node = rr::testing::make_node(name, {{"e2e", tag_}, {"topology.kubernetes.io/rack", rack}}, "10.250.0.1");
    node["metadata"]["annotations"]["projectcalico.org/IPv4Address"] = address + "/32";
    rr::testing::create_ready_node(*client_, node);
  }

  // spec.externalPeers entry: the router at ip(9, host), AS as_number, peering with rack-a's
  // reflectors, its password in Secret `secret` (key "password").
  Json EdgePeer(const std::string& name, int host, int as_number, const std::string& secret) const {
    return {{"name", name},          {"address", ip(9, host)}, {"asNumber", as_number}, {"port", kPort},
            {"racks", {"rack-a"}}, {"passwordSecretRef", {{"name", secret}, {"key", "password"}}}};
  }
  // That router: a BIRD at ip(9, host) with one session ("uplink") to rack-a's reflector ip(1, 1).
  BirdSpeaker& AddEdgeSpeaker(const std::string& name, int host, int as_number, const std::string& password) {
    SpeakerConfig c;
    c.address = ip(9, host);
    c.as_number = as_number;
    c.peers.push_back(SpeakerPeer{"uplink", ip(1, 1), kPort, 64512, password, true});
    speakers_[name] = std::make_unique<BirdSpeaker>(dir_ + "/" + name, c);
    return *speakers_[name];
  }
  void CreatePasswordSecret(const std::string& name, const std::string& password) {
    auto r = client_->create(kube::resources::secrets(), ns_,
                             Json{{"apiVersion", "v1"},
                                  {"kind", "Secret"},
                                  {"metadata", {{"name", name}}},
                                  {"stringData", {{"password", password}}}});
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }

  // A Calico node's BIRD peering with the given reflectors of its rack.
  BirdSpeaker& AddSpeaker(const std::string& name, const std::string& address, std::vector<std::string> reflectors,
                          std::vector<std::string> announce = {}) {
    SpeakerConfig c;
    c.address = address;
    c.port = kPort;
    for (size_t i = 0; i < reflectors.size(); ++i) {
      c.peers.push_back(SpeakerPeer{"rr" + std::to_string(i), reflectors[i], kPort, 64512, "", true});
    }
    c.announce = std::move(announce);
    speakers_[name] = std::make_unique<BirdSpeaker>(dir_ + "/" + name, c);
    return *speakers_[name];
  }

  ChildProcess& StartAgent(const std::string& pod, const std::string& rack, const std::string& address,
                           const std::string& cluster_id, const std::vector<std::string>& extra_args = {}) {
    std::string d = dir_ + "/" + pod;
    std::filesystem::create_directories(d + "/scratch");
    sockets_[pod] = std::make_unique<rr::testing::ShortTempDir>("rr-agent");
    std::vector<std::string> argv = {RR_AGENT_BIN, "--kubeconfig", cp_->kubeconfig(), "--metrics-address",
                                     "127.0.0.1:0", "--bird-config", d + "/bird.conf", "--bird-socket",
                                     ReflectorSocket(pod), "--scratch-dir", d + "/scratch",
                                     "--client-port", std::to_string(kPort),
                                     "--connect-retry-seconds", "2", "--connect-delay-seconds", "1",
                                     "--error-wait-min-seconds", "1", "--error-wait-max-seconds", "5",
                                     "--session-poll", "500ms", "--log-level", "debug"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    std::map<std::string, std::string> env = {{"RR_POD_NAME", pod},          {"RR_NAMESPACE", ns_},
                                              {"RR_NODE_NAME", "host-" + pod}, {"RR_HOST_IP", address},
                                              {"RR_FABRIC", fabric()},       {"RR_RACK", rack},
                                              {"RR_CLUSTER_ID", cluster_id}, {"RR_BGP_PORT", std::to_string(kPort)},
                                              {"RR_LEASE_DURATION_SECONDS", "6"}};
    agents_[pod] = std::make_unique<ChildProcess>(argv, d + "/agent.log", env);
    return *agents_[pod];
  }

  // A short path whatever the build tree's: a Unix socket path holds at most 107 bytes.
  std::string ReflectorSocket(const std::string& pod) const { return sockets_.at(pod)->file("bird.ctl"); }
  std::string ReflectorBirdc(const std::string& pod, const std::string& command) {
    return rr::testing::birdc(ReflectorSocket(pod), command);
  }

  std::string LeaseAnnotation(const std::string& pod, const std::string& key) {
    auto lease = client_->get(kube::resources::leases(), ns_, pod);
    if (!lease.ok()) return "";
    return kube::annotations_of(*lease)[key];
  }
  std::string LeaseResourceVersion(const std::string& pod) {
    auto lease = client_->get(kube::resources::leases(), ns_, pod);
    return lease.ok() ? lease->at("metadata").value("resourceVersion", "") : "";
  }

  std::string AgentUrl(ChildProcess& agent) {
    auto line = agent.wait_for_log("url=", std::chrono::seconds(20));
    if (!line) return "";
    return line->substr(line->find("url=") + 4);
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

TEST_F(ReflectionIT, RoutesReflectWithinAndAcrossRacksAndWithdraw) {
  CreateFabric();
  AddNode("a1-" + tag_, "rack-a", ip(1, 11));
  AddNode("a2-" + tag_, "rack-a", ip(1, 12));
  AddNode("b1-" + tag_, "rack-b", ip(2, 21));
  auto& a1 = AddSpeaker("a1", ip(1, 11), {ip(1, 1)}, {prefix(1)});
  auto& a2 = AddSpeaker("a2", ip(1, 12), {ip(1, 1)});
  auto& b1 = AddSpeaker("b1", ip(2, 21), {ip(2, 1)});
  auto& ra = StartAgent("ra", "rack-a", ip(1, 1), "10.255.0.1");
  StartAgent("rb", "rack-b", ip(2, 1), "10.255.0.2");

  // Inside rack A: ORIGINATOR_ID is the announcing node, CLUSTER_LIST the rack's ID, next hop unchanged.
  std::optional<rr::testing::RouteInfo> in_rack;
  ASSERT_TRUE(eventually([&] { return (in_rack = a2.route(prefix(1))).has_value(); }, std::chrono::seconds(45)))
      << a2.birdc("show protocols all") << ReflectorBirdc("ra", "show protocols all")
      << ReflectorBirdc("ra", "show route all") << a1.birdc("show route all") << a2.birdc("show route all")
      << ra.log();
  EXPECT_EQ(in_rack->next_hop, ip(1, 11));
  EXPECT_EQ(in_rack->originator_id, ip(1, 11));
  EXPECT_EQ(in_rack->cluster_list, (std::vector<std::string>{"10.255.0.1"}));

  // Rack B learns it through the reflector mesh: both racks' IDs on the CLUSTER_LIST.
  std::optional<rr::testing::RouteInfo> across;
  ASSERT_TRUE(eventually([&] { return (across = b1.route(prefix(1))).has_value(); }))
      << b1.birdc("show protocols all") << ReflectorBirdc("rb", "show protocols all");
  EXPECT_EQ(across->next_hop, ip(1, 11));
  EXPECT_EQ(across->originator_id, ip(1, 11));
  EXPECT_EQ(across->cluster_list, (std::vector<std::string>{"10.255.0.2", "10.255.0.1"}));

  // The agent publishes its sessions on its Lease: 2 clients + 1 mesh peer, all Established.
  ASSERT_TRUE(eventually([&] {
    return LeaseAnnotation("ra", "rr.bgp.dev/sessions-established") == "3" &&
           LeaseAnnotation("ra", "rr.bgp.dev/sessions-total") == "3";
  })) << LeaseAnnotation("ra", "rr.bgp.dev/sessions-established") << "/"
      << LeaseAnnotation("ra", "rr.bgp.dev/sessions-total");

  // Withdrawal propagates to both racks.
  auto config = a1.config();
  config.announce.clear();
  a1.reconfigure(config);
  ASSERT_TRUE(eventually([&] { return !a2.route(prefix(1)) && !b1.route(prefix(1)); }, std::chrono::seconds(15)));
}

TEST_F(ReflectionIT, AddingAClientLeavesExistingSessionsUntouched) {
  CreateFabric();
  AddNode("a1-" + tag_, "rack-a", ip(1, 11));
  AddSpeaker("a1", ip(1, 11), {ip(1, 1)});
  auto& ra = StartAgent("ra", "rack-a", ip(1, 1), "10.255.0.1");
  ASSERT_TRUE(eventually([&] { return speakers_["a1"]->session_state("rr0") == "Established"; },
                         std::chrono::seconds(45)))
      << ra.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // "since" has a resolution of one second
  auto since = [&](const std::string& node) {
    std::string out = ReflectorBirdc("ra", "show protocols");
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("Established") != std::string::npos && line.find(node.substr(0, 2)) != std::string::npos) {
        return line;
      }
    }
    return std::string();
  };
  std::string before = since("a1");
  ASSERT_FALSE(before.empty()) << ReflectorBirdc("ra", "show protocols");

  AddNode("a2-" + tag_, "rack-a", ip(1, 12));
  auto& a2 = AddSpeaker("a2", ip(1, 12), {ip(1, 1)});
  ASSERT_TRUE(eventually([&] { return a2.session_state("rr0") == "Established"; }, std::chrono::seconds(30)))
      << ra.log();
  EXPECT_EQ(since("a1"), before) << "the existing client's session was reset by the reload";
  EXPECT_EQ(speakers_["a1"]->session_state("rr0"), "Established");
}

// Between full reads (--session-resync), a poll reads only the sessions BIRD's log named: a
// client that goes away shows in its session metric and on the Lease, and BIRD was asked for
// that one session, never for all of them again.
TEST_F(ReflectionIT, ASessionThatGoesDownShowsFromBirdsLogWithoutReadingEverySession) {
  CreateFabric();
  AddNode("a1-" + tag_, "rack-a", ip(1, 11));
  AddNode("a2-" + tag_, "rack-a", ip(1, 12));
  AddSpeaker("a1", ip(1, 11), {ip(1, 1)});
  AddSpeaker("a2", ip(1, 12), {ip(1, 1)});
  auto& ra = StartAgent("ra", "rack-a", ip(1, 1), "10.255.0.1", {"--session-resync", "10m"});
  const std::string url = AgentUrl(ra);
  ASSERT_FALSE(url.empty()) << ra.log();
  std::string metrics;
  auto up = [&](const std::string& address) {
    return rr::testing::metric_value(metrics, "rr_bgp_session_up", "peer_address=\"" + address + "\"");
  };
  auto queries = [&](const std::string& query) {
    return rr::testing::metric_value(metrics, "rr_bird_session_queries_total", "query=\"" + query + "\"").value_or(-1);
  };
  ASSERT_TRUE(eventually([&] {
    metrics = rr::testing::http_get(url + "/metrics");
    return up(ip(1, 11)) == 1.0 && up(ip(1, 12)) == 1.0;
  }, std::chrono::seconds(45))) << metrics << ReflectorBirdc("ra", "show protocols") << ra.log();
  // Every session up, nothing named: a poll asks BIRD for its status only.
  const double status_before = queries("status");
  ASSERT_TRUE(eventually([&] {
    metrics = rr::testing::http_get(url + "/metrics");
    return queries("status") > status_before;
  }, std::chrono::seconds(30))) << metrics;
  const double full_reads = queries("all");
  const double single_reads = queries("one");
  ASSERT_GE(full_reads, 1.0) << metrics;

  speakers_.erase("a1");  // its BIRD stops: the reflector's session goes down, and BIRD logs it
  ASSERT_TRUE(eventually([&] {
    metrics = rr::testing::http_get(url + "/metrics");
    return up(ip(1, 11)) == 0.0;
  }, std::chrono::seconds(30))) << metrics << ReflectorBirdc("ra", "show protocols") << ra.log();
  EXPECT_EQ(up(ip(1, 12)), 1.0) << metrics;
  EXPECT_EQ(queries("all"), full_reads) << "the change was found by reading every session: " << metrics;
  EXPECT_GT(queries("one"), single_reads) << metrics;
  auto logged = ra.wait_for_log("BGP session down", std::chrono::seconds(10));
  ASSERT_TRUE(logged) << ra.log();
  EXPECT_NE(logged->find(ip(1, 11)), std::string::npos) << *logged;
  EXPECT_TRUE(eventually([&] { return LeaseAnnotation("ra", "rr.bgp.dev/sessions-established") == "1"; }))
      << LeaseAnnotation("ra", "rr.bgp.dev/sessions-established");
}

// A new reflector joins the rotation (Pod Ready, so a rollout may take the next one of its
// rack) only once its clients are up with it: a client whose BIRD answers but does not know
// this reflector yet (its Calico config not rendered yet) holds /readyz back; a node where
// nothing listens does not. Once Ready, a client that joins later does not unready it.
TEST_F(ReflectionIT, ANewReflectorIsReadyOnlyOnceItsClientsAreUpWithIt) {
  CreateFabric();
  AddNode("a1-" + tag_, "rack-a", ip(1, 11));
  AddNode("a2-" + tag_, "rack-a", ip(1, 12));  // no BIRD at a2: refused, nothing to wait for
  // a1 answers on the port (BIRD listens while it has a BGP peer), but does not peer with the
  // reflector yet: it turns the reflector's connections away.
  auto& a1 = AddSpeaker("a1", ip(1, 11), {ip(1, 99)});
  auto& ra = StartAgent("ra", "rack-a", ip(1, 1), "10.255.0.1", {"--ready-grace", "1h"});
  const std::string url = AgentUrl(ra);
  ASSERT_FALSE(url.empty()) << ra.log();

  std::string readyz;
  ASSERT_TRUE(eventually([&] {
    readyz = rr::testing::http_get(url + "/readyz");
    return readyz.find("0 of 2 BGP sessions Established and settled, 1 peers unreachable") != std::string::npos;
  })) << readyz << ReflectorBirdc("ra", "show protocols all") << ra.log();
  EXPECT_NE(a1.session_state("rr1"), "Established");

  auto config = a1.config();
  config.peers.push_back(SpeakerPeer{"rr1", ip(1, 1), kPort, 64512, "", true});
  a1.reconfigure(config);
  ASSERT_TRUE(eventually([&] { return (readyz = rr::testing::http_get(url + "/readyz")) == "ok\n"; },
                         std::chrono::seconds(45)))
      << readyz << ReflectorBirdc("ra", "show protocols all");
  EXPECT_EQ(a1.session_state("rr1"), "Established") << "Ready before the client's session was up";

  // A third client that answers without peering: the reflector now carries a session that is
  // not up (the Lease says so), and stays Ready.
  AddNode("a3-" + tag_, "rack-a", ip(1, 13));
  AddSpeaker("a3", ip(1, 13), {ip(1, 99)});
  ASSERT_TRUE(eventually([&] { return LeaseAnnotation("ra", "rr.bgp.dev/sessions-total") == "3"; }))
      << ra.log();
  EXPECT_EQ(rr::testing::http_get(url + "/readyz"), "ok\n");
}

// BGP says Established before the first route has crossed. Until the session is settled (its
// route counts quiet for --session-settle) the agent does not vouch for it: not on its Lease,
// which the operator reads before it removes what the session replaces, nor in /readyz, which
// paces rollouts. Its metric shows BGP's state as it is.
TEST_F(ReflectionIT, AnEstablishedSessionNotYetSettledIsNotVouchedFor) {
  CreateFabric();
  AddNode("a1-" + tag_, "rack-a", ip(1, 11));
  AddSpeaker("a1", ip(1, 11), {ip(1, 1)}, {prefix(1)});
  auto& ra = StartAgent("ra", "rack-a", ip(1, 1), "10.255.0.1",
                        {"--ready-grace", "1h", "--session-settle", "1h", "--session-settle-max", "1h"});
  const std::string url = AgentUrl(ra);
  ASSERT_FALSE(url.empty()) << ra.log();
  std::string metrics;
  ASSERT_TRUE(eventually([&] {
    metrics = rr::testing::http_get(url + "/metrics");
    return rr::testing::metric_value(metrics, "rr_bgp_session_up", "peer_address=\"" + ip(1, 11) + "\"") == 1.0 &&
           rr::testing::metric_value(metrics, "rr_bgp_session_prefixes_received", "peer_address=\"" + ip(1, 11) + "\"") ==
               1.0;
  }, std::chrono::seconds(45))) << metrics << ReflectorBirdc("ra", "show protocols") << ra.log();
  // The agent read the session Established (its metric): a Lease whose report was taken since
  // and /readyz still count it out. The first renewal seen may have taken its report before the
  // metric changed and only landed since; the one after it began once that one had landed.
  for (int renewal = 0; renewal < 2; ++renewal) {
    const std::string seen_rv = LeaseResourceVersion("ra");
    ASSERT_TRUE(eventually([&] { return LeaseResourceVersion("ra") != seen_rv; }, std::chrono::seconds(30)))
        << "the Lease was not renewed";
  }
  EXPECT_EQ(LeaseAnnotation("ra", "rr.bgp.dev/sessions-established"), "0");
  EXPECT_EQ(LeaseAnnotation("ra", "rr.bgp.dev/sessions-total"), "1");
  const std::string readyz = rr::testing::http_get(url + "/readyz");
  EXPECT_NE(readyz.find("0 of 1 BGP sessions Established and settled"), std::string::npos) << readyz;
}

// The one input that changes with time alone: another reflector's Lease that is no
// longer renewed. No API event announces that; the agent's mesh session to it must
// still go once the Lease lapses (6 s), and come back when renewals resume.
TEST_F(ReflectionIT, AMeshPeerWhoseLeaseLapsesLeavesTheMeshAndRejoins) {
  CreateFabric();
  auto& ra = StartAgent("ra", "rack-a", ip(1, 1), "10.255.0.1");
  const std::string ghost = "rr-ghost";
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata",
                 {{"name", ghost},
                  {"namespace", ns_},
                  {"labels", {{"rr.bgp.dev/cluster", fabric()}}},
                  {"annotations",
                   {{"rr.bgp.dev/address", ip(2, 1)},
                    {"rr.bgp.dev/port", std::to_string(kPort)},
                    {"rr.bgp.dev/rack", "rack-b"},
                    {"rr.bgp.dev/cluster-id", "10.255.0.2"}}}}},
                {"spec",
                 {{"holderIdentity", ghost},
                  {"leaseDurationSeconds", 6},
                  {"renewTime", kube::format_micro_time(std::chrono::system_clock::now())}}}};
  ASSERT_TRUE(client_->create(kube::resources::leases(), ns_, lease).ok());
  auto renew = [&] {
    auto current = client_->get(kube::resources::leases(), ns_, ghost);
    if (!current.ok()) return false;
    Json l = *current;
    l["spec"]["renewTime"] = kube::format_micro_time(std::chrono::system_clock::now());
    return client_->update(kube::resources::leases(), l).ok();
  };
  auto meshed = [&] { return ReflectorBirdc("ra", "show protocols").find("mesh_rr_ghost") != std::string::npos; };
  ASSERT_TRUE(eventually([&] { return meshed(); }, std::chrono::seconds(30)))
      << ReflectorBirdc("ra", "show protocols") << ra.log();

  // Renewed every second for longer than a Lease: it stays.
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(renew());
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_TRUE(meshed()) << "a reflector renewing its Lease was dropped from the mesh";

  // No more renewals: gone after the Lease lapses.
  const auto stopped = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return !meshed(); }, std::chrono::seconds(20)))
      << ReflectorBirdc("ra", "show protocols") << ra.log();
  const auto gone_after = std::chrono::steady_clock::now() - stopped;
  EXPECT_GE(gone_after, std::chrono::seconds(4)) << "dropped before its Lease could have lapsed";

  // Renewals resume (the annotations unchanged, so only time tells): it rejoins.
  ASSERT_TRUE(renew());
  ASSERT_TRUE(eventually([&] {
    (void)renew();
    return meshed();
  }, std::chrono::seconds(15))) << ra.log();
}

// A password Secret the agent cannot read yet (not created yet here; on a cluster, the Role that
// grants it not yet written) is read again soon, not at the next --secret-refresh: the session
// that needs it comes up once the Secret can be read.
TEST_F(ReflectionIT, APasswordSecretThatCouldNotBeReadIsTriedAgainBeforeTheNextRefresh) {
  CreateFabric(Json{{"externalPeers", Json::array({EdgePeer("edge", 1, 65010, "late-auth")})}});
  AddNode("a1-" + tag_, "rack-a", ip(1, 11));
  AddSpeaker("a1", ip(1, 11), {ip(1, 1)}, {prefix(3)});
  AddEdgeSpeaker("edge", 1, 65010, "l4te-s3cret");
  auto& ra = StartAgent("ra", "rack-a", ip(1, 1), "10.255.0.1", {"--secret-refresh", "1h"});
  ASSERT_TRUE(eventually([&] { return ra.log().find("cannot read a password Secret") != std::string::npos; },
                         std::chrono::seconds(30)))
      << ra.log();

  ASSERT_NO_FATAL_FAILURE(CreatePasswordSecret("late-auth", "l4te-s3cret"));
  // Well inside the hour --secret-refresh waits: only a retry of the failed read gets here.
  ASSERT_TRUE(eventually([&] { return speakers_["edge"]->route(prefix(3)).has_value(); }, std::chrono::seconds(60)))
      << speakers_["edge"]->birdc("show protocols all") << ReflectorBirdc("ra", "show protocols all") << ra.log();
  EXPECT_EQ(speakers_["edge"]->session_state("uplink"), "Established");
  EXPECT_NE(ra.log().find("password Secret readable again"), std::string::npos) << ra.log();
  EXPECT_EQ(ra.log().find("l4te-s3cret"), std::string::npos) << "a password reached the log";
}

TEST_F(ReflectionIT, ExternalPeerWithPasswordAndPrometheusScrape) {
  ASSERT_NO_FATAL_FAILURE(CreatePasswordSecret("edge-auth", "edge-s3cret"));
  CreateFabric(Json{{"externalPeers", Json::array({EdgePeer("edge", 1, 65010, "edge-auth"),
                                                   EdgePeer("edge-wrong", 2, 65011, "edge-auth")})}});
  AddNode("a1-" + tag_, "rack-a", ip(1, 11));
  AddSpeaker("a1", ip(1, 11), {ip(1, 1)}, {prefix(3)});
  AddEdgeSpeaker("edge", 1, 65010, "edge-s3cret");
  AddEdgeSpeaker("edge-wrong", 2, 65011, "not-the-password");
  auto& ra = StartAgent("ra", "rack-a", ip(1, 1), "10.255.0.1");

  ASSERT_TRUE(eventually([&] { return speakers_["edge"]->route(prefix(3)).has_value(); }, std::chrono::seconds(45)))
      << speakers_["edge"]->birdc("show protocols all") << ReflectorBirdc("ra", "show protocols all") << ra.log();
  EXPECT_EQ(speakers_["edge"]->session_state("uplink"), "Established");
  EXPECT_NE(speakers_["edge-wrong"]->session_state("uplink"), "Established") << "a wrong MD5 password must not establish";
  std::string conf_mode = rr::testing::run_command("stat -c %a " + dir_ + "/ra/bird.conf");
  EXPECT_EQ(conf_mode.substr(0, 3), "600") << "bird.conf holds passwords";
  EXPECT_EQ(ra.log().find("edge-s3cret"), std::string::npos) << "a password reached the log";

  // A real Prometheus scrapes the agent; a query counts the Established sessions.
  std::string url = AgentUrl(ra);
  ASSERT_FALSE(url.empty());
  std::string metrics = rr::testing::http_get(url + "/metrics");
  EXPECT_EQ(metrics.find("edge-s3cret"), std::string::npos);
  std::string target = url.substr(std::string("http://").size());
  std::filesystem::create_directories(dir_ + "/prometheus");
  std::ofstream(dir_ + "/prometheus/prometheus.yml")
      << "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: rr-agent\n  static_configs:\n  - targets: ['"
      << target << "']\n";
  std::random_device rd;
  int port = 0;
  std::unique_ptr<ChildProcess> prometheus;
  for (int attempt = 0; attempt < 5 && !prometheus; ++attempt) {
    port = 20000 + static_cast<int>(rd() % 20000);
    auto p = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/prometheus", "--config.file=" + dir_ + "/prometheus/prometheus.yml",
                                 "--storage.tsdb.path=" + dir_ + "/prometheus/data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port)},
        dir_ + "/prometheus/log");
    if (p->wait_for_log("Server is ready to receive web requests", std::chrono::seconds(20))) prometheus = std::move(p);
  }
  ASSERT_TRUE(prometheus) << "prometheus did not start";
  const std::string query = "http://127.0.0.1:" + std::to_string(port) +
                            "/api/v1/query?query=sum(rr_bgp_session_up%7Bjob%3D%22rr-agent%22%7D)";
  std::string answer;
  // a1 and edge are Established; edge-wrong is not.
  ASSERT_TRUE(eventually([&] {
    answer = rr::testing::http_get(query);
    return answer.find("\"2\"]") != std::string::npos;
  }, std::chrono::seconds(30))) << answer;
}

}  // namespace
