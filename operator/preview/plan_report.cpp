#include "preview/plan_report.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "api/render.h"
#include "contract/fabric_spec.h"

namespace rr::preview {
namespace {

using kube::Json;

enum class Mark { Kept, Created, Deleted };

char symbol(const std::string& verb) {
  if (verb == "create") return '+';
  if (verb == "delete") return '-';
  return '~';
}

// Reflector Pods by name: what the plan keeps, what it creates, what it deletes.
std::map<std::string, Mark> pod_marks(const Preview& p) {
  std::map<std::string, Mark> out;
  for (const auto& pod : p.plan.pods) out[pod.name] = Mark::Kept;
  for (const auto& c : p.changes) {
    if (c.kind != "Pod") continue;
    if (c.verb == "create") out[c.name] = Mark::Created;
    if (c.verb == "delete") out[c.name] = Mark::Deleted;
  }
  return out;
}

struct RackView {
  std::string name;
  std::string cluster_id;
  int nodes = 0;
  int wanted = 0;
  struct Reflector {
    std::string pod;
    std::string node;
    std::string state;  // as the status says, or "new" / "deleted"
    Mark mark = Mark::Kept;
  };
  std::vector<Reflector> reflectors;
};

std::vector<RackView> racks(const Preview& p) {
  const auto marks = pod_marks(p);
  std::map<std::string, RackView> by_name;
  auto add_group = [&](const std::string& name, const planner::RackStatus& r) {
    auto& v = by_name[name];
    v.name = name;
    v.cluster_id = r.cluster_id;
    v.nodes = r.nodes;
    v.wanted = r.reflectors_wanted;
    for (const auto& s : r.reflectors) {
      auto m = marks.find(s.pod);
      v.reflectors.push_back({s.pod, s.node, std::string(api::to_string(s.state)),
                              m == marks.end() ? Mark::Kept : m->second});
    }
  };
  for (const auto& r : p.plan.racks) add_group(r.name, r);
  // A zone's top tier reads as one more "rack", "top:<zone>" ("top" for the fabric's one).
  auto top_name = [](const std::string& zone) { return zone.empty() ? std::string("top") : "top:" + zone; };
  for (const auto& t : p.plan.top_tier) add_group(top_name(t.name), t);
  for (const auto& pod : p.plan.pods) {
    const std::string group = pod.tier == planner::Tier::Top ? top_name(pod.zone) : pod.rack;
    auto& v = by_name[group];
    v.name = group;
    if (v.cluster_id.empty()) v.cluster_id = pod.cluster_id;
    const bool listed = std::any_of(v.reflectors.begin(), v.reflectors.end(),
                                    [&](const RackView::Reflector& r) { return r.pod == pod.name; });
    if (!listed) {
      auto m = marks.find(pod.name);
      const Mark mark = m == marks.end() ? Mark::Kept : m->second;
      v.reflectors.push_back({pod.name, pod.node, mark == Mark::Created ? "new" : "Pending", mark});
    }
  }
  for (auto& [name, v] : by_name) {
    for (auto& r : v.reflectors) {
      auto m = marks.find(r.pod);
      if (m == marks.end()) continue;
      if (m->second == Mark::Deleted) {
        r.mark = Mark::Deleted;
        r.state = "deleted";
      } else if (m->second == Mark::Created) {
        r.mark = Mark::Created;
        r.state = "new";
      }
    }
  }
  std::vector<RackView> out;
  for (auto& [name, v] : by_name) out.push_back(std::move(v));
  return out;
}

// What happens to the mesh: "stays on", "stays off", "turned ON" or "turned OFF".
std::string mesh_action(const std::optional<bool>& set, const planner::MeshDecision& m) {
  if (!set) return m.disabled ? "stays off" : "stays on";
  return *set ? "turned ON" : "turned OFF";
}

std::string mesh_line(const std::optional<bool>& set, const planner::MeshDecision& m) {
  if (m.reason.name().empty()) return "unchanged (the fabric is held)";
  return mesh_action(set, m) + " (" + std::string(m.reason.name()) + ": " + m.message + ")";
}

std::string peer_detail(const Json& object) {
  if (!object.is_object() || !object.contains("spec")) return "";
  const Json& s = object["spec"];
  std::string out;
  if (s.contains("peerIP")) out += " peerIP " + s.value("peerIP", "");
  if (s.contains("nodeSelector")) out += ", nodes " + s.value("nodeSelector", "");
  return out;
}

std::string dot_id(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '\\';  // labels keep their \n line breaks
    out += c;
  }
  return out + "\"";
}

// `plan`: where the reflector Pods it creates go.
void write_changes(std::ostream& out, const std::vector<Change>& changes, const planner::Plan& plan) {
  for (const auto& c : changes) {
    out << "  " << symbol(c.verb) << " " << c.kind << " " << (c.ns.empty() ? "" : c.ns + "/") << c.name;
    if (c.kind == "Pod" && c.verb == "create") {
      for (const auto& pod : plan.pods) {
        if (pod.name == c.name) out << " on " << pod.node;
      }
    }
    if (c.kind == "BGPPeer" && c.verb != "delete") out << peer_detail(c.object);
    if (c.kind == "BGPConfiguration" && c.object.is_object() && c.object.contains("spec")) {
      out << " nodeToNodeMeshEnabled=" << c.object["spec"].value("nodeToNodeMeshEnabled", Json()).dump();
    }
    out << "\n";
  }
}

Json changes_json(const std::vector<Change>& changes) {
  Json out = Json::array();
  for (const auto& c : changes) {
    out.push_back({{"verb", c.verb}, {"kind", c.kind}, {"namespace", c.ns}, {"name", c.name}, {"object", c.object}});
  }
  return out;
}

}  // namespace

