// rr-operator, the real binary, decides to exit: a kubeconfig it cannot use, or
// a leader Lease it lost. It must exit by itself with a non-zero code (in
// Kubernetes: a CrashLoop the user sees, or a clean restart of the replica),
// not keep running until a SIGTERM that only a failed liveness probe brings.
// And a replica stuck where it cannot decide anything fails /healthz, naming where.
#include <signal.h>

#include <fstream>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>

#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/process.h"

namespace {

using namespace std::chrono_literals;
using kube::Json;
using rr::testing::ChildProcess;

// Generous: fails only when the process never exits by itself.
constexpr auto kExitLimit = 60s;

class OperatorExitIT : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    ASSERT_TRUE(client_);
    ns_ = cp_->create_namespace(*client_, "rrexit");
    cp_->install_crds(/*with_calico=*/true);
  }

  void TearDown() override {
    for (auto& op : operators_) op->stop();
    operators_.clear();
    if (client_ && !ns_.empty()) (void)client_->remove(kube::resources::namespaces(), "", ns_, {});
  }

  std::string Path(const std::string& name) const { return cp_->dir() + "/" + ns_ + "-" + name; }

  ChildProcess& StartOperator(const std::string& kubeconfig, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {RR_OPERATOR_BIN, "--kubeconfig", kubeconfig, "--metrics-address", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::string log = cp_->dir() + "/logs/operator-" + ns_ + "-" + std::to_string(operators_.size()) + ".log";
    operators_.push_back(std::make_unique<ChildProcess>(argv, log));
    return *operators_.back();
  }

  // A leader-elected operator on its own Lease in this test's namespace, with short timings:
  // short, not tight. A TSan-instrumented operator on a busy machine once missed a 3 s renew
  // deadline before its caches synced, so the deadline is 6 s.
  ChildProcess& StartLeader(const std::string& identity) {
    return StartOperator(cp_->kubeconfig(),
                         {"--leader-elect=true", "--leader-election-namespace", ns_, "--leader-election-id",
                          "rr-operator", "--identity", identity, "--lease-duration", "8s", "--renew-deadline", "6s",
                          "--retry-period", "1s"});
  }

  Json Lease() {
    auto got = client_->get(kube::resources::leases(), ns_, "rr-operator");
    return got.ok() ? *got : Json::object();
  }

  // "CODE BODY" of a GET (curl, loopback), the body's trailing newline dropped.
  static std::string Probe(const std::string& url) {
    auto r = rr::testing::run_argv({"curl", "-sS", "-m", "5", "-w", "%{http_code}", "-o", "-", url}, 10s);
    if (r.output.size() < 3) return r.output;
    std::string body = r.output.substr(0, r.output.size() - 3);
    while (!body.empty() && body.back() == '\n') body.pop_back();
    return r.output.substr(r.output.size() - 3) + " " + body;
  }

  pid_t ApiserverPid() const {
    std::ifstream pids(cp_->dir() + "/pids");
    std::string name;
    long pid = 0;
    while (pids >> name >> pid) {
      if (name == "kube-apiserver") return static_cast<pid_t>(pid);
    }
    return -1;
  }

  // SIGSTOP for as long as it lives, SIGCONT after, whatever the test's outcome.
  class Frozen {
   public:
    explicit Frozen(pid_t pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
    ~Frozen() { ::kill(pid_, SIGCONT); }
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;

   private:
    pid_t pid_;
  };

  static double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }
  static size_t Position(const std::string& log, const std::string& needle) { return log.find(needle); }

  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::string ns_;
  std::vector<std::unique_ptr<ChildProcess>> operators_;
};

