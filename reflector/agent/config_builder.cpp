#include "agent/config_builder.h"

#include "bird/ip_literal.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <utility>

#include "bird/config_renderer.h"
#include "contract/types.h"

namespace rr::agent {
namespace {


using bird::Family;
using bird::kMaxPasswordLength;
using bird::parse_ip;

Family family_of(const std::string& text) { return parse_ip(text).first; }

bool usable_password(const std::string& p) {
  if (p.empty() || p.size() > kMaxPasswordLength) return false;
  return std::all_of(p.begin(), p.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
  });
}

// The password a reference names; nullopt when there is no reference. The
// messages name the Secret and key, never the value.
kube::Result<std::optional<std::string>> resolve_password(const AgentInputs& in,
                                                          const std::optional<contract::SecretKeyRef>& ref,
                                                          const std::string& field) {
  if (!ref) return std::optional<std::string>();
  auto it = in.secrets.find(secret_map_key(*ref));
  const std::string secret = in.spec.ns + "/" + ref->name;
  if (it == in.secrets.end()) {
    return kube::make_error(kube::ErrorKind::BadConfig,
                            field + ": Secret " + secret + " has no key \"" + ref->key +
                                "\"; refusing to run its sessions without their password");
  }
  if (!usable_password(it->second)) {
    return kube::make_error(kube::ErrorKind::BadConfig,
                            field + ": Secret " + secret + " key \"" + ref->key +
                                "\" is not a usable BGP password (1..80 printable ASCII characters without '\"' or "
                                "'\\'; a trailing newline?)");
  }
  return std::optional<std::string>(it->second);
}

class PeerSet {
 public:
  PeerSet(const bird::ReflectorConfig& config, std::vector<std::string>& warnings) : warnings_(warnings) {
    for (const std::string* own : {&config.listen_address, &config.listen_address_v6}) {
      if (own->empty()) continue;
      own_.insert({parse_ip(*own).second, config.listen_port});
      if (config.mesh_port != 0) own_.insert({parse_ip(*own).second, config.mesh_port});
    }
    v4_ = family_of(config.listen_address) == Family::V4 && config.ipv4;
    v6_ = config.ipv6 && (family_of(config.listen_address_v6) == Family::V6 ||
                          family_of(config.listen_address) == Family::V6);
  }

  bool v6_sessions() const { return v6_; }

  // Adds the peer unless its endpoint is taken or unusable (with a warning).
  void add(bird::Peer peer) {
    const std::string who = std::string(bird::describe(peer.role)) + " \"" + peer.name + "\"";
    const auto [family, canonical] = parse_ip(peer.address);
    if (family == Family::None) {
      warnings_.push_back(who + " skipped: address \"" + peer.address + "\" is not an IP address");
      return;
    }
    if ((family == Family::V4 && !v4_) || (family == Family::V6 && !v6_)) {
      warnings_.push_back(who + " skipped: this reflector has no " + (family == Family::V4 ? "IPv4" : "IPv6") +
                          " sessions");
      return;
    }
    const std::pair<std::string, int> endpoint{canonical, peer.port};
    if (own_.count(endpoint) > 0) {
      warnings_.push_back(who + " skipped: " + canonical + " port " + std::to_string(peer.port) +
                          " is this reflector's own address");
      return;
    }
    auto [it, fresh] = taken_.emplace(endpoint, who);
    if (!fresh) {
      warnings_.push_back(who + " skipped: " + canonical + " port " + std::to_string(peer.port) +
                          " is already " + it->second);
      return;
    }
    peers_.push_back(std::move(peer));
  }

  std::vector<bird::Peer> take() && {
    std::sort(peers_.begin(), peers_.end(), [](const bird::Peer& a, const bird::Peer& b) {
      return std::make_pair(static_cast<int>(a.role), a.name) < std::make_pair(static_cast<int>(b.role), b.name);
    });
    return std::move(peers_);
  }

