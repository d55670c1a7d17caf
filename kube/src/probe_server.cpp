#include "kube/probe_server.h"

#include <CivetServer.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace kube {
namespace {

void reply(mg_connection* conn, int code, const char* content_type, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n",
            code, code == 200 ? "OK" : (code == 404 ? "Not Found" : "Service Unavailable"), content_type, body.size());
  mg_write(conn, body.data(), body.size());
}

class MetricsHandler final : public CivetHandler {
 public:
  explicit MetricsHandler(std::shared_ptr<prometheus::Registry> registry) : registry_(std::move(registry)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    std::string body;
    if (registry_) {
      prometheus::TextSerializer serializer;
      body = serializer.Serialize(registry_->Collect());
    }
    reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", body);
    return true;
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

class ProbeHandler final : public CivetHandler {
 public:
  explicit ProbeHandler(std::function<ProbeResult()> probe) : probe_(std::move(probe)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    ProbeResult r = probe_ ? probe_() : ProbeResult{};
    reply(conn, r.ok ? 200 : 503, "text/plain; charset=utf-8", (r.ok ? "ok" : r.reason) + std::string("\n"));
    return true;
  }

 private:
  std::function<ProbeResult()> probe_;
};

}  // namespace

struct ProbeServer::Impl {
  std::unique_ptr<CivetServer> server;
  std::string host;  // of the listen address; a wildcard reads as loopback
  MetricsHandler metrics;
  ProbeHandler healthz;
  ProbeHandler readyz;
  Impl(const ProbeServerOptions& o) : metrics(o.registry), healthz(o.healthz), readyz(o.readyz) {}
};

ProbeServer::ProbeServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ProbeServer::~ProbeServer() {
  if (impl_ && impl_->server) impl_->server->close();
}

Result<std::unique_ptr<ProbeServer>> ProbeServer::start(ProbeServerOptions options) {
  auto impl = std::make_unique<Impl>(options);
  const auto colon = options.listen.rfind(':');
  impl->host = colon == std::string::npos ? std::string() : options.listen.substr(0, colon);
  if (impl->host.empty() || impl->host == "0.0.0.0" || impl->host == "[::]") impl->host = "127.0.0.1";
  std::vector<std::string> civet_options = {"listening_ports", options.listen, "num_threads",
                                            std::to_string(options.threads), "enable_keep_alive", "no"};
  try {
    impl->server = std::make_unique<CivetServer>(civet_options);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::BadConfig, "cannot listen on " + options.listen + ": " + e.what());
  }
  // "$": exact paths; civetweb matches a handler's URI as a prefix ("/healthzz", "/metrics/x") otherwise.
  impl->server->addHandler("/metrics$", impl->metrics);
  impl->server->addHandler("/healthz$", impl->healthz);
  impl->server->addHandler("/readyz$", impl->readyz);
  return std::unique_ptr<ProbeServer>(new ProbeServer(std::move(impl)));
}

std::vector<int> ProbeServer::ports() const { return impl_->server->getListeningPorts(); }

std::string ProbeServer::url() const {
  auto p = ports();
  return "http://" + impl_->host + ":" + std::to_string(p.empty() ? 0 : p.front());
}

}  // namespace kube
