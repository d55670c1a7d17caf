#pragma once
// A thread-safe cache of objects keyed by "namespace/name". Informers write it;
// everyone else only reads. Values are immutable and shared, so a reader's
// snapshot stays valid while the informer moves on.

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

namespace kube {

template <class T>
class Store {
 public:
  using Ptr = std::shared_ptr<const T>;

  Ptr get(const std::string& key) const {
    std::shared_lock lock(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : it->second.value;
  }
  std::vector<Ptr> list() const {
    std::shared_lock lock(mu_);
    std::vector<Ptr> out;
    out.reserve(items_.size());
    for (const auto& [key, entry] : items_) out.push_back(entry.value);
    return out;
  }
  std::vector<std::string> keys() const {
    std::shared_lock lock(mu_);
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& [key, entry] : items_) out.push_back(key);
    return out;
  }
  // The resourceVersion of the revision held for `key` ("" when none is).
  std::string resource_version(const std::string& key) const {
    std::shared_lock lock(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? std::string() : it->second.resource_version;
  }
  size_t size() const {
    std::shared_lock lock(mu_);
    return items_.size();
  }

 private:
  template <class>
  friend class Informer;

  struct Entry {
    std::string resource_version;
    Ptr value;
    std::uint64_t listed = 0;  // the writing informer's list that last named it (or a watch event since)
  };

  mutable std::shared_mutex mu_;
  std::map<std::string, Entry> items_;
};

}  // namespace kube
