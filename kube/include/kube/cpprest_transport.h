#pragma once
// HttpTransport over cpprestsdk: HTTPS only, server verification against the
// configured CA (or the system store), client certificates, keep-alive.

#include <chrono>
#include <memory>

#include "kube/client_config.h"
#include "kube/http_transport.h"

namespace kube {

struct TransportOptions {
  std::chrono::seconds request_timeout{30};
  // cpprestsdk's timeout is an idle timeout reset by each chunk; watches ask
  // the server for a shorter timeoutSeconds and rely on bookmarks.
  std::chrono::seconds stream_idle_timeout{330};
};

// Sizes cpprestsdk's shared thread pool before its first use (it defaults to 40).
void initialize_http_threads(int threads);

class CpprestTransport final : public HttpTransport {
 public:
  static Result<std::unique_ptr<CpprestTransport>> create(const ClientConfig& config, TransportOptions options = {});
  ~CpprestTransport() override;

  Result<HttpResponse> send(const HttpRequest& request) override;
  Result<StreamResponse> open_stream(const HttpRequest& request) override;
  void close() override;

 private:
  struct Impl;
  explicit CpprestTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kube
