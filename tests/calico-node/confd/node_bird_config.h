#pragma once
// What calico-node's confd decides for one node's IPv4 bird.cfg, from values
// only: the node-to-node mesh, global and node-specific BGPPeers, listen port
// and bind mode, passwords from the Secrets of calico-node's namespace.
// build_node_bird_config() decides (pure, deterministic); render_bird16()
// (bird16_renderer.h) turns the decision into text.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "confd/calico_objects.h"
#include "kube/result.h"

namespace rr::calico {

// The label that keeps calico-node (and the stand-in's DaemonSet) off a node when "false".
inline constexpr const char* kCalicoNodeLabel = "rr.bgp.dev/calico-node";

struct NodeInputs {
  std::string node_name;
  std::vector<CalicoNode> nodes;  // every Node, this one included
  std::vector<BgpPeer> peers;
  std::vector<BgpConfiguration> configurations;
  std::map<SecretKeyRef, std::string> secrets;  // (Secret name, key) -> value, calico-node's namespace only
  bool program_kernel = false;  // export learned routes to the kernel, as calico-node does
  // Which nodes run calico-node, besides those that carry its address annotation: calico-node
  // meshes only with nodes it has registered, and the stand-in registers nothing.
  std::string calico_node_selector = std::string(kCalicoNodeLabel) + " != 'false'";
};

struct BgpSession {
  std::string protocol;  // Mesh_10_0_0_2, Global_..., Node_..._port_N
  std::string neighbor;
  std::optional<int> port;
  std::uint32_t as_number = 0;
  std::string source_address;  // "" = none
  bool passive = false;
  std::optional<int> graceful_restart_seconds;
  std::optional<std::string> password;  // never logged
  std::string rr_cluster_id;            // rr client toward this peer when non-empty
  std::string origin;                   // "node <name>" or "BGPPeer <name>", for comments
};

struct NodeBirdConfig {
  std::string node_name;
  std::string router_id;
  std::uint32_t as_number = kDefaultASNumber;
  std::string listen_address;  // bindMode NodeIP
  std::optional<int> listen_port;
  std::string pod_cidr;
  bool program_kernel = false;
  bool mesh_enabled = true;
  std::vector<BgpSession> mesh;            // by node name
  std::vector<BgpSession> global_peers;    // by protocol name
  std::vector<BgpSession> node_peers;      // by protocol name
  std::vector<std::string> skipped;        // peers left out and why (no secrets in here)
};

// Fails (NotFound / Invalid) when the node is unknown, has no IPv4 BGP address, or the
// calico_node_selector does not parse.
kube::Result<NodeBirdConfig> build_node_bird_config(const NodeInputs& in);

// "10_0_0_2" for 10.0.0.2, as Calico names protocols.
std::string protocol_id(const std::string& ip);

struct PeerAddress {
  std::string ip;
  std::optional<int> port;
  bool ipv6 = false;
};
// peerIP forms: "10.0.0.1", "10.0.0.1:1179", "[fd00::1]:1179", "fd00::1".
kube::Result<PeerAddress> parse_peer_ip(const std::string& text);

}  // namespace rr::calico