 private:
  std::vector<std::string>& warnings_;
  std::set<std::pair<std::string, int>> own_;
  std::map<std::pair<std::string, int>, std::string> taken_;
  std::vector<bird::Peer> peers_;
  bool v4_ = false;
  bool v6_ = false;
};

template <class T>
std::vector<const T*> sorted_by_name(const std::vector<T>& items) {
  std::vector<const T*> out;
  out.reserve(items.size());
  for (const T& item : items) out.push_back(&item);
  std::sort(out.begin(), out.end(), [](const T* a, const T* b) { return a->name < b->name; });
  return out;
}

template <typename T>
std::vector<const T*> sorted_by_name(const std::vector<std::shared_ptr<const T>>& items) {
  std::vector<const T*> out;
  out.reserve(items.size());
  for (const auto& item : items) out.push_back(item.get());
  std::sort(out.begin(), out.end(), [](const T* a, const T* b) { return a->name < b->name; });
  return out;
}

bool is_client_node(const AgentInputs& in, const contract::NodeInfo& node) {
  // A Dedicated host runs no calico-node BGP; a Colocated host's calico-node
  // (client_port) is a client of the reflector beside it (listen port).
  if (node.name == in.self.node && in.spec.placement != contract::Placement::Colocated) return false;
  if (!node.ready) return false;
  auto rack = node.labels.find(in.spec.rack_label);
  if (rack == node.labels.end() || rack->second != in.self.rack) return false;
  return contract::labels_match(in.spec.node_selector, node.labels);
}

// The first candidate of the family, with a warning for a malformed Calico
// annotation that had to be passed over.
std::string pick_address(const std::string& annotation, const std::string& internal_ip, Family family,
                         const std::string& node, std::vector<std::string>& warnings) {
  if (!annotation.empty()) {
    if (family_of(annotation) == family) return annotation;
    warnings.push_back("node \"" + node + "\": Calico " + (family == Family::V4 ? "IPv4" : "IPv6") +
                       " address \"" + annotation + "\" is not an " + (family == Family::V4 ? "IPv4" : "IPv6") +
                       " address; using its InternalIP");
  }
  if (family_of(internal_ip) == family) return internal_ip;
  return {};
}

}  // namespace

std::string ipv6_session_name(std::string_view node) { return std::string(node) + "/v6"; }

std::string reflector_router_id(const std::string& host_ipv4) {
  in_addr a{};
  if (inet_pton(AF_INET, host_ipv4.c_str(), &a) != 1) return host_ipv4;  // validate_config names it
  const std::uint32_t id = 0xf0000000u | (ntohl(a.s_addr) & 0x0fffffffu);
  in_addr out{};
  out.s_addr = htonl(id);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &out, text, sizeof text);
  return text;
}

std::string secret_map_key(const contract::SecretKeyRef& ref) { return ref.name + "/" + ref.key; }

std::string zone_of_rack_nodes(const AgentInputs& in) {
  const contract::FabricSpec& spec = in.spec;
  if (!spec.top_tier || spec.top_tier->zone_label.empty() || in.self.tier == contract::Tier::Top) return in.self.zone;
  std::vector<const contract::NodeInfo*> rack_nodes;  // the operator's rack: its selected nodes
  for (const auto& node : in.nodes) {
    auto rack = node->labels.find(spec.rack_label);
    if (rack == node->labels.end() || rack->second != in.self.rack) continue;
    if (contract::labels_match(spec.node_selector, node->labels)) rack_nodes.push_back(node.get());
  }
  return contract::zone_of(rack_nodes, spec.top_tier->zone_label);
}

namespace {

bool listed(const std::vector<std::string>& sorted, const std::string& name) {
  return std::binary_search(sorted.begin(), sorted.end(), name);
}

}  // namespace

