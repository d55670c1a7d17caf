#include "confd/node_bird_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

namespace rr::calico {
namespace {

const BgpConfiguration* find_configuration(const std::vector<BgpConfiguration>& all, const std::string& name) {
  for (const auto& c : all) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

struct Settings {
  bool mesh = true;
  std::uint32_t global_as = kDefaultASNumber;
  std::optional<int> global_listen_port;
  std::string bind_mode;
  std::optional<SecretKeyRef> mesh_password;
  int mesh_restart_seconds = 120;
};

Settings global_settings(const std::vector<BgpConfiguration>& all) {
  Settings s;
  if (const auto* g = find_configuration(all, kDefaultConfiguration)) {
    s.mesh = g->node_to_node_mesh.value_or(true);
    s.global_as = g->as_number.value_or(kDefaultASNumber);
    s.global_listen_port = g->listen_port;
    s.bind_mode = g->bind_mode;
    s.mesh_password = g->node_mesh_password;
    s.mesh_restart_seconds = g->node_mesh_max_restart_seconds.value_or(120);
  }
  return s;
}

// A node's listen port: its own BGPConfiguration node.<name>, else the global one.
std::optional<int> listen_port_of(const std::vector<BgpConfiguration>& all, const Settings& s, const std::string& node) {
  if (const auto* c = find_configuration(all, "node." + node); c != nullptr && c->listen_port) return c->listen_port;
  return s.global_listen_port;
}

bool ipv4_cidr(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos || !ipv4_address(text.substr(0, slash))) return false;
  const std::string length = text.substr(slash + 1);
  if (length.empty() || length.size() > 2 || !std::all_of(length.begin(), length.end(), ::isdigit)) return false;
  return std::stoi(length) <= 32;
}

bool printable_password(const std::string& p) {
  if (p.empty() || p.size() > 80) return false;
  return std::all_of(p.begin(), p.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

// The password of a session, or why there is none to use.
std::optional<std::string> lookup_password(const NodeInputs& in, const SecretKeyRef& ref, std::string& why) {
  auto it = in.secrets.find(ref);
  if (it == in.secrets.end()) {
    why = "key " + ref.key + " of Secret " + ref.name + " not found in calico-node's namespace";
    return std::nullopt;
  }
  if (!printable_password(it->second)) {
    why = "key " + ref.key + " of Secret " + ref.name + " is not 1..80 printable characters without quotes";
    return std::nullopt;
  }
  return it->second;
}

void add_mesh(const NodeInputs& in, const CalicoNode& self, const Settings& s, const Selector& calico_nodes,
              NodeBirdConfig& out) {
  std::vector<const CalicoNode*> others;
  for (const auto& n : in.nodes) others.push_back(&n);
  std::sort(others.begin(), others.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::optional<std::string> password;
  if (s.mesh_password) {
    std::string why;
    password = lookup_password(in, *s.mesh_password, why);
    if (!password) {
      out.skipped.push_back("node-to-node mesh: " + why);
      return;
    }
  }
  std::set<std::string> addresses;
  for (const CalicoNode* other : others) {
    if (other->ipv4.empty() || other->ipv4 == self.ipv4) continue;
    if (!other->rr_cluster_id.empty()) continue;  // route reflectors are not in the mesh
    if (!other->registered && !calico_nodes.matches(other->labels)) continue;  // runs no calico-node
    if (!addresses.insert(other->ipv4).second) {
      out.skipped.push_back("node " + other->name + ": address " + other->ipv4 + " already meshed for another node");
      continue;
    }
    BgpSession m;
    m.protocol = "Mesh_" + protocol_id(other->ipv4);
    m.neighbor = other->ipv4;
    m.port = listen_port_of(in.configurations, s, other->name);
    m.as_number = other->as_number.value_or(s.global_as);
    m.source_address = self.ipv4;
    m.passive = other->ipv4 > self.ipv4;  // a string comparison, as confd's template does it
    m.graceful_restart_seconds = s.mesh_restart_seconds;
    m.password = password;
    m.origin = "node " + other->name;
    out.mesh.push_back(std::move(m));
  }
}

enum class Scope { None, Global, Node };

Scope scope_of(const BgpPeer& peer, const CalicoNode& self, std::string& why) {
  if (!peer.node.empty()) return peer.node == self.name ? Scope::Node : Scope::None;
  if (!peer.node_selector.empty()) {
    auto selector = Selector::parse(peer.node_selector);
    if (!selector.ok()) {
      why = selector.error().message;
      return Scope::None;
    }
    return selector->matches(self.labels) ? Scope::Node : Scope::None;
  }
  return Scope::Global;
}

void add_peers(const NodeInputs& in, const CalicoNode& self, std::uint32_t local_as, std::optional<int> own_port,
               NodeBirdConfig& out) {
  std::vector<const BgpPeer*> peers;
  for (const auto& p : in.peers) peers.push_back(&p);
  std::sort(peers.begin(), peers.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::set<std::string> taken;
  for (const BgpPeer* peer : peers) {
    const std::string label = "BGPPeer " + peer->name;
    std::string why;
    const Scope scope = scope_of(*peer, self, why);
    if (!why.empty()) out.skipped.push_back(label + ": spec.nodeSelector: " + why);
    if (scope == Scope::None) continue;
    if (peer->peer_ip.empty()) {
      if (!peer->peer_selector.empty()) out.skipped.push_back(label + ": spec.peerSelector peerings are not rendered");
      continue;
    }
    auto address = parse_peer_ip(peer->peer_ip);
    if (!address.ok()) {
      out.skipped.push_back(label + ": spec.peerIP: " + address.error().message);
      continue;
    }
    if (address->ipv6) {
      out.skipped.push_back(label + ": IPv6 peer, rendered only into calico-node's bird6.cfg");
      continue;
    }
    if (address->ip == self.ipv4 && address->port.value_or(179) == own_port.value_or(179)) continue;  // ourselves
    BgpSession b;
    b.protocol = std::string(scope == Scope::Global ? "Global_" : "Node_") + protocol_id(address->ip) +
                 (address->port ? "_port_" + std::to_string(*address->port) : "");
    if (!taken.insert(b.protocol).second) {
      out.skipped.push_back(label + ": " + b.protocol + " already rendered from an earlier BGPPeer");
      continue;
    }
    b.neighbor = address->ip;
    b.port = address->port;
    b.as_number = peer->as_number;
    b.source_address = peer->source_address == "None" ? "" : self.ipv4;
    b.graceful_restart_seconds = peer->max_restart_seconds;
    if (peer->password) {
      std::string missing;
      b.password = lookup_password(in, *peer->password, missing);
      if (!b.password) {
        out.skipped.push_back(label + ": spec.password: " + missing);
        continue;
      }
    }
    // Calico's own reflector mode: a node with a cluster ID reflects to same-AS peers.
    if (!self.rr_cluster_id.empty() && peer->as_number == local_as) b.rr_cluster_id = self.rr_cluster_id;
    b.origin = label;
    (scope == Scope::Global ? out.global_peers : out.node_peers).push_back(std::move(b));
  }
  auto by_protocol = [](const BgpSession& a, const BgpSession& b) { return a.protocol < b.protocol; };
  std::sort(out.global_peers.begin(), out.global_peers.end(), by_protocol);
  std::sort(out.node_peers.begin(), out.node_peers.end(), by_protocol);
}

}  // namespace

std::string protocol_id(const std::string& ip) {
  std::string id = ip;
  std::replace(id.begin(), id.end(), '.', '_');
  std::replace(id.begin(), id.end(), ':', '_');
  return id;
}

kube::Result<PeerAddress> parse_peer_ip(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return kube::make_error(kube::ErrorKind::Invalid, "\"" + text + "\" " + why);
  };
  PeerAddress out;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("is not [IPv6]:port");
    }
    out.ip = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    out.ip = text.substr(0, text.find(':'));
    port_text = text.substr(text.find(':') + 1);
  } else {
    out.ip = text;
  }
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, out.ip.c_str(), &v4) == 1) {
    out.ipv6 = false;
  } else if (::inet_pton(AF_INET6, out.ip.c_str(), &v6) == 1) {
    out.ipv6 = true;
  } else {
    return bad("is not an IP address with an optional port");
  }
  if (!port_text.empty() || (!out.ipv6 && text.find(':') != std::string::npos)) {
    if (port_text.empty() || !std::all_of(port_text.begin(), port_text.end(), ::isdigit) || port_text.size() > 5) {
      return bad("has a bad port");
    }
    const int port = std::stoi(port_text);
    if (port < 1 || port > 65535) return bad("has a port outside 1..65535");
    out.port = port;
  }
  return out;
}

