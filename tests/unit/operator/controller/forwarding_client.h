#pragma once
// A KubeClient that passes every call to another (the fake): tests derive from it and override
// only the calls they gate, delay or fail.
#include <memory>
#include <string>

#include "kube/kube_client.h"

namespace rr::controller::testing {

class ForwardingClient : public kube::KubeClient {
 public:
  explicit ForwardingClient(kube::KubeClient& inner) : inner_(inner) {}

  kube::Result<kube::Json> get(const kube::ResourceType& t, const std::string& ns, const std::string& name) override {
    return inner_.get(t, ns, name);
  }
  kube::Result<kube::ObjectList> list(const kube::ResourceType& t, const std::string& ns,
                                      const kube::ListOptions& o) override {
    return inner_.list(t, ns, o);
  }
  kube::Result<std::unique_ptr<kube::WatchStream>> watch(const kube::ResourceType& t, const std::string& ns,
                                                         const kube::WatchOptions& o) override {
    return inner_.watch(t, ns, o);
  }
  kube::Result<kube::Json> create(const kube::ResourceType& t, const std::string& ns, const kube::Json& obj) override {
    return inner_.create(t, ns, obj);
  }
  kube::Result<kube::Json> update(const kube::ResourceType& t, const kube::Json& obj) override {
    return inner_.update(t, obj);
  }
  kube::Result<kube::Json> update_status(const kube::ResourceType& t, const kube::Json& obj) override {
    return inner_.update_status(t, obj);
  }
  kube::Result<kube::Json> patch(const kube::ResourceType& t, const std::string& ns, const std::string& name,
                                 kube::PatchType pt, const kube::Json& p, const kube::PatchOptions& o) override {
    return inner_.patch(t, ns, name, pt, p, o);
  }
  kube::Status remove(const kube::ResourceType& t, const std::string& ns, const std::string& name,
                      const kube::DeleteOptions& o) override {
    return inner_.remove(t, ns, name, o);
  }

 private:
  kube::KubeClient& inner_;
};

}  // namespace rr::controller::testing
