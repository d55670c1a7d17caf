#include "contract/fabric_spec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "contract/json_fields.h"
#include "contract/quantity.h"
#include "contract/validation.h"
#include "contract/well_known.h"

namespace rr::contract {
namespace {

using kube::Json;
using contract::FabricSpec;

// A string as it appears in JSON, quoted and escaped, for messages.
std::string quote(std::string_view s) { return json::dump(Json(std::string(s))); }

std::string index_path(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }
std::string key_path(const std::string& path, const std::string& key) { return path + "[" + quote(key) + "]"; }

// Reads fields of one object with their paths, collecting every problem
// rather than stopping at the first, so one round trip fixes a spec.
class SpecReader {
 public:
  std::vector<std::string> errors;

  void fail(const std::string& path, const std::string& message) { errors.push_back(path + ": " + message); }

  const Json* object(const Json& parent, std::string_view key, const std::string& path) {
    return typed(parent, key, path, Json::value_t::object, "an object");
  }
  const Json* array(const Json& parent, std::string_view key, const std::string& path, std::size_t max_items) {
    const Json* value = typed(parent, key, path, Json::value_t::array, "an array");
    if (value != nullptr && value->size() > max_items) {
      fail(path, "has " + std::to_string(value->size()) + " items, more than " + std::to_string(max_items));
      return nullptr;
    }
    return value;
  }
  std::optional<std::string> string(const Json& parent, std::string_view key, const std::string& path) {
    const Json* value = typed(parent, key, path, Json::value_t::string, "a string");
    if (value == nullptr) return std::nullopt;
    return value->get<std::string>();
  }
  std::optional<bool> boolean(const Json& parent, std::string_view key, const std::string& path) {
    const Json* value = typed(parent, key, path, Json::value_t::boolean, "a boolean");
    if (value == nullptr) return std::nullopt;
    return value->get<bool>();
  }
  // An integer in [min, max]; integral floats (2.0) are accepted, as JSON does not tell them apart.
  std::optional<std::int64_t> integer(const Json& parent, std::string_view key, const std::string& path,
                                      std::int64_t min, std::int64_t max) {
    const Json* value = json::find(parent, key);
    if (value == nullptr) return std::nullopt;
    std::optional<std::int64_t> number;
    bool too_big = false;
    if (value->is_number_unsigned()) {
      auto u = value->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        too_big = true;
      } else {
        number = static_cast<std::int64_t>(u);
      }
    } else if (value->is_number_integer()) {
      number = value->get<std::int64_t>();
    } else if (value->is_number_float()) {
      double d = value->get<double>();
      if (!std::isfinite(d) || d != std::floor(d)) {
        fail(path, "must be an integer, not " + json::dump(*value));
        return std::nullopt;
      }
      if (d >= 9.2e18 || d <= -9.2e18) {
        too_big = true;
      } else {
        number = static_cast<std::int64_t>(d);
      }
    } else {
      wrong_type(path, "an integer", *value);
      return std::nullopt;
    }
    if (too_big || *number < min || *number > max) {
      fail(path, json::dump(*value) + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
      return std::nullopt;
    }
    return number;
  }
  // A map of label key -> label value (node selectors).
  std::optional<contract::Labels> labels(const Json& parent, std::string_view key, const std::string& path) {
    const Json* map = object(parent, key, path);
    if (map == nullptr) return std::nullopt;
    contract::Labels out;
    for (const auto& [k, v] : map->items()) {
      auto item = key_path(path, k);
      if (!is_label_key(k)) fail(path, quote(k) + " is not a valid label key");
      if (!v.is_string()) {
        wrong_type(item, "a string", v);
        continue;
      }
      const auto& text = v.get_ref<const std::string&>();
      if (!is_label_value(text)) {
        fail(item, quote(text) + " is not a valid label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)");
        continue;
      }
      out.emplace(k, text);
    }
    return out;
  }
  std::optional<contract::SecretKeyRef> secret_ref(const Json& parent, std::string_view key, const std::string& path) {
    const Json* ref = object(parent, key, path);
    if (ref == nullptr) return std::nullopt;
    contract::SecretKeyRef out;
    auto name = string(*ref, "name", path + ".name");
    auto data_key = string(*ref, "key", path + ".key");
    bool ok = true;
    if (!name) {
      if (json::find(*ref, "name") == nullptr) fail(path + ".name", "required");
      ok = false;
    } else if (!is_dns_subdomain(*name)) {
      fail(path + ".name", quote(*name) + " is not a valid Secret name (DNS subdomain)");
      ok = false;
    }
    if (!data_key) {
      if (json::find(*ref, "key") == nullptr) fail(path + ".key", "required");
      ok = false;
    } else if (!is_secret_key(*data_key)) {
      fail(path + ".key", quote(*data_key) + " is not a valid Secret key (1..253 of A-Z a-z 0-9 - _ .)");
      ok = false;
    }
    if (!ok) return std::nullopt;
    out.name = *name;
    out.key = *data_key;
    return out;
  }
  // One of the listed strings.
  std::optional<std::string> one_of(const Json& parent, std::string_view key, const std::string& path,
                                    std::initializer_list<std::string_view> allowed) {
    auto value = string(parent, key, path);
    if (!value) return std::nullopt;
    for (auto a : allowed) {
      if (*value == a) return value;
    }
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + quote(a);
    fail(path, quote(*value) + " is not one of " + list);
    return std::nullopt;
  }

