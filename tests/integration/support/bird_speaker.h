#pragma once
// A real BIRD 2 process playing a BGP speaker in tests: a Calico node
// (calico-node's BIRD) or an edge router. It binds one 127.x address (and,
// dual stack, one IPv6 address), peers as told, can announce prefixes, and
// answers `show route all` through birdc. Each session carries the family of
// its neighbor's address: IPv4 routes over IPv4 sessions, IPv6 over IPv6.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/short_temp_dir.h"

namespace rr::testing {

struct SpeakerPeer {
  std::string name;     // BIRD protocol name
  std::string address;  // neighbor, IPv4 or IPv6 (the session's family, and which local address it uses)
  int port = 179;
  unsigned as_number = 64512;
  std::string password;  // MD5; empty = none
  bool multihop = true;
};

struct SpeakerConfig {
  std::string address;  // router id and local address of IPv4 sessions (127.x.y.z)
  // Local address of IPv6 sessions; empty: IPv4 only (an IPv6 peer then has no session).
  std::string address_v6;
  int port = 11179;
  unsigned as_number = 64512;
  std::vector<SpeakerPeer> peers;
  std::vector<std::string> announce;  // prefixes, IPv4 or IPv6 (static blackhole routes)
  // argv prefix that runs BIRD somewhere else, e.g. `ip netns exec NAME` (empty: here).
  std::vector<std::string> launcher;
  // The interface towards the peers: its subnets (IPv6 too when address_v6 is set) are
  // learned (protocol direct) so that BGP next hops on it resolve; only the static routes
  // are announced.
  // Empty: no IGP routes at all, BGP routes show as unreachable.
  std::string interface;
};

struct RouteInfo {
  std::string next_hop;
  std::string originator_id;
  std::vector<std::string> cluster_list;
  std::string as_path;
  bool reachable = false;  // BIRD resolved the next hop (false: shown as "unreachable")
};

class BirdSpeaker {
 public:
  BirdSpeaker(std::string dir, SpeakerConfig config);
  ~BirdSpeaker();

  // Rewrites the config and reloads BIRD (or starts it the first time).
  void reconfigure(SpeakerConfig config);
  std::string birdc(const std::string& command) const;
  // The best route for `prefix` (IPv4 or IPv6) as BIRD shows it; nullopt when absent.
  std::optional<RouteInfo> route(const std::string& prefix) const;
  // "Established" or the BGP state of protocol `name`.
  std::string session_state(const std::string& name) const;
  const SpeakerConfig& config() const { return config_; }
  // In a short directory of its own: the config and log stay in `dir`, under the build tree.
  std::string socket() const { return socket_dir_.file("bird.ctl"); }

 private:
  void write_config();
  std::string dir_;
  ShortTempDir socket_dir_{"rr-bird"};
  SpeakerConfig config_;
  std::unique_ptr<ChildProcess> process_;
};

// birdc's answer to `command` on the control socket `socket` (its errors included), as birdc
// prints it, read in-process: route polls ask every few hundred milliseconds, and a process
// per question (fork, exec, the dynamic loader) was most of a played fabric's test CPU.
std::string birdc(const std::string& socket, const std::string& command);

// Parses birdc's `show route all` output for the first route shown.
std::optional<RouteInfo> parse_route(const std::string& birdc_output);

// True for an IPv6 address or prefix ("fd00::1", "fd00:1::/64"), false for IPv4.
bool is_ipv6(const std::string& address_or_prefix);

}  // namespace rr::testing
