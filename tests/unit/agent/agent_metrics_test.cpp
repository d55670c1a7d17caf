#include "agent/agent_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bird/config_renderer.h"
#include "bird/reply_parser.h"
#include "unit/bird/transcripts.h"

namespace rr::agent {
namespace {

using bird::Peer;
using bird::PeerRole;
using bird::ProtocolState;
using bird::ReflectorConfig;

Peer peer(PeerRole role, std::string name, std::string address) {
  Peer p;
  p.role = role;
  p.name = std::move(name);
  p.address = std::move(address);
  return p;
}

// `show protocols all` from a real BIRD (peer_b: iBGP client, Established, 1 in / 4 out;
// peer_c: eBGP, Established, 2 in / 3 out; peer_dead: Active; peer_off: Down; peer_b6;
// static4; device1), with the protocols renamed as the renderer names them.
std::vector<ProtocolState> captured_protocols() {
  auto reply = bird::parse_full_reply(bird::testdata::transcript("show_protocols_all_rr_iso_long.txt"));
  EXPECT_TRUE(reply.ok());
  auto parsed = bird::parse_show_protocols_all(*reply);
  EXPECT_TRUE(parsed.ok());
  std::vector<ProtocolState> protocols = std::move(parsed).value();
  const std::map<std::string, std::string> renames = {
      {"peer_b", bird::protocol_name(PeerRole::Client, "node-b")},
      {"peer_c", bird::protocol_name(PeerRole::External, "router-c")},
      {"peer_dead", bird::protocol_name(PeerRole::Mesh, "rr2")},
      {"peer_off", bird::protocol_name(PeerRole::Client, "nodeoff")},
      // Named like a peer's protocol, but not BGP: not a session.
      {"static4", bird::protocol_name(PeerRole::Client, "static")},
      // peer_b6 keeps its name: a BGP protocol of no configured peer.
  };
  for (ProtocolState& p : protocols) {
    if (auto it = renames.find(p.name); it != renames.end()) p.name = it->second;
  }
  return protocols;
}

ReflectorConfig config_with(std::vector<Peer> peers) {
  ReflectorConfig c;
  c.router_id = "127.0.2.1";
  c.cluster_id = "244.0.0.7";
  c.listen_address = "127.0.2.1";
  c.peers = std::move(peers);
  return c;
}

std::vector<Peer> fabric_peers() {
  return {peer(PeerRole::Client, "node-b", "127.0.2.2"),  peer(PeerRole::External, "router-c", "127.0.2.3"),
          peer(PeerRole::Mesh, "rr2", "127.0.2.9"),       peer(PeerRole::Client, "nodeoff", "127.0.2.8"),
          peer(PeerRole::Client, "static", "127.0.2.20"), peer(PeerRole::Client, "not-in-bird", "127.0.2.10")};
}

class AgentMetricsTest : public ::testing::Test {
 protected:
  std::string text() const { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  // The value of one series, by its exact name and labels as serialized.
  std::optional<double> value(const std::string& series) const {
    std::istringstream lines(text());
    for (std::string line; std::getline(lines, line);) {
      if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
        return std::stod(line.substr(series.size() + 1));
      }
    }
    return std::nullopt;
  }

  static std::string session(const std::string& name, const std::string& peer, const std::string& address,
                             const std::string& role) {
    return name + "{cluster_id=\"244.0.0.7\",peer=\"" + peer + "\",peer_address=\"" + address +
           "\",rack=\"rack-1\",role=\"" + role + "\",tier=\"rack\",zone=\"\"}";
  }

  int series_count(const std::string& name) const {
    std::istringstream lines(text());
    int n = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.compare(0, name.size() + 1, name + "{") == 0) ++n;
    }
    return n;
  }

  static AgentIdentity rack_reflector() {
    AgentIdentity id;
    id.rack = "rack-1";
    id.cluster_id = "244.0.0.7";
    return id;
  }

  prometheus::Registry registry_;
  AgentMetrics metrics_{registry_, rack_reflector()};
};

