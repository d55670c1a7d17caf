#include "fabric_harness.h"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "kube/clock.h"
#include "support/reflector_simulator.h"

namespace rr::e2e {

using kube::Json;
using rr::testing::BirdSpeaker;
using rr::testing::ChildProcess;
using rr::testing::SpeakerConfig;
using rr::testing::SpeakerPeer;

const std::string kNamespace = "rr-system";
const std::string kFabric = "demo";
const std::string kDemoLabel = "rr.bgp.dev/demo";
const std::string kZoneLabel = "topology.kubernetes.io/zone";
const std::string kRackLabel = "topology.kubernetes.io/rack";

std::string node_name(int rack, int n) { return "rack" + std::to_string(rack) + "-node" + std::to_string(n); }
std::string pod_cidr(int rack, int n) { return "10." + std::to_string(rack) + "." + std::to_string(n) + ".0/24"; }
std::string pod_cidr_v6(int rack, int n) {
  return "fd77:100:" + std::to_string(rack) + ":" + std::to_string(n) + "::/64";
}
std::string rack_name(int rack) { return "rack-" + std::to_string(rack); }
bool is_reflector_host(int n) { return n <= 2; }

std::string shell(const std::string& command) { return rr::testing::run_argv({"/bin/sh", "-c", command}).output; }

namespace {

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\n"));
  s.erase(s.find_last_not_of(" \t\n") + 1);
  return s;
}

bool same_peers(const SpeakerConfig& a, const SpeakerConfig& b) {
  if (a.peers.size() != b.peers.size()) return false;
  for (size_t i = 0; i < a.peers.size(); ++i) {
    if (a.peers[i].name != b.peers[i].name || a.peers[i].as_number != b.peers[i].as_number) return false;
  }
  return true;
}

// The direct children of `parent` (from /proc).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(static_cast<pid_t>(std::atoi(name.c_str())));
  }
  return out;
}

}  // namespace

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

PeerEndpoint parse_peer_ip(const std::string& peer_ip) {
  PeerEndpoint out{peer_ip, 179};
  if (!peer_ip.empty() && peer_ip.front() == '[') {  // [IPv6]:port
    const auto close = peer_ip.find("]:");
    if (close == std::string::npos) return out;  // not Calico's form: no session will match it
    out.address = peer_ip.substr(1, close - 1);
    out.port = std::atoi(peer_ip.substr(close + 2).c_str());
  } else if (auto colon = peer_ip.rfind(':'); colon != std::string::npos && peer_ip.find('.') != std::string::npos) {
    out.address = peer_ip.substr(0, colon);  // IPv4:port (a bare IPv6 address has colons and no dot)
    out.port = std::atoi(peer_ip.substr(colon + 1).c_str());
  }
  return out;
}

FabricHarness::FabricHarness(std::string dir, kube::KubeClient& client, std::string kubeconfig,
                             std::string agent_binary, std::unique_ptr<FabricNetwork> network, FabricOptions options)
    : dir_(std::move(dir)), client_(client), kubeconfig_(std::move(kubeconfig)),
      agent_binary_(std::move(agent_binary)), network_(std::move(network)), options_(options) {}

FabricHarness::~FabricHarness() { shutdown(); }

void FabricHarness::shutdown() {
  stop_ticking();
  stop_operator();
  {
    std::lock_guard lock(mu_);
    for (const auto& name : frozen_) {
      auto it = agents_.find(name);
      if (it != agents_.end()) ::kill(it->second->pid(), SIGCONT);  // so that SIGTERM reaches it
    }
    frozen_.clear();
    for (auto& [name, agent] : agents_) agent->stop(std::chrono::seconds(5));
    agents_.clear();
    agent_uids_.clear();
  }
  {
    std::lock_guard lock(speakers_mu_);
    speakers_.clear();  // BirdSpeaker stops its BIRD
  }
  network_.reset();  // namespaces go only once nothing of ours runs inside
}

bool FabricHarness::create_nodes() {
  (void)client_.create(kube::resources::namespaces(), "",
                       Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNamespace}}}});
  for (int r = 1; r <= kRacks; ++r) {
    for (int n = 1; n <= kNodesPerRack; ++n) {
      if (!add_node(r, n)) return false;
    }
  }
  return true;
}

