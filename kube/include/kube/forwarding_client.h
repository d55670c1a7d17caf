#pragma once
// A KubeClient that passes every call to another: derive from it and override only the calls
// to gate, delay or fail (rr-operator's LeadingClient closes the writes; tests gate the fake).
#include <memory>
#include <string>

#include "kube/kube_client.h"

namespace kube {

class ForwardingClient : public KubeClient {
 public:
  explicit ForwardingClient(KubeClient& inner) : inner_(inner) {}

  Result<Json> get(const ResourceType& t, const std::string& ns, const std::string& name) override {
    return inner_.get(t, ns, name);
  }
  Result<ObjectList> list(const ResourceType& t, const std::string& ns, const ListOptions& o) override {
    return inner_.list(t, ns, o);
  }
  Result<std::unique_ptr<WatchStream>> watch(const ResourceType& t, const std::string& ns,
                                             const WatchOptions& o) override {
    return inner_.watch(t, ns, o);
  }
  Result<Json> create(const ResourceType& t, const std::string& ns, const Json& obj) override {
    return inner_.create(t, ns, obj);
  }
  Result<Json> update(const ResourceType& t, const Json& obj) override {
    return inner_.update(t, obj);
  }
  Result<Json> update_status(const ResourceType& t, const Json& obj) override {
    return inner_.update_status(t, obj);
  }
  Result<Json> patch(const ResourceType& t, const std::string& ns, const std::string& name, PatchType pt,
                     const Json& p, const PatchOptions& o) override {
    return inner_.patch(t, ns, name, pt, p, o);
  }
  Status remove(const ResourceType& t, const std::string& ns, const std::string& name,
                const DeleteOptions& o) override {
    return inner_.remove(t, ns, name, o);
  }

 private:
  KubeClient& inner_;
};

}  // namespace kube