TEST_F(OperatorExitIT, AKubeconfigItCannotUseEndsTheProcessWithAnErrorNamingIt) {
  struct Case {
    std::string name;
    std::string file;
    std::optional<std::string> contents;  // nullopt: the file does not exist
    std::string problem;                  // what the message must say besides the path (a line for YAML)
  };
  const std::vector<Case> cases = {
      {"missing", Path("missing.kubeconfig"), std::nullopt, "No such file"},
      {"empty", Path("empty.kubeconfig"), "", "empty"},
      {"malformed", Path("malformed.kubeconfig"), "apiVersion: v1\nclusters: [ {name: local\n", "line "},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    if (c.contents) std::ofstream(c.file) << *c.contents;
    auto& op = StartOperator(c.file, {"--leader-elect=false"});
    auto status = op.wait_for_exit(kExitLimit);
    ASSERT_TRUE(status.has_value()) << "still running after " << kExitLimit.count() << " s:\n" << op.log();
    EXPECT_EQ(*status, 1) << op.log();
    const std::string log = op.log();
    auto line = op.wait_for_log("cannot load Kubernetes client configuration", 0ms);
    ASSERT_TRUE(line.has_value()) << log;
    EXPECT_NE(line->find(c.file), std::string::npos) << *line;
    EXPECT_NE(line->find(c.problem), std::string::npos) << *line;
    EXPECT_EQ(log.find("starting"), std::string::npos) << "went on after the error:\n" << log;
  }
}

TEST_F(OperatorExitIT, AStallTimeoutAStandbyCouldNotMeetIsRefusedNamingTheFlags) {
  // A standby's acquire loop beats the watchdog once per attempt: a stall timeout within the
  // lease duration would fail /healthz on a healthy standby and restart it for nothing.
  auto result = rr::testing::run_argv({RR_OPERATOR_BIN, "--kubeconfig", cp_->kubeconfig(), "--metrics-address",
                                       "127.0.0.1:0", "--lease-duration", "15s", "--stall-timeout", "15s"},
                                      kExitLimit);
  EXPECT_EQ(result.status, 2) << result.output;
  EXPECT_NE(result.output.find("--stall-timeout must be greater than --lease-duration"), std::string::npos)
      << result.output;
}

TEST_F(OperatorExitIT, ALeaderWhoseLeaseIsTakenOverExitsNonZero) {
  auto& leader = StartLeader("replica-a");
  ASSERT_TRUE(leader.wait_for_log("became leader", 60s).has_value()) << leader.log();

  // Another holder takes the Lease over (as after a partition the old leader did not notice).
  ASSERT_TRUE(rr::testing::eventually(
      [&] {
        Json lease = Lease();
        if (!lease.contains("spec")) return false;
        lease["spec"]["holderIdentity"] = "replica-b";
        lease["spec"]["leaseDurationSeconds"] = 3600;
        return client_->update(kube::resources::leases(), lease).ok();
      },
      10s));
  const auto taken = std::chrono::steady_clock::now();

  auto status = leader.wait_for_exit(kExitLimit);
  std::cout << "exited " << Seconds(std::chrono::steady_clock::now() - taken) << " s after the takeover\n";
  ASSERT_TRUE(status.has_value()) << "the replica that lost its Lease still runs:\n" << leader.log();
  EXPECT_EQ(*status, 1) << leader.log();
  const std::string log = leader.log();
  const auto became = Position(log, "became leader");
  const auto stopped = Position(log, "stopped leading");
  const auto exiting = Position(log, "lost leadership; exiting");
  ASSERT_NE(stopped, std::string::npos) << log;
  ASSERT_NE(exiting, std::string::npos) << log;
  EXPECT_LT(became, stopped) << log;
  EXPECT_LT(stopped, exiting) << log;
  EXPECT_EQ(Position(log, "shutting down"), std::string::npos) << "exited on a signal, not by itself:\n" << log;
  EXPECT_EQ(Lease()["spec"].value("holderIdentity", ""), "replica-b") << "the loser must not write the Lease";
}

TEST_F(OperatorExitIT, ALeaderCutOffFromTheApiPastTheRenewDeadlineExitsNonZero) {
  auto& leader = StartLeader("replica-a");
  ASSERT_TRUE(leader.wait_for_log("became leader", 60s).has_value()) << leader.log();
  ASSERT_TRUE(leader.wait_for_log("caches synced", 60s).has_value()) << leader.log();

  cp_->stop_apiserver();  // every renewal fails from now on
  const auto cut = std::chrono::steady_clock::now();
  auto status = leader.wait_for_exit(kExitLimit);
  std::cout << "exited " << Seconds(std::chrono::steady_clock::now() - cut)
            << " s after the API went away (renew deadline 6 s)\n";
  cp_->start_apiserver();
  ASSERT_TRUE(status.has_value()) << "the replica that could not renew still runs:\n" << leader.log();
  EXPECT_EQ(*status, 1) << leader.log();
  const std::string log = leader.log();
  const auto stopped = Position(log, "stopped leading");
  const auto exiting = Position(log, "lost leadership; exiting");
  ASSERT_NE(stopped, std::string::npos) << log;
  ASSERT_NE(exiting, std::string::npos) << log;
  EXPECT_LT(stopped, exiting) << log;
  EXPECT_EQ(Position(log, "shutting down"), std::string::npos) << "exited on a signal, not by itself:\n" << log;
}

