// End-to-end: the whole fabric on a real local control plane (cp_e2e_N) — the real
// rr-operator, the real rr-agent + BIRD 2 per reflector Pod, a BIRD per Calico node
// peering as the operator's BGPPeers say (FabricHarness, shared with the demo).
// Every test brings up its own fabric (3 racks x 3 nodes, 6 reflectors) and asserts
// what BGP (the stand-ins' route tables) and the API say. One test at a time per
// control plane (tests/e2e/CMakeLists.txt shards the suite).
// The nodes are network namespaces when run as root (RR_E2E_NETWORK=loopback
// forces 127.0.N.x addresses); FabricE2ELoopback always runs on loopback,
// FabricE2EDualStack (IPv6 too) always in namespaces.
// What the chaos suite proves on a real cluster with every route polled (a reflector killed
// or deleted, the leader killed mid-reconcile, kube-apiserver restarted, the fabric deleted
// back to the mesh: tests/chaos) is not played again here; what it cannot show is: IPv6,
// tiers, loopback addresses, a joining node, and the exact count of replacements.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "fabric_harness.h"
#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/reflector_simulator.h"

namespace {

using kube::ErrorKind;
using kube::Json;
using namespace rr::e2e;
using rr::testing::eventually;

std::string tail(const std::string& s, size_t n = 4000) { return s.size() > n ? s.substr(s.size() - n) : s; }

// Polls every stand-in's route table every ~200 ms on its own thread and records
// every moment a node lacks another rack's pod CIDR.
class RouteWatch {
 public:
  explicit RouteWatch(FabricHarness& h) : h_(h) {
    thread_ = std::thread([this] {
      while (!stop_) {
        poll();
        for (int i = 0; i < 4 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  ~RouteWatch() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int polls() const { return polls_; }
  std::vector<std::string> losses() const {
    std::lock_guard lock(mu_);
    return losses_;
  }

 private:
  void poll() {
    auto nodes = h_.client_nodes();
    for (const auto& n : nodes) {
      for (const auto& other : nodes) {
        if (other.rack == n.rack || !h_.has_stand_in(n.name) || !h_.has_stand_in(other.name)) continue;
        if (!h_.route(n.name, other.cidr)) {
          std::lock_guard lock(mu_);
          if (losses_.size() < 50) losses_.push_back("poll " + std::to_string(polls_) + ": " + n.name + " lacks " + other.cidr);
        }
      }
    }
    ++polls_;
  }

  FabricHarness& h_;
  std::atomic<bool> stop_{false};
  std::atomic<int> polls_{0};
  mutable std::mutex mu_;
  std::vector<std::string> losses_;
  std::thread thread_;
};

// Every Pod created under one name, by UID, from a watch of the API (a Pod that lives
// for 0.1 s is counted too: polling would miss it).
class PodCreations {
 public:
  PodCreations(std::unique_ptr<kube::RestKubeClient> client, std::string name)
      : client_(std::move(client)), name_(std::move(name)) {}
  ~PodCreations() { stop(); }

  // Lists (the Pods that exist now are not creations) and watches from that list on.
  bool start() {
    kube::ListOptions lo;
    lo.label_selector = "rr.bgp.dev/cluster=" + kFabric;
    auto list = client_->list(kube::resources::pods(), kNamespace, lo);
    if (!list.ok()) return false;
    for (const auto& p : list->items) {
      if (kube::name_of(p) == name_) existing_.insert(kube::uid_of(p));
    }
    resource_version_ = list->resource_version;
    thread_ = std::thread([this, selector = lo.label_selector] { run(selector); });
    return true;
  }
  void stop() {
    stop_ = true;
    {
      std::lock_guard lock(mu_);
      if (stream_) stream_->cancel();
    }
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> created() const {
    std::lock_guard lock(mu_);
    return created_;
  }
  std::string error() const {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  void run(const std::string& selector) {
    while (!stop_) {
      kube::WatchOptions wo;
      wo.label_selector = selector;
      wo.resource_version = resource_version_;
      auto opened = client_->watch(kube::resources::pods(), kNamespace, wo);
      if (!opened.ok()) {
        if (opened.is(ErrorKind::Gone)) {  // events were lost: the count would lie
          std::lock_guard lock(mu_);
          error_ = opened.error().describe();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // resumes from the same point
        continue;
      }
      {
        std::lock_guard lock(mu_);
        stream_ = std::move(*opened);
      }
      if (stop_) return;
      for (;;) {
        auto next = stream_->next();
        if (!next.ok()) {
          if (next.is(ErrorKind::Gone)) {
            std::lock_guard lock(mu_);
            error_ = next.error().describe();
            return;
          }
          break;  // resumes from the last resourceVersion seen
        }
        if (!next->has_value()) break;  // the server ended the watch: resume
        const auto& event = **next;
        const std::string rv = kube::resource_version_of(event.object);
        if (!rv.empty()) resource_version_ = rv;
        if (event.type != kube::WatchEvent::Type::Added || kube::name_of(event.object) != name_) continue;
        std::lock_guard lock(mu_);
        const std::string uid = kube::uid_of(event.object);
        if (!existing_.count(uid) && std::find(created_.begin(), created_.end(), uid) == created_.end()) {
          created_.push_back(uid);
        }
      }
    }
  }

  std::unique_ptr<kube::RestKubeClient> client_;
  std::string name_;
  std::string resource_version_;
  std::set<std::string> existing_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::unique_ptr<kube::WatchStream> stream_;
  std::vector<std::string> created_;
  std::string error_;
  std::thread thread_;
};

class FabricE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cp = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp);
    cp->install_crds(/*with_calico=*/true);
  }

  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    kube::RestClientOptions options;
    options.max_attempts = 2;  // a stopped kube-apiserver must not stall the harness in long retries
    client_ = cp_->admin_client(options);
    ASSERT_TRUE(client_);
    RemoveLeftovers();
    // Short: BIRD's control socket path must fit a sockaddr_un.
    dir_ = "/tmp/rr-e2e/" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::optional<NetworkMode> mode = Mode();
    ASSERT_TRUE(mode) << "RR_E2E_NETWORK must be auto, netns or loopback";
    std::string why;
    auto network = FabricNetwork::create(*mode, &why);
    ASSERT_TRUE(network) << "the fabric's network cannot be made: " << why;
    std::cout << "network: " << network->describe() << "\n";
    h_ = std::make_unique<FabricHarness>(dir_, *client_, cp_->kubeconfig(), RR_AGENT_BIN, std::move(network),
                                         Options());
    ASSERT_TRUE(h_->create_nodes());
    h_->start_operator(RR_OPERATOR_BIN, {"--log-level", "debug"});
    auto created = client_->create(kFabrics, "", Manifest());
    ASSERT_TRUE(created.ok()) << created.error().describe();
    h_->start_ticking();
  }

  void TearDown() override {
    if (h_) {
      if (HasFailure()) std::cout << "logs: " << dir_ << "\n";
      (void)client_->remove(kFabrics, "", kFabric, {});
      eventually([&] { return client_->get(kFabrics, "", kFabric).is(ErrorKind::NotFound); }, std::chrono::seconds(30));
      h_->shutdown();
      h_.reset();
    }
    RemoveLeftovers();
  }

  virtual std::optional<NetworkMode> Mode() const { return network_mode_from_environment(); }
  virtual FabricOptions Options() const { return {}; }
  virtual Json Manifest() const { return h_->fabric_manifest(lease_seconds_); }

  // Whatever an earlier (failed) test left: the fabric, nodes, reflector Pods, Leases, BGPPeers, mesh setting.
  void RemoveLeftovers() {
    if (client_->get(kFabrics, "", kFabric).ok()) {
      (void)client_->patch(kFabrics, "", kFabric, kube::PatchType::Merge, Json{{"metadata", {{"finalizers", nullptr}}}}, {});
      (void)client_->remove(kFabrics, "", kFabric, {});
    }
    kube::ListOptions demo;
    demo.label_selector = kDemoLabel + "=true";
    if (auto nodes = client_->list(kube::resources::nodes(), "", demo); nodes.ok()) {
      for (const auto& n : nodes->items) (void)client_->remove(kube::resources::nodes(), "", kube::name_of(n), {});
    }
    kube::DeleteOptions now;
    now.grace_period_seconds = 0;
    if (auto pods = client_->list(kube::resources::pods(), kNamespace, {}); pods.ok()) {
      for (const auto& p : pods->items) (void)client_->remove(kube::resources::pods(), kNamespace, kube::name_of(p), now);
    }
    if (auto leases = client_->list(kube::resources::leases(), kNamespace, {}); leases.ok()) {
      for (const auto& l : leases->items) (void)client_->remove(kube::resources::leases(), kNamespace, kube::name_of(l), {});
    }
    if (auto peers = client_->list(kPeers, "", {}); peers.ok()) {
      for (const auto& p : peers->items) (void)client_->remove(kPeers, "", kube::name_of(p), {});
    }
    (void)client_->remove(kBgpConfigs, "", "default", {});
    // Nodes go at once (no finalizers); wait so that the next create does not collide.
    eventually([&] {
      auto nodes = client_->list(kube::resources::nodes(), "", demo);
      return nodes.ok() && nodes->items.empty();
    }, std::chrono::seconds(10));
  }

  std::vector<Json> Pods() {
    kube::ListOptions lo;
    lo.label_selector = "rr.bgp.dev/cluster=" + kFabric;
    auto r = client_->list(kube::resources::pods(), kNamespace, lo);
    std::vector<Json> out;
    if (!r.ok()) return out;
    for (auto& p : r->items) {
      if (!p["metadata"].contains("deletionTimestamp")) out.push_back(p);
    }
    return out;
  }

  std::vector<Json> Peers() {
    kube::ListOptions lo;
    lo.label_selector = "rr.bgp.dev/cluster=" + kFabric;
    auto r = client_->list(kPeers, "", lo);
    return r.ok() ? r->items : std::vector<Json>{};
  }

  // "" when every stand-in holds every other rack's pod CIDR, else what is missing.
  std::string MissingRoutes() {
    std::string missing;
    auto nodes = h_->client_nodes();
    for (const auto& n : nodes) {
      for (const auto& other : nodes) {
        if (other.rack == n.rack) continue;
        if (!h_->route(n.name, other.cidr)) missing += n.name + " lacks " + other.cidr + "; ";
      }
    }
    return missing;
  }

  bool Converged() {
    Json f = h_->fabric();
    return FabricHarness::condition(f, "Ready") == "True" &&
           f.value("status", Json::object()).value("reflectors", "") == "6/6" && MissingRoutes().empty();
  }

  std::string Diagnostics() {
    Json f = h_->fabric();
    return "Ready=" + FabricHarness::condition(f, "Ready") + " status=" + f.value("status", Json::object()).dump() +
           "\nmissing routes: " + MissingRoutes() + "\nrr-operator log tail:\n" +
           tail(rr::testing::run_command("cat " + dir_ + "/rr-operator*.log"));
  }

  void WaitConverged(std::chrono::seconds limit = std::chrono::seconds(120)) {
    auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually([&] { return Converged(); }, limit, std::chrono::milliseconds(500))) << Diagnostics();
    std::cout << "fabric converged in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
              << " ms\n";
  }

  // Ready, 6 reflectors in 3 racks, one BGPPeer each, every client node holding every
  // other rack's pod CIDR through two cluster IDs, Calico's full mesh off.
  void ExpectWholeFabric() {
    Json status = h_->fabric()["status"];
    EXPECT_EQ(status.value("reflectors", ""), "6/6");
    EXPECT_EQ(status.value("rackCount", 0), 3);
    EXPECT_EQ(Pods().size(), 6u);
    auto peers = Peers();
    EXPECT_EQ(peers.size(), 6u);
    std::set<std::string> addresses;
    const int port = h_->network().bgp_port();
    for (const auto& p : peers) {
      const std::string peer_ip = p["spec"].value("peerIP", "");
      addresses.insert(peer_ip);
      // Calico's form: a bare address means port 179, anything else is "IP:port".
      EXPECT_EQ(peer_ip.find(':') != std::string::npos, port != 179) << peer_ip << " for BGP on port " << port;
    }
    EXPECT_EQ(addresses.size(), 6u) << "one BGPPeer per reflector";
    // Every client node holds every other rack's pod CIDR, reflected through two clusters.
    for (const auto& n : h_->client_nodes()) {
      for (const auto& other : h_->client_nodes()) {
        if (other.rack == n.rack) continue;
        auto route = h_->route(n.name, other.cidr);
        ASSERT_TRUE(route) << n.name << " lacks " << other.cidr;
        EXPECT_EQ(route->next_hop, other.ip) << n.name << " " << other.cidr;
        EXPECT_EQ(route->cluster_list.size(), 2u) << n.name << " " << other.cidr;
        if (h_->network().mode() == NetworkMode::Namespaces) {
          EXPECT_TRUE(route->reachable) << n.name << " " << other.cidr << ": the next hop resolves over eth0";
        }
      }
    }
    auto mesh = client_->get(kBgpConfigs, "", "default");
    ASSERT_TRUE(mesh.ok());
    EXPECT_FALSE((*mesh)["spec"].value("nodeToNodeMeshEnabled", true)) << "Calico's full mesh is off";
  }

  int lease_seconds_ = 10;
  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::string dir_;
  std::unique_ptr<FabricHarness> h_;
};

// The fabric as an unprivileged user gets it: every node a 127.0.N.x address on the
// host's lo, BGP on port 1179.
class FabricE2ELoopback : public FabricE2E {
 protected:
  std::optional<NetworkMode> Mode() const override { return NetworkMode::Loopback; }
};

TEST_F(FabricE2ELoopback, ConvergesOnLoopbackAddresses) {
  ASSERT_EQ(h_->network().bgp_port(), 1179);
  ASSERT_NO_FATAL_FAILURE(WaitConverged());
  ExpectWholeFabric();
}

// A dual-stack fabric: every node also has an IPv6 address (its Node's second InternalIP,
// no Calico IPv6Address annotation) and an IPv6 pod CIDR, and spec.bgp.ipv6 is on. IPv6
// needs distinct addresses on one link, so this runs in network namespaces only: without
// root it fails, it does not skip.
class FabricE2EDualStack : public FabricE2E {
 protected:
  std::optional<NetworkMode> Mode() const override { return NetworkMode::Namespaces; }
  FabricOptions Options() const override {
    FabricOptions options;
    options.dual_stack = true;
    return options;
  }
  Json Manifest() const override {
    Json manifest = FabricE2E::Manifest();
    manifest["spec"]["bgp"]["ipv6"] = true;
    return manifest;
  }

  std::optional<FabricNode> NodeNamed(const std::string& name) const {
    for (const auto& n : h_->nodes()) {
      if (n.name == name) return n;
    }
    return std::nullopt;
  }

  // "" when every reflector Pod carries RR_HOST_IPV6 as a literal value equal to its host's
  // IPv6 address, else what differs.
  std::string HostIpv6Problems() {
    std::string problems;
    auto pods = Pods();
    if (pods.size() != 6) problems += std::to_string(pods.size()) + " reflector Pods, not 6; ";
    for (const auto& p : pods) {
      std::string node = p["spec"].value("nodeName", "");
      if (node.empty()) node = rr::testing::pod_affinity_node(p);
      auto host = NodeNamed(node);
      const std::string want = host ? host->ipv6 : "(no such node)";
      const std::string got = rr::testing::pod_env_value(p, "RR_HOST_IPV6");  // literal values only
      if (got != want) {
        problems += kube::name_of(p) + " on " + node + ": RR_HOST_IPV6 \"" + got + "\", want \"" + want + "\"; ";
      }
    }
    return problems;
  }

  // The reflectors the fabric's status calls Ready: pod -> node.
  std::map<std::string, std::string> ReadyReflectors() {
    std::map<std::string, std::string> out;
    for (const auto& rack : h_->fabric().value("status", Json::object()).value("racks", Json::array())) {
      for (const auto& r : rack.value("reflectors", Json::array())) {
        if (r.value("state", "") == "Ready") out[r.value("pod", "")] = r.value("node", "");
      }
    }
    return out;
  }

  static bool IsV6PeerName(const std::string& name) {
    return name.size() > 3 && name.compare(name.size() - 3, 3, "-v6") == 0;
  }

  // "" when each of the 6 Ready reflectors has, beside its IPv4 BGPPeer <pod>, a BGPPeer
  // <pod>-v6 whose peerIP is its host's IPv6 address (port 179: bare), with the same
  // nodeSelector and AS, and there are no other -v6 BGPPeers.
  std::string V6PeerProblems() {
    std::map<std::string, Json> peers;
    for (auto& p : Peers()) peers[kube::name_of(p)] = p;
    const auto ready = ReadyReflectors();
    std::string problems;
    if (ready.size() != 6) problems += std::to_string(ready.size()) + " Ready reflectors, not 6; ";
    int v6_peers = 0;
    for (const auto& [name, peer] : peers) v6_peers += IsV6PeerName(name);
    if (v6_peers != static_cast<int>(ready.size())) {
      problems += std::to_string(v6_peers) + " -v6 BGPPeers for " + std::to_string(ready.size()) + " Ready reflectors; ";
    }
    for (const auto& [pod, node] : ready) {
      auto host = NodeNamed(node);
      auto v4 = peers.find(pod);
      auto v6 = peers.find(pod + "-v6");
      if (!host) {
        problems += pod + ": host " + node + " is not a fabric node; ";
      } else if (v4 == peers.end() || v6 == peers.end()) {
        problems += pod + ": BGPPeers " + (v4 == peers.end() ? "" : pod + " ") + (v6 == peers.end() ? "" : pod + "-v6 ") +
                    "only; ";
      } else {
        const Json& s4 = v4->second["spec"];
        const Json& s6 = v6->second["spec"];
        if (s6.value("peerIP", "") != host->ipv6) {
          problems += pod + "-v6: peerIP " + s6.value("peerIP", "") + ", want " + host->ipv6 + "; ";
        }
        if (s6.value("nodeSelector", "") != s4.value("nodeSelector", "")) {
          problems += pod + "-v6: nodeSelector \"" + s6.value("nodeSelector", "") + "\", IPv4 peer's \"" +
                      s4.value("nodeSelector", "") + "\"; ";
        }
        if (s6.value("asNumber", 0u) != s4.value("asNumber", 0u)) problems += pod + "-v6: another asNumber; ";
      }
    }
    return problems;
  }

  // "" when every client node holds every other client node's IPv6 pod CIDR (its rack's and
  // the other racks'), else what is missing.
  std::string MissingV6Routes() {
    std::string missing;
    const auto nodes = h_->client_nodes();
    for (const auto& n : nodes) {
      for (const auto& other : nodes) {
        if (other.name != n.name && !h_->route(n.name, other.cidr_v6)) missing += n.name + " lacks " + other.cidr_v6 + "; ";
      }
    }
    return missing;
  }

  // The other client nodes' IPv6 pod CIDRs that client nodes still hold ("" when none).
  std::string HeldV6Routes() {
    std::string held;
    const auto nodes = h_->client_nodes();
    for (const auto& n : nodes) {
      for (const auto& other : nodes) {
        if (other.name != n.name && h_->route(n.name, other.cidr_v6)) held += n.name + " holds " + other.cidr_v6 + "; ";
      }
    }
    return held;
  }

  std::string V6Diagnostics() {
    std::string out = "BGPPeers:";
    for (const auto& p : Peers()) out += " " + kube::name_of(p) + "=" + p["spec"].value("peerIP", "");
    auto clients = h_->client_nodes();
    if (!clients.empty()) {
      const std::string& node = clients.front().name;
      out += "\n" + node + ":\n" + h_->stand_in_birdc(node, "show protocols") + h_->stand_in_birdc(node, "show route");
    }
    return out + "\n" + Diagnostics();
  }
};

// Issue G.10, bgp.ipv6 end to end: the operator gives each reflector its host's IPv6
// address and writes a second BGPPeer per reflector for it; every node's IPv6 pod CIDR
// reaches every other node over IPv6 sessions, with the originating node's IPv6 address as
// next hop, within a rack through its reflectors and across racks through the reflectors'
// IPv6 mesh. Turned off, the -v6 BGPPeers and the IPv6 routes go and the IPv4 routes stay.
TEST_F(FabricE2EDualStack, Ipv6PodCidrsReflectOverIpv6AndIpv6OffWithdrawsOnlyThem) {
  ASSERT_TRUE(h_->add_node(1, 4)) << "a second client node in rack 1, for reflection within a rack";
  ASSERT_NO_FATAL_FAILURE(WaitConverged());

  ASSERT_TRUE(eventually([&] { return HostIpv6Problems().empty(); }, std::chrono::seconds(30),
                         std::chrono::milliseconds(500)))
      << HostIpv6Problems();
  ASSERT_TRUE(eventually([&] { return V6PeerProblems().empty(); }, std::chrono::seconds(30),
                         std::chrono::milliseconds(500)))
      << V6PeerProblems() << "\n" << V6Diagnostics();
  ASSERT_TRUE(eventually([&] { return MissingV6Routes().empty(); }, std::chrono::seconds(60),
                         std::chrono::milliseconds(500)))
      << MissingV6Routes() << "\n" << V6Diagnostics();

  const auto clients = h_->client_nodes();
  ASSERT_EQ(clients.size(), 4u);
  for (const auto& n : clients) {
    for (const auto& other : clients) {
      if (other.name == n.name) continue;
      SCOPED_TRACE(n.name + " learning " + other.cidr_v6 + " of " + other.name);
      auto route = h_->route(n.name, other.cidr_v6);
      ASSERT_TRUE(route);
      // A multihop IPv6 session carries the global next hop only.
      EXPECT_EQ(route->next_hop, other.ipv6) << "the originating node's IPv6 address";
      EXPECT_TRUE(route->reachable) << "the IPv6 next hop resolves over eth0";
      EXPECT_EQ(route->originator_id, other.ip) << "originated by that node (its router ID)";
      // Within a rack one cluster (its reflectors); across racks two: the IPv6 mesh carried it.
      EXPECT_EQ(route->cluster_list.size(), other.rack == n.rack ? 1u : 2u);
    }
  }
  std::cout << "dual stack: " << clients.size() << " nodes hold each other's IPv6 pod CIDRs over IPv6\n";

  // Turning IPv6 off rolls the reflector Pods (RR_HOST_IPV6 leaves their spec). What a roll
  // does to routes is not this test's subject: the watch only reports it.
  RouteWatch watch(*h_);
  auto off = client_->patch(kFabrics, "", kFabric, kube::PatchType::Merge,
                            Json{{"spec", {{"bgp", {{"ipv6", false}}}}}}, {});
  ASSERT_TRUE(off.ok()) << off.error().describe();
  const auto off_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] {
    auto peers = Peers();
    return std::none_of(peers.begin(), peers.end(), [](const Json& p) { return IsV6PeerName(kube::name_of(p)); });
  }, std::chrono::seconds(30), std::chrono::milliseconds(500)))
      << "the -v6 BGPPeers stay\n" << V6Diagnostics();
  ASSERT_TRUE(eventually([&] { return HeldV6Routes().empty(); }, std::chrono::seconds(60),
                         std::chrono::milliseconds(500)))
      << "IPv6 routes not withdrawn: " << HeldV6Routes() << "\n" << V6Diagnostics();
  std::cout << "IPv6 off: BGPPeers and routes gone after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - off_at).count()
            << " ms\n";
  ASSERT_NO_FATAL_FAILURE(WaitConverged());
  watch.stop();
  const auto losses = watch.losses();
  std::cout << "while the reflector Pods rolled: " << losses.size() << " IPv4 route losses in " << watch.polls()
            << " polls" << (losses.empty() ? "" : ", first: " + losses.front()) << "\n";
  EXPECT_EQ(HeldV6Routes(), "") << "IPv6 routes came back";
  EXPECT_TRUE(h_->route(node_name(1, 3), pod_cidr(1, 4))) << "IPv4 within rack 1";
  EXPECT_TRUE(h_->route(node_name(1, 4), pod_cidr(1, 3))) << "IPv4 within rack 1";
  ExpectWholeFabric();
}

// An agent that stops renewing while its process lives (SIGSTOP: wedged, or cut off
// from the API) is not restarted by any kubelet: the operator must replace its Pod. The
// replacement has the same name on the same host and must not be judged by the frozen
// agent's lapsed Lease: exactly one new Pod, Ready, and still the same Pod lease periods later.
TEST_F(FabricE2E, FrozenReflectorIsReplacedExactlyOnceAndTheReplacementStays) {
  ASSERT_NO_FATAL_FAILURE(WaitConverged());
  Json victim;
  for (const auto& p : Pods()) {
    if (kube::labels_of(p)["rr.bgp.dev/rack"] == rack_name(2)) victim = p;
  }
  ASSERT_FALSE(victim.is_null()) << "no reflector Pod in " << rack_name(2);
  const std::string name = kube::name_of(victim), frozen_uid = kube::uid_of(victim);
  auto lease = client_->get(kube::resources::leases(), kNamespace, name);
  ASSERT_TRUE(lease.ok()) << "the reflector's Lease is named after its Pod";
  EXPECT_EQ((*lease)["spec"].value("holderIdentity", ""), frozen_uid) << "the agent holds its Lease under its Pod's UID";

  PodCreations creations(cp_->admin_client(), name);
  ASSERT_TRUE(creations.start());
  ASSERT_TRUE(h_->freeze_reflector(name));
  const auto frozen_at = std::chrono::steady_clock::now();

  // Replaced (another UID under the same name) and the whole fabric Ready again.
  std::string replacement;
  ASSERT_TRUE(eventually([&] {
    for (const auto& p : Pods()) {
      if (kube::name_of(p) == name && kube::uid_of(p) != frozen_uid) replacement = kube::uid_of(p);
    }
    return !replacement.empty() && Converged();
  }, std::chrono::seconds(120), std::chrono::milliseconds(500)))
      << "created under " << name << ": " << ::testing::PrintToString(creations.created()) << "\n" << Diagnostics();
  std::cout << "replaced and Ready again after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - frozen_at).count()
            << " ms (lease " << lease_seconds_ << " s)\n";
  EXPECT_EQ(h_->frozen_agents(), 0) << "the frozen agent outlived its Pod";
  std::cout << creations.created().size() << " Pods created under " << name << " until then\n";

  // The replacement stays: three lease durations of renewals of its Lease (each one seen as a
  // new renewTime), and it is still the same Pod.
  std::set<std::string> renewals;
  const int wanted = 3 * 3 + 1;  // the agent renews every duration / 3
  ASSERT_TRUE(eventually([&] {
    auto l = client_->get(kube::resources::leases(), kNamespace, name);
    if (l.ok()) renewals.insert((*l)["spec"].value("renewTime", ""));
    return static_cast<int>(renewals.size()) >= wanted;
  }, std::chrono::seconds(120), std::chrono::milliseconds(200)))
      << renewals.size() << " renewals of " << name << "\n" << Diagnostics();
  auto held = client_->get(kube::resources::leases(), kNamespace, name);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ((*held)["spec"].value("holderIdentity", ""), replacement) << "the replacement holds the Lease under its UID";
  bool still = false;
  for (const auto& p : Pods()) still = still || (kube::name_of(p) == name && kube::uid_of(p) == replacement);
  EXPECT_TRUE(still) << "the replacement " << replacement << " was replaced in turn";
  EXPECT_TRUE(Converged()) << Diagnostics();
  creations.stop();
  EXPECT_EQ(creations.error(), "") << "the creation count may have missed events";
  EXPECT_EQ(creations.created(), std::vector<std::string>{replacement})
      << "Pods created under " << name << " after the freeze (churn)";
}

TEST_F(FabricE2E, JoiningNodeGetsRoutesWithoutBgpPeerWrites) {
  ASSERT_NO_FATAL_FAILURE(WaitConverged());
  ExpectWholeFabric();
  std::map<std::string, std::string> versions;
  for (const auto& p : Peers()) versions[kube::name_of(p)] = kube::resource_version_of(p);
  ASSERT_EQ(versions.size(), 6u);

  ASSERT_TRUE(h_->add_node(1, 4));
  const std::string joined = node_name(1, 4);
  ASSERT_TRUE(eventually([&] { return h_->has_stand_in(joined) && MissingRoutes().empty(); }, std::chrono::seconds(60)))
      << Diagnostics();
  // Its own pod CIDR reaches the other racks too.
  for (const auto& n : h_->client_nodes()) {
    if (n.rack != 1) {
      EXPECT_TRUE(h_->route(n.name, pod_cidr(1, 4))) << n.name << " lacks " << pod_cidr(1, 4);
    }
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto peers = Peers();
  EXPECT_EQ(peers.size(), versions.size());
  for (const auto& p : peers) {
    EXPECT_EQ(versions[kube::name_of(p)], kube::resource_version_of(p)) << "BGPPeer " << kube::name_of(p) << " was written";
  }
}

// A running fabric goes from the flat mesh to a top tier per zone (racks 1 and 2 in z1, rack 3 in
// z2, two top-tier hosts per zone) and back, the operator placing and removing the top tier, the
// agents moving their sessions, every node's routes polled throughout.
class FabricE2ETiers : public FabricE2E {
 protected:
  FabricOptions Options() const override {
    FabricOptions o;
    o.zones = true;
    return o;
  }

  std::vector<Json> TopTierPods() {
    std::vector<Json> out;
    for (const auto& p : Pods()) {
      if (kube::labels_of(p)["rr.bgp.dev/tier"] == "top") out.push_back(p);
    }
    return out;
  }
  // Each rack reflector's Lease reports `sessions` configured and Established: 6 in the flat mesh
  // (its rack's Calico node, its rack-mate, 4 reflectors of the other racks), 4 tiered (the node,
  // the rack-mate, its zone's 2 top-tier reflectors).
  bool RackLeasesAt(int sessions) {
    auto leases = client_->list(kube::resources::leases(), kNamespace, {});
    if (!leases.ok()) return false;
    int racks = 0;
    for (const auto& l : leases->items) {
      auto a = kube::annotations_of(l);
      if (a["rr.bgp.dev/tier"] == "top" || a.count("rr.bgp.dev/rack") == 0) continue;
      ++racks;
      if (a["rr.bgp.dev/sessions-total"] != std::to_string(sessions) ||
          a["rr.bgp.dev/sessions-established"] != std::to_string(sessions)) {
        return false;
      }
    }
    return racks == 6;
  }
  // Every client node's route to another rack's pod CIDR carries `zones_crossed` + 2 cluster IDs
  // across zones and 3 within z1 when tiered (`tiered`), else 2.
  std::string RouteShapes(bool tiered) {
    std::string wrong;
    for (const auto& n : h_->client_nodes()) {
      for (const auto& other : h_->client_nodes()) {
        if (other.rack == n.rack) continue;
        auto route = h_->route(n.name, other.cidr);
        const bool same_zone = (n.rack <= 2) == (other.rack <= 2);
        const std::size_t want = !tiered ? 2 : same_zone ? 3 : 4;
        if (!route || route->cluster_list.size() != want) {
          wrong += n.name + " " + other.cidr + ": " +
                   (route ? std::to_string(route->cluster_list.size()) + " cluster IDs" : "no route") + "; ";
        }
      }
    }
    return wrong;
  }
  bool Ready(const std::string& reflectors) {
    Json f = h_->fabric();
    return FabricHarness::condition(f, "Ready") == "True" &&
           f.value("status", Json::object()).value("reflectors", "") == reflectors;
  }
};

TEST_F(FabricE2ETiers, FlatToTieredAndBackLosesNoRoute) {
  ASSERT_NO_FATAL_FAILURE(WaitConverged());
  for (int zone = 1; zone <= 2; ++zone) {
    for (int n = 1; n <= 2; ++n) ASSERT_TRUE(h_->add_top_tier_host(zone, n));
  }
  RouteWatch watch(*h_);

  auto patched = client_->patch(kFabrics, "", kFabric, kube::PatchType::Merge,
                                Json{{"spec", {{"topTier", {{"zoneLabel", kZoneLabel}}}}}}, {});
  ASSERT_TRUE(patched.ok()) << patched.error().describe();
  ASSERT_TRUE(eventually([&] { return Ready("10/10") && RackLeasesAt(4) && RouteShapes(true).empty(); },
                         std::chrono::seconds(180), std::chrono::milliseconds(500)))
      << "route shapes: " << RouteShapes(true) << "\n" << Diagnostics();
  auto tops = TopTierPods();
  ASSERT_EQ(tops.size(), 4u);
  for (const auto& p : tops) {
    const std::string node = p["spec"].value("nodeName", "");
    EXPECT_EQ(node.rfind("top-z", 0), 0u) << "a top-tier reflector on " << node;
  }
  Json status = h_->fabric()["status"];
  ASSERT_EQ(status.value("topTier", Json::array()).size(), 2u) << status.dump();
  EXPECT_EQ(Peers().size(), 6u) << "a BGPPeer for each rack reflector, none for the top tier";
  EXPECT_EQ(Pods().size(), 10u);
  const int tiered_at = watch.polls();

  patched = client_->patch(kFabrics, "", kFabric, kube::PatchType::Merge, Json{{"spec", {{"topTier", nullptr}}}}, {});
  ASSERT_TRUE(patched.ok()) << patched.error().describe();
  ASSERT_TRUE(eventually([&] { return TopTierPods().empty() && Ready("6/6") && RackLeasesAt(6) &&
                                      RouteShapes(false).empty(); },
                         std::chrono::seconds(180), std::chrono::milliseconds(500)))
      << "route shapes: " << RouteShapes(false) << "\n" << Diagnostics();
  const int flat_at = watch.polls();
  ASSERT_TRUE(eventually([&] { return watch.polls() >= flat_at + 2; }, std::chrono::seconds(60)));
  watch.stop();
  EXPECT_GE(tiered_at, 1);
  EXPECT_GE(flat_at - tiered_at, 1) << "no poll while the top tier went";
  auto losses = watch.losses();
  EXPECT_TRUE(losses.empty()) << losses.size() << " losses in " << watch.polls() << " polls, first: " << losses.front();
  ExpectWholeFabric();
}

}  // namespace