 private:
  void wrong_type(const std::string& path, std::string_view want, const Json& got) {
    fail(path, "must be " + std::string(want) + ", not " + std::string(got.type_name()));
  }
  const Json* typed(const Json& parent, std::string_view key, const std::string& path, Json::value_t type,
                    std::string_view want) {
    const Json* value = json::find(parent, key);
    if (value == nullptr) return nullptr;
    if (value->type() != type) {
      wrong_type(path, want, *value);
      return nullptr;
    }
    return value;
  }
};

void read_metadata(SpecReader& r, const Json& rrc, FabricSpec& spec) {
  const Json* meta = r.object(rrc, "metadata", "metadata");
  if (meta == nullptr) return;
  if (auto name = r.string(*meta, "name", "metadata.name")) {
    if (name->empty() || !is_label_value(*name)) {
      r.fail("metadata.name", quote(*name) + " cannot be the value of label " + std::string(kClusterLabel) +
                                  " (at most 63 characters)");
    }
    spec.name = *name;
  }
  if (auto uid = r.string(*meta, "uid", "metadata.uid")) spec.uid = *uid;
  if (auto generation = r.integer(*meta, "generation", "metadata.generation", 0,
                                  std::numeric_limits<std::int64_t>::max())) {
    spec.generation = *generation;
  }
  if (auto created = r.string(*meta, "creationTimestamp", "metadata.creationTimestamp")) {
    spec.creation_timestamp = *created;
  }
  spec.deleting = json::find(*meta, "deletionTimestamp") != nullptr;
}

void read_resources(SpecReader& r, const Json& reflectors, FabricSpec& spec) {
  const std::string path = "spec.reflectors.resources";
  const Json* resources = r.object(reflectors, "resources", path);
  if (resources == nullptr) return;
  Json kept = Json::object();
  bool ok = true;
  for (const char* list : {"requests", "limits"}) {
    const std::string list_path = path + "." + list;
    const Json* amounts = r.object(*resources, list, list_path);
    if (amounts == nullptr) {
      ok = ok && json::find(*resources, list) == nullptr;
      continue;
    }
    for (const auto& [name, amount] : amounts->items()) {
      auto value = quantity_value(amount);
      if (!amount.is_string() && !amount.is_number_integer()) {
        r.fail(key_path(list_path, name), "must be a quantity string or an integer, not " +
                                              std::string(amount.type_name()));
        ok = false;
      } else if (!value) {
        r.fail(key_path(list_path, name), json::dump(amount) + " is not a quantity (e.g. 100m, 64Mi)");
        ok = false;
      } else if (*value < 0) {
        r.fail(key_path(list_path, name), json::dump(amount) + " must not be negative");
        ok = false;
      }
    }
    kept[list] = *amounts;
  }
  if (ok) spec.resources_json = json::dump(kept);
}

void read_tolerations(SpecReader& r, const Json& reflectors, FabricSpec& spec) {
  const std::string path = "spec.reflectors.tolerations";
  const Json* tolerations = r.array(reflectors, "tolerations", path, 32);
  if (tolerations == nullptr) return;
  for (std::size_t i = 0; i < tolerations->size(); ++i) {
    const Json& item = (*tolerations)[i];
    const std::string at = index_path(path, i);
    if (!item.is_object()) {
      r.fail(at, "must be an object, not " + std::string(item.type_name()));
      continue;
    }
    contract::Toleration t;
    std::size_t before = r.errors.size();
    if (auto key = r.string(item, "key", at + ".key")) {
      if (!key->empty() && !is_label_key(*key)) r.fail(at + ".key", quote(*key) + " is not a valid taint key");
      t.key = *key;
    }
    if (auto op = r.one_of(item, "operator", at + ".operator", {"Equal", "Exists"})) t.op = *op;
    if (auto value = r.string(item, "value", at + ".value")) t.value = *value;
    if (auto effect = r.one_of(item, "effect", at + ".effect", {"", "NoSchedule", "PreferNoSchedule", "NoExecute"})) {
      t.effect = *effect;
    }
    t.toleration_seconds = r.integer(item, "tolerationSeconds", at + ".tolerationSeconds",
                                     std::numeric_limits<std::int64_t>::min(),
                                     std::numeric_limits<std::int64_t>::max());
    if (r.errors.size() != before) continue;
    if (t.key.empty() && t.op != "Exists") {
      r.fail(at + ".operator", "must be \"Exists\" when key is empty (a toleration of every taint)");
    } else if (t.op == "Exists" && !t.value.empty()) {
      r.fail(at + ".value", "must be empty with operator \"Exists\", not " + quote(t.value));
    } else if (t.op == "Equal" && !is_label_value(t.value)) {
      r.fail(at + ".value", quote(t.value) + " is not a valid taint value");
    } else if (t.toleration_seconds && t.effect != "NoExecute") {
      r.fail(at + ".tolerationSeconds", "is only allowed with effect \"NoExecute\"");
    } else {
      spec.tolerations.push_back(std::move(t));
    }
  }
}

void read_reflectors(SpecReader& r, const Json& s, FabricSpec& spec) {
  const Json* reflectors = r.object(s, "reflectors", "spec.reflectors");
  if (reflectors == nullptr) return;
  if (auto per_rack = r.integer(*reflectors, "perRack", "spec.reflectors.perRack", 1, 8)) {
    spec.per_rack = static_cast<int>(*per_rack);
  }
  if (auto selector = r.labels(*reflectors, "nodeSelector", "spec.reflectors.nodeSelector")) {
    spec.reflector_node_selector = std::move(*selector);
  }
  if (auto placement = r.one_of(*reflectors, "placement", "spec.reflectors.placement", {"Dedicated", "Colocated"})) {
    spec.placement = *placement == "Colocated" ? contract::Placement::Colocated : contract::Placement::Dedicated;
  }
  if (auto port = r.integer(*reflectors, "port", "spec.reflectors.port", 1, 65535)) {
    spec.port = static_cast<int>(*port);
  }
  if (auto image = r.string(*reflectors, "image", "spec.reflectors.image")) {
    if (image->size() > 1024) {
      r.fail("spec.reflectors.image", "is longer than 1024 characters");
    } else if (!image->empty()) {
      spec.image = *image;
    }
  }
  if (auto policy = r.one_of(*reflectors, "imagePullPolicy", "spec.reflectors.imagePullPolicy",
                             {"Always", "IfNotPresent", "Never"})) {
    spec.image_pull_policy = *policy;
  }
  read_resources(r, *reflectors, spec);
  read_tolerations(r, *reflectors, spec);
  if (auto priority = r.string(*reflectors, "priorityClassName", "spec.reflectors.priorityClassName")) {
    if (!priority->empty() && !is_dns_subdomain(*priority)) {
      r.fail("spec.reflectors.priorityClassName", quote(*priority) + " is not a valid PriorityClass name");
    } else {
      spec.priority_class_name = *priority;
    }
  }
}

// "a.b.c.d/n" or an IPv6 prefix "x::/n", without host bits: its address bits and length.
struct ParsedPrefix {
  bool v6 = false;
  int length = 0;
  bool host_bits_set = false;
};
std::optional<ParsedPrefix> parse_prefix(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos || slash + 1 >= text.size() || text.size() - slash > 4) return std::nullopt;
  const std::string address = text.substr(0, slash);
  const std::string length_text = text.substr(slash + 1);
  if (!std::all_of(length_text.begin(), length_text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  if (length_text.size() > 1 && length_text[0] == '0') return std::nullopt;
  ParsedPrefix out;
  out.length = std::stoi(length_text);
  std::array<unsigned char, 16> bytes{};
  if (is_ipv4_address(address) && inet_pton(AF_INET, address.c_str(), bytes.data()) == 1) {
    if (out.length > 32) return std::nullopt;
  } else if (is_ipv6_address(address) && inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) {
    out.v6 = true;
    if (out.length > 128) return std::nullopt;
  } else {
    return std::nullopt;
  }
  const int bits = out.v6 ? 128 : 32;
  for (int bit = out.length; bit < bits; ++bit) {
    if (bytes[static_cast<std::size_t>(bit / 8)] & (0x80 >> (bit % 8))) out.host_bits_set = true;
  }
  return out;
}

void read_export_prefixes(SpecReader& r, const Json& item, const std::string& at, contract::ExternalPeer& peer) {
  const std::string path = at + ".exportPrefixes";
  const Json* prefixes = r.array(item, "exportPrefixes", path, 64);
  if (prefixes == nullptr) return;
  std::vector<contract::ExportPrefix> out;
  std::set<std::string> seen;
  for (std::size_t k = 0; k < prefixes->size(); ++k) {
    const Json& entry = (*prefixes)[k];
    const std::string entry_path = index_path(path, k);
    if (!entry.is_object()) {
      r.fail(entry_path, "must be an object, not " + std::string(entry.type_name()));
      continue;
    }
    if (json::find(entry, "cidr") == nullptr) r.fail(entry_path + ".cidr", "required");
    auto cidr = r.string(entry, "cidr", entry_path + ".cidr");
    if (!cidr) continue;
    auto parsed = parse_prefix(*cidr);
    if (!parsed) {
      r.fail(entry_path + ".cidr", quote(*cidr) + " is not an IPv4 or IPv6 CIDR (e.g. 10.244.0.0/16)");
      continue;
    }
    if (parsed->host_bits_set) {
      r.fail(entry_path + ".cidr", quote(*cidr) + " has host bits set");
      continue;
    }
    if (!seen.insert(*cidr).second) {
      r.fail(entry_path + ".cidr", quote(*cidr) + " is listed twice");
      continue;
    }
    const int bits = parsed->v6 ? 128 : 32;
    contract::ExportPrefix prefix{*cidr, bits};
    if (json::find(entry, "maxLength") != nullptr) {
      auto max_length = r.integer(entry, "maxLength", entry_path + ".maxLength", parsed->length, bits);
      if (!max_length) continue;
      prefix.max_length = static_cast<int>(*max_length);
    }
    out.push_back(std::move(prefix));
  }
  peer.export_prefixes = std::move(out);
}

void read_external_peers(SpecReader& r, const Json& s, FabricSpec& spec) {
  const std::string path = "spec.externalPeers";
  const Json* peers = r.array(s, "externalPeers", path, 64);
  if (peers == nullptr) return;
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < peers->size(); ++i) {
    const Json& item = (*peers)[i];
    const std::string at = index_path(path, i);
    if (!item.is_object()) {
      r.fail(at, "must be an object, not " + std::string(item.type_name()));
      continue;
    }
    std::size_t before = r.errors.size();
    contract::ExternalPeer peer;
    for (const char* required : {"name", "address", "asNumber"}) {
      if (json::find(item, required) == nullptr) r.fail(at + "." + required, "required");
    }
    if (auto name = r.string(item, "name", at + ".name")) {
      if (!is_dns_label(*name)) {
        r.fail(at + ".name", quote(*name) + " is not a DNS label (a-z 0-9 -, at most 63)");
      } else if (auto [it, fresh] = names.emplace(*name, i); !fresh) {
        r.fail(at + ".name", quote(*name) + " is also the name of " + index_path(path, it->second));
      }
      peer.name = *name;
    }
    if (auto address = r.string(item, "address", at + ".address")) {
      if (!is_ipv4_address(*address) && !is_ipv6_address(*address)) {
        r.fail(at + ".address", quote(*address) + " is not an IP address");
      }
      peer.address = *address;
    }
    if (auto as = r.integer(item, "asNumber", at + ".asNumber", 1, 4294967295)) {
      peer.as_number = static_cast<std::uint32_t>(*as);
    }
    if (auto port = r.integer(item, "port", at + ".port", 1, 65535)) peer.port = static_cast<int>(*port);
    if (const Json* racks = r.array(item, "racks", at + ".racks", 1024)) {
      std::set<std::string> seen;
      for (std::size_t k = 0; k < racks->size(); ++k) {
        const Json& rack = (*racks)[k];
        const std::string rack_path = index_path(at + ".racks", k);
        if (!rack.is_string()) {
          r.fail(rack_path, "must be a string, not " + std::string(rack.type_name()));
          continue;
        }
        const auto& name = rack.get_ref<const std::string&>();
        if (name.empty() || !is_label_value(name)) {
          r.fail(rack_path, quote(name) + " is not a valid rack (a label value)");
        } else if (!seen.insert(name).second) {
          r.fail(rack_path, quote(name) + " is listed twice");
        } else {
          peer.racks.push_back(name);
        }
      }
    }
    if (auto multihop = r.boolean(item, "multihop", at + ".multihop")) peer.multihop = *multihop;
    if (auto client = r.boolean(item, "reflectorClient", at + ".reflectorClient")) peer.reflector_client = *client;
    read_export_prefixes(r, item, at, peer);
    peer.password = r.secret_ref(item, "passwordSecretRef", at + ".passwordSecretRef");
    if (r.errors.size() == before) spec.external_peers.push_back(std::move(peer));
  }
}

// "a.b.c.d/n" of /8 to /30 without host bits, as clusterIDPool and topTier.clusterIDPool take it.
void check_cluster_id_pool(SpecReader& r, const std::string& pool, const std::string& path) {
  auto cidr = parse_ipv4_cidr(pool);
  if (!cidr) {
    r.fail(path, quote(pool) + " is not an IPv4 CIDR (e.g. 10.255.0.0/16)");
  } else if (cidr->prefix_length < 8 || cidr->prefix_length > 30) {
    r.fail(path, quote(pool) + " must have a prefix length of 8..30");
  } else if (cidr->host_bits_set) {
    r.fail(path, quote(pool) + " has host bits set; the network is " + format_ipv4(cidr->network) + "/" +
                     std::to_string(cidr->prefix_length));
  }
}

void read_top_tier(SpecReader& r, const Json& s, FabricSpec& spec) {
  const Json* top = r.object(s, "topTier", "spec.topTier");
  if (top == nullptr) return;
  contract::TopTier tier;
  if (auto zone_label = r.string(*top, "zoneLabel", "spec.topTier.zoneLabel")) {
    if (!zone_label->empty() && !is_label_key(*zone_label)) {
      r.fail("spec.topTier.zoneLabel", quote(*zone_label) + " is not a valid label key");
    }
    tier.zone_label = *zone_label;
  }
  if (auto per_zone = r.integer(*top, "perZone", "spec.topTier.perZone", 1, 8)) {
    tier.per_zone = static_cast<int>(*per_zone);
  }
  if (auto selector = r.labels(*top, "nodeSelector", "spec.topTier.nodeSelector")) {
    tier.node_selector = std::move(*selector);
  }
  if (auto pool = r.string(*top, "clusterIDPool", "spec.topTier.clusterIDPool")) {
    check_cluster_id_pool(r, *pool, "spec.topTier.clusterIDPool");
    tier.cluster_id_pool = *pool;
  }
  spec.top_tier = std::move(tier);
}

void read_bgp(SpecReader& r, const Json& s, FabricSpec& spec) {
  const Json* bgp = r.object(s, "bgp", "spec.bgp");
  if (bgp == nullptr) return;
  auto hold = r.integer(*bgp, "holdTimeSeconds", "spec.bgp.holdTimeSeconds", 3, 65535);
  auto keepalive = r.integer(*bgp, "keepaliveSeconds", "spec.bgp.keepaliveSeconds", 1, 21845);
  if (hold) spec.bgp.hold_time_seconds = static_cast<int>(*hold);
  if (keepalive) spec.bgp.keepalive_seconds = static_cast<int>(*keepalive);
  if (auto gr = r.boolean(*bgp, "gracefulRestart", "spec.bgp.gracefulRestart")) spec.bgp.graceful_restart = *gr;
  if (auto ipv6 = r.boolean(*bgp, "ipv6", "spec.bgp.ipv6")) spec.bgp.ipv6 = *ipv6;
  spec.bgp.password = r.secret_ref(*bgp, "passwordSecretRef", "spec.bgp.passwordSecretRef");
}

void read_spec(SpecReader& r, const Json& s, FabricSpec& spec) {
  if (auto as = r.integer(s, "asNumber", "spec.asNumber", 1, 4294967295)) {
    spec.as_number = static_cast<std::uint32_t>(*as);
  }
  if (auto ns = r.string(s, "namespace", "spec.namespace")) {
    if (!is_dns_label(*ns)) r.fail("spec.namespace", quote(*ns) + " is not a valid namespace (DNS label)");
    spec.ns = *ns;
  }
  if (auto selector = r.labels(s, "nodeSelector", "spec.nodeSelector")) spec.node_selector = std::move(*selector);
  if (auto rack_label = r.string(s, "rackLabel", "spec.rackLabel")) {
    if (!is_label_key(*rack_label)) r.fail("spec.rackLabel", quote(*rack_label) + " is not a valid label key");
    spec.rack_label = *rack_label;
  }
  if (auto pool = r.string(s, "clusterIDPool", "spec.clusterIDPool")) {
    check_cluster_id_pool(r, *pool, "spec.clusterIDPool");
    spec.cluster_id_pool = *pool;
  }
  read_reflectors(r, s, spec);
  read_top_tier(r, s, spec);
  read_external_peers(r, s, spec);
  read_bgp(r, s, spec);
  if (const Json* lease = r.object(s, "lease", "spec.lease")) {
    if (auto duration = r.integer(*lease, "durationSeconds", "spec.lease.durationSeconds", 5, 300)) {
      spec.lease_duration_seconds = static_cast<int>(*duration);
    }
  }
  if (auto manage = r.boolean(s, "manageNodeToNodeMesh", "spec.manageNodeToNodeMesh")) {
    spec.manage_node_to_node_mesh = *manage;
  }
  if (auto api = r.one_of(s, "calicoAPI", "spec.calicoAPI", {"crd.projectcalico.org/v1", "projectcalico.org/v3"})) {
    spec.calico_api = *api == "projectcalico.org/v3" ? contract::CalicoApi::ProjectCalicoV3 : contract::CalicoApi::CrdV1;
  }
}

void check_as_number(SpecReader& r, const std::string& path, std::uint32_t as) {
  if (auto why = reserved_as_number(as); !why.empty()) r.fail(path, std::to_string(as) + " " + why);
}

// Rules across fields, checked once each field is known to be well-formed.
void check_combinations(SpecReader& r, const Json& s, const FabricSpec& spec) {
  if (spec.bgp.keepalive_seconds >= spec.bgp.hold_time_seconds) {
    r.fail("spec.bgp.keepaliveSeconds", std::to_string(spec.bgp.keepalive_seconds) +
                                            " must be less than spec.bgp.holdTimeSeconds (" +
                                            std::to_string(spec.bgp.hold_time_seconds) + ")");
  }
  if (spec.placement == contract::Placement::Colocated && spec.port == 179) {
    r.fail("spec.reflectors.port", "must not be 179 with placement Colocated (calico-node's BIRD holds it)");
  }
  check_as_number(r, "spec.asNumber", spec.as_number);
  if (spec.top_tier) {
    auto racks = parse_ipv4_cidr(spec.cluster_id_pool);
    auto tops = parse_ipv4_cidr(spec.top_tier->cluster_id_pool);
    if (racks && tops) {
      const int shorter = std::min(racks->prefix_length, tops->prefix_length);
      const std::uint32_t mask = shorter == 0 ? 0 : ~std::uint32_t{0} << (32 - shorter);
      if ((racks->network & mask) == (tops->network & mask)) {
        r.fail("spec.topTier.clusterIDPool", quote(spec.top_tier->cluster_id_pool) + " overlaps spec.clusterIDPool " +
                                                 quote(spec.cluster_id_pool) +
                                                 ": a top tier and a rack sharing a cluster ID would drop each "
                                                 "other's routes");
      }
    }
    if (spec.top_tier->zone_label == spec.rack_label) {
      r.fail("spec.topTier.zoneLabel", "must differ from spec.rackLabel (" + quote(spec.rack_label) +
                                           "): a zone groups racks; leave it empty for one top tier");
    }
  }
  std::map<std::string, std::size_t> addresses;  // canonical address -> index
  for (std::size_t i = 0; i < spec.external_peers.size(); ++i) {
    const auto& peer = spec.external_peers[i];
    const std::string at = index_path("spec.externalPeers", i);
    check_as_number(r, at + ".asNumber", peer.as_number);
    if (auto why = unusable_neighbor_address(peer.address); !why.empty()) {
      r.fail(at + ".address", quote(peer.address) + " " + why);
    } else if (auto [it, fresh] = addresses.emplace(canonical_ip(peer.address), i); !fresh) {
      r.fail(at + ".address", quote(peer.address) + " is also the address of " +
                                  index_path("spec.externalPeers", it->second));
    }
    if (peer.export_prefixes && peer.as_number == spec.as_number) {
      r.fail(at + ".exportPrefixes",
             "is for eBGP peers only; an iBGP peer (asNumber " + std::to_string(peer.as_number) +
                 " = spec.asNumber) is a route-reflector client and gets every route");
    }
  }
  if (!spec.bgp.ipv6) {
    const Json* peers = json::find(s, "externalPeers");
    for (std::size_t i = 0; peers != nullptr && peers->is_array() && i < peers->size(); ++i) {
      auto address = json::string_at((*peers)[i], "address");
      if (is_ipv6_address(address)) {
        r.fail(index_path("spec.externalPeers", i) + ".address",
               "IPv6 address " + quote(address) + " needs spec.bgp.ipv6: true");
      }
    }
  }
}

}  // namespace

kube::Result<contract::FabricSpec> parse_fabric(const kube::Json& rrc, std::string_view default_image) {
  if (!rrc.is_object()) {
    return kube::make_error(kube::ErrorKind::Invalid,
                            std::string("RouteReflectorCluster must be a JSON object, not ") + rrc.type_name());
  }
  SpecReader reader;
  FabricSpec spec;
  if (!default_image.empty()) spec.image = std::string(default_image);
  spec.image_pull_policy.clear();  // as the CRD: absent means Kubernetes' default for the image's tag
  read_metadata(reader, rrc, spec);
  static const Json kEmpty = Json::object();
  const Json* s = reader.object(rrc, "spec", "spec");
  read_spec(reader, s != nullptr ? *s : kEmpty, spec);
  if (reader.errors.empty()) check_combinations(reader, s != nullptr ? *s : kEmpty, spec);
  if (!reader.errors.empty()) {
    std::string message;
    for (const auto& e : reader.errors) message += (message.empty() ? "" : "; ") + e;
    return kube::make_error(kube::ErrorKind::Invalid, std::move(message));
  }
  return spec;
}

}  // namespace rr::contract
