// Both binaries, as built, against what a user meets at the edges: an API server
// that accepts TCP but never completes TLS, one that answers garbage with a 200
// (a proxy's HTML page, truncated JSON, a Status of failure), and flags out of
// range. Each must name the cause in its log (the operator in /readyz too), keep
// retrying, and stop at once on SIGTERM with code 0; a bad flag ends the process
// with code 2 and one line naming the flag, before any API call.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "support/process.h"
#include "support/short_temp_dir.h"

namespace {

using namespace std::chrono_literals;
using rr::testing::ChildProcess;

// Generous bounds: each fails only when a cause is never logged or SIGTERM is ignored.
// A server that never answers costs one request deadline (30 s) before the first cause.
constexpr auto kCauseLimit = 120s;
constexpr auto kSigtermGrace = 20s;

struct Mode {
  std::string name;
  std::string cause;  // what the log line (and the operator's /readyz) must say
};
void PrintTo(const Mode& m, std::ostream* out) { *out << m.name; }

class HostileApiIT : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto cert = rr::testing::run_argv({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                       "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                                       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                                       dir_.file("key.pem"), "-out", dir_.file("cert.pem")});
    ASSERT_TRUE(cert.ok()) << cert.output;
    server_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{RR_HOSTILE_APISERVER, GetParam().name, dir_.file("cert.pem"),
                                 dir_.file("key.pem")},
        dir_.file("server.log"));
    auto listening = server_->wait_for_log("listening on ", 30s);
    ASSERT_TRUE(listening) << server_->log();
    const std::string port = listening->substr(listening->rfind(' ') + 1);
    // The kubeconfig reaches both binaries as kubectl's list form, behind a file that does not exist.
    std::ofstream(dir_.file("kubeconfig")) << "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                                           << "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:"
                                           << port << "\n    certificate-authority: " << dir_.file("cert.pem")
                                           << "\nusers:\n- name: u\n  user: {token: t}\n"
                                           << "contexts:\n- name: c\n  context: {cluster: c, user: u}\n";
    kubeconfig_list_ = dir_.file("absent") + ":" + dir_.file("kubeconfig");
  }

  void TearDown() override {
    binaries_.clear();
    server_.reset();
  }

  ChildProcess& StartOperator() {
    binaries_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{RR_OPERATOR_BIN, "--leader-elect=false", "--metrics-address", "127.0.0.1:0"},
        dir_.file("operator.log"), std::map<std::string, std::string>{{"KUBECONFIG", kubeconfig_list_}}));
    return *binaries_.back();
  }

  ChildProcess& StartAgent() {
    binaries_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{RR_AGENT_BIN, "--run-bird=false", "--bird-socket", dir_.file("bird.ctl"),
                                 "--bird-config", dir_.file("bird.conf"), "--scratch-dir", dir_.path(),
                                 "--metrics-address", "127.0.0.1:0"},
        dir_.file("agent.log"),
        std::map<std::string, std::string>{{"KUBECONFIG", kubeconfig_list_},
                                           {"RR_POD_NAME", "rr-edge"},
                                           {"RR_NAMESPACE", "rr-system"},
                                           {"RR_NODE_NAME", "host-edge"},
                                           {"RR_HOST_IP", "127.0.0.1"},
                                           {"RR_FABRIC", "edge"},
                                           {"RR_RACK", "r1"},
                                           {"RR_CLUSTER_ID", "10.255.0.1"}}));
    return *binaries_.back();
  }

  static std::string ProbeUrl(const ChildProcess& p) {
    auto line = p.wait_for_log("url=http://", 30s);
    if (!line) return "";
    std::smatch m;
    std::regex_search(*line, m, std::regex("url=(http://[0-9.:]+)"));
    return m.empty() ? "" : m[1].str();
  }

  rr::testing::ShortTempDir dir_{"rr-edge"};
  std::unique_ptr<ChildProcess> server_;
  std::string kubeconfig_list_;
  std::vector<std::unique_ptr<ChildProcess>> binaries_;
};

