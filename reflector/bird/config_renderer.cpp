#include "bird/config_renderer.h"

#include "bird/ip_literal.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

namespace rr::bird {
namespace {

constexpr std::size_t kMaxPlainName = 40;   // keeps every protocol name <= 64


std::string canonical_ip(const std::string& text) { return parse_ip(text).second; }
Family family_of(const std::string& text) { return parse_ip(text).first; }

std::uint32_t fnv1a32(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

// Text safe inside a BIRD string literal or a comment: printable ASCII only,
// no '"' or '\' (BIRD 2.0 strings have no escapes); anything else becomes '?'.
std::string bird_safe_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(c < 0x20 || c > 0x7e || c == '"' || c == '\\' ? '?' : ch);
  }
  return out;
}

bool printable_without_quotes(std::string_view s) { return bird_safe_text(s) == s; }

// The local address of a session with a neighbor of this family, or "".
// The port a session of this role is reached on here.
int local_port_for(const ReflectorConfig& c, PeerRole role) {
  return role == PeerRole::Mesh && c.mesh_port != 0 ? c.mesh_port : c.listen_port;
}

std::string local_address_for(const ReflectorConfig& c, Family f) {
  const Family listen = family_of(c.listen_address);
  if (f == Family::V4) return listen == Family::V4 ? canonical_ip(c.listen_address) : "";
  if (f == Family::V6) {
    if (!c.listen_address_v6.empty()) return canonical_ip(c.listen_address_v6);
    return listen == Family::V6 ? canonical_ip(c.listen_address) : "";
  }
  return "";
}

// Sessions of a family exist when BIRD has a local address of that family and
// reflects that family's routes (each session carries its own family only).
bool family_enabled(const ReflectorConfig& c, Family f) {
  if (local_address_for(c, f).empty()) return false;
  return f == Family::V4 ? c.ipv4 : c.ipv6;
}

std::uint32_t neighbor_as(const ReflectorConfig& c, const Peer& p) {
  return p.role == PeerRole::External && p.as_number != 0 ? p.as_number : c.as_number;
}

kube::Error invalid(std::string message) {
  return kube::make_error(kube::ErrorKind::Invalid, "bird config: " + std::move(message));
}

std::string describe_peer(const Peer& p) {
  return std::string(describe(p.role)) + " \"" + bird_safe_text(p.name) + "\"";
}

bool valid_port(int port) { return port >= 1 && port <= 65535; }

kube::Status validate_timers(const ReflectorConfig& c) {
  const BgpTimers& t = c.timers;
  if (t.hold_seconds < 3 || t.hold_seconds > 65535) {
    return invalid("hold time must be 3..65535 seconds");
  }
  if (t.keepalive_seconds < 1 || t.keepalive_seconds >= t.hold_seconds) {
    return invalid("keepalive time must be at least 1 second and below the hold time");
  }
  if (t.connect_retry_seconds < 1 || t.connect_retry_seconds > 65535) {
    return invalid("connect retry time must be 1..65535 seconds");
  }
  if (t.connect_delay_seconds < 1 || t.connect_delay_seconds > 65535) {
    return invalid("connect delay time must be 1..65535 seconds");
  }
  if (t.error_wait_min_seconds < 1 || t.error_wait_max_seconds < t.error_wait_min_seconds ||
      t.error_wait_max_seconds > 65535) {
    return invalid("error wait time must be 1 <= min <= max <= 65535 seconds");
  }
  if (c.graceful_restart &&
      (c.graceful_restart_seconds < 1 || c.graceful_restart_seconds > 4095)) {
    return invalid("graceful restart time must be 1..4095 seconds");
  }
  return {};
}

kube::Status validate_peer(const ReflectorConfig& c, const Peer& p) {
  const std::string who = describe_peer(p);
  if (p.name.empty()) return invalid(std::string(describe(p.role)) + " with an empty name");
  if (!printable_without_quotes(p.name)) {
    return invalid(who + ": name must be printable ASCII without '\"' or '\\'");
  }
  const Family f = family_of(p.address);
  if (f == Family::None) return invalid(who + ": address \"" + bird_safe_text(p.address) + "\" is not an IP address");
  if (!valid_port(p.port)) return invalid(who + ": port " + std::to_string(p.port) + " is not 1..65535");
  if (!family_enabled(c, f)) {
    return invalid(who + ": no " + (f == Family::V4 ? "IPv4" : "IPv6") +
                   " sessions: the reflector needs a listen address of that family and " +
                   (f == Family::V4 ? "ipv4" : "ipv6") + " enabled");
  }
  if (canonical_ip(p.address) == local_address_for(c, f) && p.port == local_port_for(c, p.role)) {
    return invalid(who + ": address and port are the reflector's own");
  }
  switch (p.role) {
    case PeerRole::Client:
    case PeerRole::Mesh:
      if (p.as_number != 0 && p.as_number != c.as_number) {
        return invalid(who + ": AS " + std::to_string(p.as_number) +
                       " differs from the reflector's AS " + std::to_string(c.as_number) +
                       " (clients and mesh peers are iBGP)");
      }
      break;
    case PeerRole::External:
      if (p.as_number == 0) return invalid(who + ": AS number is required");
      break;
  }
  const bool ibgp = neighbor_as(c, p) == c.as_number;
  if (p.rr_client && (p.role == PeerRole::Client || !ibgp)) {
    return invalid(who + ": only an iBGP external peer or another reflector (a top tier's rack reflector) can be "
                         "marked a route-reflector client");
  }
  if (p.export_prefixes) {
    if (p.role != PeerRole::External || ibgp) return invalid(who + ": export prefixes are for eBGP peers only");
    for (const ExportPrefix& e : *p.export_prefixes) {
      const auto slash = e.cidr.find('/');
      const Family pf = slash == std::string::npos ? Family::None : family_of(e.cidr.substr(0, slash));
      const int max_bits = pf == Family::V4 ? 32 : 128;
      int length = -1;
      if (pf != Family::None && slash + 1 < e.cidr.size() && slash + 4 >= e.cidr.size() &&
          std::all_of(e.cidr.begin() + static_cast<std::ptrdiff_t>(slash) + 1, e.cidr.end(),
                      [](char ch) { return ch >= '0' && ch <= '9'; })) {
        length = std::stoi(e.cidr.substr(slash + 1));
      }
      if (length < 0 || length > max_bits) {
        return invalid(who + ": export prefix \"" + bird_safe_text(e.cidr) + "\" is not an IP prefix");
      }
      if (e.max_length < length || e.max_length > max_bits) {
        return invalid(who + ": export prefix " + e.cidr + " has max length " + std::to_string(e.max_length) +
                       ", not " + std::to_string(length) + ".." + std::to_string(max_bits));
      }
    }
  }
  if (!p.source_address.empty()) {
    const Family sf = family_of(p.source_address);
    if (sf == Family::None) return invalid(who + ": source address is not an IP address");
    if (sf != f) return invalid(who + ": source address family differs from the neighbor's");
  }
  if (p.password) {
    // The message never quotes the password.
    if (p.password->empty() || p.password->size() > kMaxPasswordLength) {
      return invalid(who + ": password must be 1..80 characters");
    }
    if (!printable_without_quotes(*p.password)) {
      return invalid(who + ": password must be printable ASCII without '\"' or '\\'");
    }
  }
  return {};
}

std::vector<const Peer*> sorted_peers(const ReflectorConfig& c) {
  std::vector<const Peer*> peers;
  peers.reserve(c.peers.size());
  for (const Peer& p : c.peers) peers.push_back(&p);
  // A total order over everything rendered, so that even an invalid config
  // with duplicate names renders the same for every permutation.
  auto key = [](const Peer* p) {
    return std::make_tuple(static_cast<int>(p->role), p->name, p->address, p->port,
                           p->as_number, p->source_address, p->multihop, p->password, p->rr_client,
                           p->export_prefixes);
  };
  std::sort(peers.begin(), peers.end(),
            [&](const Peer* a, const Peer* b) { return key(a) < key(b); });
  return peers;
}

void render_channel(std::ostringstream& out, Family f) {
  out << "  " << (f == Family::V4 ? "ipv4" : "ipv6") << " {\n"
      << "    import all;\n"
      << "    export all;\n"
      << "    next hop keep;\n"
      << "  };\n";
}

void render_template(std::ostringstream& out, const ReflectorConfig& c, PeerRole role, Family f) {
  switch (role) {
    case PeerRole::Client:
      out << "# The Calico nodes of this rack: iBGP route-reflector clients.\n";
      break;
    case PeerRole::Mesh:
      out << "# The other reflectors of the fabric: iBGP non-clients. The cluster ID is\n"
          << "# set here too: it is what BIRD prepends when reflecting their routes to\n"
          << "# clients, and what stops a route from looping between this rack's reflectors.\n";
      break;
    case PeerRole::External:
      out << "# Configured external peers: eBGP when their AS differs (each session exports\n"
          << "# the fabric's own routes only: see its filter), else iBGP, route-reflector\n"
          << "# clients unless the peer says otherwise.\n";
      break;
  }
  out << "template bgp " << template_name(role, f == Family::V6) << " {\n"
      << "  local " << local_address_for(c, f) << " port " << local_port_for(c, role) << " as "
      << c.as_number << ";\n"
      << "  strict bind yes;\n"
      << "  hold time " << c.timers.hold_seconds << ";\n"
      << "  keepalive time " << c.timers.keepalive_seconds << ";\n"
      << "  connect retry time " << c.timers.connect_retry_seconds << ";\n"
      << "  connect delay time " << c.timers.connect_delay_seconds << ";\n"
      << "  error wait time " << c.timers.error_wait_min_seconds << ", "
      << c.timers.error_wait_max_seconds << ";\n";
  if (c.graceful_restart) {
    out << "  graceful restart on;\n"
        << "  graceful restart time " << c.graceful_restart_seconds << ";\n";
  } else {
    out << "  graceful restart off;\n";
  }
  if (role == PeerRole::Client) out << "  rr client;\n";
  out << "  rr cluster id " << canonical_ip(c.cluster_id) << ";\n";
  render_channel(out, f);
  out << "}\n\n";
}

// The channel of an eBGP session, on top of its template's: the routes of the
// fabric's AS only (an empty AS_PATH: from clients, directly or through the
// mesh), never one an eBGP peer announced; within the peer's prefixes if it
// lists any (`[]` or none of this family: nothing).
void render_ebgp_export(std::ostringstream& out, const Peer& p, Family f) {
  std::vector<std::string> ranges;
  if (p.export_prefixes) {
    for (const ExportPrefix& e : *p.export_prefixes) {
      const auto slash = e.cidr.find('/');
      if (family_of(e.cidr.substr(0, slash)) != f) continue;
      ranges.push_back(canonical_ip(e.cidr.substr(0, slash)) + e.cidr.substr(slash) + "{" +
                       e.cidr.substr(slash + 1) + "," + std::to_string(e.max_length) + "}");
    }
  }
  out << "  " << (f == Family::V6 ? "ipv6" : "ipv4") << " {\n";
  if (!p.export_prefixes) {
    out << "    # The fabric's own routes, never another eBGP peer's.\n"
        << "    export where bgp_path.len = 0;\n";
  } else if (ranges.empty()) {
    out << "    # exportPrefixes lists no prefix of this family.\n"
        << "    export none;\n";
  } else {
    out << "    # The fabric's own routes, never another eBGP peer's, within exportPrefixes.\n"
        << "    export where bgp_path.len = 0 && net ~ [ ";
    for (size_t i = 0; i < ranges.size(); ++i) out << (i == 0 ? "" : ", ") << ranges[i];
    out << " ];\n";
  }
  out << "  };\n";
}

void render_peer(std::ostringstream& out, const ReflectorConfig& c, const Peer& p) {
  const Family f = family_of(p.address);
  out << "protocol bgp " << protocol_name(p.role, p.name) << " from "
      << template_name(p.role, f == Family::V6) << " {\n"
      << "  description \"" << bird_safe_text(p.name) << "\";\n"
      << "  neighbor " << canonical_ip(p.address) << " port " << p.port << " as "
      << neighbor_as(c, p) << ";\n";
  if (p.role == PeerRole::External) {
    out << (p.multihop ? "  multihop;\n" : "  direct;\n");
  } else if (!p.multihop) {
    out << "  direct;\n";  // iBGP is multihop by default in BIRD
  }
  if (!p.source_address.empty()) out << "  source address " << canonical_ip(p.source_address) << ";\n";
  if (p.password) out << "  password \"" << bird_safe_text(*p.password) << "\";\n";
  if (p.role == PeerRole::Mesh) {
    // A Colocated host's routes carry its address as next hop, which is also
    // the address of the reflector beside it: BIRD refuses to send a route
    // to the neighbor it points at (one error line per route), so skip them.
    out << "  " << (f == Family::V6 ? "ipv6" : "ipv4") << " {\n"
        << "    export where bgp_next_hop != " << canonical_ip(p.address) << ";\n"
        << "  };\n";
  }
  // A client that is a reflector itself: a top-tier reflector's rack reflectors, or an iBGP
  // external peer that said so.
  if ((p.role == PeerRole::External || p.role == PeerRole::Mesh) && p.rr_client) out << "  rr client;\n";
  if (p.role == PeerRole::External && neighbor_as(c, p) != c.as_number) render_ebgp_export(out, p, f);
  out << "}\n\n";
}

}  // namespace