std::string render_table(const Preview& p) {
  std::ostringstream out;
  out << "RouteReflectorCluster " << p.fabric << ": " << (p.exists ? "a change to the fabric on the cluster" : "a new fabric")
      << "\n";
  if (p.result != "success") {
    std::string reason = p.plan.conditions.empty() ? p.result : std::string(p.plan.conditions.front().reason.name());
    out << "Would be HELD (" << reason << "): the running topology stays as it is.\n";
  } else {
    for (const auto& c : p.plan.conditions) {
      if (c.type == "Ready") out << "Ready: " << (c.status ? "True" : "False") << " (" << c.reason.name() << ")\n";
    }
  }
  out << "\n";
  auto views = racks(p);
  if (!views.empty()) {
    std::size_t w_rack = 4, w_id = 10;
    for (const auto& v : views) {
      w_rack = std::max(w_rack, v.name.size());
      w_id = std::max(w_id, v.cluster_id.size());
    }
    auto pad = [](const std::string& s, std::size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); };
    out << pad("RACK", w_rack) << "  " << pad("CLUSTER ID", w_id) << "  NODES  REFLECTORS\n";
    for (const auto& v : views) {
      std::string refl;
      for (const auto& r : v.reflectors) {
        const char* sign = r.mark == Mark::Created ? "+" : r.mark == Mark::Deleted ? "-" : "";
        refl += (refl.empty() ? "" : ", ") + std::string(sign) + r.node + " (" + r.state + ")";
      }
      if (v.reflectors.empty()) refl = "none";
      if (v.wanted > 0 && static_cast<int>(v.reflectors.size()) < v.wanted) {
        refl += " [" + std::to_string(v.wanted) + " wanted]";
      }
      std::string nodes = std::to_string(v.nodes);
      out << pad(v.name, w_rack) << "  " << pad(v.cluster_id.empty() ? "-" : v.cluster_id, w_id) << "  "
          << pad(nodes, 5) << "  " << refl << "\n";
    }
    out << "\n";
  }
  out << "Calico node-to-node mesh: " << mesh_line(p.plan.node_to_node_mesh, p.plan.mesh) << "\n";
  if (p.plan.mesh.uncovered > 0) {
    out << "  " << p.plan.mesh.uncovered << " node(s) no fabric covers";
    std::string ex;
    for (const auto& e : p.plan.mesh.examples) ex += (ex.empty() ? "" : ", ") + e;
    if (!ex.empty()) out << ", e.g. " << ex;
    out << "\n";
  }
  if (!p.plan.problems.empty()) {
    out << "\nProblems (" << p.plan.problems.size() << "):\n";
    for (const auto& pr : p.plan.problems) out << "  " << pr.field << ": " << pr.message << "\n";
  } else if (p.result != "success") {
    for (const auto& c : p.plan.conditions) {
      if (c.type == "Ready") out << "\nProblem: " << c.message << "\n";
    }
  }
  out << "\nChanges (" << p.changes.size() << "):\n";
  if (p.changes.empty()) out << "  none\n";
  write_changes(out, p.changes, p.plan);
  if (!p.once_running.empty() || p.mesh_set_once_running) {
    out << "\nThen, once the new reflectors run and renew their Leases (" << p.once_running.size() << "):\n";
    write_changes(out, p.once_running, p.plan);
    if (!p.mesh_once_running.reason.name().empty()) {
      out << "  Calico node-to-node mesh: " << mesh_line(p.mesh_set_once_running, p.mesh_once_running) << "\n";
    }
  }
  if (!p.events.empty()) {
    out << "\nEvents it would record:\n";
    for (const auto& e : p.events) out << "  " << e << "\n";
  }
  if (!p.assumptions.empty()) {
    out << "\nAssumed:\n";
    for (const auto& a : p.assumptions) out << "  " << a << "\n";
  }
  return out.str();
}