bool FabricHarness::add_node(int rack, int n) {
  if (!network_) return false;
  if (options_.dual_stack && !network_->supports_ipv6()) {
    std::cerr << "fabric: a dual-stack fabric needs nodes with IPv6 addresses, which this network ("
              << network_->describe() << ") has not: run as root (network namespaces)\n";
    return false;
  }
  std::string error;
  if (!network_->add_node(node_name(rack, n), rack, n, &error)) {
    std::cerr << "fabric: " << error << "\n";
    return false;
  }
  const std::string ip = network_->node_ip(rack, n);
  const std::string ipv6 = options_.dual_stack ? network_->node_ipv6(rack, n) : "";
  std::map<std::string, std::string> labels = {{kDemoLabel, "true"}, {kRackLabel, rack_name(rack)}};
  if (is_reflector_host(n)) labels["rr.bgp.dev/reflector"] = "true";
  if (options_.zones) labels[kZoneLabel] = rack <= 2 ? "z1" : "z2";
  Json node = rr::testing::make_node(node_name(rack, n), labels, ip);
  node["spec"]["podCIDR"] = pod_cidr(rack, n);
  if (!ipv6.empty()) {
    // As a dual-stack kubelet reports it: the IPv6 InternalIP after the IPv4 one. No Calico
    // IPv6Address annotation: the InternalIP alone must do.
    auto& addresses = node["status"]["addresses"];
    addresses.insert(addresses.begin() + 1, Json{{"type", "InternalIP"}, {"address", ipv6}});
  }
  rr::testing::create_ready_node(client_, node);
  if (!client_.get(kube::resources::nodes(), "", node_name(rack, n)).ok()) {
    std::cerr << "fabric: Node " << node_name(rack, n) << " was not created\n";
    return false;
  }
  std::lock_guard lock(mu_);
  nodes_.push_back({rack, n, node_name(rack, n), ip, pod_cidr(rack, n), ipv6,
                    ipv6.empty() ? "" : pod_cidr_v6(rack, n), is_reflector_host(n)});
  node_ips_[node_name(rack, n)] = ip;
  labels["kubernetes.io/hostname"] = node_name(rack, n);
  node_labels_[node_name(rack, n)] = labels;
  return true;
}

bool FabricHarness::add_top_tier_host(int zone, int n) {
  const std::string name = "top-z" + std::to_string(zone) + "-" + std::to_string(n);
  const int rack = 10 + zone;
  std::string error;
  if (!network_ || !network_->add_node(name, rack, n, &error)) {
    std::cerr << "fabric: " << error << "\n";
    return false;
  }
  const std::string ip = network_->node_ip(rack, n);
  std::map<std::string, std::string> labels = {{kDemoLabel, "true"},
                                               {kZoneLabel, "z" + std::to_string(zone)},
                                               {"rr.bgp.dev/top-tier-reflector", "true"},
                                               {"rr.bgp.dev/calico-node", "false"}};
  rr::testing::create_ready_node(client_, rr::testing::make_node(name, labels, ip));
  if (!client_.get(kube::resources::nodes(), "", name).ok()) return false;
  std::lock_guard lock(mu_);
  nodes_.push_back({rack, n, name, ip, "", "", "", /*reflector_host=*/true});
  node_ips_[name] = ip;
  labels["kubernetes.io/hostname"] = name;
  node_labels_[name] = labels;
  return true;
}

std::vector<FabricNode> FabricHarness::client_nodes() const {
  std::lock_guard lock(mu_);
  std::vector<FabricNode> out;
  for (const auto& n : nodes_) {
    if (!n.reflector_host) out.push_back(n);
  }
  return out;
}

