#pragma once
// A KubeClient that passes every call to another (the fake), noting "verb path" of the
// calls on the types a filter selects, so a test can say which requests were made.
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kube/kube_client.h"

namespace rr::controller::testing {

class RequestLog final : public kube::KubeClient {
 public:
  using Filter = std::function<bool(const kube::ResourceType&)>;
  RequestLog(kube::KubeClient& inner, Filter filter) : inner_(inner), filter_(std::move(filter)) {}

  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return log_;
  }
  int count(const std::string& request) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& r : log_) n += r == request;
    return n;
  }

  kube::Result<kube::Json> get(const kube::ResourceType& t, const std::string& ns, const std::string& name) override {
    note("get", t, t.object_path(ns, name));
    return inner_.get(t, ns, name);
  }
  kube::Result<kube::ObjectList> list(const kube::ResourceType& t, const std::string& ns,
                                      const kube::ListOptions& o) override {
    note("list", t, t.collection_path(ns));
    return inner_.list(t, ns, o);
  }
  kube::Result<std::unique_ptr<kube::WatchStream>> watch(const kube::ResourceType& t, const std::string& ns,
                                                         const kube::WatchOptions& o) override {
    note("watch", t, t.collection_path(ns));
    return inner_.watch(t, ns, o);
  }
  kube::Result<kube::Json> create(const kube::ResourceType& t, const std::string& ns, const kube::Json& obj) override {
    note("create", t, t.collection_path(ns));
    return inner_.create(t, ns, obj);
  }
  kube::Result<kube::Json> update(const kube::ResourceType& t, const kube::Json& obj) override {
    note("update", t, t.object_path(kube::namespace_of(obj), kube::name_of(obj)));
    return inner_.update(t, obj);
  }
  kube::Result<kube::Json> update_status(const kube::ResourceType& t, const kube::Json& obj) override {
    note("update_status", t, t.object_path(kube::namespace_of(obj), kube::name_of(obj)) + "/status");
    return inner_.update_status(t, obj);
  }
  kube::Result<kube::Json> patch(const kube::ResourceType& t, const std::string& ns, const std::string& name,
                                 kube::PatchType pt, const kube::Json& p, const kube::PatchOptions& o) override {
    note("patch", t, t.object_path(ns, name));
    return inner_.patch(t, ns, name, pt, p, o);
  }
  kube::Status remove(const kube::ResourceType& t, const std::string& ns, const std::string& name,
                      const kube::DeleteOptions& o) override {
    note("delete", t, t.object_path(ns, name));
    return inner_.remove(t, ns, name, o);
  }

 private:
  void note(const std::string& verb, const kube::ResourceType& t, const std::string& path) {
    if (!filter_(t)) return;
    std::lock_guard lock(mu_);
    log_.push_back(verb + " " + path);
  }

  kube::KubeClient& inner_;
  Filter filter_;
  std::mutex mu_;
  std::vector<std::string> log_;
};

}  // namespace rr::controller::testing