std::string_view protocol_prefix(PeerRole role) {
  switch (role) {
    case PeerRole::Client: return "client_";
    case PeerRole::Mesh: return "mesh_";
    case PeerRole::External: return "ext_";
  }
  return "peer_";
}

std::string_view template_name(PeerRole role, bool ipv6_session) {
  switch (role) {
    case PeerRole::Client: return ipv6_session ? "rr_clients_v6" : "rr_clients";
    case PeerRole::Mesh: return ipv6_session ? "rr_mesh_v6" : "rr_mesh";
    case PeerRole::External: return ipv6_session ? "rr_external_v6" : "rr_external";
  }
  return "rr_peers";
}

std::string protocol_name(PeerRole role, const std::string& peer_name) {
  std::string body;
  bool plain = !peer_name.empty() && peer_name.size() <= kMaxPlainName;
  for (char ch : peer_name) {
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
      body.push_back(ch);
    } else if (ch >= 'A' && ch <= 'Z') {
      body.push_back(static_cast<char>(ch - 'A' + 'a'));
      plain = false;
    } else {
      body.push_back('_');
      plain = false;
    }
  }
  std::string name(protocol_prefix(role));
  if (plain) return name + body;
  if (body.size() > kMaxPlainName) body.resize(kMaxPlainName);
  std::array<char, 9> hash{};
  std::snprintf(hash.data(), hash.size(), "%08x", static_cast<unsigned>(fnv1a32(peer_name)));
  name += body;
  if (!body.empty()) name += '_';
  name += hash.data();
  return name;
}