void FabricHarness::start_operator(const std::string& binary, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {binary, "--kubeconfig", kubeconfig_, "--leader-elect=false", "--metrics-address",
                                   "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  operator_ = std::make_unique<ChildProcess>(argv, dir_ + "/rr-operator.log");
}

void FabricHarness::stop_operator() {
  if (operator_) operator_->stop(std::chrono::seconds(5));
  operator_.reset();
}

Json FabricHarness::fabric_manifest(int lease_seconds) const {
  return {{"apiVersion", "rr.bgp.dev/v1alpha1"},
          {"kind", "RouteReflectorCluster"},
          {"metadata", {{"name", kFabric}}},
          {"spec",
           {{"asNumber", kAs},
            {"namespace", kNamespace},
            {"nodeSelector", {{kDemoLabel, "true"}}},
            {"rackLabel", kRackLabel},
            {"clusterIDPool", "10.255.0.0/16"},
            {"reflectors", {{"perRack", 2}, {"placement", "Dedicated"}, {"port", network_->bgp_port()},
                            {"nodeSelector", {{"rr.bgp.dev/reflector", "true"}}}}},
            {"bgp", {{"holdTimeSeconds", 9}, {"keepaliveSeconds", 3}}},
            {"lease", {{"durationSeconds", lease_seconds}}}}}};
}

bool FabricHarness::tick() {
  std::lock_guard lock(mu_);
  bool ok = play_kubelet();
  ok = sync_stand_ins() && ok;
  return ok;
}

void FabricHarness::start_ticking(std::chrono::milliseconds interval) {
  if (ticking_.exchange(true)) return;
  ticker_ = std::thread([this, interval] {
    while (ticking_) {
      tick();
      for (auto w = std::chrono::milliseconds(0); w < interval && ticking_; w += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
}

void FabricHarness::stop_ticking() {
  ticking_ = false;
  if (ticker_.joinable()) ticker_.join();
}

Json FabricHarness::fabric() const {
  auto f = client_.get(kFabrics, "", kFabric);
  return f.ok() ? *f : Json::object();
}

std::string FabricHarness::condition(const Json& fabric, const std::string& type, std::string* reason) {
  for (const auto& c : fabric.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == type) {
      if (reason) *reason = c.value("reason", "") + ": " + c.value("message", "");
      return c.value("status", "");
    }
  }
  return "";
}

std::optional<rr::testing::RouteInfo> FabricHarness::route(const std::string& node, const std::string& prefix) const {
  std::lock_guard lock(speakers_mu_);
  auto it = speakers_.find(node);
  if (it == speakers_.end()) return std::nullopt;
  // BIRD lists every path (one per reflector of the rack), best first: parse only the first.
  std::string shown = it->second->birdc("show route all " + prefix);
  if (auto second = shown.find("Type: BGP", shown.find("Type: BGP") + 1); second != std::string::npos) {
    shown = shown.substr(0, second);
  }
  return rr::testing::parse_route(shown);
}

bool FabricHarness::has_stand_in(const std::string& node) const {
  std::lock_guard lock(speakers_mu_);
  return speakers_.count(node) > 0;
}

std::string FabricHarness::stand_in_birdc(const std::string& node, const std::string& command) const {
  std::lock_guard lock(speakers_mu_);
  auto it = speakers_.find(node);
  return it == speakers_.end() ? "" : it->second->birdc(command);
}

BirdSpeaker* FabricHarness::stand_in(const std::string& node) {
  std::lock_guard lock(speakers_mu_);
  auto it = speakers_.find(node);
  return it == speakers_.end() ? nullptr : it->second.get();
}

std::string FabricHarness::reflector_birdc(const std::string& pod, const std::string& command) const {
  return rr::testing::birdc(dir_ + "/pods/" + pod + "/bird.ctl", command);
}

std::vector<std::string> FabricHarness::agent_pods() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [pod, agent] : agents_) out.push_back(pod);
  return out;
}

bool FabricHarness::freeze_reflector(const std::string& pod) {
  std::lock_guard lock(mu_);
  auto it = agents_.find(pod);
  if (it == agents_.end() || !it->second->running()) return false;
  if (::kill(it->second->pid(), SIGSTOP) != 0) return false;
  frozen_.insert(pod);
  return true;
}

int FabricHarness::frozen_agents() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& pod : frozen_) n += agents_.count(pod) > 0;
  return n;
}

bool FabricHarness::play_kubelet() {
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
      node = rr::testing::pod_affinity_node(pod);
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
    if (agent != agents_.end() && agent_uids_[name] != kube::uid_of(pod)) {
      // Another Pod of the same name (a replacement): its predecessor's containers go first.
      stop_agent(name);
      agent = agents_.end();
    }
    if (agent != agents_.end() && agent->second->running()) continue;
    if (agent != agents_.end()) std::cerr << "fabric: rr-agent of " << name << " exited; restarting it\n";
    start_agent(pod, node, ip);
  }
  std::vector<std::string> gone;
  for (const auto& [pod, agent] : agents_) {
    if (!present.count(pod)) gone.push_back(pod);
  }
  for (const auto& pod : gone) stop_agent(pod);
  return true;
}

void FabricHarness::start_agent(const Json& pod, const std::string& node, const std::string& ip) {
  const std::string name = kube::name_of(pod);
  const std::string d = dir_ + "/pods/" + name;
  std::filesystem::create_directories(d + "/scratch");
  const std::map<std::string, std::string> env = container_env(pod, node, ip);
  std::vector<std::string> argv = {agent_binary_, "--kubeconfig", kubeconfig_, "--metrics-address", "127.0.0.1:0",
                                   "--bird-binary", network_->bird_binary(node, d), "--bird-config", d + "/bird.conf", "--bird-socket", d + "/bird.ctl",
                                   "--scratch-dir", d + "/scratch", "--client-port", std::to_string(network_->bgp_port()), "--connect-retry-seconds", "2",
                                   "--connect-delay-seconds", "1", "--error-wait-min-seconds", "1",
                                   "--error-wait-max-seconds", "5"};
  agents_[name] = std::make_unique<ChildProcess>(argv, d + "/agent.log", env);
  agent_uids_[name] = kube::uid_of(pod);
}

