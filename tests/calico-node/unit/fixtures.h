#pragma once
// Calico inputs for the stand-in's unit tests, built as values.

#include <string>
#include <vector>

#include "confd/node_bird_config.h"

namespace rr::calico::testing {

inline CalicoNode node(std::string name, std::string ip, std::string rack, std::string pod_cidr = "") {
  CalicoNode n;
  n.name = name;
  n.ipv4 = std::move(ip);
  n.labels = {{"topology.kubernetes.io/rack", std::move(rack)}, {"kubernetes.io/hostname", name}};
  n.pod_cidr = std::move(pod_cidr);
  n.registered = true;
  return n;
}

// A BGPPeer as rr-operator writes it: selector, peerIP (with a port unless 179), asNumber, maybe a password.
inline BgpPeer operator_peer(std::string name, std::string selector, std::string peer_ip, unsigned as = 64512) {
  BgpPeer p;
  p.name = std::move(name);
  p.node_selector = std::move(selector);
  p.peer_ip = std::move(peer_ip);
  p.as_number = as;
  return p;
}

inline BgpConfiguration mesh(bool on) {
  BgpConfiguration c;
  c.name = "default";
  c.node_to_node_mesh = on;
  return c;
}

// Three nodes of rack r1 and one of r2, addresses chosen so that string order differs from numeric order.
inline NodeInputs four_nodes(std::string self = "n2") {
  NodeInputs in;
  in.node_name = std::move(self);
  in.nodes = {node("n1", "10.0.0.9", "r1", "10.1.1.0/24"), node("n2", "10.0.0.10", "r1", "10.1.2.0/24"),
              node("n3", "10.0.0.100", "r1", "10.1.3.0/24"), node("n4", "10.0.1.4", "r2", "10.1.4.0/24")};
  return in;
}

}  // namespace rr::calico::testing
