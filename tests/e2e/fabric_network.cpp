#include "fabric_network.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace rr::e2e {
namespace {

using rr::testing::CommandResult;
using rr::testing::NetworkNamespace;
using rr::testing::run_argv;

constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kBird = "/usr/sbin/bird";
constexpr const char* kBridge = "br0";
constexpr const char* kNodeInterface = "eth0";

// Runs each command in turn; on the first failure, *error says `what` failed and why.
bool run_each(const std::vector<std::vector<std::string>>& commands, const std::string& what, std::string* error) {
  for (const auto& argv : commands) {
    CommandResult r = run_argv(argv);
    if (!r.ok()) {
      if (error) *error = what + " failed: " + r.output;
      return false;
    }
  }
  return true;
}

class LoopbackNetwork final : public FabricNetwork {
 public:
  NetworkMode mode() const override { return NetworkMode::Loopback; }
  std::string describe() const override {
    return "loopback: each node is a 127.0.R.x address on this host's lo, BGP on port 1179";
  }
  int bgp_port() const override { return 1179; }
  std::string node_ip(int rack, int n) const override {
    return "127.0." + std::to_string(rack) + "." + std::to_string(10 + n);
  }
  bool supports_ipv6() const override { return false; }
  std::string node_ipv6(int, int) const override { return ""; }
  bool add_node(const std::string&, int, int, std::string*) override { return true; }
  std::vector<std::string> launcher(const std::string&) const override { return {}; }
  std::string bird_binary(const std::string&, const std::string&) const override { return kBird; }
  std::string interface() const override { return ""; }
  std::string namespace_of(const std::string&) const override { return ""; }
};

class NamespaceNetwork final : public FabricNetwork {
 public:
  explicit NamespaceNetwork(std::unique_ptr<NetworkNamespace> hub) : hub_(std::move(hub)) {}
  ~NamespaceNetwork() override {
    nodes_.clear();  // each takes its eth0 and the bridge port with it
    hub_.reset();
  }

  // The hub namespace and its bridge.
  static std::unique_ptr<FabricNetwork> create(std::string* error) {
    auto hub = NetworkNamespace::create(error);
    if (!hub) return nullptr;
    // No multicast snooping: IPv6 neighbour discovery reaches every port whatever MLD
    // reports the bridge saw or missed while nodes were being wired.
    if (!run_each({{kIp, "-n", hub->name(), "link", "add", kBridge, "type", "bridge", "mcast_snooping", "0"},
                   {kIp, "-n", hub->name(), "link", "set", "dev", kBridge, "up"}},
                  "making the fabric's bridge in " + hub->name(), error)) {
      return nullptr;
    }
    return std::make_unique<NamespaceNetwork>(std::move(hub));
  }

  NetworkMode mode() const override { return NetworkMode::Namespaces; }
  std::string describe() const override {
    return "network namespaces: each node is a namespace with eth0 (10.77.R.x/16, fd77::R:x/64) on a bridge in " +
           hub_->name() + ", BGP on port 179";
  }
  int bgp_port() const override { return 179; }
  std::string node_ip(int rack, int n) const override {
    return "10.77." + std::to_string(rack) + "." + std::to_string(10 + n);
  }
  bool supports_ipv6() const override { return true; }
  // The last group is hex: node 3 of rack 1 is fd77::1:13, as 10.77.1.13.
  std::string node_ipv6(int rack, int n) const override {
    return "fd77::" + std::to_string(rack) + ":" + std::to_string(10 + n);
  }

  bool add_node(const std::string& name, int rack, int n, std::string* error) override {
    auto ns = NetworkNamespace::create(error);
    if (!ns) return false;
    const std::string port = "veth-r" + std::to_string(rack) + "n" + std::to_string(n);  // the bridge's side
    if (!run_each({{kIp, "-n", hub_->name(), "link", "add", port, "type", "veth", "peer", "name", kNodeInterface,
                    "netns", ns->name()},
                   {kIp, "-n", hub_->name(), "link", "set", "dev", port, "master", kBridge, "up"},
                   {kIp, "-n", ns->name(), "addr", "add", node_ip(rack, n) + "/16", "dev", kNodeInterface},
                   // nodad: usable at once (a tentative address cannot be bound), as the IPv4 one.
                   {kIp, "-n", ns->name(), "addr", "add", node_ipv6(rack, n) + "/64", "dev", kNodeInterface, "nodad"},
                   {kIp, "-n", ns->name(), "link", "set", "dev", kNodeInterface, "up"}},
                  "wiring node " + name + " (" + ns->name() + ")", error)) {
      return false;
    }
    nodes_[name] = std::move(ns);
    return true;
  }

  std::vector<std::string> launcher(const std::string& name) const override {
    auto it = nodes_.find(name);
    return it == nodes_.end() ? std::vector<std::string>{} : it->second->wrap({});
  }

  std::string bird_binary(const std::string& name, const std::string& dir) const override {
    auto it = nodes_.find(name);
    if (it == nodes_.end()) return kBird;
    std::filesystem::create_directories(dir);
    const std::string wrapper = dir + "/bird-on-node";
    it->second->write_wrapper(wrapper, kBird);  // `bird -p` and `bird -f` alike run on the node
    return wrapper;
  }

  std::string interface() const override { return kNodeInterface; }
  std::string namespace_of(const std::string& name) const override {
    auto it = nodes_.find(name);
    return it == nodes_.end() ? "" : it->second->name();
  }

 private:
  std::unique_ptr<NetworkNamespace> hub_;
  std::map<std::string, std::unique_ptr<NetworkNamespace>> nodes_;
};

}  // namespace

bool parse_network_mode(const std::string& text, NetworkMode* mode) {
  if (text == "auto") {
    *mode = NetworkMode::Auto;
  } else if (text == "netns") {
    *mode = NetworkMode::Namespaces;
  } else if (text == "loopback") {
    *mode = NetworkMode::Loopback;
  } else {
    return false;
  }
  return true;
}

std::optional<NetworkMode> network_mode_from_environment() {
  NetworkMode mode = NetworkMode::Auto;
  const char* env = std::getenv("RR_E2E_NETWORK");
  if (env && !parse_network_mode(env, &mode)) return std::nullopt;
  return mode;
}

std::unique_ptr<FabricNetwork> FabricNetwork::create(NetworkMode mode, std::string* error) {
  if (mode == NetworkMode::Auto) mode = ::geteuid() == 0 ? NetworkMode::Namespaces : NetworkMode::Loopback;
  if (mode == NetworkMode::Loopback) return std::make_unique<LoopbackNetwork>();
  return NamespaceNetwork::create(error);
}

}  // namespace rr::e2e