std::map<std::string, std::string> FabricHarness::container_env(const Json& pod, const std::string& node,
                                                                const std::string& host_ip) const {
  // The fields of the downward API a reflector Pod may name, as they are on its node.
  const std::map<std::string, std::string> fields = {
      {"metadata.name", kube::name_of(pod)}, {"metadata.uid", kube::uid_of(pod)},
      {"metadata.namespace", pod["metadata"].value("namespace", kNamespace)}, {"spec.nodeName", node},
      {"status.hostIP", host_ip}, {"status.podIP", host_ip}};  // host network: the Pod's IP is the host's
  std::map<std::string, std::string> env;
  for (const auto& c : pod["spec"].value("containers", Json::array())) {
    for (const auto& e : c.value("env", Json::array())) {
      const std::string key = e.value("name", "");
      if (key.empty()) continue;
      if (e.contains("value")) {
        env[key] = e.value("value", "");  // a literal, as written
        continue;
      }
      const std::string path =
          e.value("valueFrom", Json::object()).value("fieldRef", Json::object()).value("fieldPath", "");
      auto field = fields.find(path);
      if (field != fields.end()) {
        env[key] = field->second;
      } else {
        std::cerr << "fabric: " << kube::name_of(pod) << ": env " << key << " comes from " << e.dump()
                  << ", which this kubelet cannot fill in; left unset\n";
      }
    }
  }
  return env;
}

void FabricHarness::stop_agent(const std::string& pod) {
  auto it = agents_.find(pod);
  if (it == agents_.end()) return;
  if (frozen_.erase(pod) > 0) {
    // A stopped process never handles SIGTERM: SIGKILL it and its BIRD, as a kubelet does
    // once the grace period is over.
    for (pid_t child : children_of(it->second->pid())) ::kill(child, SIGKILL);
    it->second->kill_now();
  } else {
    it->second->stop(std::chrono::seconds(5));
  }
  agents_.erase(it);
  agent_uids_.erase(pod);
}

// calico-node's part: a BIRD on every non-reflector node, peering as the BGPPeers selecting it say.
bool FabricHarness::sync_stand_ins() {
  auto peers = client_.list(kPeers, "", {});
  if (!peers.ok()) return false;
  for (const auto& fn : nodes_) {
    if (fn.reflector_host) continue;
    const std::string& node = fn.name;
    SpeakerConfig c;
    c.address = fn.ip;
    c.port = network_->bgp_port();
    c.launcher = network_->launcher(node);
    c.interface = network_->interface();
    c.as_number = kAs;
    c.announce = {fn.cidr};
    if (!fn.ipv6.empty()) {
      c.address_v6 = fn.ipv6;
      c.announce.push_back(fn.cidr_v6);
    }
    std::set<std::string> seen;
    for (const auto& peer : peers->items) {
      const Json spec = peer.value("spec", Json::object());
      if (spec.contains("node") && spec.value("node", "") != node) continue;
      if (!selector_matches(spec.value("nodeSelector", ""), node_labels_[node])) continue;
      const auto [address, port] = parse_peer_ip(spec.value("peerIP", ""));
      if (address.empty() || address == c.address || address == c.address_v6 || !seen.insert(address).second) continue;
      // An IPv6 peer of a node without IPv6 is left out, as calico-node without an IPv6 address does.
      if (rr::testing::is_ipv6(address) && c.address_v6.empty()) continue;
      std::string proto = "to_" + address + "_" + std::to_string(port);
      for (char& ch : proto) {
        if (ch == '.' || ch == ':') ch = '_';
      }
      c.peers.push_back(SpeakerPeer{proto, address, port, spec.value("asNumber", kAs), "", true});
    }
    std::sort(c.peers.begin(), c.peers.end(), [](const SpeakerPeer& a, const SpeakerPeer& b) { return a.name < b.name; });
    std::lock_guard lock(speakers_mu_);
    auto& speaker = speakers_[node];
    if (!speaker) {
      speaker = std::make_unique<BirdSpeaker>(dir_ + "/nodes/" + node, c);
    } else if (!same_peers(speaker->config(), c)) {
      speaker->reconfigure(c);
    }
  }
  return true;
}

}  // namespace rr::e2e
