// The reflector Pod exactly as the operator renders it, run the way a kubelet
// would run it: the real rr-agent (as the image's ENTRYPOINT, with the Pod's
// args and env) and real BIRD 2, in the filesystem the Pod describes (its
// read-only root, a fresh tmpfs for each emptyDir it mounts and nothing else
// writable, its service-account token) as its runAsUser. Nothing about the
// layout is assumed here: every path comes from the rendered Pod, so a Pod
// that stops giving the agent or BIRD a place to write fails this test.
// Needs root (a private mount namespace); without it the test fails.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "agent/bgp_port.h"
#include "api/render.h"
#include "bird/config_renderer.h"
#include "contract/fabric_spec.h"
#include "support/api_types.h"
#include "support/bird_speaker.h"
#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/loopback_octet.h"
#include "support/pod_sandbox.h"
#include "support/process.h"
#include "support/reflector_simulator.h"
#include "support/short_temp_dir.h"

namespace {

using kube::Json;
using rr::testing::BirdSpeaker;
using rr::testing::ChildProcess;
using rr::testing::eventually;
using rr::testing::kFabrics;
using rr::testing::ShortTempDir;

using rr::testing::kPort;

class ReflectorPodIT : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "running a Pod's filesystem needs a private mount namespace: run as root";
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    ASSERT_TRUE(client_);
    cp_->install_crds(/*with_calico=*/false);
    ns_ = cp_->create_namespace(*client_, "pod");
    octet_ = loopback_.value();  // this test's own 127.N.x.y addresses
    ASSERT_NE(octet_, 0) << "every 127.N of /tmp/rr-loopback-octets is taken";
    dir_ = cp_->dir() + "/logs/pod-" + ns_;
    std::filesystem::create_directories(dir_);
    ASSERT_FALSE(service_account_.path().empty());
    ASSERT_FALSE(work_.path().empty());
  }

  void TearDown() override {
    agent_.reset();
    speaker_.reset();
    (void)client_->remove(kFabrics, "", fabric(), {});
    (void)client_->remove(kube::resources::nodes(), "", node(), {});
  }

  std::string ip(int rack, int host) const {
    return "127." + std::to_string(octet_) + "." + std::to_string(rack) + "." + std::to_string(host);
  }
  std::string fabric() const { return "pod-" + ns_; }
  std::string node() const { return "a1-" + ns_; }

  // The fabric as the operator reads it back from the API server, defaults included.
  rr::planner::FabricSpec CreateFabric() {
    Json spec = {{"namespace", ns_},
                 {"nodeSelector", {{"e2e", ns_}}},
                 {"reflectors", {{"port", kPort}}},
                 {"lease", {{"durationSeconds", 6}}},
                 {"bgp", {{"holdTimeSeconds", 9}, {"keepaliveSeconds", 3}}}};
    auto created = client_->create(kFabrics, "", Json{{"apiVersion", "rr.bgp.dev/v1alpha1"},
                                                     {"kind", "RouteReflectorCluster"},
                                                     {"metadata", {{"name", fabric()}}},
                                                     {"spec", spec}});
    EXPECT_TRUE(created.ok()) << created.error().describe();
    if (!created.ok()) return {};
    auto parsed = rr::contract::parse_fabric(*created, "registry.example/rr-agent:test");
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    return parsed.ok() ? *parsed : rr::planner::FabricSpec{};
  }

  // A Calico node of rack-a with its BIRD, peering with the reflector at ip(1, 1).
  void AddPeer() {
    Json n = rr::testing::make_node(node(), {{"e2e", ns_}, {"topology.kubernetes.io/rack", "rack-a"}}, "10.250.0.1");
    n["metadata"]["annotations"]["projectcalico.org/IPv4Address"] = ip(1, 11) + "/32";
    rr::testing::create_ready_node(*client_, n);
    rr::testing::SpeakerConfig c;
    c.address = ip(1, 11);
    c.port = kPort;
    c.peers.push_back(rr::testing::SpeakerPeer{"rr0", ip(1, 1), kPort, 64512, "", true});
    speaker_ = std::make_unique<BirdSpeaker>(dir_ + "/a1", c);
  }

  // What kubelet gives the Pod on a node whose address is ip(1, 1): the in-cluster
  // token (the admin's here), the API server's address, the image's command.
  rr::testing::PodRuntime Runtime(const std::string& pod_namespace) {
    rr::testing::PodRuntime r;
    r.node_name = "host-" + ns_;
    r.host_ip = ip(1, 1);
    const std::string& sa = service_account_.path();
    std::ofstream(sa + "/token") << cp_->var("RR_KUBE_ADMIN_TOKEN");
    std::filesystem::copy_file(cp_->var("RR_KUBE_CA"), sa + "/ca.crt",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(sa + "/namespace") << pod_namespace;
    // Projected volumes are world-readable by default (defaultMode 0644).
    ::chmod(sa.c_str(), 0755);
    for (const char* f : {"/token", "/ca.crt", "/namespace"}) ::chmod((sa + f).c_str(), 0644);
    r.service_account_dir = sa;
    const std::string server = cp_->server();  // https://127.0.0.1:PORT
    const auto colon = server.rfind(':');
    r.kubernetes_service_host = server.substr(std::string("https://").size(), colon - std::string("https://").size());
    r.kubernetes_service_port = server.substr(colon + 1);
    std::string why;
    auto image = rr::testing::read_image_command(rr::testing::repo_root() + "/reflector/image/Dockerfile", &why);
    EXPECT_TRUE(image) << why;
    if (image) {
      r.image_entrypoint = image->entrypoint;
      r.image_cmd = image->cmd;
    }
    r.entrypoint_binary = RR_AGENT_BIN;
    return r;
  }

  Json RenderPod(const rr::planner::FabricSpec& spec) {
    const rr::planner::DesiredPod desired{"ra-" + ns_, "rack-a", "host-" + ns_, "10.255.0.1"};
    return rr::api::render_reflector_pod(spec, desired);
  }

  std::optional<rr::testing::ContainerSandbox> Sandbox(const Json& pod) {
    std::string why;
    auto sandbox = rr::testing::container_sandbox(pod, "reflector", Runtime(pod["metadata"]["namespace"].get<std::string>()), &why);
    EXPECT_TRUE(sandbox) << why << "\n" << pod.dump(2);
    // Host network: the host address's port 9179 may be taken by another agent on this host.
    // The metrics listener is not what this test is about; any loopback port will do.
    if (sandbox) sandbox->env["RR_METRICS_ADDRESS"] = "127.0.0.1:0";
    return sandbox;
  }

  void StartAgent(const rr::testing::ContainerSandbox& sandbox) {
    agent_ = std::make_unique<ChildProcess>(sandbox.launcher(work_.path()), dir_ + "/agent.log");
  }

  // `kubectl exec reflector -- birdc ...` on the socket the Pod's command line names.
  std::string Birdc(const rr::testing::ContainerSandbox& sandbox, const std::string& command) {
    const std::string socket = sandbox.flag("bird-socket").value_or("/run/bird/bird.ctl");  // else rr-agent's default
    return rr::testing::run_argv(rr::testing::exec_in_sandbox(agent_->pid(), {"/usr/sbin/birdc", "-s", socket, command}),
                                 std::chrono::seconds(10))
        .output;
  }

  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::string ns_, dir_;
  rr::testing::LoopbackOctet loopback_;
  int octet_ = 0;
  ShortTempDir service_account_{"rr-sa"};
  ShortTempDir work_{"rr-pod"};
  std::unique_ptr<BirdSpeaker> speaker_;
  std::unique_ptr<ChildProcess> agent_;
};

