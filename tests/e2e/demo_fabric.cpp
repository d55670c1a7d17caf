// rr-demo-fabric: the demo's whole fabric on a local control plane (scripts/demo.sh).
//
// Creates simulated Nodes in three racks, runs the real rr-operator, plays the
// scheduler and kubelet for the reflector Pods it creates and starts the real
// rr-agent (with its own BIRD 2) for each of them, runs a calico-node stand-in
// (a BIRD speaker announcing the node's pod CIDR) on every other node that peers
// exactly as the operator's Calico BGPPeers say, then shows that routes reflect.
// Everything binds 127.0.N.x; every loop is bounded; every process it starts is
// stopped before it exits (SIGTERM/SIGINT included).
//
//   rr-demo-fabric --dir DIR [--keep --ready-file FILE] [--timeout SECONDS]
// Needs RR_KUBE_DIR (a scripts/kube-local.sh instance) with the CRDs installed.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kube/clock.h"
#include "support/bird_speaker.h"
#include "support/control_plane.h"
#include "support/process.h"
#include "support/reflector_simulator.h"

namespace {

using kube::Json;
using rr::testing::BirdSpeaker;
using rr::testing::ChildProcess;
using rr::testing::SpeakerConfig;
using rr::testing::SpeakerPeer;

const kube::ResourceType kFabrics{"rr.bgp.dev", "v1alpha1", "routereflectorclusters", "RouteReflectorCluster", false};
const kube::ResourceType kPeers{"crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", false};
constexpr int kRacks = 3;
constexpr int kNodesPerRack = 3;    // nodes 1 and 2 may host reflectors, node 3 runs "calico-node"
constexpr int kPort = 1179;         // reflectors and stand-ins alike (each on its own address)
constexpr unsigned kAs = 64512;
const std::string kNamespace = "rr-system";
const std::string kFabric = "demo";
const std::string kDemoLabel = "rr.bgp.dev/demo";
const std::string kRackLabel = "topology.kubernetes.io/rack";

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

std::string node_name(int rack, int n) { return "rack" + std::to_string(rack) + "-node" + std::to_string(n); }
std::string node_ip(int rack, int n) { return "127.0." + std::to_string(rack) + "." + std::to_string(10 + n); }
std::string pod_cidr(int rack, int n) { return "10." + std::to_string(rack) + "." + std::to_string(n) + ".0/24"; }
std::string rack_name(int rack) { return "rack-" + std::to_string(rack); }
bool is_reflector_host(int n) { return n <= 2; }

std::string shell(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\n"));
  s.erase(s.find_last_not_of(" \t\n") + 1);
  return s;
}

void heading(const std::string& text) { std::cout << "\n\033[1m== " << text << "\033[0m\n" << std::flush; }
void indent(const std::string& text, const std::string& pad = "  ") {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) std::cout << pad << line << "\n";
  std::cout << std::flush;
}

