#include "contract/observed.h"

#include <algorithm>

#include "contract/json_fields.h"
#include "contract/validation.h"
#include "contract/well_known.h"

namespace rr::contract {
namespace {

using kube::Json;
using json::annotation_at;

std::string strip_prefix_length(std::string address) {
  auto slash = address.find('/');
  if (slash != std::string::npos) address.resize(slash);
  return address;
}

int int_annotation(const Json& obj, std::string_view key, int fallback, std::int64_t min, std::int64_t max) {
  auto value = json::parse_int(annotation_at(obj, key));
  return value && *value >= min && *value <= max ? static_cast<int>(*value) : fallback;
}

}  // namespace

namespace {
std::optional<NodeInfo> node_info_with(const Json& node, const LabelKeys* label_keys) {
  NodeInfo info;
  info.name = kube::name_of(node);
  if (info.name.empty()) return std::nullopt;
  if (label_keys == nullptr) {
    info.labels = kube::labels_of(node);
  } else if (const Json* labels = json::find_path(node, {"metadata", "labels"}); labels && labels->is_object()) {
    for (const auto& [key, value] : labels->items()) {
      if (value.is_string() && label_keys->count(key)) info.labels.emplace(key, value.get<std::string>());
    }
  }
  info.ready = json::condition_status(node, "Ready") == "True";
  const Json* spec = json::find(node, "spec");
  info.unschedulable = spec != nullptr && json::bool_at(*spec, "unschedulable").value_or(false);
  if (const Json* taints = spec != nullptr ? json::find(*spec, "taints") : nullptr; taints && taints->is_array()) {
    for (const auto& t : *taints) {
      Taint taint{json::string_at(t, "key"), json::string_at(t, "value"), json::string_at(t, "effect")};
      if (!taint.key.empty()) info.taints.push_back(std::move(taint));
    }
  }
  if (const Json* addresses = json::find_path(node, {"status", "addresses"}); addresses && addresses->is_array()) {
    for (const auto& a : *addresses) {
      if (json::string_at(a, "type") != "InternalIP") continue;
      std::string address = json::string_at(a, "address");
      if (address.empty()) continue;
      if (info.internal_ip.empty()) info.internal_ip = address;
      if (info.internal_ipv6.empty() && is_ipv6_address(address)) info.internal_ipv6 = std::move(address);
    }
  }
  info.bgp_ipv4 = strip_prefix_length(annotation_at(node, kCalicoIPv4Annotation));
  info.bgp_ipv6 = strip_prefix_length(annotation_at(node, kCalicoIPv6Annotation));
  return info;
}
}  // namespace

std::optional<NodeInfo> node_info_from(const Json& node) { return node_info_with(node, nullptr); }

std::optional<NodeInfo> node_info_keeping(const Json& node, const LabelKeys& label_keys) {
  return node_info_with(node, &label_keys);
}

std::optional<ReflectorLease> reflector_lease_from(const Json& lease) {
  ReflectorLease out;
  out.name = kube::name_of(lease);
  if (out.name.empty()) return std::nullopt;
  out.rack = annotation_at(lease, kRackAnnotation);
  out.cluster_id = annotation_at(lease, kClusterIdAnnotation);
  out.address = annotation_at(lease, kAddressAnnotation);
  out.address_v6 = annotation_at(lease, kAddressV6Annotation);
  out.port = int_annotation(lease, kPortAnnotation, out.port, 1, 65535);
  out.sessions_established = int_annotation(lease, kSessionsEstablishedAnnotation, 0, 0, 1 << 30);
  out.sessions_total = int_annotation(lease, kSessionsTotalAnnotation, 0, 0, 1 << 30);
  out.config_error = annotation_at(lease, kConfigErrorAnnotation);
  // An unknown tier word is a rack reflector's: it then meshes as every reflector did before tiers.
  out.tier = tier_from_word(annotation_at(lease, kTierAnnotation)).value_or(Tier::Rack);
  out.zone = annotation_at(lease, kZoneAnnotation);
  const std::string upstream = annotation_at(lease, kUpstreamAnnotation);
  for (std::size_t start = 0; start < upstream.size();) {
    std::size_t comma = upstream.find(',', start);
    if (comma == std::string::npos) comma = upstream.size();
    if (comma > start) out.upstream.push_back(upstream.substr(start, comma - start));
    start = comma + 1;
  }
  std::sort(out.upstream.begin(), out.upstream.end());
  out.observed_generation = json::parse_int(annotation_at(lease, kObservedGenerationAnnotation)).value_or(0);
  return out;
}

}  // namespace rr::contract
