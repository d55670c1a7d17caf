// rr-agent, the real binary with real BIRD 2, decides to exit on an error: it
// must exit by itself with a non-zero code (the kubelet restarts the container
// and the user sees why), taking its BIRD with it, instead of waiting for a
// SIGTERM. And where it listens by default: the Pod is on the host network.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/loopback_octet.h"
#include "support/process.h"
#include "support/short_temp_dir.h"

namespace {

using namespace std::chrono_literals;
using rr::testing::ChildProcess;

// Generous: fails only when the process never exits by itself.
constexpr auto kExitLimit = 30s;

// Whether a BIRD runs on this config: `bird -f -c CONFIG ...` (the agent's own argv says --bird-config).
// A process's command line, or "" once it is gone: any process of the machine may exit between
// the listing of /proc and the read, which then fails with ESRCH (an ifstream throws on that).
std::string cmdline_of(const std::filesystem::path& proc_dir) {
  std::string out;
  const int fd = ::open((proc_dir / "cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

bool bird_runs_on(const std::string& config) {
  const std::string needle = std::string("-c") + '\0' + config + '\0';
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (cmdline_of(entry.path()).find(needle) != std::string::npos) return true;
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

// The TCP sockets process `pid` itself listens on, as "a.b.c.d:port" (IPv4) or "[v6 hex]:port".
std::set<std::string> listening_sockets(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(fd_dir, ec)) {
    const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<std::string> out;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (state != "0A" || !inodes.count(inode)) continue;  // 0A: LISTEN
      const auto colon = local.find(':');
      const std::string port = std::to_string(std::stoi(local.substr(colon + 1), nullptr, 16));
      if (std::string(table) == "tcp") {
        in_addr addr{};
        addr.s_addr = static_cast<in_addr_t>(std::stoul(local.substr(0, colon), nullptr, 16));  // host order as stored
        out.insert(std::string(inet_ntoa(addr)) + ":" + port);
      } else {
        out.insert("[" + local.substr(0, colon) + "]:" + port);
      }
    }
  }
  return out;
}

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
    ASSERT_NE(loopback_.value(), 0) << "every 127.N of /tmp/rr-loopback-octets is taken";
    address_ = "127." + std::to_string(loopback_.value()) + "." + std::to_string(rd() % 250) + ".1";
  }

  void TearDown() override {
    agents_.clear();
    if (client_ && !ns_.empty()) (void)client_->remove(kube::resources::namespaces(), "", ns_, {});
  }

  std::string BirdConfig() const { return dir_ + "/bird.conf"; }

  // An empty `metrics_address` passes no --metrics-address: the agent's default.
  ChildProcess& StartAgent(const std::string& kubeconfig, const std::string& metrics_address,
                           const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {RR_AGENT_BIN,          "--kubeconfig",  kubeconfig,  "--bird-config",
                                     BirdConfig(),          "--bird-socket", run_.file("bird.ctl"), "--scratch-dir",
                                     run_.path(),           "--client-port", "11180"};
    if (!metrics_address.empty()) argv.insert(argv.end(), {"--metrics-address", metrics_address});
    argv.insert(argv.end(), extra.begin(), extra.end());
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
  rr::testing::LoopbackOctet loopback_;
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

// The named password Secrets are read again every --secret-refresh: zero would be a busy loop.
TEST_F(AgentExitIT, AZeroSecretRefreshIsRefusedAtStartNamingTheFlag) {
  auto& agent = StartAgent(cp_->kubeconfig(), "127.0.0.1:0", {"--secret-refresh", "0s"});
  auto status = agent.wait_for_exit(kExitLimit);
  ASSERT_TRUE(status.has_value()) << "still running after " << kExitLimit.count() << " s:\n" << agent.log();
  EXPECT_EQ(*status, 2) << agent.log();
  EXPECT_NE(agent.log().find("--secret-refresh: \"0s\" is too short: at least 1s"), std::string::npos) << agent.log();
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
  const std::string log = agent.log();
  const auto shutdown = log.find("shutting down");
  ASSERT_NE(shutdown, std::string::npos) << log;
  EXPECT_FALSE(bird_runs_on(BirdConfig())) << "BIRD outlived its agent";
  // The exit the agent asked for is no crash: nothing to restart, nothing to warn about, and
  // the watches it ended are not retried.
  EXPECT_NE(log.find("BIRD stopped"), std::string::npos) << log;
  EXPECT_EQ(log.find("restarting"), std::string::npos) << log;
  EXPECT_EQ(log.find("retrying", shutdown), std::string::npos) << log;
}

// The Pod is on the host network: a listener on 0.0.0.0 would serve /metrics, /healthz and
// /readyz on every interface of the host. Without --metrics-address the agent listens on
// its host's address (RR_HOST_IP) only, where the kubelet probes a hostNetwork Pod.
TEST_F(AgentExitIT, WithoutAMetricsAddressTheAgentListensOnTheHostsAddressOnly) {
  auto& agent = StartAgent(cp_->kubeconfig(), "");
  auto line = agent.wait_for_log("starting", 20s);
  ASSERT_TRUE(line.has_value()) << agent.log();
  EXPECT_NE(line->find("http://" + address_ + ":9179"), std::string::npos) << *line;
  EXPECT_EQ(listening_sockets(agent.pid()), std::set<std::string>{address_ + ":9179"})
      << "the agent itself listens on the host's address and nowhere else";
  EXPECT_EQ(agent.stop(kExitLimit), 0) << agent.log();
}

}  // namespace
