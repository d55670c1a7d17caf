#pragma once
// The end-to-end fabric on a local control plane, shared by rr-demo-fabric
// (scripts/demo.sh) and the e2e tests (fabric_e2e_test.cpp).
//
// Creates simulated Nodes in racks, runs the real rr-operator, plays the
// scheduler and kubelet for the reflector Pods it creates and starts the real
// rr-agent (with its own BIRD 2) for each of them, and runs a calico-node
// stand-in (a BIRD speaker announcing the node's pod CIDR) on every node that
// hosts no reflector, peering exactly as the operator's Calico BGPPeers say.
// Dual stack (FabricOptions), nodes have an IPv6 address and pod CIDR as well.
// The nodes are network namespaces or loopback addresses (FabricNetwork);
// every loop is bounded; shutdown() (or the destructor) stops every process it
// started and removes the network.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fabric_network.h"
#include "kube/kube_client.h"
#include "support/api_types.h"
#include "support/bird_speaker.h"
#include "support/process.h"

namespace rr::e2e {

using rr::testing::kBgpConfigs;
using rr::testing::kFabrics;
using rr::testing::kPeers;
constexpr int kRacks = 3;
constexpr int kNodesPerRack = 3;  // nodes 1 and 2 may host reflectors, node 3 runs "calico-node"
constexpr unsigned kAs = 64512;
extern const std::string kNamespace;
extern const std::string kFabric;
extern const std::string kDemoLabel;
extern const std::string kRackLabel;
extern const std::string kZoneLabel;  // FabricOptions::zones: racks 1 and 2 are zone z1, rack 3 z2

std::string node_name(int rack, int n);
std::string pod_cidr(int rack, int n);
// A dual-stack node's IPv6 pod CIDR: fd77:100:R:n::/64.
std::string pod_cidr_v6(int rack, int n);
std::string rack_name(int rack);
bool is_reflector_host(int n);

std::string shell(const std::string& command);
// Calico's selector as the operator writes it: `k == 'v' && k2 != 'v2'`, has(k), all().
bool selector_matches(const std::string& selector, const std::map<std::string, std::string>& labels);

struct PeerEndpoint {
  std::string address;
  int port = 179;
};
// Calico's peerIP: "IPv4", "IPv4:port", "IPv6" or "[IPv6]:port" (no port: 179).
PeerEndpoint parse_peer_ip(const std::string& peer_ip);

struct FabricOptions {
  // Every node also has an IPv6 address, listed in its Node as a second InternalIP; stand-ins
  // announce an IPv6 pod CIDR too and open an IPv6 session to every IPv6 BGPPeer selecting
  // them. Needs a network with IPv6 (namespaces, i.e. root).
  bool dual_stack = false;
  // Every rack node carries kZoneLabel (racks 1 and 2: z1, rack 3: z2), for spec.topTier.
  bool zones = false;
};

struct FabricNode {
  int rack = 0;
  int n = 0;
  std::string name, ip, cidr;
  std::string ipv6, cidr_v6;  // dual stack only, else ""
  bool reflector_host = false;
};

class FabricHarness {
 public:
  FabricHarness(std::string dir, kube::KubeClient& client, std::string kubeconfig, std::string agent_binary,
                std::unique_ptr<FabricNetwork> network, FabricOptions options = {});
  ~FabricHarness();
  FabricHarness(const FabricHarness&) = delete;
  FabricHarness& operator=(const FabricHarness&) = delete;

  // Stops the ticker, the operators, every rr-agent (and its BIRD) and every stand-in,
  // then removes the network.
  void shutdown();

  const FabricNetwork& network() const { return *network_; }
  std::string node_ip(int rack, int n) const { return network_->node_ip(rack, n); }
  const FabricOptions& options() const { return options_; }

