// rr-demo-fabric: the demo's whole fabric on a local control plane (scripts/demo.sh);
// the fabric itself is FabricHarness (fabric_harness.h), shared with the e2e tests.
//
// Creates simulated Nodes in three racks, runs the real rr-operator, plays the
// scheduler and kubelet for the reflector Pods it creates and starts the real
// rr-agent (with its own BIRD 2) for each of them, runs a calico-node stand-in
// (a BIRD speaker announcing the node's pod CIDR) on every other node that peers
// exactly as the operator's Calico BGPPeers say, then shows that routes reflect.
// The nodes are network namespaces when run as root, 127.0.N.x addresses otherwise
// (fabric_network.h); every loop is bounded; every process it starts is stopped and
// every namespace removed before it exits (SIGTERM/SIGINT included).
//
//   rr-demo-fabric --dir DIR [--network auto|netns|loopback] [--keep --ready-file FILE]
//                  [--timeout SECONDS]
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
#include "fabric_harness.h"

namespace {

using kube::Json;
using rr::testing::BirdSpeaker;
using namespace rr::e2e;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

void heading(const std::string& text) { std::cout << "\n\033[1m== " << text << "\033[0m\n" << std::flush; }
void indent(const std::string& text, const std::string& pad = "  ") {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) std::cout << pad << line << "\n";
  std::cout << std::flush;
}

bool sleep_unless_stopped(std::chrono::milliseconds d) {
  for (auto w = std::chrono::milliseconds(0); w < d && !g_stop; w += std::chrono::milliseconds(50)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !g_stop;
}

void show(FabricHarness& demo, const std::string& kubectl, const Json& fabric) {
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

std::string where(const FabricNetwork& network, const std::string& node) {
  const std::string ns = network.namespace_of(node);
  return ns.empty() ? "host lo" : "netns " + ns;
}

bool prove(FabricHarness& demo, const Json& fabric) {
  const bool namespaces = demo.network().mode() == NetworkMode::Namespaces;
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
  std::cout << "  next hop      " << route->next_hop << " (" << origin << ", unchanged by the reflectors";
  if (route->reachable) {
    std::cout << "; resolved on " << learner << "'s " << demo.network().interface() << ")\n";
  } else {
    std::cout << "; \"unreachable\" only because on loopback this stand-in BIRD\n"
              << "                learns no interface routes, where calico-node's BIRD resolves it)\n";
  }
  std::cout << "  originator    " << route->originator_id << "\n";
  std::cout << "  CLUSTER_LIST ";
  for (const auto& id : route->cluster_list) std::cout << " " << id << " (" << rack_of_id[id] << ")";
  std::cout << "\n  i.e. " << origin << " -> rack-3 reflector -> rack-1 reflector -> " << learner << "\n"
            << std::flush;
  return route->cluster_list.size() == 2 && (route->reachable || !namespaces);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, ready_file;
  bool keep = false;
  int timeout_seconds = 100;
  NetworkMode mode = NetworkMode::Auto;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--network" && i + 1 < argc) {
      if (!parse_network_mode(argv[++i], &mode)) {
        std::cerr << "rr-demo-fabric: --network is auto, netns or loopback, not \"" << argv[i] << "\"\n";
        return 2;
      }
    } else if (a == "--keep") {
      keep = true;
    } else if (a == "--ready-file" && i + 1 < argc) {
      ready_file = argv[++i];
    } else if (a == "--timeout" && i + 1 < argc) {
      timeout_seconds = std::atoi(argv[++i]);
    } else {
      std::cerr << "usage: rr-demo-fabric --dir DIR [--network auto|netns|loopback] [--keep --ready-file FILE]"
                   " [--timeout SECONDS]\n";
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

  std::string why;
  auto network = FabricNetwork::create(mode, &why);
  if (!network) {
    std::cerr << "demo: the nodes' network cannot be made: " << why << "\n"
              << "      (run as root for network namespaces, or pass --network loopback)\n";
    return 1;
  }
  FabricHarness demo(dir, *client, cp->kubeconfig(), RR_AGENT_BIN, std::move(network));
  heading("Nodes: 3 racks x 3 nodes; nodes 1-2 of each rack may host reflectors, node 3 runs a calico-node stand-in");
  std::cout << "  " << demo.network().describe() << "\n";
  if (!demo.create_nodes()) {
    std::cerr << "demo: cannot create the nodes\n";
    return 1;
  }
  std::cout << "  " << std::left << std::setw(14) << "NODE" << std::setw(9) << "RACK" << std::setw(17)
            << "REFLECTOR-HOST" << std::setw(13) << "ADDRESS" << std::setw(14) << "POD-CIDR" << "WHERE\n";
  for (int r = 1; r <= kRacks; ++r) {
    for (int n = 1; n <= kNodesPerRack; ++n) {
      std::cout << "  " << std::setw(14) << node_name(r, n) << std::setw(9) << rack_name(r) << std::setw(17)
                << (is_reflector_host(n) ? "yes" : "no (calico)") << std::setw(13) << demo.node_ip(r, n)
                << std::setw(14) << pod_cidr(r, n) << where(demo.network(), node_name(r, n)) << "\n";
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
    demo.tick();
    fabric = demo.fabric();
    std::string reason;
    std::string status = FabricHarness::condition(fabric, "Ready", &reason);
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
    if (demo.network().mode() == NetworkMode::Namespaces) {
      std::cout << "  ip netns exec " << demo.network().namespace_of(node_name(1, 3))
                << " ss -tn       # " << node_name(1, 3) << "'s BGP sessions, from inside the node\n";
    }
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
      if (demo.tick()) last_ok = std::chrono::steady_clock::now();
      sleep_unless_stopped(std::chrono::milliseconds(500));
    }
  }
  demo.shutdown();
  return 0;
}
