#pragma once
// The client the controller writes through: reads pass, and writes pass only until close().
// A replica that stopped leading closes it at once, so a reconcile still in flight (blocked on
// an API that is just coming back, say) cannot write after another replica took over: client-go
// stops a lost leader's loop; this also stops the write it was about to make.

#include <atomic>
#include <string>

#include "kube/forwarding_client.h"

namespace rr::controller {

class LeadingClient final : public kube::ForwardingClient {
 public:
  using ForwardingClient::ForwardingClient;

  // Every write from now on answers ErrorKind::Cancelled without reaching the API. Thread-safe.
  void close() { open_ = false; }
  bool open() const { return open_; }

  kube::Result<kube::Json> create(const kube::ResourceType& type, const std::string& ns,
                                  const kube::Json& object) override;
  kube::Result<kube::Json> update(const kube::ResourceType& type, const kube::Json& object) override;
  kube::Result<kube::Json> update_status(const kube::ResourceType& type, const kube::Json& object) override;
  kube::Result<kube::Json> patch(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                                 kube::PatchType patch_type, const kube::Json& patch,
                                 const kube::PatchOptions& options) override;
  kube::Status remove(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                      const kube::DeleteOptions& options) override;

 private:
  kube::Error closed(const kube::ResourceType& type, const std::string& verb) const;

  std::atomic<bool> open_{true};
};

}  // namespace rr::controller