Json render_json(const Preview& p) {
  Json out = {{"fabric", p.fabric}, {"exists", p.exists}, {"result", p.result}, {"exitCode", exit_code(p)}};
  Json rs = Json::array();
  for (const auto& v : racks(p)) {
    Json refl = Json::array();
    for (const auto& r : v.reflectors) {
      refl.push_back({{"pod", r.pod},
                      {"node", r.node},
                      {"state", r.state},
                      {"change", r.mark == Mark::Created ? "create" : r.mark == Mark::Deleted ? "delete" : ""}});
    }
    rs.push_back({{"name", v.name},
                  {"clusterID", v.cluster_id},
                  {"nodes", v.nodes},
                  {"reflectorsWanted", v.wanted},
                  {"reflectors", refl}});
  }
  out["racks"] = rs;
  const auto& m = p.plan.mesh;
  out["mesh"] = {{"set", p.plan.node_to_node_mesh ? Json(*p.plan.node_to_node_mesh) : Json(nullptr)},
                 {"disabled", m.disabled},
                 {"reason", std::string(m.reason.name())},
                 {"message", m.message},
                 {"uncoveredNodes", m.uncovered},
                 {"examples", m.examples}};
  Json conds = Json::array();
  for (const auto& c : p.plan.conditions) {
    conds.push_back({{"type", c.type},
                     {"status", c.status ? "True" : "False"},
                     {"reason", std::string(c.reason.name())},
                     {"message", c.message}});
  }
  out["conditions"] = conds;
  Json problems = Json::array();
  for (const auto& pr : p.plan.problems) problems.push_back({{"field", pr.field}, {"message", pr.message}});
  out["problems"] = problems;
  out["changes"] = changes_json(p.changes);
  out["onceRunning"] = {
      {"changes", changes_json(p.once_running)},
      {"mesh",
       {{"set", p.mesh_set_once_running ? Json(*p.mesh_set_once_running) : Json(nullptr)},
        {"disabled", p.mesh_once_running.disabled},
        {"reason", std::string(p.mesh_once_running.reason.name())},
        {"message", p.mesh_once_running.message}}}};
  out["events"] = p.events;
  out["assumptions"] = p.assumptions;
  out["status"] = p.status;
  return out;
}

