// calico-node-standin against the real kube-apiserver, under the ServiceAccount
// and RBAC of tests/calico-node/daemonset.yaml, running the real BIRD 1.6: the
// full mesh while it is on, then BGPPeers exactly as rr-operator renders them
// (rr_operator_api's render_bgp_peer) and, with the mesh off, only Node_
// sessions. Then real BGP: the stand-in's BIRD 1.6 peers with a BIRD 2
// reflector configured by the reflector's own renderer (rr_bird) and learns a
// route reflected from another client. Everything binds 127.x addresses on
// high ports; no root needed.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "api/render.h"
#include "bird/config_renderer.h"
#include "support/api_types.h"
#include "support/bird_speaker.h"
#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/loopback_octet.h"
#include "support/netns.h"
#include "support/process.h"

namespace {

namespace fs = std::filesystem;
using kube::Json;
using rr::testing::ChildProcess;
using rr::testing::eventually;
using rr::testing::kBgpConfigs;
using rr::testing::kPeers;

const std::string kStandinNamespace = "rr-calico-node";  // daemonset.yaml's
const std::string kRackLabel = "topology.kubernetes.io/rack";

std::string bird1() { return std::string(RR_BIRD1_DIR) + "/usr/sbin/bird"; }
std::string birdc1() { return std::string(RR_BIRD1_DIR) + "/usr/sbin/birdc"; }

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The stand-in as a process, as the DaemonSet runs it but with its files in a short temp dir.
class Standin {
 public:
  Standin(const std::string& kubeconfig, const std::string& node, const std::string& log_dir) {
    char pattern[] = "/tmp/rr-cn.XXXXXX";  // BIRD's control socket path must stay short
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = pattern;
    // Dies with the test thread; the stand-in stops its BIRD on SIGTERM, and BIRD dies with the stand-in.
    process_ = std::make_unique<ChildProcess>(
        rr::testing::die_with_parent(std::vector<std::string>{RR_STANDIN_BIN, "--kubeconfig", kubeconfig, "--node-name", node, "--namespace",
                                 kStandinNamespace, "--bird-binary", bird1(), "--birdc-binary", birdc1(),
                                 "--bird-config", dir_ + "/bird.cfg", "--bird-socket", dir_ + "/bird.ctl",
                                 "--health-address", "127.0.0.1:0"}),
        log_dir + "/standin-" + node + ".log");
  }
  ~Standin() {
    process_->stop(std::chrono::seconds(10));
    fs::remove_all(dir_);
  }
  std::string config() const { return read(dir_ + "/bird.cfg"); }
  std::string birdc(const std::string& command) const {
    return rr::testing::run_argv({birdc1(), "-s", dir_ + "/bird.ctl", command}).output;
  }
  // BIRD's protocols as it runs them now.
  std::string protocols() const { return birdc("show protocols"); }
  std::string readyz() const {
    auto line = process_->wait_for_log("probes=", std::chrono::seconds(30));
    if (!line) return "";
    auto at = line->find("http://");
    std::string url = line->substr(at, line->find_first_of(" \n", at) - at);
    return rr::testing::http_get(url + "/readyz");
  }
  ChildProcess& process() { return *process_; }