// Calico's selector as the operator writes it: `k == 'v' && k2 != 'v2'` (or all()).
bool selector_matches(const std::string& selector, const std::map<std::string, std::string>& labels) {
  std::string s = trim(selector);
  if (s.empty() || s == "all()") return true;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find("&&", start);
    std::string term = trim(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    bool negate;
    size_t op = term.find("==");
    if (op != std::string::npos) {
      negate = false;
    } else if ((op = term.find("!=")) != std::string::npos) {
      negate = true;
    } else if (term.rfind("has(", 0) == 0 && term.back() == ')') {
      if (!labels.count(trim(term.substr(4, term.size() - 5)))) return false;
      if (end == std::string::npos) break;
      start = end + 2;
      continue;
    } else {
      return false;  // a form this stand-in does not know: select nothing rather than guess
    }
    std::string key = trim(term.substr(0, op));
    std::string value = trim(term.substr(op + 2));
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"')) value = value.substr(1, value.size() - 2);
    auto it = labels.find(key);
    bool equal = it != labels.end() && it->second == value;
    if (equal == negate) return false;
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return true;
}

std::string env_of(const Json& pod, const std::string& name) {
  for (const auto& c : pod["spec"].value("containers", Json::array())) {
    for (const auto& e : c.value("env", Json::array())) {
      if (e.value("name", "") == name && e.contains("value")) return e["value"].get<std::string>();
    }
  }
  return "";
}

std::string affinity_node(const Json& pod) {
  try {
    for (const auto& term : pod.at("spec").at("affinity").at("nodeAffinity")
                                .at("requiredDuringSchedulingIgnoredDuringExecution")
                                .at("nodeSelectorTerms")) {
      for (const auto& f : term.value("matchFields", Json::array())) {
        if (f.value("key", "") == "metadata.name" && !f["values"].empty()) return f["values"][0];
      }
    }
  } catch (const std::exception&) {
  }
  return "";
}

class DemoFabric {
 public:
  DemoFabric(std::string dir, kube::KubeClient& client, std::string kubeconfig, std::string kubectl)
      : dir_(std::move(dir)), client_(client), kubeconfig_(std::move(kubeconfig)), kubectl_(std::move(kubectl)) {}

  ~DemoFabric() { shutdown(); }

  void shutdown() {
    if (operator_) operator_->stop(std::chrono::seconds(5));
    operator_.reset();
    for (auto& [name, agent] : agents_) agent->stop(std::chrono::seconds(5));
    agents_.clear();
    speakers_.clear();  // BirdSpeaker stops its BIRD
  }

  bool create_nodes() {
    (void)client_.create(kube::resources::namespaces(), "",
                         Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNamespace}}}});
    for (int r = 1; r <= kRacks; ++r) {
      for (int n = 1; n <= kNodesPerRack; ++n) {
        std::map<std::string, std::string> labels = {{kDemoLabel, "true"}, {kRackLabel, rack_name(r)}};
        if (is_reflector_host(n)) labels["rr.bgp.dev/reflector"] = "true";
        Json node = rr::testing::make_node(node_name(r, n), labels, node_ip(r, n));
        node["spec"]["podCIDR"] = pod_cidr(r, n);
        rr::testing::create_ready_node(client_, node);
        if (!client_.get(kube::resources::nodes(), "", node_name(r, n)).ok()) return false;
        node_ips_[node_name(r, n)] = node_ip(r, n);
        node_labels_[node_name(r, n)] = labels;
        node_labels_[node_name(r, n)]["kubernetes.io/hostname"] = node_name(r, n);
      }
    }
    return true;
  }

  void start_operator(const std::string& binary) {
    operator_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary, "--kubeconfig", kubeconfig_, "--leader-elect=false", "--metrics-address",
                                 "127.0.0.1:0"},
        dir_ + "/rr-operator.log");
  }

  Json fabric_manifest() const {
    return {{"apiVersion", "rr.bgp.dev/v1alpha1"},
            {"kind", "RouteReflectorCluster"},
            {"metadata", {{"name", kFabric}}},
            {"spec",
             {{"asNumber", kAs},
              {"namespace", kNamespace},
              {"nodeSelector", {{kDemoLabel, "true"}}},
              {"rackLabel", kRackLabel},
              {"clusterIDPool", "10.255.0.0/16"},
              {"reflectors", {{"perRack", 2}, {"placement", "Dedicated"}, {"port", kPort},
                              {"nodeSelector", {{"rr.bgp.dev/reflector", "true"}}}}},
              {"bgp", {{"holdTimeSeconds", 9}, {"keepaliveSeconds", 3}}},
              {"lease", {{"durationSeconds", 10}}}}}};
  }

  // One round of scheduler + kubelet + calico-node. Returns false when the API is unreachable.
  bool tick(const std::string& agent_binary) {
    bool ok = play_kubelet(agent_binary);
    ok = sync_stand_ins() && ok;
    return ok;
  }

  Json fabric() const {
    auto f = client_.get(kFabrics, "", kFabric);
    return f.ok() ? *f : Json::object();
  }

  static std::string condition(const Json& fabric, const std::string& type, std::string* reason = nullptr) {
    for (const auto& c : fabric.value("status", Json::object()).value("conditions", Json::array())) {
      if (c.value("type", "") == type) {
        if (reason) *reason = c.value("reason", "") + ": " + c.value("message", "");
        return c.value("status", "");
      }
    }
    return "";
  }

  BirdSpeaker* stand_in(const std::string& node) {
    auto it = speakers_.find(node);
    return it == speakers_.end() ? nullptr : it->second.get();
  }

  std::string reflector_birdc(const std::string& pod, const std::string& command) const {
    return shell("/usr/sbin/birdc -s " + dir_ + "/pods/" + pod + "/bird.ctl " + command);
  }

  std::vector<std::string> agent_pods() const {
    std::vector<std::string> out;
    for (const auto& [pod, agent] : agents_) out.push_back(pod);
    return out;
  }

  const std::string& dir() const { return dir_; }

 private:
  bool play_kubelet(const std::string& agent_binary) {
    kube::ListOptions lo;
    lo.label_selector = "app.kubernetes.io/name=rr-reflector";
    auto pods = client_.list(kube::resources::pods(), kNamespace, lo);
    if (!pods.ok()) return false;
    std::set<std::string> present;
    for (const auto& pod : pods->items) {
      const std::string name = kube::name_of(pod);
      if (pod["metadata"].contains("deletionTimestamp")) {
        stop_agent(name);
        kube::DeleteOptions now;
        now.grace_period_seconds = 0;
        now.precondition_uid = kube::uid_of(pod);
        (void)client_.remove(kube::resources::pods(), kNamespace, name, now);
        continue;
      }
      present.insert(name);
      std::string node = pod["spec"].value("nodeName", "");
      if (node.empty()) {
        node = affinity_node(pod);
        if (node.empty() || !node_ips_.count(node)) continue;
        Json binding = {{"apiVersion", "v1"},
                        {"kind", "Binding"},
                        {"metadata", {{"name", name}, {"namespace", kNamespace}}},
                        {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
        const kube::ResourceType pod_binding{"", "v1", "pods/" + name + "/binding", "Binding", true};
        if (!client_.create(pod_binding, kNamespace, binding).ok()) continue;
      }
      if (!node_ips_.count(node)) continue;
      const std::string ip = node_ips_[node];
      if (pod.value("status", Json::object()).value("phase", "") != "Running") {
        auto fresh = client_.get(kube::resources::pods(), kNamespace, name);
        if (!fresh.ok()) continue;
        Json p = *fresh;
        p["status"]["phase"] = "Running";
        p["status"]["hostIP"] = ip;
        p["status"]["podIP"] = ip;
        p["status"]["conditions"] = Json::array({{{"type", "Ready"}, {"status", "True"}}});
        Json containers = Json::array();
        for (const auto& c : p["spec"].value("containers", Json::array())) {
          containers.push_back({{"name", c.value("name", "")}, {"image", c.value("image", "")}, {"imageID", ""},
                                {"ready", true}, {"started", true}, {"restartCount", 0},
                                {"state", {{"running", {{"startedAt", kube::format_micro_time(
                                                             kube::RealClock::instance().wall_now()).substr(0, 19) + "Z"}}}}}});
        }
        p["status"]["containerStatuses"] = containers;
        if (!client_.update_status(kube::resources::pods(), p).ok()) continue;
      }
      auto agent = agents_.find(name);
      if (agent != agents_.end() && agent->second->running()) continue;
      if (agent != agents_.end()) std::cerr << "demo: rr-agent of " << name << " exited; restarting it\n";
      start_agent(agent_binary, pod, node, ip);
    }
    for (const auto& pod : agent_pods()) {
      if (!present.count(pod)) stop_agent(pod);
    }
    return true;
  }

  void start_agent(const std::string& binary, const Json& pod, const std::string& node, const std::string& ip) {
    const std::string name = kube::name_of(pod);
    const std::string d = dir_ + "/pods/" + name;
    std::filesystem::create_directories(d);
    std::map<std::string, std::string> env;
    for (const char* key : {"RR_FABRIC", "RR_RACK", "RR_CLUSTER_ID", "RR_BGP_PORT", "RR_LEASE_DURATION_SECONDS"}) {
      env[key] = env_of(pod, key);
    }
    // What the downward API fills in on a real node.
    env["RR_POD_NAME"] = name;
    env["RR_NAMESPACE"] = kNamespace;
    env["RR_NODE_NAME"] = node;
    env["RR_HOST_IP"] = ip;
    std::vector<std::string> argv = {binary, "--kubeconfig", kubeconfig_, "--metrics-address", "127.0.0.1:0",
                                     "--bird-config", d + "/bird.conf", "--bird-socket", d + "/bird.ctl",
                                     "--client-port", std::to_string(kPort), "--connect-retry-seconds", "2",
                                     "--connect-delay-seconds", "1", "--error-wait-min-seconds", "1",
                                     "--error-wait-max-seconds", "5"};
    agents_[name] = std::make_unique<ChildProcess>(argv, d + "/agent.log", env);
    pod_nodes_[name] = node;
  }

  void stop_agent(const std::string& pod) {
    auto it = agents_.find(pod);
    if (it == agents_.end()) return;
    it->second->stop(std::chrono::seconds(5));
    agents_.erase(it);
  }

  // calico-node's part: a BIRD on every non-reflector node, peering as the BGPPeers selecting it say.
  bool sync_stand_ins() {
    auto peers = client_.list(kPeers, "", {});
    if (!peers.ok()) return false;
    for (int r = 1; r <= kRacks; ++r) {
      for (int n = 1; n <= kNodesPerRack; ++n) {
        if (is_reflector_host(n)) continue;
        const std::string node = node_name(r, n);
        SpeakerConfig c;
        c.address = node_ip(r, n);
        c.port = kPort;
        c.as_number = kAs;
        c.announce = {pod_cidr(r, n)};
        std::set<std::string> seen;
        for (const auto& peer : peers->items) {
          const Json spec = peer.value("spec", Json::object());
          if (spec.contains("node") && spec.value("node", "") != node) continue;
          if (!selector_matches(spec.value("nodeSelector", ""), node_labels_[node])) continue;
          std::string address = spec.value("peerIP", "");
          int port = 179;
          if (auto colon = address.rfind(':'); colon != std::string::npos && address.find('.') != std::string::npos) {
            port = std::atoi(address.substr(colon + 1).c_str());
            address = address.substr(0, colon);
          }
          if (address.empty() || address == c.address || !seen.insert(address).second) continue;
          std::string proto = "to_" + address + "_" + std::to_string(port);
          for (char& ch : proto) {
            if (ch == '.') ch = '_';
          }
          c.peers.push_back(SpeakerPeer{proto, address, port, spec.value("asNumber", kAs), "", true});
        }
        std::sort(c.peers.begin(), c.peers.end(),
                  [](const SpeakerPeer& a, const SpeakerPeer& b) { return a.name < b.name; });
        auto& speaker = speakers_[node];
        if (!speaker) {
          speaker = std::make_unique<BirdSpeaker>(dir_ + "/nodes/" + node, c);
        } else if (!same_peers(speaker->config(), c)) {
          speaker->reconfigure(c);
        }
      }
    }
    return true;
  }

  static bool same_peers(const SpeakerConfig& a, const SpeakerConfig& b) {
    if (a.peers.size() != b.peers.size()) return false;
    for (size_t i = 0; i < a.peers.size(); ++i) {
      if (a.peers[i].name != b.peers[i].name || a.peers[i].as_number != b.peers[i].as_number) return false;
    }
    return true;
  }

  std::string dir_;
  kube::KubeClient& client_;
  std::string kubeconfig_, kubectl_;
  std::map<std::string, std::string> node_ips_;
  std::map<std::string, std::map<std::string, std::string>> node_labels_;
  std::map<std::string, std::string> pod_nodes_;
  std::unique_ptr<ChildProcess> operator_;
  std::map<std::string, std::unique_ptr<ChildProcess>> agents_;
  std::map<std::string, std::unique_ptr<BirdSpeaker>> speakers_;
};

bool sleep_unless_stopped(std::chrono::milliseconds d) {
  for (auto w = std::chrono::milliseconds(0); w < d && !g_stop; w += std::chrono::milliseconds(50)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !g_stop;
}

void show(DemoFabric& demo, const std::string& kubectl, const Json& fabric) {
  heading("kubectl get rrc -o wide");
  indent(shell(kubectl + " get rrc -o wide"));

  heading("Racks (from the RouteReflectorCluster's status)");
  for (const auto& rack : fabric["status"].value("racks", Json::array())) {
    std::cout << "  " << rack.value("name", "") << "   cluster ID " << rack.value("clusterID", "") << "\n";
    std::cout << "    " << std::left << std::setw(26) << "REFLECTOR POD" << std::setw(14) << "NODE" << std::setw(16)
              << "ADDRESS" << std::setw(8) << "STATE" << "SESSIONS\n";
    for (const auto& r : rack.value("reflectors", Json::array())) {
      std::cout << "    " << std::setw(26) << r.value("pod", "") << std::setw(14) << r.value("node", "")
                << std::setw(16) << r.value("address", "") << std::setw(8) << r.value("state", "")
                << r.value("sessionsEstablished", 0) << "/" << r.value("sessionsTotal", 0) << "\n";
    }
  }
  std::cout << std::right << std::flush;

  heading("BGP sessions per reflector (birdc show protocols)");
  for (const auto& pod : demo.agent_pods()) {
    std::cout << "  " << pod << ":\n";
    std::istringstream lines(demo.reflector_birdc(pod, "show protocols"));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("BGP") != std::string::npos || line.rfind("Name", 0) == 0) std::cout << "    " << line << "\n";
    }
  }

  heading("Calico's BGPPeers (what each node's calico-node peers with)");
  indent(shell(kubectl + " get bgppeers.crd.projectcalico.org -o custom-columns="
                         "NAME:.metadata.name,PEER:.spec.peerIP,SELECTOR:.spec.nodeSelector"));
}

