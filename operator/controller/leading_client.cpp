#include "controller/leading_client.h"

namespace rr::controller {

kube::Error LeadingClient::closed(const kube::ResourceType& type, const std::string& verb) const {
  return kube::make_error(kube::ErrorKind::Cancelled,
                          "not leading any more: " + verb + " of " + type.plural + " not sent");
}

kube::Result<kube::Json> LeadingClient::create(const kube::ResourceType& type, const std::string& ns,
                                               const kube::Json& object) {
  if (!open_) return closed(type, "create");
  return ForwardingClient::create(type, ns, object);
}

kube::Result<kube::Json> LeadingClient::update(const kube::ResourceType& type, const kube::Json& object) {
  if (!open_) return closed(type, "update");
  return ForwardingClient::update(type, object);
}

kube::Result<kube::Json> LeadingClient::update_status(const kube::ResourceType& type, const kube::Json& object) {
  if (!open_) return closed(type, "status update");
  return ForwardingClient::update_status(type, object);
}

kube::Result<kube::Json> LeadingClient::patch(const kube::ResourceType& type, const std::string& ns,
                                              const std::string& name, kube::PatchType patch_type,
                                              const kube::Json& patch, const kube::PatchOptions& options) {
  if (!open_) return closed(type, "patch");
  return ForwardingClient::patch(type, ns, name, patch_type, patch, options);
}

kube::Status LeadingClient::remove(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                                   const kube::DeleteOptions& options) {
  if (!open_) return closed(type, "delete");
  return ForwardingClient::remove(type, ns, name, options);
}

}  // namespace rr::controller