bool routes_cross_top_tier(const contract::ReflectorLease& a, const contract::ReflectorLease& b,
                           const std::map<std::string, const contract::ReflectorLease*>& tops) {
  for (const std::string& ta : a.upstream) {
    auto top_a = tops.find(ta);
    if (top_a == tops.end()) continue;  // not a live top-tier reflector
    if (listed(b.upstream, ta)) return true;  // both are its clients
    for (const std::string& tb : b.upstream) {
      auto top_b = tops.find(tb);
      if (top_b == tops.end()) continue;
      // ta reflects a's routes to tb, which reflects them to b; a top tier of the same cluster ID
      // would drop them (its ID is already in the CLUSTER_LIST).
      if (top_a->second->cluster_id != top_b->second->cluster_id && listed(top_a->second->upstream, tb)) return true;
    }
  }
  return false;
}

ReflectorNeighbors reflector_neighbors(const AgentInputs& in) {
  const AgentIdentity& self = in.self;
  const contract::FabricSpec& spec = in.spec;
  ReflectorNeighbors out;
  out.zone = zone_of_rack_nodes(in);
  const bool zoned = spec.top_tier && !spec.top_tier->zone_label.empty();
  std::map<std::string, const contract::ReflectorLease*> tops;
  const contract::ReflectorLease* own = nullptr;
  for (const contract::ReflectorLease* lease : sorted_by_name(in.mesh)) {
    if (lease->name == self.pod) own = lease;
    if (lease->tier == contract::Tier::Top) tops.emplace(lease->name, lease);
  }
  for (const contract::ReflectorLease* lease : sorted_by_name(in.mesh)) {
    if (lease->name == self.pod) continue;
    const bool other_top = lease->tier == contract::Tier::Top;
    if (self.tier == contract::Tier::Top) {
      // The top tier meshes; its clients are the racks of its zone (all racks without zones, and
      // every rack while a dropped top tier waits to go, so the racks never lose a session).
      if (other_top) {
        out.mesh.push_back(lease);
      } else if (!zoned || lease->zone == self.zone) {
        out.clients.push_back(lease);
      }
    } else if (other_top) {
      if (!zoned || lease->zone == out.zone) out.mesh.push_back(lease);  // upstream: a non-client session
    } else if (!spec.top_tier || lease->rack == self.rack || own == nullptr ||
               !routes_cross_top_tier(*own, *lease, tops)) {
      // The flat mesh: always without a top tier, and with one until routes between the two racks
      // cross the top tier (new sessions up before old ones go; back if the top tier breaks). A
      // reflector of the same rack stays: its host is a node of the rack, and a Dedicated one
      // runs no calico-node, so without this session it would be taken for a client.
      out.mesh.push_back(lease);
    }
  }
  return out;
}

