#pragma once
// Where the e2e fabric's simulated nodes live and how they reach each other.
//
// Namespaces (root): every node is a network namespace of its own with one
// interface, eth0, on a bridge inside a hub namespace; nodes have 10.77.R.x/16
// and fd77::R:x/64 addresses (dual stack, one link: every next hop is on-link)
// and BGP runs on its standard port 179, as between real machines.
// The BIRDs of a node (its reflector's or its calico-node stand-in's) run inside
// that node's namespace; rr-agent and rr-operator stay in the host namespace,
// where they reach the kube-apiserver on 127.0.0.1, and drive BIRD through its
// control socket, a file every namespace sees. Nothing is bound on the host.
//
// Loopback (anyone): every node is a distinct 127.0.R.x address on the host's lo
// and BGP runs on port 1179 (no privilege needed), each BIRD strictly bound to
// its node's address. IPv4 only: ::1 is the one IPv6 loopback address.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/netns.h"

namespace rr::e2e {

enum class NetworkMode { Auto, Namespaces, Loopback };

// "auto", "netns" or "loopback"; false for anything else.
bool parse_network_mode(const std::string& text, NetworkMode* mode);
// RR_E2E_NETWORK (unset: Auto); nullopt when it holds anything else.
std::optional<NetworkMode> network_mode_from_environment();

class FabricNetwork {
 public:
  // Auto picks Namespaces when running as root, else Loopback. Null, with the
  // reason in *error, when Namespaces were asked for and cannot be made.
  static std::unique_ptr<FabricNetwork> create(NetworkMode mode, std::string* error);
  virtual ~FabricNetwork() = default;

  virtual NetworkMode mode() const = 0;
  // One line for people: what the nodes are and where BGP runs.
  virtual std::string describe() const = 0;
  virtual int bgp_port() const = 0;
  virtual std::string node_ip(int rack, int n) const = 0;
  // Whether nodes also have an IPv6 address (node_ipv6).
  virtual bool supports_ipv6() const = 0;
  // The node's IPv6 address, canonical as BIRD and the operator print it ("" without IPv6).
  virtual std::string node_ipv6(int rack, int n) const = 0;
  // Brings up node `name`'s network; false, with the reason in *error, when it cannot.
  virtual bool add_node(const std::string& name, int rack, int n, std::string* error) = 0;
  // The argv prefix that runs a command on node `name` (`ip netns exec NS`; empty on loopback).
  virtual std::vector<std::string> launcher(const std::string& name) const = 0;
  // A BIRD binary for rr-agent's --bird-binary that runs on node `name`
  // (for namespaces, a wrapper written under `dir`).
  virtual std::string bird_binary(const std::string& name, const std::string& dir) const = 0;
  // The node's interface towards the others ("" on loopback, where there is none to speak of).
  virtual std::string interface() const = 0;
  // The network namespace node `name` lives in ("" on loopback).
  virtual std::string namespace_of(const std::string& name) const = 0;
};

}  // namespace rr::e2e
