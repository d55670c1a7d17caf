#include "confd/calico_objects.h"

#include <arpa/inet.h>

#include <cmath>
#include <cstdlib>

namespace rr::calico {
namespace {

using kube::Json;

kube::Error invalid(const std::string& object, const std::string& field, const std::string& what) {
  return kube::make_error(kube::ErrorKind::Invalid, object + ": " + field + ": " + what);
}

const Json* find(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

kube::Result<std::string> string_field(const Json& spec, const char* key, const std::string& object) {
  const Json* v = find(spec, key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return invalid(object, std::string("spec.") + key, "not a string");
  return v->get<std::string>();
}

kube::Result<std::optional<std::uint32_t>> as_field(const Json& spec, const char* key, const std::string& object) {
  const Json* v = find(spec, key);
  if (v == nullptr) return std::optional<std::uint32_t>();
  if (!v->is_number_integer() || v->get<std::int64_t>() < 1 || v->get<std::int64_t>() > 4294967295LL) {
    return invalid(object, std::string("spec.") + key, "not an AS number (1..4294967295)");
  }
  return std::optional<std::uint32_t>(static_cast<std::uint32_t>(v->get<std::int64_t>()));
}

kube::Result<std::optional<SecretKeyRef>> secret_ref_field(const Json& spec, const char* key,
                                                           const std::string& object) {
  const Json* v = find(spec, key);
  if (v == nullptr) return std::optional<SecretKeyRef>();
  const Json* ref = find(*v, "secretKeyRef");
  const std::string field = std::string("spec.") + key + ".secretKeyRef";
  if (ref == nullptr) return invalid(object, field, "missing");
  const Json* name = find(*ref, "name");
  const Json* k = find(*ref, "key");
  if (name == nullptr || !name->is_string() || name->get<std::string>().empty()) {
    return invalid(object, field + ".name", "missing");
  }
  if (k == nullptr || !k->is_string() || k->get<std::string>().empty()) return invalid(object, field + ".key", "missing");
  return std::optional<SecretKeyRef>(SecretKeyRef{name->get<std::string>(), k->get<std::string>()});
}

kube::Result<std::optional<int>> duration_field(const Json& spec, const char* key, const std::string& object) {
  auto text = string_field(spec, key, object);
  if (!text.ok()) return text.error();
  if (text->empty()) return std::optional<int>();
  auto seconds = duration_seconds(*text);
  if (!seconds.ok()) return invalid(object, std::string("spec.") + key, seconds.error().message);
  return std::optional<int>(*seconds);
}

std::string internal_ip(const Json& node) {
  const Json* status = find(node, "status");
  const Json* addresses = status ? find(*status, "addresses") : nullptr;
  if (addresses == nullptr || !addresses->is_array()) return {};
  for (const auto& a : *addresses) {
    if (a.value("type", "") != "InternalIP") continue;
    if (auto ip = ipv4_address(a.value("address", ""))) return *ip;
  }
  return {};
}

}  // namespace

std::optional<std::string> ipv4_address(const std::string& text) {
  const std::string ip = text.substr(0, text.find('/'));
  in_addr parsed{};
  if (ip.empty() || ::inet_pton(AF_INET, ip.c_str(), &parsed) != 1) return std::nullopt;
  return ip;
}

kube::Result<int> duration_seconds(const std::string& text) {
  if (text.empty()) return kube::make_error(kube::ErrorKind::Invalid, "empty duration");
  double total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    char* end = nullptr;
    const double number = std::strtod(text.c_str() + pos, &end);
    const auto used = static_cast<std::size_t>(end - (text.c_str() + pos));
    if (used == 0 || number < 0) return kube::make_error(kube::ErrorKind::Invalid, "\"" + text + "\" is not a duration");
    pos += used;
    std::string unit;
    while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) unit += text[pos++];
    double scale = 0;
    if (unit == "h") scale = 3600;
    else if (unit == "m") scale = 60;
    else if (unit == "s") scale = 1;
    else if (unit == "ms") scale = 0.001;
    else return kube::make_error(kube::ErrorKind::Invalid, "\"" + text + "\" is not a duration (units h, m, s, ms)");
    total += number * scale;
  }
  if (total > 65535) return kube::make_error(kube::ErrorKind::Invalid, "\"" + text + "\" is longer than 65535s");
  return static_cast<int>(std::floor(total));
}

kube::Result<CalicoNode> node_from_json(const Json& node) {
  CalicoNode out;
  out.name = kube::name_of(node);
  const std::string object = "Node " + out.name;
  out.labels = kube::labels_of(node);
  const auto annotations = kube::annotations_of(node);
  if (auto it = annotations.find(kIPv4AddressAnnotation); it != annotations.end() && !it->second.empty()) {
    auto ip = ipv4_address(it->second);
    if (!ip) return invalid(object, std::string("metadata.annotations[") + kIPv4AddressAnnotation + "]",
                            "\"" + it->second + "\" is not an IPv4 address or CIDR");
    out.ipv4 = *ip;
    out.registered = true;
  } else {
    out.ipv4 = internal_ip(node);
  }
  if (auto it = annotations.find(kASNumberAnnotation); it != annotations.end() && !it->second.empty()) {
    char* end = nullptr;
    const unsigned long long as = std::strtoull(it->second.c_str(), &end, 10);
    if (*end != '\0' || as < 1 || as > 4294967295ULL) {
      return invalid(object, std::string("metadata.annotations[") + kASNumberAnnotation + "]",
                     "\"" + it->second + "\" is not an AS number");
    }
    out.as_number = static_cast<std::uint32_t>(as);
  }
  if (auto it = annotations.find(kRRClusterIDAnnotation); it != annotations.end()) out.rr_cluster_id = it->second;
  if (const Json* spec = find(node, "spec")) {
    if (const Json* cidr = find(*spec, "podCIDR"); cidr != nullptr && cidr->is_string()) {
      out.pod_cidr = cidr->get<std::string>();
    }
  }
  return out;
}

kube::Result<BgpPeer> bgp_peer_from_json(const Json& peer) {
  BgpPeer out;
  out.name = kube::name_of(peer);
  const std::string object = "BGPPeer " + out.name;
  const Json* spec = find(peer, "spec");
  if (spec == nullptr) return invalid(object, "spec", "missing");
  auto node = string_field(*spec, "node", object);
  auto node_selector = string_field(*spec, "nodeSelector", object);
  auto peer_selector = string_field(*spec, "peerSelector", object);
  auto peer_ip = string_field(*spec, "peerIP", object);
  auto source = string_field(*spec, "sourceAddress", object);
  auto as = as_field(*spec, "asNumber", object);
  auto password = secret_ref_field(*spec, "password", object);
  auto restart = duration_field(*spec, "maxRestartTime", object);
  for (const kube::Error* e : {node.ok() ? nullptr : &node.error(), node_selector.ok() ? nullptr : &node_selector.error(),
                               peer_selector.ok() ? nullptr : &peer_selector.error(),
                               peer_ip.ok() ? nullptr : &peer_ip.error(), source.ok() ? nullptr : &source.error(),
                               as.ok() ? nullptr : &as.error(), password.ok() ? nullptr : &password.error(),
                               restart.ok() ? nullptr : &restart.error()}) {
    if (e != nullptr) return *e;
  }
  out.node = *node;
  out.node_selector = *node_selector;
  out.peer_selector = *peer_selector;
  out.peer_ip = *peer_ip;
  out.source_address = *source;
  out.password = *password;
  out.max_restart_seconds = *restart;
  if (!out.node.empty() && !out.node_selector.empty()) {
    return invalid(object, "spec.node", "set together with spec.nodeSelector");
  }
  if (!out.source_address.empty() && out.source_address != "UseNodeIP" && out.source_address != "None") {
    return invalid(object, "spec.sourceAddress", "\"" + out.source_address + "\" is neither UseNodeIP nor None");
  }
  if (!out.peer_ip.empty()) {
    if (!as->has_value()) return invalid(object, "spec.asNumber", "missing with spec.peerIP");
    out.as_number = **as;
  }
  return out;
}

kube::Result<BgpConfiguration> bgp_configuration_from_json(const Json& configuration) {
  BgpConfiguration out;
  out.name = kube::name_of(configuration);
  const std::string object = "BGPConfiguration " + out.name;
  const Json* spec = find(configuration, "spec");
  if (spec == nullptr) return out;
  if (const Json* mesh = find(*spec, "nodeToNodeMeshEnabled")) {
    if (!mesh->is_boolean()) return invalid(object, "spec.nodeToNodeMeshEnabled", "not a boolean");
    out.node_to_node_mesh = mesh->get<bool>();
  }
  auto as = as_field(*spec, "asNumber", object);
  if (!as.ok()) return as.error();
  out.as_number = *as;
  if (const Json* port = find(*spec, "listenPort")) {
    if (!port->is_number_integer() || port->get<int>() < 1 || port->get<int>() > 65535) {
      return invalid(object, "spec.listenPort", "not a port (1..65535)");
    }
    out.listen_port = port->get<int>();
  }
  auto bind = string_field(*spec, "bindMode", object);
  if (!bind.ok()) return bind.error();
  if (!bind->empty() && *bind != "None" && *bind != "NodeIP") {
    return invalid(object, "spec.bindMode", "\"" + *bind + "\" is neither None nor NodeIP");
  }
  out.bind_mode = *bind;
  auto password = secret_ref_field(*spec, "nodeMeshPassword", object);
  if (!password.ok()) return password.error();
  out.node_mesh_password = *password;
  auto restart = duration_field(*spec, "nodeMeshMaxRestartTime", object);
  if (!restart.ok()) return restart.error();
  out.node_mesh_max_restart_seconds = *restart;
  return out;
}

}  // namespace rr::calico
