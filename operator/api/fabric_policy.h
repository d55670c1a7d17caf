#pragma once
// What a fabric's spec may choose, bounded by the operator's configuration (its flags), not by
// the spec: a RouteReflectorCluster is cluster-scoped, so whoever may create one must not
// thereby choose which image runs with host networking, nor in which namespace. A spec outside
// the policy is held (nothing running changes) with one of the reasons below.

#include <string>
#include <string_view>
#include <vector>

#include "planner/reasons.h"
#include "planner/types.h"

namespace rr::api {

struct FabricPolicy {
  std::vector<std::string> namespaces = {"rr-system"};  // spec.namespace (--allowed-namespaces)
  std::vector<std::string> images;  // spec.reflectors.image, exact references (--allowed-reflector-images)
};

struct PolicyViolation {
  planner::Reason reason;  // NamespaceNotAllowed | ImageNotAllowed
  std::string message;  // names the field, its value and the allowed set
};

// Empty when the spec keeps to the policy; otherwise one violation per field, namespace first.
std::vector<PolicyViolation> check_policy(const planner::FabricSpec& spec, const FabricPolicy& policy);

}  // namespace rr::api
