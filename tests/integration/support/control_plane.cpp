#include "support/control_plane.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "kube/token_source.h"
#include "testing/source_dir.h"

namespace rr::testing {
namespace {
std::string unquote(std::string v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
  return v;
}
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

std::string repo_root() { return source_dir().string(); }

std::string run_command(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "cannot run " << command;
    return out;
  }
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = pclose(p);
  EXPECT_EQ(rc, 0) << command << "\n" << out;
  return out;
}

std::unique_ptr<ControlPlane> ControlPlane::from_environment() {
  std::string file;
  if (const char* f = std::getenv("RR_KUBE_ENV_FILE")) {
    file = f;
  } else if (const char* d = std::getenv("RR_KUBE_DIR")) {
    file = std::string(d) + "/env";
  } else {
    ADD_FAILURE() << "neither RR_KUBE_ENV_FILE nor RR_KUBE_DIR is set: run this test through ctest "
                     "(it needs a control-plane fixture) or point RR_KUBE_DIR at a kube-local.sh instance";
    return nullptr;
  }
  auto cp = std::unique_ptr<ControlPlane>(new ControlPlane());
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("export ", 0) == 0) line = line.substr(7);
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    cp->env_[line.substr(0, eq)] = unquote(line.substr(eq + 1));
  }
  if (!cp->env_.count("RR_KUBE_SERVER") || !cp->env_.count("RR_KUBE_DIR")) {
    ADD_FAILURE() << file << " lacks RR_KUBE_SERVER or RR_KUBE_DIR";
    return nullptr;
  }
  return cp;
}

std::string ControlPlane::var(const std::string& name) const {
  auto it = env_.find(name);
  return it == env_.end() ? std::string() : it->second;
}

kube::ClientConfig ControlPlane::admin_config() const {
  auto config = kube::load_kubeconfig(kubeconfig());
  EXPECT_TRUE(config.ok()) << config.error().describe();
  return config.ok() ? config.value() : kube::ClientConfig{};
}

kube::ClientConfig ControlPlane::token_config(const std::string& token) const {
  kube::ClientConfig c;
  c.server = server();
  c.ca_pem = read_file(var("RR_KUBE_CA"));
  c.token = std::make_shared<kube::StaticTokenSource>(token);
  c.description = "test token";
  return c;
}

std::unique_ptr<kube::RestKubeClient> ControlPlane::admin_client(kube::RestClientOptions options) const {
  auto client = kube::RestKubeClient::connect(admin_config(), std::move(options));
  EXPECT_TRUE(client.ok()) << client.error().describe();
  return client.ok() ? std::move(client.value()) : nullptr;
}

std::unique_ptr<kube::RestKubeClient> ControlPlane::client_with_token(const std::string& token) const {
  auto client = kube::RestKubeClient::connect(token_config(token));
  EXPECT_TRUE(client.ok()) << client.error().describe();
  return client.ok() ? std::move(client.value()) : nullptr;
}

std::string ControlPlane::service_account_token(const std::string& ns, const std::string& name, int seconds) const {
  auto admin = admin_client();
  if (!admin) return "";
  const kube::ResourceType token_request{"", "v1", "serviceaccounts/" + name + "/token", "TokenRequest", true};
  kube::Result<kube::Json> token = kube::make_error(kube::ErrorKind::NotFound, "not requested");
  for (int i = 0; i < 50 && !token.ok(); ++i) {
    token = admin->create(token_request, ns,
                          kube::Json{{"apiVersion", "authentication.k8s.io/v1"},
                                     {"kind", "TokenRequest"},
                                     {"spec", {{"expirationSeconds", seconds}}}});
    if (!token.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(token.ok()) << "TokenRequest for " << ns << "/" << name << ": " << token.error().describe();
  return token.ok() ? (*token)["status"]["token"].get<std::string>() : "";
}

std::string ControlPlane::write_token_kubeconfig(const std::string& path, const std::string& token) const {
  std::ofstream(path) << "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: " << server()
                      << "\n    certificate-authority: " << var("RR_KUBE_CA")
                      << "\nusers:\n- name: token\n  user:\n    token: " << token
                      << "\ncontexts:\n- name: token\n  context:\n    cluster: local\n    user: token\n"
                         "current-context: token\n";
  return path;
}

void ControlPlane::install_crds(bool with_calico) const {
  const std::string root = repo_root();
  run_command(kubectl() + " apply -f " + root + "/crds/rr.bgp.dev_routereflectorclusters.yaml" +
              (with_calico ? " -f " + root + "/tests/crds/calico/" : ""));
  run_command(kubectl() + " wait --for condition=established --timeout=60s crd --all");
}

void ControlPlane::stop_apiserver() const { run_command(repo_root() + "/scripts/kube-local.sh stop-apiserver " + dir()); }
void ControlPlane::start_apiserver() const {
  run_command(repo_root() + "/scripts/kube-local.sh start-apiserver " + dir());
}

long ControlPlane::compact_etcd() const {
  const std::string ep = var("RR_KUBE_ETCD_ENDPOINT");
  // etcd's JSON gateway: read the current revision, then compact to it.
  std::string range = run_command("curl -sS -X POST " + ep + "/v3/kv/range -d '{\"key\":\"AA==\"}'");
  auto j = kube::Json::parse(range, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << range;
  long revision = std::stol(j["header"]["revision"].get<std::string>());
  run_command("curl -sS -X POST " + ep + "/v3/kv/compaction -d '{\"revision\":\"" + std::to_string(revision) +
              "\",\"physical\":true}'");
  return revision;
}

std::string ControlPlane::create_namespace(kube::KubeClient& client, const std::string& prefix) const {
  static std::mt19937 rng{std::random_device{}()};
  std::string name = prefix + "-" + std::to_string(rng() % 1000000);
  auto ns = client.create(kube::resources::namespaces(), "",
                          kube::Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
  EXPECT_TRUE(ns.ok()) << ns.error().describe();
  return name;
}

}  // namespace rr::testing
