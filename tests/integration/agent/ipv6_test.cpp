// IPv6 reflection with rr-agent, real BIRD 2 and the real kube-apiserver.
// IPv6 sessions need distinct IPv6 addresses, and ::1 is the only loopback
// one, so BGP runs inside a network namespace this test creates: the
// reflector's BIRD (the agent runs it through a `ip netns exec` wrapper given
// as --bird-binary) and two Calico-node BIRDs, on addresses of the namespace's
// lo. rr-agent itself stays in the host namespace, where it reaches the API
// server on 127.0.0.1, and drives its BIRD through the control socket, a file
// both namespaces see. Needs root: without it the test fails, it does not skip.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "agent/bgp_port.h"
#include "support/api_types.h"
#include "support/bird_speaker.h"
#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/netns.h"
#include "support/process.h"
#include "support/reflector_simulator.h"
#include "support/short_temp_dir.h"

namespace {

using rr::testing::eventually;

using kube::Json;
using rr::testing::birdc;
using rr::testing::ChildProcess;
using rr::testing::NetworkNamespace;

using rr::testing::kFabrics;
using rr::testing::kPort;
constexpr const char* kBird = "/usr/sbin/bird";


// A dual-stack Calico node's BIRD inside the namespace: an IPv4 and an IPv6
// session to its rack's reflector, optionally announcing IPv6 prefixes.
struct NodeSpeakerConfig {
  std::string router_id;  // also the IPv4 session's local address
  std::string address_v6;
  std::string reflector_v4, reflector_v6;
  std::vector<std::string> announce_v6;
};

class NodeSpeaker {
 public:
  NodeSpeaker(const NetworkNamespace& ns, std::string dir, NodeSpeakerConfig config)
      : dir_(std::move(dir)), config_(std::move(config)) {
    std::filesystem::create_directories(dir_);
    write_config();
    process_ = std::make_unique<ChildProcess>(
        rr::testing::die_with_parent(ns.wrap({kBird, "-f", "-c", dir_ + "/bird.conf", "-s", socket()})),
        dir_ + "/bird.log");
    for (int i = 0; i < 100 && !std::filesystem::exists(socket()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~NodeSpeaker() {
    if (process_) process_->stop(std::chrono::seconds(5));
  }

  void reconfigure(NodeSpeakerConfig config) {
    config_ = std::move(config);
    write_config();
    birdc(socket(), "configure");
  }
  const NodeSpeakerConfig& config() const { return config_; }
  // A short path whatever the build tree's: a Unix socket path holds at most 107 bytes.
  std::string socket() const { return socket_dir_.file("bird.ctl"); }
  std::string ctl(const std::string& command) const { return birdc(socket(), command); }
  std::string log() const { return process_->log(); }
  std::optional<rr::testing::RouteInfo> route(const std::string& prefix) const {
    return rr::testing::parse_route(ctl("show route all " + prefix));
  }
  bool established(const std::string& protocol) const {
    return ctl("show protocols " + protocol).find("Established") != std::string::npos;
  }

 private:
  void write_config() const {
    std::ostringstream c;
    c << "router id " << config_.router_id << ";\n"
      << "log stderr all;\n"
      << "protocol device {}\n";
    if (!config_.announce_v6.empty()) {
      c << "protocol static announced6 {\n  ipv6;\n";
      for (const auto& p : config_.announce_v6) c << "  route " << p << " blackhole;\n";
      c << "}\n";
    }
    auto session = [&](const char* name, const std::string& local, const std::string& neighbor, const char* family) {
      c << "protocol bgp " << name << " {\n"
        << "  local " << local << " port " << kPort << " as 64512;\n"
        << "  strict bind yes;\n"
        << "  neighbor " << neighbor << " port " << kPort << " as 64512;\n"
        << "  connect delay time 1; connect retry time 2; error wait time 1,10;\n"
        << "  " << family << " { import all; export all; };\n"
        << "}\n";
    };
    session("up4", config_.router_id, config_.reflector_v4, "ipv4");
    session("up6", config_.address_v6, config_.reflector_v6, "ipv6");
    std::ofstream(dir_ + "/bird.conf") << c.str();
  }

  std::string dir_;
  rr::testing::ShortTempDir socket_dir_{"rr-bird"};
  NodeSpeakerConfig config_;
  std::unique_ptr<ChildProcess> process_;
};

class IPv6ReflectionIT : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    netns_ = NetworkNamespace::create(&why);
    ASSERT_TRUE(netns_) << "IPv6 reflection needs a network namespace of its own and cannot run: " << why;
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    ASSERT_TRUE(client_);
    cp_->install_crds(/*with_calico=*/false);
    ns_ = cp_->create_namespace(*client_, "bgp6");
    std::random_device rd;
    n_ = 100 + static_cast<int>(rd() % 150);
    tag_ = ns_;
    dir_ = cp_->dir() + "/logs/bgp6-" + tag_;  // logs/ outlives the fixture, for post-mortems
    std::filesystem::create_directories(dir_);
    for (const std::string& cidr : {v4(1) + "/32", v4(11) + "/32", v4(12) + "/32", v6(1) + "/128", v6(11) + "/128",
                                    v6(12) + "/128"}) {
      auto r = netns_->add_address(cidr);
      ASSERT_TRUE(r.ok()) << "adding " << cidr << " in " << netns_->name() << ": " << r.output;
    }
  }

  void TearDown() override {
    agent_.reset();  // stops its BIRD too
    speakers_.clear();
    if (client_) {
      (void)client_->remove(kFabrics, "", fabric(), {});
      kube::ListOptions lo;
      lo.label_selector = "e2e=" + tag_;
      if (auto nodes = client_->list(kube::resources::nodes(), "", lo); nodes.ok()) {
        for (const auto& n : nodes->items) (void)client_->remove(kube::resources::nodes(), "", kube::name_of(n), {});
      }
    }
    netns_.reset();  // kills anything left inside, deletes the namespace
  }

  // Addresses inside the namespace: 10.77.N.host and fd77:N::host (the same digits, read as hex).
  std::string v4(int host) const { return "10.77." + std::to_string(n_) + "." + std::to_string(host); }
  std::string v6(int host) const { return "fd77:" + std::to_string(n_) + "::" + std::to_string(host); }
  std::string prefix6() const { return "fd99:" + std::to_string(n_) + ":1::/48"; }
  std::string fabric() const { return "bgp6-" + tag_; }

  void CreateFabric() {
    Json spec = {{"namespace", ns_},
                 {"nodeSelector", {{"e2e", tag_}}},
                 {"reflectors", {{"port", kPort}}},
                 {"lease", {{"durationSeconds", 6}}},
                 {"bgp", {{"holdTimeSeconds", 9}, {"keepaliveSeconds", 3}, {"ipv6", true}}}};
    auto r = client_->create(kFabrics, "", Json{{"apiVersion", "rr.bgp.dev/v1alpha1"},
                                               {"kind", "RouteReflectorCluster"},
                                               {"metadata", {{"name", fabric()}}},
                                               {"spec", spec}});
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }

  void AddNode(const std::string& name, int host) {
    Json node = rr::testing::make_node(name, {{"e2e", tag_}, {"topology.kubernetes.io/rack", "rack-a"}}, v4(host));
    node["metadata"]["annotations"]["projectcalico.org/IPv4Address"] = v4(host) + "/32";
    node["metadata"]["annotations"]["projectcalico.org/IPv6Address"] = v6(host) + "/128";
    rr::testing::create_ready_node(*client_, node);
  }

  NodeSpeaker& AddSpeaker(const std::string& name, int host, std::vector<std::string> announce = {}) {
    NodeSpeakerConfig c{v4(host), v6(host), v4(1), v6(1), std::move(announce)};
    speakers_[name] = std::make_unique<NodeSpeaker>(*netns_, dir_ + "/" + name, c);
    return *speakers_[name];
  }

  ChildProcess& StartAgent(const std::string& pod, const std::string& cluster_id) {
    std::string d = dir_ + "/" + pod;
    std::filesystem::create_directories(d + "/scratch");
    netns_->write_wrapper(d + "/bird-in-netns", kBird);  // `bird -p` and `bird -f` both run inside
    std::vector<std::string> argv = {RR_AGENT_BIN, "--kubeconfig", cp_->kubeconfig(), "--metrics-address",
                                     "127.0.0.1:0", "--bird-binary", d + "/bird-in-netns", "--bird-config",
                                     d + "/bird.conf", "--bird-socket", agent_socket_dir_.file("bird.ctl"),
                                     "--scratch-dir", d + "/scratch", "--client-port",
                                     std::to_string(kPort), "--connect-retry-seconds", "2",
                                     "--connect-delay-seconds", "1", "--error-wait-min-seconds", "1",
                                     "--error-wait-max-seconds", "5", "--session-poll", "500ms", "--log-level",
                                     "debug"};
    std::map<std::string, std::string> env = {{"RR_POD_NAME", pod},          {"RR_NAMESPACE", ns_},
                                              {"RR_NODE_NAME", "host-" + pod}, {"RR_HOST_IP", v4(1)},
                                              {"RR_HOST_IPV6", v6(1)},       {"RR_FABRIC", fabric()},
                                              {"RR_RACK", "rack-a"},         {"RR_CLUSTER_ID", cluster_id},
                                              {"RR_BGP_PORT", std::to_string(kPort)},
                                              {"RR_LEASE_DURATION_SECONDS", "6"}};
    // The agent's BIRD dies with the agent (PR_SET_PDEATHSIG), the agent with this test.
    agent_ = std::make_unique<ChildProcess>(rr::testing::die_with_parent(argv), d + "/agent.log", env);
    return *agent_;
  }

  std::string ReflectorBirdc(const std::string& pod, const std::string& command) {
    (void)pod;  // one agent per test
    return birdc(agent_socket_dir_.file("bird.ctl"), command);
  }

  std::string LeaseAnnotation(const std::string& pod, const std::string& key) {
    auto lease = client_->get(kube::resources::leases(), ns_, pod);
    if (!lease.ok()) return "";
    return kube::annotations_of(*lease)[key];
  }

  std::unique_ptr<NetworkNamespace> netns_;
  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::string ns_, tag_, dir_;
  int n_ = 0;
  std::map<std::string, std::unique_ptr<NodeSpeaker>> speakers_;
  rr::testing::ShortTempDir agent_socket_dir_{"rr-agent"};  // outlives agent_
  std::unique_ptr<ChildProcess> agent_;
};

TEST_F(IPv6ReflectionIT, IPv6RoutesReflectWhenEnabledAndWithdraw) {
  CreateFabric();
  AddNode("n1-" + tag_, 11);
  AddNode("n2-" + tag_, 12);
  auto& n1 = AddSpeaker("n1", 11, {prefix6()});
  auto& n2 = AddSpeaker("n2", 12);
  auto& ra = StartAgent("ra", "10.255.0.1");
  auto diagnostics = [&] {
    return "\n--- n2 protocols\n" + n2.ctl("show protocols all") + "\n--- reflector protocols\n" +
           ReflectorBirdc("ra", "show protocols all") + "\n--- reflector routes\n" +
           ReflectorBirdc("ra", "show route all") + "\n--- n1 routes\n" + n1.ctl("show route all") +
           "\n--- agent log\n" + ra.log();
  };

  // n2 learns n1's IPv6 prefix over its IPv6 session, reflected: next hop
  // unchanged, ORIGINATOR_ID n1, CLUSTER_LIST the rack's cluster ID.
  std::optional<rr::testing::RouteInfo> route;
  ASSERT_TRUE(eventually([&] { return (route = n2.route(prefix6())).has_value(); }, std::chrono::seconds(45)))
      << diagnostics();
  std::string shown = n2.ctl("show route all " + prefix6());
  EXPECT_NE(shown.find("[up6 "), std::string::npos) << "learned over the IPv6 session:\n" << shown;
  // An IPv6 next hop may be shown as "global link-local": the global one is n1's.
  std::istringstream hops(route->next_hop);
  std::string global;
  hops >> global;
  EXPECT_EQ(global, v6(11)) << shown;
  EXPECT_EQ(route->originator_id, v4(11)) << shown;
  EXPECT_EQ(route->cluster_list, (std::vector<std::string>{"10.255.0.1"})) << shown;

  // The reflector runs both families for both nodes: 2 IPv4 + 2 IPv6 client sessions, all up.
  ASSERT_TRUE(eventually([&] {
    return LeaseAnnotation("ra", "rr.bgp.dev/sessions-established") == "4" &&
           LeaseAnnotation("ra", "rr.bgp.dev/sessions-total") == "4";
  })) << LeaseAnnotation("ra", "rr.bgp.dev/sessions-established") << "/"
      << LeaseAnnotation("ra", "rr.bgp.dev/sessions-total") << diagnostics();
  EXPECT_TRUE(n1.established("up4") && n1.established("up6") && n2.established("up4") && n2.established("up6"))
      << diagnostics();

  // Withdrawal propagates.
  auto config = n1.config();
  config.announce_v6.clear();
  n1.reconfigure(config);
  ASSERT_TRUE(eventually([&] { return !n2.route(prefix6()); }, std::chrono::seconds(15))) << diagnostics();
}

}  // namespace
