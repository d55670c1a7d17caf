#pragma once
// What one reflector's BIRD should be configured with: a value the agent
// builds from the API and the renderer turns into bird.conf. Sessions are
// named from stable identities (node name, reflector pod, external peer name)
// so that adding a client never renames, and so never resets, another session.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rr::bird {

enum class PeerRole { Client, Mesh, External };

// How messages name a peer of this role: "client", "mesh peer", "external peer".
constexpr std::string_view describe(PeerRole role) {
  switch (role) {
    case PeerRole::Client: return "client";
    case PeerRole::Mesh: return "mesh peer";
    case PeerRole::External: return "external peer";
  }
  return "peer";
}

struct BgpTimers {
  int hold_seconds = 90;
  int keepalive_seconds = 30;
  int connect_retry_seconds = 5;   // tests use small values
  int connect_delay_seconds = 5;
  int error_wait_min_seconds = 60;
  int error_wait_max_seconds = 300;
};

// A prefix an eBGP peer may be sent, with its more-specifics up to max_length.
struct ExportPrefix {
  std::string cidr;    // "10.244.0.0/16", "fd00:10::/48": no host bits
  int max_length = 32;
  auto operator<=>(const ExportPrefix&) const = default;
};

struct Peer {
  PeerRole role = PeerRole::Client;
  std::string name;            // stable identity: node name, reflector pod name, external peer name
  std::string address;         // IPv4 or IPv6 literal
  int port = 179;
  std::uint32_t as_number = 0;
  std::optional<std::string> password;  // MD5; never logged
  bool multihop = true;        // iBGP is multihop in BIRD anyway; external peers say
  std::string source_address;  // optional local address for this session
  // External iBGP peers and Mesh peers: a route-reflector client (`rr client`), whose
  // routes are reflected to the mesh too, not only to the clients. A top-tier reflector's
  // rack reflectors are Mesh peers (reflector to reflector, on the mesh port) marked so.
  bool rr_client = false;
  // External eBGP peers only. Every eBGP session exports the fabric's own
  // routes only (empty AS_PATH); with a list, only those inside its prefixes.
  std::optional<std::vector<ExportPrefix>> export_prefixes;
};

struct ReflectorConfig {
  std::string router_id;                 // IPv4 dotted quad; never a Calico node's (see reflector_router_id)
  std::uint32_t as_number = 64512;
  std::string cluster_id;                // IPv4-format rack cluster ID
  std::string listen_address;            // the host address BIRD binds to (strict bind)
  // Dual stack: the host's IPv6 address for IPv6 sessions when listen_address
  // is IPv4 (each session binds the local address of its neighbor's family).
  std::string listen_address_v6;
  int listen_port = 179;
  // The local port of mesh sessions (0: listen_port). BIRD tells incoming sessions apart by
  // remote address and local port, never the remote port: on a Colocated host, calico-node
  // and the reflector share one address, so another reflector would take the two for one
  // peer unless they reach it on different ports.
  int mesh_port = 0;
  bool ipv4 = true;
  bool ipv6 = false;
  bool graceful_restart = true;
  int graceful_restart_seconds = 120;
  BgpTimers timers;
  std::vector<Peer> peers;               // any order; rendering sorts by (role, name)
  std::string control_socket;            // for comments only; the socket is a bird -s flag
};

}  // namespace rr::bird
