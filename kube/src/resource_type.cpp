#include "kube/resource_type.h"

namespace kube {

std::string ResourceType::collection_path(std::string_view ns) const {
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += ns;
  }
  return path + "/" + plural;
}

std::string ResourceType::object_path(std::string_view ns, std::string_view name) const {
  std::string path = collection_path(ns);
  path += "/";
  path += name;
  return path;
}

namespace resources {
const ResourceType& nodes() {
  static const ResourceType t{"", "v1", "nodes", "Node", false};
  return t;
}
const ResourceType& pods() {
  static const ResourceType t{"", "v1", "pods", "Pod", true};
  return t;
}
const ResourceType& secrets() {
  static const ResourceType t{"", "v1", "secrets", "Secret", true};
  return t;
}
const ResourceType& events() {
  static const ResourceType t{"", "v1", "events", "Event", true};
  return t;
}
const ResourceType& namespaces() {
  static const ResourceType t{"", "v1", "namespaces", "Namespace", false};
  return t;
}
const ResourceType& service_accounts() {
  static const ResourceType t{"", "v1", "serviceaccounts", "ServiceAccount", true};
  return t;
}
const ResourceType& leases() {
  static const ResourceType t{"coordination.k8s.io", "v1", "leases", "Lease", true};
  return t;
}
const ResourceType& custom_resource_definitions() {
  static const ResourceType t{"apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                              false};
  return t;
}
}  // namespace resources

}  // namespace kube