 private:
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

class StandinIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cp = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp);
    cp->install_crds(/*with_calico=*/true);
    // BIRD 1.6 is unpacked once into a cache (RR_BIRD1_DIR); idempotent.
    rr::testing::run_command("RR_BIRD1_DIR=" + std::string(RR_BIRD1_DIR) + " " + rr::testing::repo_root() +
                             "/scripts/fetch-bird1.sh");
    rr::testing::run_command(cp->kubectl() + " apply -f " + rr::testing::repo_root() +
                             "/tests/calico-node/daemonset.yaml");
    const std::string token = cp->service_account_token(kStandinNamespace, "calico-node-standin");
    ASSERT_FALSE(token.empty());
    kubeconfig_ = cp->write_token_kubeconfig(cp->dir() + "/calico-node-standin.kubeconfig", token);
  }

  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    std::random_device rd;
    octet_ = loopback_.value();  // this test's own 127.N.x.y addresses
    ASSERT_NE(octet_, 0) << "every 127.N of /tmp/rr-loopback-octets is taken";
    port_base_ = 20000 + static_cast<int>(rd() % 300) * 20;
    tag_ = "cn" + std::to_string(rd() % 1000000);
    log_dir_ = cp_->dir() + "/logs/" + tag_;
    fs::create_directories(log_dir_);
    // The mesh setting is global: each test starts from "no BGPConfiguration".
    (void)client_->remove(kBgpConfigs, "", "default", {});
  }

  void TearDown() override {
    kube::ListOptions lo;
    lo.label_selector = "e2e=" + tag_;
    for (const auto* type : {&kube::resources::nodes(), &kPeers}) {
      if (auto list = client_->list(*type, "", lo); list.ok()) {
        for (const auto& o : list->items) (void)client_->remove(*type, "", kube::name_of(o), {});
      }
    }
    (void)client_->remove(kube::resources::secrets(), kStandinNamespace, tag_, {});
    (void)client_->remove(kBgpConfigs, "", "default", {});
  }

  std::string ip(int host) const { return "127." + std::to_string(octet_) + ".1." + std::to_string(host); }
  std::string node_name(int host) const { return tag_ + "-n" + std::to_string(host); }
  std::string pod_cidr(int host) const { return "10." + std::to_string(octet_) + "." + std::to_string(host) + ".0/24"; }

  // A Node whose BGP address is the Calico annotation (CIDR form), or only its InternalIP.
  void CreateNode(int host, const std::string& rack, bool annotated, bool runs_calico_node = true) {
    Json meta = {{"name", node_name(host)},
                 {"labels", {{"e2e", tag_}, {kRackLabel, rack}, {"kubernetes.io/hostname", node_name(host)}}}};
    if (!runs_calico_node) meta["labels"]["rr.bgp.dev/calico-node"] = "false";  // a Dedicated reflector host
    if (annotated) meta["annotations"] = {{"projectcalico.org/IPv4Address", ip(host) + "/24"}};
    auto created = client_->create(kube::resources::nodes(), "",
                                   Json{{"apiVersion", "v1"},
                                        {"kind", "Node"},
                                        {"metadata", meta},
                                        {"spec", {{"podCIDR", pod_cidr(host)}}}});
    ASSERT_TRUE(created.ok()) << created.error().describe();
    Json with_status = *created;
    with_status["status"]["addresses"] = Json::array({{{"type", "InternalIP"}, {"address", ip(host)}}});
    auto updated = client_->update_status(kube::resources::nodes(), with_status);
    ASSERT_TRUE(updated.ok()) << updated.error().describe();
  }

  void SetBgpConfiguration(std::optional<bool> mesh, int listen_port) {
    Json spec = {{"listenPort", listen_port}, {"bindMode", "NodeIP"}};
    if (mesh) spec["nodeToNodeMeshEnabled"] = *mesh;
    Json object = {{"apiVersion", "crd.projectcalico.org/v1"},
                   {"kind", "BGPConfiguration"},
                   {"metadata", {{"name", "default"}}},
                   {"spec", spec}};
    auto current = client_->get(kBgpConfigs, "", "default");
    kube::Result<Json> written = current.ok() ? [&] {
      object["metadata"]["resourceVersion"] = kube::resource_version_of(*current);
      return client_->update(kBgpConfigs, object);
    }() : client_->create(kBgpConfigs, "", object);
    ASSERT_TRUE(written.ok()) << written.error().describe();
  }

  // A BGPPeer exactly as rr-operator renders one for a reflector of `rack` at ip:port.
  void CreateOperatorPeer(const std::string& name, const std::string& rack, const std::string& reflector_ip, int port,
                          bool with_password) {
    rr::planner::FabricSpec spec;
    spec.name = tag_;
    spec.uid = "00000000-0000-0000-0000-000000000001";
    spec.port = port;
    rr::planner::DesiredPeer desired;
    desired.name = name;
    desired.rack = rack;
    desired.node_selector = kRackLabel + " == '" + rack + "' && e2e == '" + tag_ + "'";
    desired.peer_ip = reflector_ip + ":" + std::to_string(port);
    desired.as_number = 64512;
    if (with_password) desired.password = rr::planner::SecretKeyRef{tag_, "password"};
    Json peer = rr::api::render_bgp_peer(spec, desired);
    peer["metadata"].erase("ownerReferences");  // no fabric object owns them here
    peer["metadata"]["labels"]["e2e"] = tag_;
    auto created = client_->create(kPeers, "", peer);
    ASSERT_TRUE(created.ok()) << created.error().describe();
  }

  void CreatePasswordSecret(const std::string& password) {
    auto created = client_->create(kube::resources::secrets(), kStandinNamespace,
                                   Json{{"apiVersion", "v1"},
                                        {"kind", "Secret"},
                                        {"metadata", {{"name", tag_}}},
                                        {"stringData", {{"password", password}}}});
    ASSERT_TRUE(created.ok()) << created.error().describe();
  }

  static std::string proto(const std::string& prefix, const std::string& ip_text) {
    std::string id = ip_text;
    std::replace(id.begin(), id.end(), '.', '_');
    return prefix + id;
  }

  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  rr::testing::LoopbackOctet loopback_;
  int octet_ = 0;
  int port_base_ = 0;
  std::string tag_;
  std::string log_dir_;
  static inline std::string kubeconfig_;
};

