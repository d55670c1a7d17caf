#pragma once
// The Calico inputs of calico-node's BIRD config, as values: the Kubernetes
// Node (Calico's KDD mode keeps the BGP spec in annotations), BGPPeers and
// BGPConfigurations (crd.projectcalico.org/v1). Parsing names the bad field.

#include <cstdint>
#include <optional>
#include <string>

#include "confd/selector.h"
#include "kube/object.h"
#include "kube/result.h"

namespace rr::calico {

inline constexpr const char* kIPv4AddressAnnotation = "projectcalico.org/IPv4Address";
inline constexpr const char* kASNumberAnnotation = "projectcalico.org/ASNumber";
inline constexpr const char* kRRClusterIDAnnotation = "projectcalico.org/RouteReflectorClusterID";
inline constexpr const char* kDefaultConfiguration = "default";
inline constexpr std::uint32_t kDefaultASNumber = 64512;

struct SecretKeyRef {
  std::string name;
  std::string key;
  auto operator<=>(const SecretKeyRef&) const = default;
};

struct CalicoNode {
  std::string name;
  Labels labels;
  std::string ipv4;  // BGP address without prefix length; "" = none
  bool registered = false;  // the address came from projectcalico.org/IPv4Address (calico-node wrote it)
  std::optional<std::uint32_t> as_number;
  std::string rr_cluster_id;
  std::string pod_cidr;  // spec.podCIDR
};

struct BgpPeer {
  std::string name;
  std::string node;
  std::string node_selector;
  std::string peer_selector;
  std::string peer_ip;  // as written: IPv4, IPv4:port, [IPv6]:port or IPv6
  std::uint32_t as_number = 0;
  std::optional<SecretKeyRef> password;
  std::string source_address;  // "" or UseNodeIP: the node's address; None: no source address
  std::optional<int> max_restart_seconds;
};

struct BgpConfiguration {
  std::string name;  // "default" (global) or "node.<node name>"
  std::optional<bool> node_to_node_mesh;
  std::optional<std::uint32_t> as_number;
  std::optional<int> listen_port;
  std::string bind_mode;  // "", None or NodeIP
  std::optional<SecretKeyRef> node_mesh_password;
  std::optional<int> node_mesh_max_restart_seconds;
};

kube::Result<CalicoNode> node_from_json(const kube::Json& node);
kube::Result<BgpPeer> bgp_peer_from_json(const kube::Json& peer);
kube::Result<BgpConfiguration> bgp_configuration_from_json(const kube::Json& configuration);

// A Go duration ("120s", "2m", "1h30m", "1m0.5s") in whole seconds, as Calico renders restart times.
kube::Result<int> duration_seconds(const std::string& text);
// "10.0.0.1" from "10.0.0.1/24" or "10.0.0.1"; nullopt when it is not dotted-quad IPv4.
std::optional<std::string> ipv4_address(const std::string& text);

}  // namespace rr::calico