std::optional<PeerRole> role_of_protocol(std::string_view protocol) {
  for (PeerRole role : {PeerRole::Client, PeerRole::Mesh, PeerRole::External}) {
    const std::string_view prefix = protocol_prefix(role);
    if (protocol.size() > prefix.size() && protocol.substr(0, prefix.size()) == prefix) return role;
  }
  return std::nullopt;
}

kube::Status validate_config(const ReflectorConfig& c) {
  const Family rid = family_of(c.router_id);
  if (rid != Family::V4 || canonical_ip(c.router_id) == "0.0.0.0") {
    return invalid("router id \"" + bird_safe_text(c.router_id) + "\" is not a nonzero IPv4 address");
  }
  if (family_of(c.cluster_id) != Family::V4 || canonical_ip(c.cluster_id) == "0.0.0.0") {
    return invalid("cluster id \"" + bird_safe_text(c.cluster_id) + "\" is not a nonzero IPv4 address");
  }
  if (c.as_number == 0) return invalid("AS number 0 is not valid");
  if (family_of(c.listen_address) == Family::None) {
    return invalid("listen address \"" + bird_safe_text(c.listen_address) + "\" is not an IP address");
  }
  if (!c.listen_address_v6.empty()) {
    if (family_of(c.listen_address_v6) != Family::V6) {
      return invalid("IPv6 listen address \"" + bird_safe_text(c.listen_address_v6) +
                     "\" is not an IPv6 address");
    }
    if (family_of(c.listen_address) != Family::V4) {
      return invalid("an IPv6 listen address is only for a reflector whose listen address is IPv4");
    }
  }
  if (!valid_port(c.listen_port)) {
    return invalid("listen port " + std::to_string(c.listen_port) + " is not 1..65535");
  }
  if (c.mesh_port != 0 && !valid_port(c.mesh_port)) {
    return invalid("mesh port " + std::to_string(c.mesh_port) + " is not 1..65535");
  }
  if (!c.ipv4 && !c.ipv6) return invalid("neither ipv4 nor ipv6 is enabled");
  if (!family_enabled(c, Family::V4) && !family_enabled(c, Family::V6)) {
    return invalid("no address family has both a listen address and its routes enabled");
  }
  if (auto s = validate_timers(c); !s) return s;

  std::map<std::string, const Peer*> by_protocol;
  std::map<std::pair<std::string, int>, const Peer*> by_endpoint;
  for (const Peer& p : c.peers) {
    if (auto s = validate_peer(c, p); !s) return s;
    const auto [it, fresh] = by_protocol.emplace(protocol_name(p.role, p.name), &p);
    if (!fresh) {
      return invalid(describe_peer(p) + " and " + describe_peer(*it->second) +
                     " map to the same BIRD protocol " + it->first);
    }
    const auto [eit, efresh] = by_endpoint.emplace(std::make_pair(canonical_ip(p.address), p.port), &p);
    if (!efresh) {
      return invalid(describe_peer(p) + " and " + describe_peer(*eit->second) +
                     " have the same neighbor " + eit->first.first + " port " +
                     std::to_string(p.port));
    }
  }
  return {};
}

