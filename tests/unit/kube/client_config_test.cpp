#include "kube/client_config.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fakes/fake_clock.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// ---- fixtures: temp files, real PEMs, kubeconfig text ----------------------

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "client_config_test.XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, const std::string& contents) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::string base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                 static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

// A self-signed P-256 certificate and its key (fast to generate), plus an
// unrelated key for the mismatch case. The certificate doubles as the CA.
struct Pki {
  std::string cert_pem;
  std::string key_pem;
  std::string other_key_pem;

  static const Pki& get() {
    static const Pki pki = make();
    return pki;
  }

 private:
  static std::string drain(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
  }
  static std::string key_to_pem(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    return drain(bio);
  }
  static Pki make() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    EVP_PKEY* other = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());

    Pki pki;
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    pki.cert_pem = drain(bio);
    pki.key_pem = key_to_pem(key);
    pki.other_key_pem = key_to_pem(other);
    X509_free(cert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    return pki;
  }
};

std::string indent(const std::vector<std::string>& lines, const std::string& pad) {
  std::string out;
  for (const std::string& l : lines) out += pad + l + "\n";
  return out;
}

// A kubeconfig with one cluster "c1", one user "admin" and contexts "dev"
// (current) and "prod" (namespace prod).
std::string kubeconfig(const std::vector<std::string>& cluster, const std::vector<std::string>& user) {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "current-context: dev\n"
         "clusters:\n"
         "- name: c1\n"
         "  cluster:\n" +
         (cluster.empty() ? "    {}\n" : indent(cluster, "    ")) +
         "- name: c2\n"
         "  cluster:\n"
         "    server: https://prod.example:443\n"
         "users:\n"
         "- name: admin\n"
         "  user:\n" +
         (user.empty() ? "    {}\n" : indent(user, "    ")) +
         "- name: viewer\n"
         "  user:\n"
         "    token: viewer-token\n"
         "contexts:\n"
         "- name: dev\n"
         "  context:\n"
         "    cluster: c1\n"
         "    user: admin\n"
         "- name: prod\n"
         "  context:\n"
         "    cluster: c2\n"
         "    user: viewer\n"
         "    namespace: prod\n";
}

const std::vector<std::string> kServer = {"server: https://10.0.0.1:6443"};

