#include "confd/bird16_renderer.h"

#include <sstream>

namespace rr::calico {
namespace {

void render_header(const NodeBirdConfig& c, std::ostream& o) {
  o << "# bird.cfg of node " << c.node_name << ", rendered as calico-node's confd does (IPv4)\n";
  o << "router id " << c.router_id << ";\n";
  if (!c.listen_address.empty() || c.listen_port) {
    o << "listen bgp";
    if (!c.listen_address.empty()) o << " address " << c.listen_address;
    if (c.listen_port) o << " port " << *c.listen_port;
    o << ";\n";
  }
  o << "\n";
}

// Calico exports the routes of its IP pools and blocks; this node's block is its pod CIDR.
void render_filters(const NodeBirdConfig& c, std::ostream& o) {
  o << "filter calico_export_to_bgp_peers {\n";
  if (!c.pod_cidr.empty()) o << "  if ( net ~ " << c.pod_cidr << " ) then accept;\n";
  o << "  reject;\n}\n\n";
  o << "filter calico_import_from_bgp_peers {\n";
  if (!c.pod_cidr.empty()) o << "  if ( net ~ " << c.pod_cidr << " ) then reject;\n";
  o << "  accept;\n}\n\n";
  if (c.program_kernel) {
    o << "filter calico_kernel_programming {\n";
    if (!c.pod_cidr.empty()) o << "  if ( net ~ " << c.pod_cidr << " ) then reject;\n";
    o << "  if ( proto ~ \"Mesh_*\" || proto ~ \"Node_*\" || proto ~ \"Global_*\" ) then accept;\n";
    o << "  reject;\n}\n\n";
  }
}

void render_base_protocols(const NodeBirdConfig& c, std::ostream& o) {
  o << "protocol kernel {\n"
       "  learn;\n"
       "  persist;\n"
       "  scan time 2;\n"
       "  import all;\n";
  o << (c.program_kernel ? "  export filter calico_kernel_programming;\n" : "  export none;\n");
  o << "  graceful restart;\n"
       "  merge paths on;\n"
       "}\n\n"
       "protocol device {\n"
       "  debug { states };\n"
       "  scan time 2;\n"
       "}\n\n"
       "protocol direct {\n"
       "  debug { states };\n"
       "  interface -\"cali*\", -\"kube-ipvs*\", \"*\";\n"
       "}\n\n";
  if (!c.pod_cidr.empty()) {
    o << "protocol static {\n  route " << c.pod_cidr << " blackhole;\n}\n\n";
  }
}

void render_template(const NodeBirdConfig& c, std::ostream& o) {
  o << "template bgp bgp_template {\n"
       "  debug { states };\n"
       "  description \"Connection to BGP peer\";\n"
    << "  local as " << c.as_number << ";\n"
    << "  multihop;\n"
       "  gateway recursive;\n"
       "  import filter calico_import_from_bgp_peers;\n"
       "  export filter calico_export_to_bgp_peers;\n"
       "  add paths on;\n"
       "  graceful restart;\n"
       "  connect delay time 1;\n"
       "  connect retry time 3;\n"
       "  error wait time 5,60;\n"
       "}\n\n";
}

void render_session(const BgpSession& s, std::ostream& o) {
  o << "# For " << s.origin << "\n";
  o << "protocol bgp " << s.protocol << " from bgp_template {\n";
  o << "  neighbor " << s.neighbor;
  if (s.port) o << " port " << *s.port;
  o << " as " << s.as_number << ";\n";
  if (!s.source_address.empty()) o << "  source address " << s.source_address << ";\n";
  if (s.graceful_restart_seconds) o << "  graceful restart time " << *s.graceful_restart_seconds << ";\n";
  if (s.password) o << "  password \"" << *s.password << "\";\n";
  if (!s.rr_cluster_id.empty()) o << "  rr client;\n  rr cluster id " << s.rr_cluster_id << ";\n";
  if (s.passive) o << "  passive on;\n";
  o << "}\n\n";
}

void render_sessions(const NodeBirdConfig& c, std::ostream& o) {
  o << "# ------------- Node-to-node mesh -------------\n";
  if (!c.mesh_enabled) o << "# Node-to-node mesh disabled\n\n";
  for (const auto& s : c.mesh) render_session(s, o);
  o << "# ------------- Global peers -------------\n";
  if (c.global_peers.empty()) o << "# No global peers configured.\n\n";
  for (const auto& s : c.global_peers) render_session(s, o);
  o << "# ------------- Node-specific peers -------------\n";
  if (c.node_peers.empty()) o << "# No node-specific peers configured.\n";
  for (const auto& s : c.node_peers) render_session(s, o);
}

}  // namespace

std::string render_bird16(const NodeBirdConfig& config) {
  std::ostringstream o;
  render_header(config, o);
  render_filters(config, o);
  render_base_protocols(config, o);
  render_template(config, o);
  render_sessions(config, o);
  return o.str();
}

}  // namespace rr::calico