TEST_F(StandinIT, MeshWhileOnThenOnlyOperatorPeersWhenOff) {
  const int listen_port = port_base_;
  SetBgpConfiguration(std::nullopt, listen_port);  // mesh left to Calico's default: on
  CreateNode(1, "r1", /*annotated=*/true);
  CreateNode(2, "r1", /*annotated=*/false);
  CreateNode(3, "r2", /*annotated=*/true);
  CreateNode(4, "r1", /*annotated=*/false, /*runs_calico_node=*/false);
  Standin standin(kubeconfig_, node_name(1), log_dir_);

  // Mesh: one session per other node, passive toward greater addresses, nothing else.
  ASSERT_TRUE(eventually([&] {
    const std::string p = standin.protocols();
    return p.find(proto("Mesh_", ip(2))) != std::string::npos && p.find(proto("Mesh_", ip(3))) != std::string::npos;
  }, std::chrono::seconds(60))) << standin.process().log() << standin.config();
  std::string config = standin.config();
  EXPECT_NE(config.find("router id " + ip(1) + ";"), std::string::npos);
  EXPECT_NE(config.find("listen bgp address " + ip(1) + " port " + std::to_string(listen_port) + ";"),
            std::string::npos);
  EXPECT_NE(config.find("  neighbor " + ip(2) + " port " + std::to_string(listen_port) + " as 64512;\n"
                        "  source address " + ip(1) + ";\n  graceful restart time 120;\n  passive on;\n"),
            std::string::npos) << config;
  EXPECT_NE(config.find("route " + pod_cidr(1) + " blackhole;"), std::string::npos);
  EXPECT_EQ(config.find(proto("Mesh_", ip(4))), std::string::npos) << "meshed with a host that runs no calico-node";
  EXPECT_EQ(standin.protocols().find("Node_"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return standin.readyz() == "ok\n"; })) << standin.readyz();

  // rr-operator's BGPPeers arrive while the mesh is still on: both kinds of session (the migration state).
  const int reflector_port = port_base_ + 1;
  CreatePasswordSecret("standin-pw-1");
  CreateOperatorPeer(tag_ + "-r1-a", "r1", ip(2), reflector_port, /*with_password=*/true);
  CreateOperatorPeer(tag_ + "-r2-a", "r2", ip(3), reflector_port, /*with_password=*/false);
  const std::string node_session = proto("Node_", ip(2)) + "_port_" + std::to_string(reflector_port);
  ASSERT_TRUE(eventually([&] { return standin.protocols().find(node_session) != std::string::npos; },
                         std::chrono::seconds(60)))
      << standin.process().log() << standin.config();
  config = standin.config();
  EXPECT_NE(config.find(proto("Mesh_", ip(2))), std::string::npos);
  EXPECT_NE(config.find("  neighbor " + ip(2) + " port " + std::to_string(reflector_port) + " as 64512;\n"
                        "  source address " + ip(1) + ";\n  password \"standin-pw-1\";\n"),
            std::string::npos) << config;
  EXPECT_EQ(config.find(proto("Node_", ip(3))), std::string::npos);  // rack r2's reflector is not this node's

  // The mesh goes off: on the next render no Mesh_ protocol is left, the Node_ session stays.
  SetBgpConfiguration(false, listen_port);
  ASSERT_TRUE(eventually([&] { return standin.protocols().find("Mesh_") == std::string::npos; },
                         std::chrono::seconds(60)))
      << standin.process().log() << standin.config();
  EXPECT_NE(standin.protocols().find(node_session), std::string::npos);
  EXPECT_NE(standin.config().find("# Node-to-node mesh disabled"), std::string::npos);

  // And back on: the mesh returns beside the operator's session.
  SetBgpConfiguration(true, listen_port);
  ASSERT_TRUE(eventually([&] { return standin.protocols().find(proto("Mesh_", ip(3))) != std::string::npos; },
                         std::chrono::seconds(60)));
  EXPECT_NE(standin.protocols().find(node_session), std::string::npos);
  EXPECT_EQ(standin.process().log().find("standin-pw-1"), std::string::npos) << "the password was logged";
}

