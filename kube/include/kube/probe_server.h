#pragma once
// The HTTP endpoint every rr binary serves: /metrics (Prometheus text format
// from a registry), /healthz (the process works) and /readyz (it can do its
// job). Probes answer 200 or 503 with a one-line reason.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kube/result.h"

namespace prometheus {
class Registry;
}

namespace kube {

struct ProbeResult {
  bool ok = true;
  std::string reason;  // shown in the body; keep it free of secrets
};

struct ProbeServerOptions {
  std::string listen = "127.0.0.1:0";  // "host:port"; port 0 picks a free one
  std::shared_ptr<prometheus::Registry> registry;
  std::function<ProbeResult()> healthz;
  std::function<ProbeResult()> readyz;
  int threads = 2;
};

class ProbeServer {
 public:
  static Result<std::unique_ptr<ProbeServer>> start(ProbeServerOptions options);
  ~ProbeServer();
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;

  std::vector<int> ports() const;
  std::string url() const;  // "http://HOST:PORT" of the first port (HOST 127.0.0.1 for a wildcard)

 private:
  struct Impl;
  explicit ProbeServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kube
