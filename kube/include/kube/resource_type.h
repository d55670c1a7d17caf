#pragma once
// Which REST collection an object lives in. The library speaks only to the
// few resources the project touches, so types are values, not generated code.

#include <string>
#include <string_view>

namespace kube {

struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "leases"
  std::string kind;     // "Lease"
  bool namespaced = true;

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "/api/v1/namespaces/ns/pods" or "/apis/g/v/plural" (ns ignored when cluster-scoped;
  // an empty ns on a namespaced type lists across all namespaces).
  std::string collection_path(std::string_view ns) const;
  std::string object_path(std::string_view ns, std::string_view name) const;
  std::string describe() const { return plural + (group.empty() ? "" : "." + group); }
};

namespace resources {
const ResourceType& nodes();
const ResourceType& pods();
const ResourceType& secrets();
const ResourceType& events();
const ResourceType& namespaces();
const ResourceType& service_accounts();
const ResourceType& leases();
const ResourceType& custom_resource_definitions();
}  // namespace resources

}  // namespace kube