TEST_F(ReflectorPodIT, TheRenderedPodLoadsAConfigWithAPeer) {
  const auto spec = CreateFabric();
  AddPeer();
  const Json pod = RenderPod(spec);
  const auto sandbox = Sandbox(pod);
  ASSERT_TRUE(sandbox);
  StartAgent(*sandbox);

  // The node's client session is in the config BIRD runs: the agent checked it with
  // `bird -p`, wrote it and had BIRD load it, all within the Pod's volumes.
  const std::string protocol = rr::bird::protocol_name(rr::bird::PeerRole::Client, node());
  ASSERT_TRUE(eventually([&] { return Birdc(*sandbox, "show protocols").find(protocol) != std::string::npos; },
                         std::chrono::seconds(60)))
      << Birdc(*sandbox, "show protocols") << "\n" << agent_->log();
  ASSERT_TRUE(eventually([&] { return speaker_->session_state("rr0") == "Established"; }, std::chrono::seconds(45)))
      << speaker_->birdc("show protocols all") << Birdc(*sandbox, "show protocols all") << agent_->log();
  EXPECT_TRUE(agent_->running()) << agent_->log();
  EXPECT_EQ(agent_->log().find("Read-only file system"), std::string::npos) << agent_->log();
}

// The control for the test above: the sandbox really takes away what the Pod does
// not mount. A Pod whose scratch directory is not one of its volumes (here /tmp on
// the read-only root, where the agent's temp file used to go) cannot check any
// config; the agent says so at start-up and exits instead of running BIRD on an
// empty config.
TEST_F(ReflectorPodIT, AScratchDirectoryOutsideThePodsVolumesStopsTheAgent) {
  const auto spec = CreateFabric();
  Json pod = RenderPod(spec);
  Json& args = pod["spec"]["containers"][0]["args"];
  ASSERT_TRUE(args.is_array()) << pod.dump(2);
  bool replaced = false;
  for (auto& a : args) {
    if (a.get<std::string>().rfind("--scratch-dir=", 0) == 0) {
      a = "--scratch-dir=/tmp";
      replaced = true;
    }
  }
  ASSERT_TRUE(replaced) << "the Pod does not give rr-agent --scratch-dir: " << args.dump();
  const auto sandbox = Sandbox(pod);
  ASSERT_TRUE(sandbox);
  StartAgent(*sandbox);
  ASSERT_TRUE(eventually([&] { return !agent_->running(); }, std::chrono::seconds(30))) << agent_->log();
  EXPECT_NE(agent_->log().find("cannot write in the scratch directory (--scratch-dir)"), std::string::npos)
      << agent_->log();
  EXPECT_NE(agent_->log().find("Read-only file system"), std::string::npos) << agent_->log();
}

}  // namespace
