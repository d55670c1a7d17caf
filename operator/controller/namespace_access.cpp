#include "controller/namespace_access.h"

#include <cctype>

namespace rr::controller {

bool NamespaceAccess::refusal(const kube::Error& error) {
  return error.kind == kube::ErrorKind::Forbidden || error.kind == kube::ErrorKind::NotFound;
}

bool NamespaceAccess::failed(const std::string& ns, const std::string& resource, const kube::Error& error) {
  if (!refusal(error)) return false;
  std::lock_guard lock(mu_);
  const bool was = refused_locked(ns);
  refused_.insert_or_assign({ns, resource}, error);
  return !was;
}

bool NamespaceAccess::listed(const std::string& ns, const std::string& resource) {
  std::lock_guard lock(mu_);
  if (refused_.erase({ns, resource}) == 0) return false;
  return !refused_locked(ns);
}

bool NamespaceAccess::refused(const std::string& ns) const {
  std::lock_guard lock(mu_);
  return refused_locked(ns);
}

bool NamespaceAccess::refused_locked(const std::string& ns) const {
  auto it = refused_.lower_bound({ns, ""});
  return it != refused_.end() && it->first.first == ns;
}

std::string NamespaceAccess::describe(const std::string& ns) const {
  std::lock_guard lock(mu_);
  std::string out;
  for (auto it = refused_.lower_bound({ns, ""}); it != refused_.end() && it->first.first == ns; ++it) {
    std::string answer = it->second.describe();
    while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back()))) answer.pop_back();
    out += (out.empty() ? "" : "; ") + it->first.second + " answered " + answer;
  }
  return out;
}

}  // namespace rr::controller