std::string render_dot(const Preview& p) {
  std::ostringstream out;
  out << "digraph " << dot_id("rr-" + p.fabric) << " {\n"
      << "  graph [rankdir=TB, fontname=\"Helvetica\", label=" << dot_id("RouteReflectorCluster " + p.fabric) +
             ", labelloc=t];\n"
      << "  node [fontname=\"Helvetica\", shape=box, style=\"rounded,filled\", fillcolor=white];\n"
      << "  edge [dir=none, fontname=\"Helvetica\"];\n";
  out << "  mesh [shape=ellipse, label=\"reflector mesh\\n(iBGP, non-client)\", fillcolor=\"#eeeeee\"];\n";
  std::set<std::string> peers_later;  // BGPPeers (named as their reflector Pod) the reconcile after creates
  for (const auto& c : p.once_running) {
    if (c.kind == "BGPPeer" && c.verb == "create") peers_later.insert(c.name);
  }
  int i = 0;
  const auto views = racks(p);
  for (const auto& v : views) {
    const std::string cluster = "cluster_" + std::to_string(i);
    const std::string clients = "clients_" + std::to_string(i++);
    out << "  subgraph " << cluster << " {\n"
        << "    label=" << dot_id("rack " + v.name + "\\ncluster ID " + (v.cluster_id.empty() ? "-" : v.cluster_id))
        << "; style=rounded; color=\"#666666\";\n"
        << "    " << clients << " [shape=folder, label=" << dot_id(std::to_string(v.nodes) + " nodes")
        << ", fillcolor=\"#f5f5f5\"];\n";
    for (const auto& r : v.reflectors) {
      std::string attrs;
      if (r.mark == Mark::Created) attrs = ", fillcolor=\"#c8f0c8\", penwidth=2";
      if (r.mark == Mark::Deleted) attrs = ", fillcolor=\"#f4c7c7\", style=\"rounded,filled,dashed\"";
      out << "    " << dot_id(r.pod) << " [label=" << dot_id(r.node + "\\n" + r.state) << attrs << "];\n";
    }
    out << "  }\n";
    for (const auto& r : v.reflectors) {
      const char* style = r.mark == Mark::Created ? " [color=\"#2e8b2e\"]"
                          : r.mark == Mark::Deleted ? " [style=dashed, color=\"#b22222\"]"
                                                    : "";
      const char* peer = peers_later.count(r.pod) ? " [color=\"#2e8b2e\", label=\"BGPPeer\\nonce up\", fontsize=9]" : style;
      out << "  " << dot_id(r.pod) << " -> " << clients << peer << ";\n";
      out << "  mesh -> " << dot_id(r.pod) << style << ";\n";
    }
  }
  // External peers: meshed with every reflector of their racks (all racks when none named).
  if (p.spec) {
    int e = 0;
    for (const auto& peer : p.spec->external_peers) {
      const std::string id = "external_" + std::to_string(e++);
      out << "  " << id << " [shape=component, label="
          << dot_id(peer.name + "\\n" + peer.address + " AS" + std::to_string(peer.as_number))
          << ", fillcolor=\"#e6f0ff\"];\n";
      if (peer.racks.empty()) {
        out << "  " << id << " -> mesh [style=dotted, label=\"every reflector\"];\n";
        continue;
      }
      for (const auto& v : views) {
        if (std::find(peer.racks.begin(), peer.racks.end(), v.name) == peer.racks.end()) continue;
        for (const auto& r : v.reflectors) out << "  " << id << " -> " << dot_id(r.pod) << " [style=dotted];\n";
      }
    }
  }
  auto mesh_words = [](const std::optional<bool>& set, const planner::MeshDecision& m) {
    if (m.reason.name().empty()) return std::string("unchanged (held)");
    return mesh_action(set, m) + " (" + std::string(m.reason.name()) + ")";
  };
  std::string mesh_label = "Calico node-to-node mesh\\nnow: " + mesh_words(p.plan.node_to_node_mesh, p.plan.mesh);
  if (p.plan.mesh.uncovered > 0) mesh_label += "\\n" + std::to_string(p.plan.mesh.uncovered) + " nodes uncovered";
  if (!p.mesh_once_running.reason.name().empty()) {
    mesh_label += "\\nonce the new reflectors run: " + mesh_words(p.mesh_set_once_running, p.mesh_once_running);
  }
  out << "  calico_mesh [shape=note, label=" << dot_id(mesh_label) << ", fillcolor=\"#fff8dc\"];\n";
  out << "}\n";
  return out.str();
}

}  // namespace rr::preview