bool prove(DemoFabric& demo, const Json& fabric) {
  const std::string learner = node_name(1, 3), origin = node_name(3, 3), prefix = pod_cidr(3, 3);
  std::map<std::string, std::string> rack_of_id;
  for (const auto& rack : fabric["status"].value("racks", Json::array())) {
    rack_of_id[rack.value("clusterID", "")] = rack.value("name", "");
  }
  heading("Proof of reflection: " + learner + " (rack-1) learned " + origin + "'s pod CIDR " + prefix + " (rack-3)");
  BirdSpeaker* s = demo.stand_in(learner);
  if (!s) return false;
  std::cout << "  $ birdc -s " << s->socket() << " show route all " << prefix << "\n";
  indent(s->birdc("show route all " + prefix), "    ");
  std::cout << "\n";
  // BIRD lists every path (one per rack-1 reflector); the first is the best one.
  std::string shown = s->birdc("show route all " + prefix);
  if (auto second = shown.find("Type: BGP", shown.find("Type: BGP") + 1); second != std::string::npos) {
    shown = shown.substr(0, second);
  }
  auto route = rr::testing::parse_route(shown);
  if (!route) {
    std::cout << "  NOT LEARNED\n";
    return false;
  }
  std::cout << "  next hop      " << route->next_hop << " (" << origin
            << ", unchanged by the reflectors; \"unreachable\" only because this stand-in BIRD\n"
            << "                learns no IGP/kernel routes, where calico-node's BIRD resolves it)\n";
  std::cout << "  originator    " << route->originator_id << "\n";
  std::cout << "  CLUSTER_LIST ";
  for (const auto& id : route->cluster_list) std::cout << " " << id << " (" << rack_of_id[id] << ")";
  std::cout << "\n  i.e. " << origin << " -> rack-3 reflector -> rack-1 reflector -> " << learner << "\n"
            << std::flush;
  return route->cluster_list.size() == 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, ready_file;
  bool keep = false;
  int timeout_seconds = 100;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--keep") {
      keep = true;
    } else if (a == "--ready-file" && i + 1 < argc) {
      ready_file = argv[++i];
    } else if (a == "--timeout" && i + 1 < argc) {
      timeout_seconds = std::atoi(argv[++i]);
    } else {
      std::cerr << "usage: rr-demo-fabric --dir DIR [--keep --ready-file FILE] [--timeout SECONDS]\n";
      return 2;
    }
  }
  if (dir.empty()) dir = "/tmp/rr-demo-fabric";
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto cp = rr::testing::ControlPlane::from_environment();
  if (!cp) return 1;
  kube::RestClientOptions options;
  options.max_attempts = 2;  // a stopped control plane must not keep the driver in long retries
  auto client = cp->admin_client(options);
  if (!client) return 1;
  std::filesystem::create_directories(dir);
  const std::string kubectl = cp->var("RR_KUBECTL") + " --kubeconfig " + cp->kubeconfig();

  DemoFabric demo(dir, *client, cp->kubeconfig(), kubectl);
  heading("Nodes: 3 racks x 3 nodes; nodes 1-2 of each rack may host reflectors, node 3 runs a calico-node stand-in");
  if (!demo.create_nodes()) {
    std::cerr << "demo: cannot create the nodes\n";
    return 1;
  }
  std::cout << "  " << std::left << std::setw(14) << "NODE" << std::setw(9) << "RACK" << std::setw(17)
            << "REFLECTOR-HOST" << std::setw(13) << "ADDRESS" << "POD-CIDR\n";
  for (int r = 1; r <= kRacks; ++r) {
    for (int n = 1; n <= kNodesPerRack; ++n) {
      std::cout << "  " << std::setw(14) << node_name(r, n) << std::setw(9) << rack_name(r) << std::setw(17)
                << (is_reflector_host(n) ? "yes" : "no (calico)") << std::setw(13) << node_ip(r, n)
                << pod_cidr(r, n) << "\n";
    }
  }
  std::cout << std::right << std::flush;

  heading("Starting rr-operator (logs: " + dir + "/rr-operator.log)");
  demo.start_operator(RR_OPERATOR_BIN);

  heading("Applying the RouteReflectorCluster \"" + kFabric + "\"");
  {
    std::ofstream(dir + "/fabric.json") << demo.fabric_manifest().dump(2);
    std::string out = shell(kubectl + " apply -f " + dir + "/fabric.json");
    indent(out);
    indent(shell(kubectl + " get rrc " + kFabric + " -o yaml | sed -n '/^spec:/,/^status:/p' | sed '$d'"), "    ");
  }

  heading("Waiting (at most " + std::to_string(timeout_seconds) +
          " s) for reflector Pods, rr-agents, BIRDs and sessions: fabric Ready");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  auto started = std::chrono::steady_clock::now();
  std::string last_reason;
  bool ready = false;
  Json fabric;
  while (!g_stop && std::chrono::steady_clock::now() < deadline) {
    demo.tick(RR_AGENT_BIN);
    fabric = demo.fabric();
    std::string reason;
    std::string status = DemoFabric::condition(fabric, "Ready", &reason);
    if (reason != last_reason) {
      auto t = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count();
      std::cout << "  [" << std::setw(3) << t << "s] Ready=" << (status.empty() ? "?" : status) << "  " << reason
                << "\n" << std::flush;
      last_reason = reason;
    }
    BirdSpeaker* learner = demo.stand_in(node_name(1, 3));
    if (status == "True" && learner && learner->route(pod_cidr(3, 3))) {
      ready = true;
      break;
    }
    sleep_unless_stopped(std::chrono::milliseconds(500));
  }
  if (g_stop) return 130;
  show(demo, kubectl, fabric);
  bool proved = prove(demo, fabric);
  if (!ready || !proved) {
    heading("FAILED: the fabric did not become Ready with reflected routes in time");
    std::cout << "  logs: " << dir << " (rr-operator.log, pods/*/agent.log, nodes/*/bird.log)\n";
    std::cout << "  rr-operator log tail:\n";
    indent(shell("tail -n 20 " + dir + "/rr-operator.log"), "    ");
    return 1;
  }
  heading("The fabric is Ready and routes reflect across racks");

  if (keep) {
    std::cout << "  logs: " << dir << " (rr-operator.log, pods/*/agent.log, nodes/*/bird.log)\n";
    std::cout << "  this process (pid " << getpid() << ") keeps playing kubelet and calico-node until it is\n"
              << "  sent SIGTERM or the control plane goes away\n"
              << std::flush;
    if (!ready_file.empty()) std::ofstream(ready_file) << getpid() << "\n";
    // Detach from the caller's terminal: from now on output goes to a log.
    std::string log = dir + "/rr-demo-fabric.log";
    if (FILE* f = freopen(log.c_str(), "a", stdout); f == nullptr) return 1;
    if (FILE* f = freopen(log.c_str(), "a", stderr); f == nullptr) return 1;
    // Until SIGTERM, or the control plane is gone (its directory removed, or 10 s unreachable).
    auto last_ok = std::chrono::steady_clock::now();
    while (!g_stop && std::filesystem::exists(cp->kubeconfig()) &&
           std::chrono::steady_clock::now() - last_ok < std::chrono::seconds(10)) {
      if (demo.tick(RR_AGENT_BIN)) last_ok = std::chrono::steady_clock::now();
      sleep_unless_stopped(std::chrono::milliseconds(500));
    }
  }
  demo.shutdown();
  return 0;
}
