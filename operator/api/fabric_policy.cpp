#include "api/fabric_policy.h"

#include <algorithm>

namespace rr::api {
namespace {

bool allowed(const std::vector<std::string>& set, const std::string& value) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

std::string refusal(std::string_view field, const std::string& value, const std::vector<std::string>& set,
                    std::string_view flag) {
  std::string list;
  for (const auto& item : set) list += (list.empty() ? "" : ", ") + item;
  return std::string(field) + ": \"" + value + "\" is not allowed (allowed: " + (list.empty() ? "none" : list) +
         "; rr-operator flag " + std::string(flag) + ")";
}

}  // namespace

std::vector<PolicyViolation> check_policy(const planner::FabricSpec& spec, const FabricPolicy& policy) {
  std::vector<PolicyViolation> out;
  if (!allowed(policy.namespaces, spec.ns)) {
    out.push_back({planner::Reason::kNamespaceNotAllowed,
                   refusal("spec.namespace", spec.ns, policy.namespaces, "--allowed-namespaces")});
  }
  if (!allowed(policy.images, spec.image)) {
    out.push_back({planner::Reason::kImageNotAllowed,
                   refusal("spec.reflectors.image", spec.image, policy.images, "--allowed-reflector-images")});
  }
  return out;
}

}  // namespace rr::api
