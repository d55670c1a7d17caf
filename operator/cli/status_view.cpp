#include "cli/status_view.h"

#include <algorithm>

namespace rr::cli {
namespace {

using kube::Json;

// Reads that never throw: the status is the operator's, but a reader must survive any object.
const Json& field(const Json& obj, const char* key) {
  static const Json null;
  if (!obj.is_object()) return null;
  auto it = obj.find(key);
  return it == obj.end() ? null : *it;
}
std::string text(const Json& obj, const char* key) {
  const Json& v = field(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}
long number(const Json& obj, const char* key) {
  const Json& v = field(obj, key);
  return v.is_number_integer() ? v.get<long>() : 0;
}
const Json& array(const Json& obj, const char* key) {
  static const Json empty = Json::array();
  const Json& v = field(obj, key);
  return v.is_array() ? v : empty;
}

const Json* condition(const Json& fabric, const std::string& type) {
  for (const auto& c : array(field(fabric, "status"), "conditions")) {
    if (text(c, "type") == type) return &c;
  }
  return nullptr;
}
bool is_true(const Json& fabric, const std::string& type) {
  const Json* c = condition(fabric, type);
  return c != nullptr && text(*c, "status") == "True";
}

// How bad a rack is: lower is worse.
int rack_rank(const Json& rack) {
  const long wanted = number(rack, "reflectorsWanted"), ready = number(rack, "reflectorsReady");
  if (wanted > 0 && ready == 0) return 0;
  if (ready < wanted) return 1;
  for (const auto& r : array(rack, "reflectors")) {
    if (number(r, "sessionsEstablished") < number(r, "sessionsTotal")) return 2;
  }
  return 3;
}

std::string rack_problem(const Json& rack) {
  const long wanted = number(rack, "reflectorsWanted"), ready = number(rack, "reflectorsReady");
  if (text(rack, "clusterID").empty() && wanted > 0) return "no cluster ID (spec.clusterIDPool exhausted?)";
  if (wanted > 0 && ready == 0) return "no Ready reflector: its nodes depend on Calico's mesh";
  if (ready < wanted) return std::to_string(wanted - ready) + " of " + std::to_string(wanted) + " reflectors not Ready";
  long down = 0;
  for (const auto& r : array(rack, "reflectors")) down += number(r, "sessionsTotal") - number(r, "sessionsEstablished");
  if (down > 0) return std::to_string(down) + " BGP sessions not Established";
  return "";
}

std::string sessions(const Json& obj) {
  return std::to_string(number(obj, "sessionsEstablished")) + "/" + std::to_string(number(obj, "sessionsTotal"));
}

// Columns padded to their widest cell.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string age(const std::string& rfc3339, std::chrono::system_clock::time_point now) {
  auto then = kube::parse_time(rfc3339);
  if (!then) return "?";
  long s = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(now - *then).count());
  if (s < 0) s = 0;
  auto two = [](long big, const char* a, long small, const char* b) {
    return std::to_string(big) + a + (small ? std::to_string(small) + b : std::string());
  };
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return two(s / 60, "m", s % 60, "s");
  if (s < 86400) return two(s / 3600, "h", (s % 3600) / 60, "m");
  return two(s / 86400, "d", (s % 86400) / 3600, "h");
}

std::string render_status(const Json& fabric, std::chrono::system_clock::time_point now) {
  const Json& status = field(fabric, "status");
  const std::string name = text(field(fabric, "metadata"), "name");
  std::string out;
  const Json* ready = condition(fabric, "Ready");
  if (ready == nullptr) {
    return "FABRIC " + name + ": no status yet (is rr-operator running, and does it watch this fabric?)\n";
  }
  const long generation = number(field(fabric, "metadata"), "generation");
  const long observed = number(status, "observedGeneration");
  out += "FABRIC " + name + ": Ready=" + text(*ready, "status") + " (" + text(*ready, "reason") + ", for " +
         age(text(*ready, "lastTransitionTime"), now) + ")  reflectors " +
         std::to_string(number(status, "reflectorsReady")) + "/" + std::to_string(number(status, "reflectorsWanted")) +
         "  sessions " + sessions(status) + "  racks " + std::to_string(number(status, "rackCount")) + "\n";
  if (generation > observed) {
    out += "  PENDING: the spec changed (generation " + std::to_string(generation) +
           "); this status describes generation " + std::to_string(observed) + "\n";
  }
  // The fabric's own problem first: what Degraded, else Ready, says.
  if (const Json* degraded = condition(fabric, "Degraded"); degraded != nullptr && text(*degraded, "status") == "True") {
    out += "  PROBLEM: " + text(*degraded, "message") + "\n";
  } else if (text(*ready, "status") != "True") {
    out += "  WAITING: " + text(*ready, "message") + "\n";
  }
  for (const auto& c : array(status, "conditions")) {
    const std::string type = text(c, "type");
    if (type == "Ready" || type == "Degraded") continue;
    out += "  " + type + "=" + text(c, "status") + " (" + text(c, "reason") + "): " + text(c, "message") + "\n";
  }

  std::vector<const Json*> racks;
  for (const auto& rack : array(status, "racks")) racks.push_back(&rack);
  std::stable_sort(racks.begin(), racks.end(), [](const Json* a, const Json* b) {
    const int ra = rack_rank(*a), rb = rack_rank(*b);
    return ra != rb ? ra < rb : text(*a, "name") < text(*b, "name");
  });
  // spec.topTier: each zone's top tier after the racks, as "top:<zone>" ("top" for the fabric's one).
  std::vector<Json> tops;
  for (const auto& top : array(status, "topTier")) {
    tops.push_back(top);
    tops.back()["name"] = text(top, "name").empty() ? "top" : "top:" + text(top, "name");
  }
  for (const auto& top : tops) racks.push_back(&top);
  if (racks.empty()) return out;
  std::vector<std::vector<std::string>> rows = {
      {"RACK", "CLUSTER-ID", "NODES", "READY", "REFLECTOR", "NODE", "ADDRESS", "STATE", "SESSIONS", "PROBLEM"}};
  for (const Json* rack : racks) {
    std::vector<std::string> head = {text(*rack, "name"),
                                     text(*rack, "clusterID").empty() ? "-" : text(*rack, "clusterID"),
                                     std::to_string(number(*rack, "nodes")),
                                     std::to_string(number(*rack, "reflectorsReady")) + "/" +
                                         std::to_string(number(*rack, "reflectorsWanted"))};
    const auto& reflectors = array(*rack, "reflectors");
    const std::string problem = rack_problem(*rack);
    if (reflectors.empty()) {
      rows.push_back(head);
      rows.back().insert(rows.back().end(), {"-", "-", "-", "-", "-", problem});
      continue;
    }
    for (std::size_t i = 0; i < reflectors.size(); ++i) {
      const Json& r = reflectors[i];
      std::vector<std::string> row = i == 0 ? head : std::vector<std::string>{"", "", "", ""};
      std::string address = text(r, "address").empty() ? "-" : text(r, "address");
      if (!text(r, "addressV6").empty()) address += "," + text(r, "addressV6");
      row.insert(row.end(), {text(r, "pod"), text(r, "node").empty() ? "-" : text(r, "node"), address, text(r, "state"),
                             sessions(r), i == 0 ? problem : ""});
      rows.push_back(std::move(row));
    }
  }
  out += table(rows);
  return out;
}

std::string render_statuses(std::vector<Json> fabrics, std::chrono::system_clock::time_point now) {
  auto rank = [](const Json& f) { return is_true(f, "Ready") ? (is_true(f, "Degraded") ? 1 : 2) : 0; };
  std::stable_sort(fabrics.begin(), fabrics.end(), [&](const Json& a, const Json& b) {
    const int ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : text(field(a, "metadata"), "name") < text(field(b, "metadata"), "name");
  });
  std::string out;
  for (const auto& f : fabrics) out += (out.empty() ? "" : "\n") + render_status(f, now);
  return out;
}

int status_exit_code(const std::vector<Json>& fabrics) {
  for (const auto& f : fabrics) {
    if (!is_true(f, "Ready")) return 1;
  }
  return 0;
}

}  // namespace rr::cli