// A top-tier reflector's sessions say so, and which zone's top tier it is: alerts tell a
// top tier from a rack by them (monitoring/alerts.yaml).
TEST(AgentMetricsTier, ATopTierReflectorsSessionsCarryTierAndZoneAndNoRack) {
  prometheus::Registry registry;
  AgentIdentity id;
  id.tier = contract::Tier::Top;
  id.rack = "ignored";
  id.zone = "zone-a";
  id.cluster_id = "244.0.1.1";
  AgentMetrics metrics(registry, id);
  (void)metrics.update_sessions(captured_protocols(), config_with({peer(PeerRole::Client, "node-b", "127.0.2.2")}));
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(text.find("rr_bgp_session_up{cluster_id=\"244.0.1.1\",peer=\"node-b\",peer_address=\"127.0.2.2\","
                      "rack=\"\",role=\"client\",tier=\"top\",zone=\"zone-a\"} 1"),
            std::string::npos)
      << text;
}

TEST_F(AgentMetricsTest, SeriesWithoutPeersExistAtZeroFromTheStart) {
  EXPECT_EQ(value("rr_bird_up"), 0);
  for (const char* result : {"success", "refused", "failed"}) {
    SCOPED_TRACE(result);
    EXPECT_EQ(value(std::string("rr_bird_reconfigurations_total{result=\"") + result + "\"}"), 0);
  }
  EXPECT_EQ(value("rr_lease_renewals_total{result=\"success\"}"), 0);
  EXPECT_EQ(value("rr_lease_renewals_total{result=\"failure\"}"), 0);
  EXPECT_EQ(series_count("rr_bgp_session_up"), 0);
}

TEST_F(AgentMetricsTest, CountersAndBirdUp) {
  metrics_.set_bird_up(true);
  metrics_.reconfiguration("success");
  metrics_.reconfiguration("success");
  metrics_.reconfiguration("refused");
  metrics_.reconfiguration("something else");  // no new label value from a typo
  metrics_.lease_renewal(true);
  metrics_.lease_renewal(false);
  metrics_.lease_renewal(true);
  EXPECT_EQ(value("rr_bird_up"), 1);
  EXPECT_EQ(value("rr_bird_reconfigurations_total{result=\"success\"}"), 2);
  EXPECT_EQ(value("rr_bird_reconfigurations_total{result=\"refused\"}"), 1);
  EXPECT_EQ(value("rr_bird_reconfigurations_total{result=\"failed\"}"), 0);
  EXPECT_EQ(series_count("rr_bird_reconfigurations_total"), 3);
  EXPECT_EQ(value("rr_lease_renewals_total{result=\"success\"}"), 2);
  EXPECT_EQ(value("rr_lease_renewals_total{result=\"failure\"}"), 1);
  metrics_.set_bird_up(false);
  EXPECT_EQ(value("rr_bird_up"), 0);
}

