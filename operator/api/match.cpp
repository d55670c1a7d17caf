#include "api/match.h"

#include <algorithm>
#include <string>

#include "api/observed.h"

#include "contract/json_fields.h"
#include "contract/quantity.h"
#include "contract/well_known.h"

namespace rr::api {
namespace {

using kube::Json;
using namespace contract;  // the well-known names, json:: and quantities

enum class Context { Plain, Resources, Quantities };

bool is_empty_value(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return true;
    case Json::value_t::string: return v.get_ref<const std::string&>().empty();
    case Json::value_t::boolean: return !v.get<bool>();
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return v == 0;
    case Json::value_t::object:
    case Json::value_t::array: return v.empty();
    default: return false;
  }
}

bool contains_in(const Json& live, const Json& desired, Context context);

bool contains_object(const Json& live, const Json& desired, Context context) {
  if (!live.is_object()) return is_empty_value(desired) && live.is_null();
  for (const auto& [key, want] : desired.items()) {
    Context child = context == Context::Quantities ? Context::Quantities : Context::Plain;
    if (key == "resources") child = Context::Resources;
    if (context == Context::Resources && (key == "limits" || key == "requests")) child = Context::Quantities;
    const Json* have = json::find(live, key);
    if (have == nullptr) {
      if (!is_empty_value(want)) return false;
      continue;
    }
    if (!contains_in(*have, want, child)) return false;
  }
  return true;
}

bool contains_array(const Json& live, const Json& desired, Context context) {
  if (!live.is_array()) return false;
  bool of_objects = !desired.empty();
  for (const auto& item : desired) of_objects = of_objects && item.is_object();
  if (!of_objects) {
    if (live.size() != desired.size()) return false;
    for (std::size_t i = 0; i < desired.size(); ++i) {
      if (!contains_in(live[i], desired[i], context)) return false;
    }
    return true;
  }
  for (const auto& want : desired) {
    bool found = false;
    for (const auto& have : live) {
      if (contains_in(have, want, context)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool contains_in(const Json& live, const Json& desired, Context context) {
  if (desired.is_object()) return contains_object(live, desired, context);
  if (desired.is_array()) return contains_array(live, desired, context);
  if (context == Context::Quantities) return same_quantity(live, desired);
  return live == desired;
}

// Owned labels or annotations: each desired entry present with the same value, except `skip`.
bool has_entries(const Json& live, const Json& desired, std::string_view field, std::string_view skip = {}) {
  const Json* want = json::find_path(desired, {"metadata", field});
  if (want == nullptr || !want->is_object()) return true;
  const Json* have = json::find_path(live, {"metadata", field});
  for (const auto& [key, value] : want->items()) {
    if (key == skip) continue;
    const Json* got = have != nullptr ? json::find(*have, key) : nullptr;
    if (got == nullptr || *got != value) return false;
  }
  return true;
}

// Each desired ownerReference is in live, matched on uid. An object rendered without any (a
// reflector Pod, a BGPPeer) holds none to a fabric either.
bool has_owner_references(const Json& live, const Json& desired) {
  const Json* want = json::find_path(desired, {"metadata", "ownerReferences"});
  if (want == nullptr) return !owned_by_a_fabric(live);
  const Json* have = json::find_path(live, {"metadata", "ownerReferences"});
  return have != nullptr && contains(*have, *want);
}

bool metadata_matches(const Json& live, const Json& desired, std::string_view skip_annotation = {}) {
  return has_entries(live, desired, "labels") && has_entries(live, desired, "annotations", skip_annotation) &&
         has_owner_references(live, desired);
}

const Json& field_or_null(const Json& obj, std::string_view key) {
  static const Json kNull;
  const Json* value = json::find(obj, key);
  return value != nullptr ? *value : kNull;
}

}  // namespace

std::string_view to_string(Match match) {
  switch (match) {
    case Match::Same: return "Same";
    case Match::Update: return "Update";
    case Match::Replace: return "Replace";
  }
  return "Unknown";
}

bool names_a_fabric(const Json& owner_reference) {
  if (!owner_reference.is_object()) return false;
  const std::string api_version = json::string_at(owner_reference, "apiVersion");
  const std::string_view group = contract::kApiVersion.substr(0, contract::kApiVersion.find('/') + 1);
  return json::string_at(owner_reference, "kind") == contract::kKind && api_version.rfind(group, 0) == 0;
}

bool owned_by_a_fabric(const Json& object) {
  const Json* owners = json::find_path(object, {"metadata", "ownerReferences"});
  if (owners == nullptr || !owners->is_array()) return false;
  return std::any_of(owners->begin(), owners->end(), [](const Json& ref) { return names_a_fabric(ref); });
}

bool contains(const Json& live, const Json& desired) { return contains_in(live, desired, Context::Plain); }

Match pod_matches(const Json& live, const Json& desired) {
  // What a Pod can change once created (images) and what tells it apart (env, affinity);
  // the hash below stands for the rest of the rendered spec.
  if (!contains(pod_spec_kept(field_or_null(live, "spec")), pod_spec_kept(field_or_null(desired, "spec")))) {
    return Match::Replace;
  }
  const Json* want_hash = json::find_path(desired, {"metadata", "annotations", kSpecHashAnnotation});
  if (want_hash != nullptr) {
    const Json* have_hash = json::find_path(live, {"metadata", "annotations", kSpecHashAnnotation});
    if (have_hash == nullptr || *have_hash != *want_hash) return Match::Replace;
  }
  return metadata_matches(live, desired, kSpecHashAnnotation) ? Match::Same : Match::Update;
}

Match peer_matches(const Json& live, const Json& desired) {
  if (json::string_at(live, "kind") != json::string_at(desired, "kind") ||
      json::string_at(live, "apiVersion") != json::string_at(desired, "apiVersion")) {
    return Match::Replace;
  }
  const Json& live_spec = field_or_null(live, "spec");
  const Json& desired_spec = field_or_null(desired, "spec");
  for (std::string_view field : {"nodeSelector", "peerIP", "asNumber", "password"}) {
    const Json& have = field_or_null(live_spec, field);
    const Json& want = field_or_null(desired_spec, field);
    // Both ways: a field desired no longer has (a removed password) is a difference too.
    if (!contains(have, want) || !contains(want, have)) return Match::Update;
  }
  return metadata_matches(live, desired) ? Match::Same : Match::Update;
}

}  // namespace rr::api
