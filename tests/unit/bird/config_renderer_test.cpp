// Golden tests for the BIRD 2 config renderer. Every golden is also handed to
// the real `bird -p` (installed by scripts/setup.sh), so a golden that BIRD
// would refuse cannot be checked in.
//
// RR_UPDATE_GOLDEN=1 rewrites tests/unit/bird/testdata/*.conf from the
// renderer's output; review the diff before committing.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bird/bird_config.h"
#include "bird/config_renderer.h"
#include "bird/config_validator.h"
#include "fakes/real_bird.h"
#include "testing/source_dir.h"

namespace rr::bird {
namespace {

namespace fs = std::filesystem;

// `bird -p` reads its temporary copy from a directory of this test binary's own.
BirdValidatorOptions scratch_options() {
  static const kube::testing::TempDir dir("rr-bird-check");
  BirdValidatorOptions options;
  options.scratch_dir = dir.path();
  return options;
}

fs::path testdata_dir() { return ::rr::testing::source_dir() / "tests/unit/bird/testdata"; }

bool update_golden() {
  const char* v = std::getenv("RR_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void expect_golden(const std::string& name, const ReflectorConfig& config) {
  const kube::Status valid = validate_config(config);
  ASSERT_TRUE(valid.ok()) << valid.error().describe();
  const std::string text = render_bird_config(config);
  const fs::path path = testdata_dir() / (name + ".conf");
  if (update_golden()) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  ASSERT_TRUE(fs::exists(path)) << path << " is missing; run with RR_UPDATE_GOLDEN=1";
  EXPECT_EQ(read_file(path), text) << "golden " << path
                                   << " differs; run with RR_UPDATE_GOLDEN=1 and review the diff";
  const kube::Status parsed = check_file_with_bird(path.string());
  EXPECT_TRUE(parsed.ok()) << path << ": " << parsed.error().describe();
  const kube::Status rendered = check_with_bird(text, scratch_options());
  EXPECT_TRUE(rendered.ok()) << rendered.error().describe();
}

Peer client(std::string name, std::string address, int port = 179) {
  Peer p;
  p.role = PeerRole::Client;
  p.name = std::move(name);
  p.address = std::move(address);
  p.port = port;
  return p;
}

Peer mesh(std::string name, std::string address, int port = 179) {
  Peer p = client(std::move(name), std::move(address), port);
  p.role = PeerRole::Mesh;
  return p;
}

Peer external(std::string name, std::string address, std::uint32_t as, int port = 179) {
  Peer p = client(std::move(name), std::move(address), port);
  p.role = PeerRole::External;
  p.as_number = as;
  return p;
}

ReflectorConfig base() {
  ReflectorConfig c;
  c.router_id = "10.0.0.10";
  c.as_number = 64512;
  c.cluster_id = "244.0.0.1";
  c.listen_address = "10.0.0.10";
  c.listen_port = 179;
  c.control_socket = "/run/rr/bird.ctl";
  return c;
}

ReflectorConfig clients_and_mesh() {
  ReflectorConfig c = base();
  c.peers = {client("worker-1", "10.0.0.1"), client("worker-2", "10.0.0.2"),
             client("worker3", "10.0.0.3"), mesh("rr-rack-a-1", "10.0.0.11"),
             mesh("rr-rack-b-0", "10.0.1.10")};
  return c;
}

TEST(BirdConfigGolden, ClientsOnly) {
  ReflectorConfig c = base();
  c.peers = {client("worker-2", "10.0.0.2"), client("worker-1", "10.0.0.1"),
             client("worker3", "10.0.0.3")};
  expect_golden("clients_only", c);
}

TEST(BirdConfigGolden, ClientsAndMesh) { expect_golden("clients_and_mesh", clients_and_mesh()); }

TEST(BirdConfigGolden, ExternalEbgpWithPasswordAndExternalIbgp) {
  ReflectorConfig c = base();
  Peer tor = external("tor-1", "10.0.0.254", 65001);
  tor.multihop = false;
  tor.password = "s3cr3t pass'word";
  Peer core = external("core", "192.168.100.1", 64512);
  core.source_address = "10.0.0.10";
  core.rr_client = true;  // an iBGP external peer: a reflector client
  Peer far = external("transit", "203.0.113.9", 65010);
  far.password = "x";
  c.peers = {tor, core, far, client("worker-1", "10.0.0.1")};
  expect_golden("external", c);
}

// Export filters of eBGP peers, per session family: the fabric's own routes
// (empty AS_PATH) within the listed prefixes; none of the family: nothing.
TEST(BirdConfigGolden, EbgpExportPrefixes) {
  ReflectorConfig c = base();
  c.ipv6 = true;
  c.listen_address_v6 = "fd00::10";
  Peer edge = external("edge", "192.0.2.1", 65010);
  edge.export_prefixes = std::vector<ExportPrefix>{{"10.244.0.0/16", 26}, {"fd00:10::/48", 128}, {"10.96.0.0/12", 12}};
  Peer edge6 = external("edge-v6", "2001:db8::1", 65010);
  edge6.export_prefixes = std::vector<ExportPrefix>{{"fd00:10::/48", 122}, {"10.244.0.0/16", 32}};
  Peer v4only = external("edge-v4-only", "2001:db8::2", 65011);
  v4only.export_prefixes = std::vector<ExportPrefix>{{"10.244.0.0/16", 32}};
  Peer nothing = external("edge-nothing", "192.0.2.3", 65012);
  nothing.export_prefixes = std::vector<ExportPrefix>{};
  Peer tor = external("tor", "10.0.0.254", 64512);
  tor.rr_client = true;
  Peer quiet = external("tor-non-client", "10.0.0.253", 64512);
  c.peers = {edge, edge6, v4only, nothing, tor, quiet, client("worker-1", "10.0.0.1")};
  expect_golden("ebgp_export", c);
}

TEST(BirdConfigGolden, DualStackWithIpv6Clients) {
  ReflectorConfig c = base();
  c.ipv6 = true;
  c.listen_address_v6 = "fd00:0:0:0::10";  // rendered canonical: fd00::10
  c.peers = {client("worker-1", "10.0.0.1"), client("worker-1-v6", "fd00::1"),
             client("worker-2-v6", "FD00::2"), mesh("rr-rack-b-0-v6", "fd00:1::10")};
  expect_golden("dual_stack", c);
}

TEST(BirdConfigGolden, Ipv6Only) {
  ReflectorConfig c = base();
  c.ipv4 = false;
  c.ipv6 = true;
  c.listen_address = "fd00::10";
  c.peers = {client("worker-1", "fd00::1"), mesh("rr-rack-a-1", "fd00::11")};
  expect_golden("ipv6_only", c);
}

TEST(BirdConfigGolden, ColocatedPort) {
  ReflectorConfig c = base();
  c.listen_port = 1179;  // calico-node's BIRD owns 179 on this host
  c.mesh_port = 1180;    // and another host's calico-node and reflector share an address
  c.peers = {client("worker-1", "10.0.0.1", 179), client("worker-2", "10.0.0.2", 179),
             mesh("rr-rack-a-1", "10.0.0.11", 1180),
             // Another reflector on a client's host: same address, other port.
             mesh("rr-rack-a-2", "10.0.0.1", 1180)};
  expect_golden("colocated", c);
}

// BIRD matches an incoming session by remote address and local port, never the remote port: a
// Colocated host's calico-node and reflector connect from one address, and only the local port
// tells their sessions apart (on a real cluster both flapped "Connection closed" before).
TEST(BirdConfigRender, MeshSessionsListenOnTheMeshPortAndClientsOnTheListenPort) {
  ReflectorConfig c = base();
  c.listen_port = 1179;
  c.mesh_port = 1180;
  c.peers = {client("worker-1", "10.0.0.1", 179), mesh("rr-rack-a-2", "10.0.0.1", 1180)};
  std::string conf = render_bird_config(c);
  auto template_of = [&](const std::string& name) {
    auto at = conf.find("template bgp " + name + " {");
    return at == std::string::npos ? std::string() : conf.substr(at, conf.find("}\n", at) - at);
  };
  EXPECT_NE(template_of("rr_clients").find("port 1179 as"), std::string::npos) << conf;
  EXPECT_NE(template_of("rr_mesh").find("port 1180 as"), std::string::npos) << conf;
  c.mesh_port = 70000;
  EXPECT_FALSE(validate_config(c).ok());
}

TEST(BirdConfigGolden, GracefulRestartOffAndFastTimers) {
  ReflectorConfig c = base();
  c.graceful_restart = false;
  c.timers.hold_seconds = 9;
  c.timers.keepalive_seconds = 3;
  c.timers.connect_retry_seconds = 2;
  c.timers.connect_delay_seconds = 1;
  c.timers.error_wait_min_seconds = 1;
  c.timers.error_wait_max_seconds = 10;
  c.control_socket.clear();
  c.peers = {client("worker-1", "10.0.0.1")};
  expect_golden("graceful_restart_off", c);
}

TEST(BirdConfigGolden, NameSanitizing) {
  ReflectorConfig c = base();
  c.peers = {client("node-a", "10.0.0.1"), client("node_a", "10.0.0.2"),
             client("node.a", "10.0.0.3"), client("Node-A", "10.0.0.4"),
             client("nodea", "10.0.0.5"),
             client("ip-10-0-0-6.eu-west-1.compute.internal.example.com", "10.0.0.6"),
             client("ip-10-0-0-6.eu-west-1.compute.internal.example.org", "10.0.0.7"),
             client("1234567890123456789012345678901234567890", "10.0.0.8"),
             client("12345678901234567890123456789012345678901", "10.0.0.9"),
             client("client", "10.0.0.12"), client("rr", "10.0.0.13"),
             mesh("node-a", "10.0.0.14"), external("node-a", "10.0.0.15", 65001)};
  expect_golden("name_sanitizing", c);
}

TEST(BirdConfig, PermutationInvariance) {
  ReflectorConfig c = clients_and_mesh();
  Peer ext = external("tor-1", "10.0.0.254", 65001);
  c.peers.push_back(ext);
  const std::string want = render_bird_config(c);
  std::vector<std::size_t> order(c.peers.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  int permutations = 0;
  do {
    ReflectorConfig p = c;
    p.peers.clear();
    for (std::size_t i : order) p.peers.push_back(c.peers[i]);
    ASSERT_EQ(render_bird_config(p), want);
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 720);
}

TEST(BirdConfig, AddingAPeerKeepsOtherProtocolsByteIdentical) {
  ReflectorConfig before = clients_and_mesh();
  ReflectorConfig after = before;
  after.peers.push_back(client("worker-0", "10.0.0.9"));
  const std::string a = render_bird_config(before);
  const std::string b = render_bird_config(after);
  // Every protocol block of the old text is still in the new one.
  std::size_t pos = 0;
  while ((pos = a.find("protocol bgp ", pos)) != std::string::npos) {
    const std::size_t end = a.find("\n}\n", pos);
    ASSERT_NE(end, std::string::npos);
    EXPECT_NE(b.find(a.substr(pos, end - pos + 3)), std::string::npos) << a.substr(pos, end - pos);
    pos = end;
  }
}

TEST(BirdConfig, ProtocolNames) {
  EXPECT_EQ(protocol_name(PeerRole::Client, "worker3"), "client_worker3");
  EXPECT_EQ(protocol_name(PeerRole::Mesh, "rrb0"), "mesh_rrb0");
  EXPECT_EQ(protocol_name(PeerRole::External, "tor1"), "ext_tor1");
  // Pinned: the hash is part of the name BIRD and the metrics show; changing
  // the scheme resets every session on upgrade.
  EXPECT_EQ(protocol_name(PeerRole::Client, "worker-1"), "client_worker_1_73f9322d");

  const std::vector<std::string> names = {
      "node-a", "node_a", "node.a", "Node-A", "NODE-A", "nodea", "node-a ", "", "-", "_",
      "client", "rr", "a\"b", "a\nb", "\xc3\xa9t\xc3\xa9", std::string(300, 'x'),
      std::string(300, 'x') + "y", std::string(41, 'a'), std::string(40, 'a'),
      "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"};
  for (PeerRole role : {PeerRole::Client, PeerRole::Mesh, PeerRole::External}) {
    std::set<std::string> seen;
    for (const std::string& n : names) {
      const std::string p = protocol_name(role, n);
      EXPECT_TRUE(seen.insert(p).second) << "collision: " << p;
      EXPECT_LE(p.size(), kMaxBirdSymbolLength) << p;
      EXPECT_TRUE(std::all_of(p.begin(), p.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
      })) << p;
      EXPECT_EQ(protocol_name(role, n), p) << "not stable";
      EXPECT_EQ(role_of_protocol(p), role) << p;
    }
  }
  EXPECT_EQ(role_of_protocol("device1"), std::nullopt);
  EXPECT_EQ(role_of_protocol("client_"), std::nullopt);
  EXPECT_EQ(role_of_protocol("static1"), std::nullopt);
}

TEST(BirdConfig, SanitizedNamesParseInBird) {
  // Protocol names for awkward inputs (including hex-only ones BIRD would
  // otherwise lex as byte strings) are valid BIRD symbols.
  ReflectorConfig c = base();
  c.peers = {client("deadbeefdeadbeefdeadbeefdeadbeefdeadbeef", "10.0.0.1"),
             client(std::string(253, 'n'), "10.0.0.2"), client("0", "10.0.0.3"),
             client("a b", "10.0.0.4")};
  ASSERT_TRUE(validate_config(c).ok());
  const kube::Status s = check_with_bird(render_bird_config(c), scratch_options());
  EXPECT_TRUE(s.ok()) << s.error().describe();
}

struct InvalidCase {
  const char* what;
  void (*mutate)(ReflectorConfig&);
  const char* message;
};

TEST(BirdConfigValidate, RejectsWhatBirdWouldRefuseOrMisread) {
  const std::vector<InvalidCase> cases = {
      {"router id v6", [](ReflectorConfig& c) { c.router_id = "fd00::1"; }, "router id"},
      {"router id zero", [](ReflectorConfig& c) { c.router_id = "0.0.0.0"; }, "router id"},
      {"cluster id", [](ReflectorConfig& c) { c.cluster_id = "rack-a"; }, "cluster id"},
      {"as 0", [](ReflectorConfig& c) { c.as_number = 0; }, "AS number 0"},
      {"listen", [](ReflectorConfig& c) { c.listen_address = "10.0.0"; }, "listen address"},
      {"listen v6", [](ReflectorConfig& c) { c.listen_address_v6 = "10.0.0.1"; }, "IPv6 listen"},
      {"port", [](ReflectorConfig& c) { c.listen_port = 0; }, "listen port 0"},
      {"port high", [](ReflectorConfig& c) { c.listen_port = 65536; }, "listen port 65536"},
      {"no family", [](ReflectorConfig& c) { c.ipv4 = false; }, "neither"},
      {"hold", [](ReflectorConfig& c) { c.timers.hold_seconds = 2; }, "hold time"},
      {"keepalive", [](ReflectorConfig& c) { c.timers.keepalive_seconds = 90; }, "keepalive"},
      {"error wait", [](ReflectorConfig& c) { c.timers.error_wait_max_seconds = 1; }, "error wait"},
      {"gr", [](ReflectorConfig& c) { c.graceful_restart_seconds = 5000; }, "graceful restart"},
      {"peer name", [](ReflectorConfig& c) { c.peers[0].name = ""; }, "empty name"},
      {"peer name quote", [](ReflectorConfig& c) { c.peers[0].name = "a\"b"; }, "name must be"},
      {"peer address", [](ReflectorConfig& c) { c.peers[0].address = "node-1"; }, "not an IP"},
      {"peer port", [](ReflectorConfig& c) { c.peers[0].port = 70000; }, "port 70000"},
      {"peer v6 without listen", [](ReflectorConfig& c) { c.peers[0].address = "fd00::1"; },
       "no IPv6 sessions"},
      {"peer is self", [](ReflectorConfig& c) { c.peers[0].address = "10.0.0.10"; }, "own"},
      {"client ebgp", [](ReflectorConfig& c) { c.peers[0].as_number = 65001; }, "iBGP"},
      {"external no as",
       [](ReflectorConfig& c) { c.peers[0].role = PeerRole::External; }, "AS number is required"},
      {"source family", [](ReflectorConfig& c) { c.peers[0].source_address = "fd00::1"; },
       "source address family"},
      {"dup name", [](ReflectorConfig& c) { c.peers[1].name = c.peers[0].name; }, "same BIRD protocol"},
      {"dup endpoint", [](ReflectorConfig& c) { c.peers[1].address = "10.0.0.1"; }, "same neighbor"},
      {"empty password", [](ReflectorConfig& c) { c.peers[0].password = ""; }, "1..80"},
      {"long password", [](ReflectorConfig& c) { c.peers[0].password = std::string(81, 'p'); },
       "1..80"},
      {"client flag on a node", [](ReflectorConfig& c) { c.peers[0].rr_client = true; }, "only an iBGP external"},
      {"client flag on eBGP",
       [](ReflectorConfig& c) {
         c.peers[0] = external("edge", "192.0.2.1", 65010);
         c.peers[0].rr_client = true;
       },
       "only an iBGP external"},
      {"export prefixes on iBGP",
       [](ReflectorConfig& c) {
         c.peers[0] = external("tor", "192.0.2.1", 64512);
         c.peers[0].export_prefixes = std::vector<ExportPrefix>{};
       },
       "eBGP peers only"},
      {"export prefix malformed",
       [](ReflectorConfig& c) {
         c.peers[0] = external("edge", "192.0.2.1", 65010);
         c.peers[0].export_prefixes = std::vector<ExportPrefix>{{"10.244.0.0", 32}};
       },
       "not an IP prefix"},
      {"export prefix max length",
       [](ReflectorConfig& c) {
         c.peers[0] = external("edge", "192.0.2.1", 65010);
         c.peers[0].export_prefixes = std::vector<ExportPrefix>{{"10.244.0.0/16", 8}};
       },
       "max length 8"},
  };
  for (const InvalidCase& tc : cases) {
    ReflectorConfig c = base();
    c.peers = {client("worker-1", "10.0.0.1"), client("worker-2", "10.0.0.2")};
    ASSERT_TRUE(validate_config(c).ok());
    tc.mutate(c);
    const kube::Status s = validate_config(c);
    ASSERT_FALSE(s.ok()) << tc.what;
    EXPECT_EQ(s.error().kind, kube::ErrorKind::Invalid) << tc.what;
    EXPECT_NE(s.error().message.find(tc.message), std::string::npos)
        << tc.what << ": " << s.error().message;
  }
}

TEST(BirdConfigValidate, PasswordsAreCheckedButNeverEchoed) {
  for (const std::string pw : {"quote\"inside", "back\\slash", "new\nline", "caf\xc3\xa9"}) {
    ReflectorConfig c = base();
    c.peers = {client("worker-1", "10.0.0.1")};
    c.peers[0].password = pw;
    const kube::Status s = validate_config(c);
    ASSERT_FALSE(s.ok()) << pw;
    EXPECT_EQ(s.error().message.find(pw), std::string::npos) << s.error().message;
  }
}

TEST(BirdConfigValidator, BrokenConfigNamesTheLine) {
  const std::string text =
      "router id 10.0.0.10;\n"
      "protocol device {\n"
      "}\n"
      "protocol bgp client {\n"  // `client` is a keyword
      "  local as 64512;\n"
      "  neighbor 10.0.0.1 as 64512;\n"
      "  ipv4;\n"
      "}\n";
  const kube::Status s = check_with_bird(text, scratch_options());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, kube::ErrorKind::Invalid);
  EXPECT_NE(s.error().message.find("line 4:14: syntax error"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("`protocol bgp client {`"), std::string::npos)
      << s.error().message;
}

TEST(BirdConfigValidator, SemanticErrorAndRedactedPasswordLine) {
  const std::string text =
      "router id 10.0.0.10;\n"
      "protocol bgp x {\n"
      "  local as 64512;\n"
      "  neighbor 10.0.0.1 as 64512;\n"
      "  ipv4;\n"
      "  password \"top\\\"secret\";\n"
      "}\n";
  const kube::Status s = check_with_bird(text, scratch_options());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("line 6:"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.find("secret"), std::string::npos) << s.error().message;
}

TEST(BirdConfigValidator, AcceptsMinimalConfigAndCleansUp) {
  const kube::testing::TempDir dir("rr-bird-validator-test");
  BirdValidatorOptions options;
  options.scratch_dir = dir.path();
  const kube::Status s = check_with_bird("router id 10.0.0.1;\nprotocol device {\n}\n", options);
  EXPECT_TRUE(s.ok()) << s.error().describe();
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// The reflector Pod's root filesystem is read-only: $TMPDIR and /tmp are never used,
// and a scratch directory that cannot be written is named in the error.
TEST(BirdConfigValidator, WritesOnlyInItsScratchDirectory) {
  BirdValidatorOptions none;
  const kube::Status without = check_with_bird("router id 10.0.0.1;\n", none);
  ASSERT_FALSE(without.ok());
  EXPECT_EQ(without.error().kind, kube::ErrorKind::BadConfig) << without.error().describe();
  EXPECT_NE(without.error().message.find("scratch"), std::string::npos) << without.error().message;
  EXPECT_FALSE(check_scratch_dir("").ok());

  const kube::testing::TempDir dir("rr-bird-validator-test");
  BirdValidatorOptions missing;
  missing.scratch_dir = dir.path() / "absent";
  const kube::Status unwritable = check_with_bird("router id 10.0.0.1;\n", missing);
  ASSERT_FALSE(unwritable.ok());
  EXPECT_EQ(unwritable.error().kind, kube::ErrorKind::Transient) << unwritable.error().describe();
  EXPECT_NE(unwritable.error().message.find(missing.scratch_dir.string()), std::string::npos)
      << unwritable.error().message;
  const kube::Status probe = check_scratch_dir(missing.scratch_dir);
  ASSERT_FALSE(probe.ok());
  EXPECT_NE(probe.error().message.find(missing.scratch_dir.string()), std::string::npos) << probe.error().message;
  EXPECT_TRUE(check_scratch_dir(dir.path()).ok());
  EXPECT_TRUE(fs::is_empty(dir.path())) << "the start-up probe leaves nothing behind";
}

TEST(BirdConfigValidator, MissingBinaryIsBadConfig) {
  BirdValidatorOptions options = scratch_options();
  options.bird_binary = "/nonexistent/bird";
  const kube::Status s = check_with_bird("router id 10.0.0.1;\n", options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, kube::ErrorKind::BadConfig) << s.error().describe();
}

}  // namespace
}  // namespace rr::bird