  // The namespace and kRacks x kNodesPerRack nodes. False, with the reason on stderr, when a
  // node's network or API object cannot be made (or dual stack was asked of a network without IPv6).
  bool create_nodes();
  // One more node (its network and API Node; a stand-in follows on the next tick unless it may
  // host reflectors).
  bool add_node(int rack, int n);
  // A host for a top-tier reflector of zone "z<zone>" (spec.topTier's default nodeSelector
  // label), in no rack and running no calico-node: "top-z<zone>-<n>", on the network as rack
  // 10 + zone. The fabric selects it (kDemoLabel).
  bool add_top_tier_host(int zone, int n);
  const std::vector<FabricNode>& nodes() const { return nodes_; }
  // Nodes with a calico-node stand-in.
  std::vector<FabricNode> client_nodes() const;

  // One rr-operator, without leader election.
  void start_operator(const std::string& binary, const std::vector<std::string>& extra = {});
  void stop_operator();
  // The demo's RouteReflectorCluster; `lease_seconds` is the reflectors' Lease duration.
  kube::Json fabric_manifest(int lease_seconds = 10) const;

  // One round of scheduler + kubelet + calico-node. Returns false when the API is unreachable.
  bool tick();
  // tick() every `interval` on a background thread until stop_ticking() / shutdown().
  void start_ticking(std::chrono::milliseconds interval = std::chrono::milliseconds(300));
  void stop_ticking();

  kube::Json fabric() const;
  static std::string condition(const kube::Json& fabric, const std::string& type, std::string* reason = nullptr);

  // Thread-safe (usable while ticking): the best (first) path a stand-in holds; nullopt if none
  // (or no stand-in yet).
  std::optional<rr::testing::RouteInfo> route(const std::string& node, const std::string& prefix) const;
  bool has_stand_in(const std::string& node) const;
  // Thread-safe: birdc's answer from a stand-in ("" if none yet).
  std::string stand_in_birdc(const std::string& node, const std::string& command) const;
  // Not safe while ticking: the stand-in itself (the demo's birdc output).
  rr::testing::BirdSpeaker* stand_in(const std::string& node);

  std::string reflector_birdc(const std::string& pod, const std::string& command) const;
  std::vector<std::string> agent_pods() const;
  // SIGSTOPs a reflector Pod's rr-agent: the process lives on (and its BIRD keeps its
  // sessions) but renews nothing, as a wedged agent or one cut off from the API. The Pod
  // stays until the operator deletes it; then this kubelet kills the frozen process (a
  // kubelet's SIGKILL after the grace period: a stopped process ignores SIGTERM).
  bool freeze_reflector(const std::string& pod);
  // Frozen agents still running.
  int frozen_agents() const;

  const std::string& dir() const { return dir_; }

 private:
  bool play_kubelet();
  void start_agent(const kube::Json& pod, const std::string& node, const std::string& ip);
  // The rr-agent container's environment as a kubelet makes it from the Pod.
  std::map<std::string, std::string> container_env(const kube::Json& pod, const std::string& node,
                                                   const std::string& host_ip) const;
  void stop_agent(const std::string& pod);
  bool sync_stand_ins();

  std::string dir_;
  kube::KubeClient& client_;
  std::string kubeconfig_, agent_binary_;
  std::vector<FabricNode> nodes_;
  std::map<std::string, std::string> node_ips_;
  std::map<std::string, std::map<std::string, std::string>> node_labels_;
  std::unique_ptr<FabricNetwork> network_;  // declared before every process: outlives them
  FabricOptions options_;
  std::unique_ptr<rr::testing::ChildProcess> operator_;

  mutable std::mutex mu_;  // tick(), agents_, agent_uids_, frozen_, nodes_
  std::map<std::string, std::unique_ptr<rr::testing::ChildProcess>> agents_;
  std::map<std::string, std::string> agent_uids_;  // pod name -> the UID of the Pod its agent runs for
  std::set<std::string> frozen_;                   // pod names whose agent is SIGSTOPped

  mutable std::mutex speakers_mu_;  // speakers_
  std::map<std::string, std::unique_ptr<rr::testing::BirdSpeaker>> speakers_;

  std::atomic<bool> ticking_{false};
  std::thread ticker_;
};

}  // namespace rr::e2e