TEST_P(HostileApiIT, BothBinariesNameTheCauseKeepRetryingAndStopOnSigterm) {
  ChildProcess& op = StartOperator();
  ChildProcess& agent = StartAgent();
  for (ChildProcess* p : {&op, &agent}) {
    auto line = p->wait_for_log("cannot list or watch; retrying", kCauseLimit);
    ASSERT_TRUE(line) << p->log();
    EXPECT_NE(line->find(GetParam().cause), std::string::npos) << *line;
    EXPECT_TRUE(p->running()) << p->log();
  }
  const std::string url = ProbeUrl(op);
  ASSERT_FALSE(url.empty()) << op.log();
  auto ready = rr::testing::run_argv({"curl", "-sS", "-m", "5", "-w", " %{http_code}", url + "/readyz"}, 10s);
  EXPECT_NE(ready.output.find("503"), std::string::npos) << ready.output;
  EXPECT_NE(ready.output.find(GetParam().cause), std::string::npos) << ready.output;

  // SIGTERM while requests are in flight (or, for the blackhole, stuck in the handshake).
  for (ChildProcess* p : {&op, &agent}) {
    EXPECT_EQ(p->stop(kSigtermGrace), 0) << p->log();
    EXPECT_NE(p->log().find("stopped"), std::string::npos) << p->log();
  }
}

INSTANTIATE_TEST_SUITE_P(Answers, HostileApiIT,
                         ::testing::Values(Mode{"blackhole", "no response within 30s"},
                                           Mode{"html", "response is text/html"},
                                           Mode{"truncated", "response is not JSON"},
                                           Mode{"status200", "etcdserver: request timed out"}),
                         [](const ::testing::TestParamInfo<Mode>& info) { return info.param.name; });

// Refused at start with code 2 and one line naming the flag (or the kubeconfig field), before
// any connection: no API server is needed to see it.
TEST(BadStartIT, FlagsAndServerUrlsAreCheckedAtStartNamingWhatIsWrong) {
  rr::testing::ShortTempDir dir("rr-edge");
  ASSERT_FALSE(dir.path().empty());
  const std::map<std::string, std::string> identity = {
      {"RR_POD_NAME", "rr-edge"}, {"RR_NAMESPACE", "rr-system"}, {"RR_NODE_NAME", "host-edge"},
      {"RR_HOST_IP", "127.0.0.1"}, {"RR_FABRIC", "edge"},        {"RR_RACK", "r1"},
      {"RR_CLUSTER_ID", "10.255.0.1"}, {"RR_SCRATCH_DIR", dir.path()}};
  auto kubeconfig = [&](const std::string& name, const std::string& server) {
    const std::string path = dir.file(name);
    std::ofstream(path) << "current-context: c\nclusters:\n- name: c\n  cluster: {server: '" << server
                        << "'}\ncontexts:\n- name: c\n  context: {cluster: c}\n";
    return path;
  };
  struct Case {
    std::vector<std::string> argv;
    int code;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases = {
      {{RR_AGENT_BIN, "--client-port", "70000"}, 2, {"--client-port", "1..65535"}},
      {{RR_AGENT_BIN, "--client-port", "0"}, 2, {"--client-port", "1..65535"}},
      {{RR_AGENT_BIN, "--connect-retry-seconds", "-5"}, 2, {"--connect-retry-seconds"}},
      {{RR_AGENT_BIN, "--error-wait-min-seconds", "300", "--error-wait-max-seconds", "10"},
       2,
       {"--error-wait-min-seconds", "--error-wait-max-seconds"}},
      {{RR_AGENT_BIN, "--session-poll", "0"}, 2, {"--session-poll"}},
      {{RR_OPERATOR_BIN, "--workers", "0"}, 2, {"--workers", "1..64"}},
      {{RR_OPERATOR_BIN, "--lease-duration", "4s", "--renew-deadline", "5s"}, 2, {"--lease-duration", "--renew-deadline"}},
      {{RR_OPERATOR_BIN, "--calico-password-namespace", "Calico_System"}, 2,
       {"--calico-password-namespace", "Calico_System", "is not a namespace name"}},
      {{RR_OPERATOR_BIN, "--calico-node-service-account", "calico node"}, 2,
       {"--calico-node-service-account", "is not a ServiceAccount name"}},
      {{RR_OPERATOR_BIN, "--kubeconfig", kubeconfig("port", "https://127.0.0.1:abc")}, 1, {"cluster.server", "abc", "is not a number in 1..65535"}},
      {{RR_OPERATOR_BIN, "--kubeconfig", kubeconfig("bracket", "https://[::1:6443")}, 1, {"cluster.server", "'['"}},
      {{RR_AGENT_BIN, "--kubeconfig", kubeconfig("range", "https://10.0.0.1:99999")}, 1, {"cluster.server", "99999"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.argv[0] + " " + c.argv[1]);
    ChildProcess p(c.argv, dir.file("start-" + std::to_string(i) + ".log"), identity);
    EXPECT_EQ(p.wait_for_exit(30s), std::optional<int>(c.code)) << p.log();
    const std::string log = p.log();
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
    for (const auto& m : c.mentions) EXPECT_NE(log.find(m), std::string::npos) << log;
  }
}

}  // namespace