// kube-apiserver frozen (SIGSTOP): connections are accepted, no request is answered, so the
// leader's renewal hangs in its call. /healthz must say so instead of a constant ok.
TEST_F(OperatorExitIT, HealthzNamesALeaderElectionStuckInACallToAFrozenApi) {
  auto& leader = StartOperator(cp_->kubeconfig(),
                               {"--leader-elect=true", "--leader-election-namespace", ns_, "--leader-election-id",
                                "rr-operator", "--identity", "replica-a", "--lease-duration", "8s", "--renew-deadline",
                                "6s", "--retry-period", "1s", "--stall-timeout", "12s"});
  auto serving = leader.wait_for_log("serving /metrics", 20s);
  ASSERT_TRUE(serving.has_value()) << leader.log();
  const std::string healthz = serving->substr(serving->find("url=") + 4) + "/healthz";
  ASSERT_TRUE(leader.wait_for_log("caches synced", 60s).has_value()) << leader.log();
  EXPECT_EQ(Probe(healthz), "200 ok") << "a healthy leader";

  const pid_t apiserver = ApiserverPid();
  ASSERT_GT(apiserver, 0);
  std::string unhealthy;
  {
    Frozen frozen(apiserver);
    rr::testing::eventually(
        [&] {
          unhealthy = Probe(healthz);
          return unhealthy.rfind("503 ", 0) == 0;
        },
        kExitLimit);
  }
  EXPECT_NE(unhealthy.find("503 leader election made no progress for"), std::string::npos) << unhealthy;
  // Thawed, the call returns, the replica knows it lost the Lease, and exits.
  auto status = leader.wait_for_exit(60s);
  ASSERT_TRUE(status.has_value()) << leader.log();
  EXPECT_EQ(*status, 1) << leader.log();
}

// A standby stopped says nothing of a leadership it never had.
TEST_F(OperatorExitIT, SigtermStopsAStandbyWithCodeZeroAndNoLeadershipToSpeakOf) {
  auto& leader = StartLeader("replica-a");
  ASSERT_TRUE(leader.wait_for_log("became leader", 60s).has_value()) << leader.log();
  auto& standby = StartLeader("replica-b");
  ASSERT_TRUE(standby.wait_for_log("replica-a", 60s).has_value()) << "never saw the leader:\n" << standby.log();
  EXPECT_EQ(standby.stop(kExitLimit), 0) << standby.log();
  const std::string log = standby.log();
  EXPECT_NE(Position(log, "shutting down"), std::string::npos) << log;
  EXPECT_EQ(Position(log, "became leader"), std::string::npos) << log;
  EXPECT_EQ(Position(log, "stopped leading"), std::string::npos) << log;
  EXPECT_EQ(leader.stop(kExitLimit), 0) << leader.log();
}

TEST_F(OperatorExitIT, SigtermStillStopsALeaderCleanlyWithCodeZero) {
  auto& leader = StartLeader("replica-a");
  ASSERT_TRUE(leader.wait_for_log("became leader", 60s).has_value()) << leader.log();
  // Its informers' watches are open.
  ASSERT_TRUE(leader.wait_for_log("caches synced", 60s).has_value()) << leader.log();
  const int status = leader.stop(kExitLimit);
  EXPECT_EQ(status, 0) << leader.log();
  const std::string log = leader.log();
  const auto shutdown = Position(log, "shutting down");
  ASSERT_NE(shutdown, std::string::npos) << log;
  EXPECT_EQ(Position(log, "lost leadership"), std::string::npos) << log;
  // Its own stop ends its watches: nothing failed, and nothing is retried.
  EXPECT_EQ(log.find("retrying", shutdown), std::string::npos) << log;
  // The clean stop released the Lease for a standby.
  EXPECT_EQ(Lease()["spec"].value("holderIdentity", "<none>"), "") << Lease().dump();
}

}  // namespace