std::string render_bird_config(const ReflectorConfig& c) {
  std::ostringstream out;
  out << "# Generated by rr-agent from this reflector's ReflectorConfig. Do not edit:\n"
      << "# the agent rewrites this file and reconfigures BIRD on every change.\n";
  if (!c.control_socket.empty()) {
    out << "# Control socket: " << bird_safe_text(c.control_socket) << "\n";
  }
  out << "\n"
      << "router id " << canonical_ip(c.router_id) << ";\n"
      << "# The agent supervises BIRD and forwards its stderr.\n"
      << "log stderr all;\n"
      << "# Every protocol state change in that log: the agent reads the sessions it names\n"
      << "# instead of every session on every poll.\n"
      << "debug protocols { states };\n"
      << "# Two-word ISO timestamps (\"2006-01-02 15:04:05\") in the \"Since\" column of\n"
      << "# `show protocols`, which the agent parses.\n"
      << "timeformat protocol iso long;\n"
      << "\n"
      << "# Interface states for BIRD's sockets and direct sessions. There is no\n"
      << "# `protocol kernel`: a reflector forwards no traffic, so it installs no\n"
      << "# routes. Received next hops need not resolve here (such routes show as\n"
      << "# unreachable in this BIRD) and are reflected unchanged: `next hop keep`.\n"
      << "protocol device {\n"
      << "}\n\n";

  for (Family f : {Family::V4, Family::V6}) {
    if (!family_enabled(c, f)) continue;
    for (PeerRole role : {PeerRole::Client, PeerRole::Mesh, PeerRole::External}) {
      render_template(out, c, role, f);
    }
  }
  for (const Peer* p : sorted_peers(c)) {
    // Rendering is total: a peer whose family has no template would make
    // BIRD refuse the file; validate_config reports it instead.
    render_peer(out, c, *p);
  }
  std::string text = out.str();
  // One trailing newline.
  while (text.size() >= 2 && text[text.size() - 1] == '\n' && text[text.size() - 2] == '\n') {
    text.pop_back();
  }
  return text;
}

}  // namespace rr::bird