kube::Result<NodeBirdConfig> build_node_bird_config(const NodeInputs& in) {
  const CalicoNode* self = nullptr;
  for (const auto& n : in.nodes) {
    if (n.name == in.node_name) self = &n;
  }
  if (self == nullptr) return kube::make_error(kube::ErrorKind::NotFound, "Node " + in.node_name + " not found");
  if (self->ipv4.empty()) {
    return kube::make_error(kube::ErrorKind::Invalid,
                            "Node " + in.node_name + ": no IPv4 BGP address (annotation " + kIPv4AddressAnnotation +
                                " or an InternalIP)");
  }
  auto calico_nodes = Selector::parse(in.calico_node_selector);
  if (!calico_nodes.ok()) {
    return kube::make_error(kube::ErrorKind::Invalid, "calico-node selector: " + calico_nodes.error().message);
  }
  const Settings s = global_settings(in.configurations);
  NodeBirdConfig out;
  out.node_name = self->name;
  out.router_id = self->ipv4;
  out.as_number = self->as_number.value_or(s.global_as);
  out.listen_port = listen_port_of(in.configurations, s, self->name);
  if (s.bind_mode == "NodeIP") out.listen_address = self->ipv4;
  if (ipv4_cidr(self->pod_cidr)) {
    out.pod_cidr = self->pod_cidr;
  } else if (!self->pod_cidr.empty()) {
    out.skipped.push_back("Node " + self->name + ": spec.podCIDR \"" + self->pod_cidr + "\" is not an IPv4 CIDR; nothing announced");
  }
  out.program_kernel = in.program_kernel;
  out.mesh_enabled = s.mesh && self->rr_cluster_id.empty();
  if (out.mesh_enabled) add_mesh(in, *self, s, *calico_nodes, out);
  add_peers(in, *self, out.as_number, out.listen_port, out);
  return out;
}

}  // namespace rr::calico