kube::Result<BuildResult> build_reflector_config(const AgentInputs& in) {
  const AgentIdentity& self = in.self;
  const contract::FabricSpec& spec = in.spec;
  BuildResult out;
  bird::ReflectorConfig& c = out.config;
  c.router_id = reflector_router_id(self.address);
  c.cluster_id = self.cluster_id;
  c.as_number = spec.as_number;
  c.listen_address = self.address;
  c.listen_port = self.port;
  // Colocated: reflectors reach each other one port up (contract::mesh_port), so a reflector
  // tells another host's reflector from that host's calico-node, which shares its address.
  const int mesh_offset = contract::mesh_port(spec, self.port) - self.port;
  if (mesh_offset != 0) c.mesh_port = self.port + mesh_offset;
  c.ipv4 = true;
  c.ipv6 = spec.bgp.ipv6;
  if (spec.bgp.ipv6) c.listen_address_v6 = self.address_v6;
  c.graceful_restart = spec.bgp.graceful_restart;
  c.timers.hold_seconds = spec.bgp.hold_time_seconds;
  c.timers.keepalive_seconds = spec.bgp.keepalive_seconds;

  auto fabric_password = resolve_password(in, spec.bgp.password, "spec.bgp.passwordSecretRef");
  if (!fabric_password) return fabric_password.error();

  PeerSet peers(c, out.warnings);

  // Reflectors first: another reflector's endpoint is that reflector, even when its host is
  // also a node of the rack.
  const ReflectorNeighbors neighbors = reflector_neighbors(in);
  out.zone = neighbors.zone;
  auto reflector_peer = [&](const contract::ReflectorLease& lease, bool rr_client) {
    if (lease.address.empty()) {
      out.warnings.push_back("mesh peer \"" + lease.name + "\" skipped: its Lease has no address");
      return;
    }
    auto add = [&](std::string name, const std::string& address) {
      bird::Peer p;
      p.role = bird::PeerRole::Mesh;
      p.name = std::move(name);
      p.address = address;
      p.port = lease.port + mesh_offset;
      p.as_number = spec.as_number;
      p.password = *fabric_password;
      p.rr_client = rr_client;
      peers.add(std::move(p));
    };
    add(lease.name, lease.address);
    // Dual stack: IPv6 routes cross racks on an IPv6 session of their own, as calico-node's.
    if (spec.bgp.ipv6 && !lease.address_v6.empty() && peers.v6_sessions()) {
      add(ipv6_session_name(lease.name), lease.address_v6);
    }
  };
  for (const contract::ReflectorLease* lease : neighbors.mesh) reflector_peer(*lease, false);
  for (const contract::ReflectorLease* lease : neighbors.clients) reflector_peer(*lease, true);

  // A top-tier reflector serves reflectors only: no nodes, no external peers.
  const bool top = self.tier == contract::Tier::Top;
  for (size_t i = 0; i < spec.external_peers.size() && !top; ++i) {
    const contract::ExternalPeer& ext = spec.external_peers[i];
    if (!ext.racks.empty() && std::find(ext.racks.begin(), ext.racks.end(), self.rack) == ext.racks.end()) continue;
    auto password =
        resolve_password(in, ext.password, "spec.externalPeers[" + std::to_string(i) + "].passwordSecretRef");
    if (!password) return password.error();
    bird::Peer p;
    p.role = bird::PeerRole::External;
    p.name = ext.name;
    p.address = ext.address;
    p.port = ext.port;
    p.as_number = ext.as_number;  // eBGP when it differs from the fabric's AS
    p.multihop = ext.multihop;
    p.password = std::move(*password);
    const bool ibgp = ext.as_number == spec.as_number;
    p.rr_client = ibgp && ext.reflector_client;
    if (!ibgp && ext.export_prefixes) {
      std::vector<bird::ExportPrefix> prefixes;
      for (const contract::ExportPrefix& e : *ext.export_prefixes) {
        prefixes.push_back(bird::ExportPrefix{e.cidr, e.max_length});
      }
      p.export_prefixes = std::move(prefixes);
    }
    peers.add(std::move(p));
  }

  int v6_without_address = 0;
  for (const contract::NodeInfo* node : sorted_by_name(in.nodes)) {
    if (top || !is_client_node(in, *node)) continue;
    const std::string v4 = pick_address(node->bgp_ipv4, node->internal_ip, Family::V4, node->name, out.warnings);
    const std::string v6 =
        spec.bgp.ipv6 ? pick_address(node->bgp_ipv6, node->internal_ipv6, Family::V6, node->name, out.warnings) : "";
    if (v4.empty() && v6.empty()) {
      out.warnings.push_back("client \"" + node->name + "\" skipped: no BGP address (Calico annotation or InternalIP)");
      continue;
    }
    auto client = [&](std::string name, const std::string& address) {
      bird::Peer p;
      p.role = bird::PeerRole::Client;
      p.name = std::move(name);
      p.address = address;
      p.port = in.client_port;
      p.as_number = spec.as_number;
      p.password = *fabric_password;
      peers.add(std::move(p));
    };
    if (!v4.empty()) client(node->name, v4);
    if (!v6.empty()) {
      if (peers.v6_sessions()) {
        client(ipv6_session_name(node->name), v6);
      } else {
        ++v6_without_address;
      }
    }
  }
  if (v6_without_address > 0) {
    out.warnings.push_back("IPv6 is on but this reflector has no IPv6 host address: " +
                           std::to_string(v6_without_address) + " IPv6 client session(s) skipped");
  }

  c.peers = std::move(peers).take();
  if (auto valid = bird::validate_config(c); !valid) return valid.error();
  return out;
}

}  // namespace rr::agent