TEST_F(StandinIT, Bird16NodeLearnsARouteThroughABird2Reflector) {
  const int node_port = port_base_ + 2;
  const int reflector_port = port_base_ + 3;
  SetBgpConfiguration(false, node_port);
  CreateNode(1, "r1", true);  // the stand-in
  CreateNode(5, "r1", true);  // another client: a BIRD 2 speaker announcing its pod CIDR
  CreateNode(9, "r1", true);  // the reflector's host
  CreatePasswordSecret("rr-md5-pw");
  CreateOperatorPeer(tag_ + "-r1-a", "r1", ip(9), reflector_port, /*with_password=*/true);

  rr::bird::ReflectorConfig rc;
  rc.router_id = ip(9);
  rc.cluster_id = "10.255.0.1";
  rc.listen_address = ip(9);
  rc.listen_port = reflector_port;
  rc.timers.connect_retry_seconds = 2;
  rc.timers.connect_delay_seconds = 1;
  rc.timers.error_wait_min_seconds = 1;
  rc.timers.error_wait_max_seconds = 10;
  for (int host : {1, 5}) {
    rr::bird::Peer client;
    client.role = rr::bird::PeerRole::Client;
    client.name = node_name(host);
    client.address = ip(host);
    client.port = node_port;
    client.as_number = 64512;
    if (host == 1) client.password = "rr-md5-pw";
    rc.peers.push_back(client);
  }
  ASSERT_TRUE(rr::bird::validate_config(rc).ok());
  const std::string reflector_dir = log_dir_ + "/reflector";
  fs::create_directories(reflector_dir);
  char sock_dir[] = "/tmp/rr-rr.XXXXXX";
  ASSERT_NE(::mkdtemp(sock_dir), nullptr);
  struct RemoveDir {
    std::string path;
    ~RemoveDir() { fs::remove_all(path); }
  } remove_sock_dir{sock_dir};
  const std::string reflector_socket = std::string(sock_dir) + "/bird.ctl";
  std::ofstream(reflector_dir + "/bird.conf") << rr::bird::render_bird_config(rc);
  ChildProcess reflector(
      rr::testing::die_with_parent({"/usr/sbin/bird", "-f", "-c", reflector_dir + "/bird.conf", "-s", reflector_socket}),
      reflector_dir + "/bird.log");

  rr::testing::SpeakerConfig sc;
  sc.address = ip(5);
  sc.port = node_port;
  sc.peers = {rr::testing::SpeakerPeer{"to_reflector", ip(9), reflector_port, 64512, "", true}};
  sc.announce = {pod_cidr(5)};
  rr::testing::BirdSpeaker other(log_dir_ + "/speaker", sc);

  Standin standin(kubeconfig_, node_name(1), log_dir_);
  const std::string session = proto("Node_", ip(9)) + "_port_" + std::to_string(reflector_port);
  ASSERT_TRUE(eventually([&] { return standin.birdc("show protocols " + session).find("Established") !=
                                      std::string::npos; },
                         std::chrono::seconds(90)))
      << standin.birdc("show protocols all " + session) << standin.config() << standin.process().log();
  EXPECT_EQ(standin.protocols().find("Mesh_"), std::string::npos);

  // BIRD 1.6 holds the other client's pod CIDR, reflected: CLUSTER_LIST is the rack's cluster ID.
  std::optional<rr::testing::RouteInfo> route;
  ASSERT_TRUE(eventually([&] {
    route = rr::testing::parse_route(standin.birdc("show route all " + pod_cidr(5)));
    return route.has_value();
  }, std::chrono::seconds(60))) << standin.birdc("show route all");
  EXPECT_EQ(route->cluster_list, std::vector<std::string>{"10.255.0.1"});
  EXPECT_EQ(route->originator_id, ip(5));
  EXPECT_EQ(route->next_hop, ip(5));

  // And the other way: the stand-in's pod CIDR reaches the other client through the reflector,
  // while its own pod CIDR coming back would be dropped by its import filter.
  ASSERT_TRUE(eventually([&] { return other.route(pod_cidr(1)).has_value(); }, std::chrono::seconds(60)))
      << rr::testing::birdc(reflector_socket, "show route all");
  EXPECT_EQ(other.route(pod_cidr(1))->originator_id, ip(1));
  reflector.stop(std::chrono::seconds(5));
}

}  // namespace