TEST_F(AgentMetricsTest, OneSeriesPerConfiguredSessionFromShowProtocolsAll) {
  const SessionCounts counts = metrics_.update_sessions(captured_protocols(), config_with(fabric_peers()));
  EXPECT_EQ(counts.established, 2);
  EXPECT_EQ(counts.total, 6);
  // rr2 (Active, "Socket: Connection refused"): tried, and nothing answers there.
  EXPECT_EQ(counts.unreachable, 1);

  struct Case {
    std::string name, peer, address, role;
    double up, received, exported;
  };
  const std::vector<Case> cases = {
      {"established client, mapped protocol name", "node-b", "127.0.2.2", "client", 1, 1, 4},
      {"established external peer", "router-c", "127.0.2.3", "external", 1, 2, 3},
      {"mesh peer in Active", "rr2", "127.0.2.9", "mesh", 0, 0, 0},
      {"client disabled", "nodeoff", "127.0.2.8", "client", 0, 0, 0},
      {"a Static protocol is not this peer's session", "static", "127.0.2.20", "client", 0, 0, 0},
      {"configured, BIRD does not list it yet", "not-in-bird", "127.0.2.10", "client", 0, 0, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(value(session("rr_bgp_session_up", c.peer, c.address, c.role)), c.up);
    EXPECT_EQ(value(session("rr_bgp_session_prefixes_received", c.peer, c.address, c.role)), c.received);
    EXPECT_EQ(value(session("rr_bgp_session_prefixes_exported", c.peer, c.address, c.role)), c.exported);
  }
  // peer_b6 and the other protocols belong to no configured peer.
  EXPECT_EQ(series_count("rr_bgp_session_up"), 6);
  EXPECT_EQ(text().find("peer_b6"), std::string::npos);
}

TEST_F(AgentMetricsTest, SeriesOfVanishedOrChangedPeersAreRemoved) {
  (void)metrics_.update_sessions(captured_protocols(), config_with(fabric_peers()));
  std::vector<Peer> peers = fabric_peers();
  peers.erase(peers.begin() + 1);  // router-c is no longer configured
  peers[1].address = "127.0.2.99";  // rr2 moved
  const SessionCounts counts = metrics_.update_sessions(captured_protocols(), config_with(peers));
  EXPECT_EQ(counts.established, 1);
  EXPECT_EQ(counts.total, 5);
  for (const char* name : {"rr_bgp_session_up", "rr_bgp_session_prefixes_received", "rr_bgp_session_prefixes_exported"}) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(value(session(name, "router-c", "127.0.2.3", "external")).has_value());
    EXPECT_FALSE(value(session(name, "rr2", "127.0.2.9", "mesh")).has_value());
    EXPECT_EQ(value(session(name, "rr2", "127.0.2.99", "mesh")), 0);
    EXPECT_EQ(series_count(name), 5);
  }
  EXPECT_EQ(value(session("rr_bgp_session_up", "node-b", "127.0.2.2", "client")), 1);

  // No peers at all: no session series, the rest stays.
  EXPECT_EQ(metrics_.update_sessions(captured_protocols(), config_with({})).total, 0);
  EXPECT_EQ(series_count("rr_bgp_session_up"), 0);
  EXPECT_TRUE(value("rr_bird_up").has_value());
}

// BIRD not answering: the agent cannot vouch for any session, so none is reported up (a
// session series stuck at its last value would hide a rack without routes from the alerts).
TEST_F(AgentMetricsTest, SessionSeriesGoWhileBirdDoesNotAnswer) {
  metrics_.set_bird_up(true);
  (void)metrics_.update_sessions(captured_protocols(), config_with(fabric_peers()));
  ASSERT_EQ(series_count("rr_bgp_session_up"), 6);
  metrics_.set_bird_up(false);
  EXPECT_EQ(value("rr_bird_up"), 0);
  for (const char* name : {"rr_bgp_session_up", "rr_bgp_session_prefixes_received", "rr_bgp_session_prefixes_exported"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(series_count(name), 0);
  }
  metrics_.set_bird_up(true);
  (void)metrics_.update_sessions(captured_protocols(), config_with(fabric_peers()));
  EXPECT_EQ(value(session("rr_bgp_session_up", "node-b", "127.0.2.2", "client")), 1);
  EXPECT_EQ(series_count("rr_bgp_session_up"), 6);
}

TEST_F(AgentMetricsTest, PasswordsNeverReachALabel) {
  std::vector<Peer> peers = fabric_peers();
  for (Peer& p : peers) p.password = "s3cret-pass";
  (void)metrics_.update_sessions(captured_protocols(), config_with(peers));
  EXPECT_EQ(text().find("s3cret-pass"), std::string::npos);
}

TEST_F(AgentMetricsTest, ExpositionPassesPromtool) {
  ASSERT_EQ(::access("/usr/bin/promtool", X_OK), 0) << "promtool is missing: scripts/setup.sh installs Debian's prometheus";
  metrics_.set_bird_up(true);
  metrics_.reconfiguration("success");
  metrics_.lease_renewal(false);
  (void)metrics_.update_sessions(captured_protocols(), config_with(fabric_peers()));

  std::string dir = (std::filesystem::temp_directory_path() / "rr-agent-metrics-test.XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string file = dir + "/metrics.txt";
  std::ofstream(file) << text();
  FILE* out = ::popen(("/usr/bin/promtool check metrics < " + file + " 2>&1").c_str(), "r");
  ASSERT_NE(out, nullptr);
  std::string problems;
  char buf[512];
  while (std::fgets(buf, sizeof buf, out) != nullptr) problems += buf;
  const int status = ::pclose(out);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << problems;
  EXPECT_EQ(problems, "") << text();
}

}  // namespace
}  // namespace rr::agent