std::string token_of(const ClientConfig& config) {
  if (!config.token) return "<none>";
  Result<std::string> t = config.token->token();
  return t.ok() ? t.value() : "error: " + t.error().message;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class ClientConfigTest : public ::testing::Test {
 protected:
  // Writes `files` (relative to the temp dir) and the kubeconfig at sub/config.
  fs::path write(const std::string& text, const std::map<std::string, std::string>& files = {}) {
    for (const auto& [rel, contents] : files) write_file(dir_.path() / rel, contents);
    fs::path config = dir_.path() / "sub" / "config";
    write_file(config, text);
    return config;
  }

  TempDir dir_;
  testing::FakeClock clock_;
};

// ---- good kubeconfigs ------------------------------------------------------

TEST_F(ClientConfigTest, GoodKubeconfigs) {
  const Pki& pki = Pki::get();
  struct Case {
    std::string name;
    std::vector<std::string> cluster;
    std::vector<std::string> user;
    std::map<std::string, std::string> files;  // relative to the temp dir; the kubeconfig is in sub/
    KubeconfigOptions options;
    std::function<void(const ClientConfig&)> check;
  };
  const Case cases[] = {
      {"cert and key data, CA data",
       {"server: https://10.0.0.1:6443/", "certificate-authority-data: " + base64(pki.cert_pem)},
       {"client-certificate-data: " + base64(pki.cert_pem), "client-key-data: " + base64(pki.key_pem)},
       {},
       {},
       [&](const ClientConfig& c) {
         EXPECT_EQ(c.server, "https://10.0.0.1:6443") << "trailing slash dropped";
         EXPECT_EQ(c.ca_pem, pki.cert_pem);
         EXPECT_EQ(c.client_cert_pem, pki.cert_pem);
         EXPECT_EQ(c.client_key_pem, pki.key_pem);
         EXPECT_EQ(c.token, nullptr);
         EXPECT_EQ(c.tls_server_name, "");
       }},
      {"cert, key and CA paths relative to the kubeconfig",
       {"server: https://10.0.0.1:6443", "certificate-authority: pki/ca.crt"},
       {"client-certificate: pki/admin.crt", "client-key: ../keys/admin.key"},
       {{"sub/pki/ca.crt", pki.cert_pem}, {"sub/pki/admin.crt", pki.cert_pem}, {"keys/admin.key", pki.key_pem}},
       {},
       [&](const ClientConfig& c) {
         EXPECT_EQ(c.ca_pem, pki.cert_pem);
         EXPECT_EQ(c.client_cert_pem, pki.cert_pem);
         EXPECT_EQ(c.client_key_pem, pki.key_pem);
       }},
      {"data wins over path (the path is not even read)",
       {"server: https://10.0.0.1:6443", "certificate-authority: does/not/exist",
        "certificate-authority-data: " + base64(pki.cert_pem)},
       {},
       {},
       {},
       [&](const ClientConfig& c) { EXPECT_EQ(c.ca_pem, pki.cert_pem); }},
      {"base64 wrapped over lines",
       {"server: https://10.0.0.1:6443",
        "certificate-authority-data: |\n      " + base64(pki.cert_pem).insert(40, "\n      ")},
       {},
       {},
       {},
       [&](const ClientConfig& c) { EXPECT_EQ(c.ca_pem, pki.cert_pem); }},
      {"token", kServer, {"token: abc.def"}, {}, {},
       [&](const ClientConfig& c) { EXPECT_EQ(token_of(c), "abc.def"); }},
      {"token wins over tokenFile", kServer, {"token: inline", "tokenFile: missing"}, {}, {},
       [&](const ClientConfig& c) { EXPECT_EQ(token_of(c), "inline"); }},
      {"tokenFile relative to the kubeconfig", kServer, {"tokenFile: token"}, {{"sub/token", "file-token\n"}}, {},
       [&](const ClientConfig& c) { EXPECT_EQ(token_of(c), "file-token"); }},
      {"no user fields: anonymous", {"server: https://10.0.0.1:6443", "insecure-skip-tls-verify: false"}, {}, {}, {},
       [&](const ClientConfig& c) {
         EXPECT_EQ(c.token, nullptr);
         EXPECT_EQ(c.client_cert_pem, "");
         EXPECT_EQ(c.ca_pem, "") << "system trust store";
       }},
      {"tls-server-name when set", {"server: https://10.0.0.1:6443", "tls-server-name: api.internal"}, {}, {}, {},
       [&](const ClientConfig& c) { EXPECT_EQ(c.tls_server_name, "api.internal"); }},
      {"an IPv6 literal server", {"server: 'https://[fd00::1]:6443'"}, {}, {}, {},
       [&](const ClientConfig& c) { EXPECT_EQ(c.server, "https://[fd00::1]:6443"); }},
      {"a server without a port, behind a path prefix", {"server: https://rancher.example/k8s/clusters/c-1/"}, {}, {},
       {}, [&](const ClientConfig& c) { EXPECT_EQ(c.server, "https://rancher.example/k8s/clusters/c-1"); }},
      {"current-context and its defaults", kServer, {"token: t"}, {}, {},
       [&](const ClientConfig& c) {
         EXPECT_EQ(c.server, "https://10.0.0.1:6443");
         EXPECT_EQ(c.default_namespace, "default");
         EXPECT_TRUE(contains(c.description, "context dev")) << c.description;
         EXPECT_TRUE(contains(c.description, "sub/config")) << c.description;
       }},
      {"chosen context over current-context", kServer, {"token: t"}, {}, {std::string("prod")},
       [&](const ClientConfig& c) {
         EXPECT_EQ(c.server, "https://prod.example:443");
         EXPECT_EQ(c.default_namespace, "prod");
         EXPECT_EQ(token_of(c), "viewer-token");
         EXPECT_TRUE(contains(c.description, "context prod")) << c.description;
       }},
      {"IPv6 server", {"server: https://[fd00::1]:6443"}, {}, {}, {},
       [&](const ClientConfig& c) { EXPECT_EQ(c.server, "https://[fd00::1]:6443"); }},
      {"server with a path prefix", {"server: https://rancher.example/k8s/clusters/c-1/"}, {}, {}, {},
       [&](const ClientConfig& c) { EXPECT_EQ(c.server, "https://rancher.example/k8s/clusters/c-1"); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fs::path path = write(kubeconfig(c.cluster, c.user), c.files);
    Result<ClientConfig> config = load_kubeconfig(path, c.options, clock_);
    ASSERT_TRUE(config.ok()) << config.error().describe();
    c.check(config.value());
  }
}

TEST_F(ClientConfigTest, ContextNamespace) {
  fs::path path = write(
      "current-context: a\n"
      "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
      "contexts: [{name: a, context: {cluster: c, namespace: team-a}}]\n");
  Result<ClientConfig> config = load_kubeconfig(path, {}, clock_);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->default_namespace, "team-a");
  EXPECT_EQ(config->server, "https://h");
}

TEST_F(ClientConfigTest, TokenFileRotates) {
  fs::path path = write(kubeconfig(kServer, {"tokenFile: ../token"}), {{"token", "tok-1"}});
  Result<ClientConfig> config = load_kubeconfig(path, {}, clock_);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  write_file(dir_.path() / "token", "tok-2");
  EXPECT_EQ(token_of(*config), "tok-1");
  clock_.advance(1min);
  EXPECT_EQ(token_of(*config), "tok-2");
}

// ---- malformed kubeconfigs -------------------------------------------------

TEST_F(ClientConfigTest, MalformedKubeconfigs) {
  const Pki& pki = Pki::get();
  const std::string cert = "client-certificate-data: " + base64(pki.cert_pem);
  const std::string key = "client-key-data: " + base64(pki.key_pem);
  struct Case {
    std::string name;
    std::string text;
    std::map<std::string, std::string> files;
    KubeconfigOptions options;
    std::vector<std::string> expect;  // substrings of the message besides the file path
  };
  const Case cases[] = {
      {"missing server", kubeconfig({"tls-server-name: x"}, {}), {}, {}, {"clusters[name=c1].cluster.server", "not set"}},
      {"http server refused", kubeconfig({"server: http://10.0.0.1:8080"}, {}), {}, {},
       {"clusters[name=c1].cluster.server", "https"}},
      {"server without scheme", kubeconfig({"server: 10.0.0.1:6443"}, {}), {}, {},
       {"clusters[name=c1].cluster.server"}},
      {"server without host", kubeconfig({"server: https:///"}, {}), {}, {}, {"clusters[name=c1].cluster.server"}},
      {"server is a map", kubeconfig({"server: {a: b}"}, {}), {}, {},
       {"clusters[name=c1].cluster.server", "expected a string"}},
      {"proxy-url unsupported", kubeconfig({"server: https://h", "proxy-url: http://proxy"}, {}), {}, {},
       {"clusters[name=c1].cluster.proxy-url"}},
      {"client-certificate without key", kubeconfig(kServer, {cert}), {}, {},
       {"users[name=admin].user.client-key", "client-certificate-data"}},
      {"client-key without certificate", kubeconfig(kServer, {key}), {}, {},
       {"users[name=admin].user.client-certificate", "client-key-data"}},
      {"unreadable CA file", kubeconfig({"server: https://h", "certificate-authority: nope/ca.crt"}, {}), {}, {},
       {"clusters[name=c1].cluster.certificate-authority", "nope/ca.crt", "No such file"}},
      {"unreadable client-key file", kubeconfig(kServer, {cert, "client-key: admin.key"}), {}, {},
       {"users[name=admin].user.client-key", "admin.key"}},
      {"unreadable client-certificate file", kubeconfig(kServer, {"client-certificate: a.crt", key}), {}, {},
       {"users[name=admin].user.client-certificate", "a.crt"}},
      {"CA data not base64", kubeconfig({"server: https://h", "certificate-authority-data: '@@notbase64'"}, {}), {},
       {}, {"clusters[name=c1].cluster.certificate-authority-data", "not valid base64"}},
      {"client-key-data not base64", kubeconfig(kServer, {cert, "client-key-data: 'abc*def'"}), {}, {},
       {"users[name=admin].user.client-key-data: not valid base64"}},
      {"base64 with data after padding", kubeconfig(kServer, {cert, "client-key-data: 'YQ==YQ=='"}), {}, {},
       {"users[name=admin].user.client-key-data: not valid base64"}},
      {"CA data not PEM", kubeconfig({"server: https://h", "certificate-authority-data: " + base64("hello")}, {}), {},
       {}, {"clusters[name=c1].cluster.certificate-authority-data", "not a PEM certificate"}},
      {"CA file not PEM", kubeconfig({"server: https://h", "certificate-authority: ca.crt"}, {}),
       {{"sub/ca.crt", pki.key_pem}}, {}, {"clusters[name=c1].cluster.certificate-authority:", "not a PEM certificate"}},
      {"client certificate not PEM", kubeconfig(kServer, {"client-certificate-data: " + base64("junk"), key}), {}, {},
       {"users[name=admin].user.client-certificate-data", "not a PEM certificate"}},
      {"client key not PEM", kubeconfig(kServer, {cert, "client-key-data: " + base64(pki.cert_pem)}), {}, {},
       {"users[name=admin].user.client-key-data", "not a PEM private key"}},
      {"client key file not PEM", kubeconfig(kServer, {cert, "client-key: k"}), {{"sub/k", "junk"}}, {},
       {"users[name=admin].user.client-key:", "not a PEM private key"}},
      {"key does not match certificate", kubeconfig(kServer, {cert, "client-key-data: " + base64(pki.other_key_pem)}),
       {}, {}, {"users[name=admin].user.client-key-data", "does not match"}},
      {"insecure with a CA",
       kubeconfig({"server: https://h", "insecure-skip-tls-verify: true",
                   "certificate-authority-data: " + base64(pki.cert_pem)},
                  {}),
       {}, {}, {"clusters[name=c1].cluster.insecure-skip-tls-verify"}},
      {"insecure refused: TLS verification is always on",
       kubeconfig({"server: https://h", "insecure-skip-tls-verify: true"}, {}), {}, {},
       {"clusters[name=c1].cluster.insecure-skip-tls-verify", "always", "certificate-authority"}},
      {"a port that is not a number", kubeconfig({"server: https://127.0.0.1:abc"}, {}), {}, {},
       {"clusters[name=c1].cluster.server", "\"abc\"", "port"}},
      {"a port out of range", kubeconfig({"server: https://h:99999"}, {}), {}, {},
       {"clusters[name=c1].cluster.server", "99999", "port"}},
      {"port zero", kubeconfig({"server: https://h:0/"}, {}), {}, {}, {"clusters[name=c1].cluster.server", "port"}},
      {"an empty port", kubeconfig({"server: 'https://h:'"}, {}), {}, {}, {"clusters[name=c1].cluster.server", "port"}},
      {"an unclosed IPv6 bracket", kubeconfig({"server: 'https://[::1:6443'"}, {}), {}, {},
       {"clusters[name=c1].cluster.server", "["}},
      {"not an IPv6 literal in brackets", kubeconfig({"server: 'https://[fd00::zz]:6443'"}, {}), {}, {},
       {"clusters[name=c1].cluster.server", "fd00::zz"}},
      {"an IPv6 literal without brackets", kubeconfig({"server: 'https://fd00::1:6443'"}, {}), {}, {},
       {"clusters[name=c1].cluster.server"}},
      {"user info in the URL", kubeconfig({"server: https://admin:pw@h:6443"}, {}), {}, {},
       {"clusters[name=c1].cluster.server", "user"}},
      {"a query in the URL", kubeconfig({"server: https://h:6443/?x=1"}, {}), {}, {},
       {"clusters[name=c1].cluster.server", "query"}},
      {"a blank in the host", kubeconfig({"server: 'https://a b:6443'"}, {}), {}, {},
       {"clusters[name=c1].cluster.server", "host"}},
      {"insecure not a bool", kubeconfig({"server: https://h", "insecure-skip-tls-verify: maybe"}, {}), {}, {},
       {"clusters[name=c1].cluster.insecure-skip-tls-verify", "true or false"}},
      {"tokenFile unreadable", kubeconfig(kServer, {"tokenFile: secret/token"}), {}, {},
       {"users[name=admin].user.tokenFile", "secret/token"}},
      {"tokenFile empty", kubeconfig(kServer, {"tokenFile: t"}), {{"sub/t", "\n"}}, {},
       {"users[name=admin].user.tokenFile", "empty"}},
      {"exec unsupported", kubeconfig(kServer, {"exec: {command: aws}"}), {}, {},
       {"users[name=admin].user.exec", "not supported"}},
      {"auth-provider unsupported", kubeconfig(kServer, {"auth-provider: {name: oidc}"}), {}, {},
       {"users[name=admin].user.auth-provider", "not supported"}},
      {"basic auth unsupported", kubeconfig(kServer, {"username: u", "password: p"}), {}, {},
       {"users[name=admin].user.username", "not supported"}},
      {"password alone unsupported", kubeconfig(kServer, {"password: p"}), {}, {},
       {"users[name=admin].user.password", "not supported"}},
      {"impersonation unsupported", kubeconfig(kServer, {"token: t", "as: system:admin"}), {}, {},
       {"users[name=admin].user.as", "not supported"}},
      {"current-context names no context",
       "current-context: ghost\nclusters: []\ncontexts: [{name: dev, context: {cluster: c}}]\n", {}, {},
       {"current-context", "no context named \"ghost\""}},
      {"chosen context missing", kubeconfig(kServer, {}), {}, {std::string("staging")},
       {"contexts: no context named \"staging\""}},
      {"no current-context", "clusters: []\n", {}, {}, {"current-context", "not set"}},
      {"context without cluster", "current-context: a\ncontexts: [{name: a, context: {user: u}}]\n", {}, {},
       {"contexts[name=a].context.cluster", "not set"}},
      {"context names a missing cluster", "current-context: a\ncontexts: [{name: a, context: {cluster: x}}]\n", {}, {},
       {"contexts[name=a].context.cluster", "no cluster named \"x\""}},
      {"context names a missing user",
       "current-context: a\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
       "contexts: [{name: a, context: {cluster: c, user: ghost}}]\n",
       {}, {}, {"contexts[name=a].context.user", "no user named \"ghost\""}},
      {"clusters not a list", "current-context: a\nclusters: {c: 1}\ncontexts: [{name: a, context: {cluster: c}}]\n",
       {}, {}, {"clusters: expected a list"}},
      {"list entry not a map", "current-context: a\ncontexts: [just-a-string]\n", {}, {},
       {"contexts[0]: expected a map"}},
      {"duplicate cluster name",
       "current-context: a\nclusters: [{name: c, cluster: {server: 'https://h'}}, {name: c, cluster: {}}]\n"
       "contexts: [{name: a, context: {cluster: c}}]\n",
       {}, {}, {"clusters: duplicate name \"c\""}},
      {"top level not a map", "- a\n- b\n", {}, {}, {"expected a map at the top level"}},
      {"empty file", "", {}, {}, {"empty"}},
      {"malformed YAML", "current-context: a\nclusters:\n  - name: [unclosed\n", {}, {}, {"line 4, column 1:"}},
      {"malformed YAML indentation", "a: b\n  c: d\n", {}, {}, {"line 2, column 4:"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fs::path path = write(c.text, c.files);
    Result<ClientConfig> config = load_kubeconfig(path, c.options, clock_);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().kind, ErrorKind::BadConfig);
    const std::string& message = config.error().message;
    EXPECT_TRUE(contains(message, "kubeconfig " + path.string() + ": ")) << message;
    for (const std::string& s : c.expect) EXPECT_TRUE(contains(message, s)) << "want \"" << s << "\" in: " << message;
  }
}

TEST_F(ClientConfigTest, MissingKubeconfigNamesThePath) {
  fs::path path = dir_.path() / "absent";
  Result<ClientConfig> config = load_kubeconfig(path, {}, clock_);
  ASSERT_TRUE(config.is(ErrorKind::BadConfig));
  EXPECT_TRUE(contains(config.error().message, path.string())) << config.error().message;
}

// ---- in-cluster ------------------------------------------------------------

class InClusterTest : public ClientConfigTest {
 protected:
  InClusterTest() {
    write_file(sa("token"), "sa-token-1\n");
    write_file(sa("ca.crt"), Pki::get().cert_pem);
    write_file(sa("namespace"), "operators\n");
    env_ = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
  }

  fs::path sa(const std::string& name) const { return dir_.path() / "sa" / name; }

  InClusterOptions options() {
    InClusterOptions o;
    o.token_file = sa("token");
    o.ca_file = sa("ca.crt");
    o.namespace_file = sa("namespace");
    o.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return o;
  }

  std::map<std::string, std::string> env_;
};

TEST_F(InClusterTest, ReadsTheServiceAccount) {
  Result<ClientConfig> config = load_in_cluster_config(options(), clock_);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->ca_pem, Pki::get().cert_pem);
  EXPECT_EQ(token_of(*config), "sa-token-1");
  EXPECT_EQ(config->default_namespace, "operators");
  EXPECT_EQ(config->description, "in-cluster");
  EXPECT_EQ(config->client_cert_pem, "");
}

TEST_F(InClusterTest, Variants) {
  struct Case {
    std::string name;
    std::map<std::string, std::string> env;  // added to the defaults; "" removes
    bool remove_namespace_file;
    std::string server;
    std::string ns;
  };
  const Case cases[] = {
      {"IPv6 host is bracketed", {{"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"}}, false, "https://[fd00:10:96::1]:443",
       "operators"},
      {"already bracketed", {{"KUBERNETES_SERVICE_HOST", "[fd00::1]"}}, false, "https://[fd00::1]:443", "operators"},
      {"POD_NAMESPACE wins", {{"POD_NAMESPACE", "from-env"}}, false, "https://10.96.0.1:443", "from-env"},
      {"no namespace file", {}, true, "https://10.96.0.1:443", "default"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::map<std::string, std::string> saved = env_;
    for (const auto& [k, v] : c.env) env_[k] = v;
    if (c.remove_namespace_file) fs::remove(sa("namespace"));
    Result<ClientConfig> config = load_in_cluster_config(options(), clock_);
    ASSERT_TRUE(config.ok()) << config.error().describe();
    EXPECT_EQ(config->server, c.server);
    EXPECT_EQ(config->default_namespace, c.ns);
    env_ = saved;
    write_file(sa("namespace"), "operators\n");
  }
}

TEST_F(InClusterTest, Errors) {
  struct Case {
    std::string name;
    std::function<void()> break_it;
    std::vector<std::string> expect;
  };
  const Case cases[] = {
      {"no host", [&] { env_.erase("KUBERNETES_SERVICE_HOST"); }, {"KUBERNETES_SERVICE_HOST"}},
      {"no port", [&] { env_.erase("KUBERNETES_SERVICE_PORT"); }, {"KUBERNETES_SERVICE_PORT"}},
      {"bad port", [&] { env_["KUBERNETES_SERVICE_PORT"] = "https"; }, {"KUBERNETES_SERVICE_PORT", "\"https\""}},
      {"no token file", [&] { fs::remove(sa("token")); }, {"token file", sa("token").string()}},
      {"empty token file", [&] { write_file(sa("token"), ""); }, {sa("token").string(), "empty"}},
      {"no CA file", [&] { fs::remove(sa("ca.crt")); }, {"CA file", sa("ca.crt").string()}},
      {"CA not PEM", [&] { write_file(sa("ca.crt"), "junk"); }, {"CA file", sa("ca.crt").string(), "not a PEM"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::map<std::string, std::string> saved = env_;
    c.break_it();
    Result<ClientConfig> config = load_in_cluster_config(options(), clock_);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().kind, ErrorKind::BadConfig);
    EXPECT_TRUE(contains(config.error().message, "in-cluster")) << config.error().message;
    for (const std::string& s : c.expect) {
      EXPECT_TRUE(contains(config.error().message, s)) << "want \"" << s << "\" in: " << config.error().message;
    }
    env_ = saved;
    write_file(sa("token"), "sa-token-1\n");
    write_file(sa("ca.crt"), Pki::get().cert_pem);
  }
}

TEST_F(InClusterTest, TokenRotates) {
  Result<ClientConfig> config = load_in_cluster_config(options(), clock_);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  write_file(sa("token"), "sa-token-2");
  EXPECT_EQ(token_of(*config), "sa-token-1");
  clock_.advance(1min);
  EXPECT_EQ(token_of(*config), "sa-token-2");
  write_file(sa("token"), "sa-token-3");
  config->token->invalidate();
  EXPECT_EQ(token_of(*config), "sa-token-3");
}

// ---- search order ----------------------------------------------------------

TEST_F(InClusterTest, SearchOrder) {
  fs::path explicit_config = dir_.path() / "explicit";
  fs::path env_config = dir_.path() / "from-env";
  fs::path home = dir_.path() / "home";
  for (const fs::path& p : {explicit_config, env_config, home / ".kube" / "config"}) {
    write_file(p, kubeconfig(kServer, {}));
  }
  const std::string missing = (dir_.path() / "missing").string();

  struct Case {
    std::string name;
    std::optional<fs::path> explicit_path;
    std::map<std::string, std::string> env;  // replaces the in-cluster defaults
    std::string description;                 // substring; "" => an error is expected
  };
  const Case cases[] = {
      {"explicit path wins",
       explicit_config,
       {{"KUBECONFIG", env_config.string()}, {"KUBERNETES_SERVICE_HOST", "h"}, {"KUBERNETES_SERVICE_PORT", "1"}},
       explicit_config.string()},
      {"KUBECONFIG next, first existing entry",
       std::nullopt,
       {{"KUBECONFIG", missing + "::" + env_config.string() + ":" + explicit_config.string()},
        {"KUBERNETES_SERVICE_HOST", "h"},
        {"KUBERNETES_SERVICE_PORT", "1"},
        {"HOME", home.string()}},
       env_config.string()},
      {"empty explicit path is no path", fs::path(), {{"KUBECONFIG", env_config.string()}}, env_config.string()},
      {"in-cluster next",
       std::nullopt,
       {{"KUBERNETES_SERVICE_HOST", "h"}, {"KUBERNETES_SERVICE_PORT", "1"}, {"HOME", home.string()}},
       "in-cluster"},
      {"home last", std::nullopt, {{"HOME", home.string()}}, (home / ".kube" / "config").string()},
      {"KUBECONFIG naming nothing is an error", std::nullopt,
       {{"KUBECONFIG", missing}, {"KUBERNETES_SERVICE_HOST", "h"}, {"KUBERNETES_SERVICE_PORT", "1"}}, ""},
      {"nothing at all", std::nullopt, {{"HOME", missing}}, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    env_ = c.env;
    Result<ClientConfig> config = load_client_config(c.explicit_path, {}, options(), clock_);
    if (c.description.empty()) {
      ASSERT_FALSE(config.ok());
      EXPECT_EQ(config.error().kind, ErrorKind::BadConfig);
      continue;
    }
    ASSERT_TRUE(config.ok()) << config.error().describe();
    EXPECT_TRUE(contains(config->description, c.description)) << config->description;
  }
}

// kubectl's KUBECONFIG list: the files are merged. Each named cluster, user and context comes
// from the first file that has it, current-context from the first file that sets it, and a
// relative path stays relative to the file it is written in.
TEST_F(InClusterTest, KubeconfigListIsMergedAsKubectlMergesIt) {
  const fs::path first = dir_.path() / "a" / "config";
  const fs::path second = dir_.path() / "b" / "config";
  write_file(first,
             "apiVersion: v1\nkind: Config\ncurrent-context: work\n"
             "contexts:\n- name: work\n  context: {cluster: shared, user: me, namespace: rr-system}\n"
             "users:\n- name: me\n  user: {token: first-token}\n");
  write_file(second,
             "apiVersion: v1\nkind: Config\ncurrent-context: other\n"
             "contexts:\n- name: work\n  context: {cluster: elsewhere, user: me}\n"
             "- name: other\n  context: {cluster: elsewhere, user: me}\n"
             "clusters:\n- name: shared\n  cluster: {server: 'https://api.example:6443', certificate-authority: ca.pem}\n"
             "- name: elsewhere\n  cluster: {server: 'https://wrong.example:6443'}\n"
             "users:\n- name: me\n  user: {token: second-token}\n");
  write_file(dir_.path() / "b" / "ca.pem", Pki::get().cert_pem);
  env_ = {{"KUBECONFIG", first.string() + ":" + (dir_.path() / "missing").string() + ":" + second.string()}};
  Result<ClientConfig> config = load_client_config(std::nullopt, {}, options(), clock_);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->server, "https://api.example:6443");
  EXPECT_EQ(config->ca_pem, Pki::get().cert_pem);
  EXPECT_EQ(token_of(*config), "first-token");
  EXPECT_EQ(config->default_namespace, "rr-system");
  EXPECT_TRUE(contains(config->description, first.string())) << config->description;
  EXPECT_TRUE(contains(config->description, second.string())) << config->description;

  // An error in the merged configuration names the files it came from.
  write_file(second, "apiVersion: v1\nkind: Config\nclusters: {}\n");
  config = load_client_config(std::nullopt, {}, options(), clock_);
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(contains(config.error().message, second.string())) << config.error().message;
}

}  // namespace
}  // namespace kube
