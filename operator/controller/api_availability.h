#pragma once
// Whether the API server serves the resource types some informers watch, as those
// informers found out: a list or watch answered 404 means the type is not served (say,
// Calico's CRDs are not installed); a list that succeeds means it is. Informer threads
// report, reconciles read.

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kube/resource_type.h"
#include "kube/result.h"

namespace rr::controller {

class ApiAvailability {
 public:
  explicit ApiAvailability(std::vector<kube::ResourceType> types);

  // An informer of `type` failed with `error`. True when that makes the type not served
  // (a 404) and it was not known to be so already.
  bool failed(const kube::ResourceType& type, const kube::Error& error);
  // An informer of `type` listed it. True when the type was known not to be served.
  bool listed(const kube::ResourceType& type);
  bool missing(const kube::ResourceType& type) const;
  // "" while no type is known not to be served; otherwise which are not, and the answers.
  std::string describe_missing() const;

 private:
  struct Entry {
    kube::ResourceType type;
    std::optional<kube::Error> not_served;  // the 404 that said so
  };
  Entry* find(const kube::ResourceType& type);
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

}  // namespace rr::controller
