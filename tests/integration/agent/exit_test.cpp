// rr-agent, the real binary with real BIRD 2, decides to exit on an error: it
// must exit by itself with a non-zero code (the kubelet restarts the container
// and the user sees why), taking its BIRD with it, instead of waiting for a
// SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/process.h"
#include "support/short_temp_dir.h"

namespace {

using namespace std::chrono_literals;
using rr::testing::ChildProcess;

// Generous: fails only when the process never exits by itself.
constexpr auto kExitLimit = 30s;

// Whether a BIRD runs on this config: `bird -f -c CONFIG ...` (the agent's own argv says --bird-config).
bool bird_runs_on(const std::string& config) {
  const std::string needle = std::string("-c") + '\0' + config + '\0';
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    if (cmdline.find(needle) != std::string::npos) return true;
  }
  return false;
}

// A listening socket on a loopback port, held for the test: the agent cannot serve there.
class TakenPort {
 public:
  TakenPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot hold a loopback port";
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~TakenPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
};

class AgentExitIT : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    ASSERT_TRUE(client_);
    ns_ = cp_->create_namespace(*client_, "agentexit");
    dir_ = cp_->dir() + "/logs/exit-" + ns_;  // logs/ outlives the fixture, for post-mortems
    std::filesystem::create_directories(dir_);
    std::random_device rd;
    address_ = "127." + std::to_string(100 + rd() % 150) + "." + std::to_string(rd() % 250) + ".1";
  }

  void TearDown() override {
    agents_.clear();
    if (client_ && !ns_.empty()) (void)client_->remove(kube::resources::namespaces(), "", ns_, {});
  }

  std::string BirdConfig() const { return dir_ + "/bird.conf"; }

  ChildProcess& StartAgent(const std::string& kubeconfig, const std::string& metrics_address) {
    std::vector<std::string> argv = {RR_AGENT_BIN,   "--kubeconfig",  kubeconfig,        "--metrics-address",
                                     metrics_address, "--bird-config", BirdConfig(),      "--bird-socket",
                                     run_.file("bird.ctl"), "--scratch-dir", run_.path(), "--client-port", "11180"};
    std::map<std::string, std::string> env = {
        {"RR_POD_NAME", "rr-exit"},     {"RR_NAMESPACE", ns_}, {"RR_NODE_NAME", "host-exit"},
        {"RR_HOST_IP", address_},       {"RR_FABRIC", "exit"}, {"RR_RACK", "r1"},
        {"RR_CLUSTER_ID", "10.255.0.1"}, {"RR_BGP_PORT", "11180"}};
    const std::string log = dir_ + "/agent-" + std::to_string(agents_.size()) + ".log";
    agents_.push_back(std::make_unique<ChildProcess>(argv, log, env));
    return *agents_.back();
  }

  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::string ns_;
  std::string dir_;
  std::string address_;
  rr::testing::ShortTempDir run_{"rr-exit"};  // BIRD's socket and the agent's scratch files
  std::vector<std::unique_ptr<ChildProcess>> agents_;
};

TEST_F(AgentExitIT, AMissingKubeconfigEndsTheProcessWithAnErrorNamingIt) {
  const std::string missing = dir_ + "/missing.kubeconfig";
  auto& agent = StartAgent(missing, "127.0.0.1:0");
  auto status = agent.wait_for_exit(kExitLimit);
  ASSERT_TRUE(status.has_value()) << "still running after " << kExitLimit.count() << " s:\n" << agent.log();
  EXPECT_EQ(*status, 1) << agent.log();
  auto line = agent.wait_for_log("cannot load Kubernetes client configuration", 0ms);
  ASSERT_TRUE(line.has_value()) << agent.log();
  EXPECT_NE(line->find(missing), std::string::npos) << *line;
}

TEST_F(AgentExitIT, AnErrorAfterBirdStartedEndsTheProcessAndItsBird) {
  TakenPort taken;
  auto& agent = StartAgent(cp_->kubeconfig(), taken.address());
  auto status = agent.wait_for_exit(kExitLimit);
  ASSERT_TRUE(status.has_value()) << "still running after " << kExitLimit.count() << " s:\n" << agent.log();
  EXPECT_EQ(*status, 1) << agent.log();
  auto line = agent.wait_for_log("cannot serve metrics", 0ms);
  ASSERT_TRUE(line.has_value()) << agent.log();
  EXPECT_NE(line->find(taken.address()), std::string::npos) << *line;
  // Its BIRD (started before the probe server) goes with it.
  EXPECT_FALSE(bird_runs_on(BirdConfig())) << "BIRD outlived its agent";
}

TEST_F(AgentExitIT, SigtermStopsTheAgentAndItsBirdWithCodeZero) {
  auto& agent = StartAgent(cp_->kubeconfig(), "127.0.0.1:0");
  ASSERT_TRUE(agent.wait_for_log("starting", 20s).has_value()) << agent.log();
  ASSERT_TRUE(rr::testing::eventually([&] { return bird_runs_on(BirdConfig()); }, 20s))
      << "BIRD never ran:\n" << agent.log();
  EXPECT_EQ(agent.stop(kExitLimit), 0) << agent.log();
  EXPECT_NE(agent.log().find("shutting down"), std::string::npos) << agent.log();
  EXPECT_FALSE(bird_runs_on(BirdConfig())) << "BIRD outlived its agent";
}

}  // namespace
