#pragma once
// Whether the operator may watch reflector Pods and Leases in each allowed namespace,
// as the per-namespace informers found out: a list or watch answered 403 (no Role
// bound there; also what a namespace that does not exist answers, since no Role can
// be made in it) or 404 means it may not; a list that succeeds means it may again.
// Informer threads report, reconciles and wait_for_sync read. A refused namespace
// holds only the fabrics whose spec.namespace it is.

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "kube/result.h"

namespace rr::controller {

class NamespaceAccess {
 public:
  // Whether `error` says the namespace cannot be watched (rather than that the API is down or slow).
  static bool refusal(const kube::Error& error);

  // The informer of `resource` ("pods", "leases") in `ns` failed with `error`. True when that
  // makes `ns` refused and it was not already.
  bool failed(const std::string& ns, const std::string& resource, const kube::Error& error);
  // That informer listed. True when `ns` was refused and no longer is.
  bool listed(const std::string& ns, const std::string& resource);
  bool refused(const std::string& ns) const;
  // "" while `ns` is watchable; otherwise each refused resource and its answer.
  std::string describe(const std::string& ns) const;

 private:
  bool refused_locked(const std::string& ns) const;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, kube::Error> refused_;  // (namespace, resource) -> answer
};

}  // namespace rr::controller
