#include "kube/cpprest_transport.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <vector>

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <pplx/threadpool.h>

namespace kube {
namespace {

namespace http = web::http;
namespace client = web::http::client;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::map<std::string, std::string> headers_of(const http::http_response& response) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : response.headers()) out[lower(name)] = value;
  return out;
}

// Only a failure after the whole request went out may have been applied: a
// refused connect, a failed handshake or a write onto a connection the server
// had already closed (keep-alive after a restart) never reached the handler.
// One that took the whole deadline says so: "no response within 30s".
Error transport_error(const std::exception& e, bool may_have_sent, std::chrono::steady_clock::duration took,
                      std::chrono::seconds deadline) {
  std::string what = e.what();
  Error err = make_error(ErrorKind::Transient, "transport: " + what);
  if (took >= deadline) {
    err.timed_out = true;
    err.message = "transport: no response within " + std::to_string(deadline.count()) + "s (" + what + ")";
  }
  bool never_sent = what.find("connect") != std::string::npos || what.find("resolve") != std::string::npos ||
                    what.find("handshake") != std::string::npos || what.find("Failed to write") != std::string::npos;
  err.maybe_applied = may_have_sent && !never_sent;
  return err;
}

http::http_request to_cpprest(const HttpRequest& request) {
  http::http_request out(request.method);
  out.set_request_uri(request.target);
  for (const auto& [name, value] : request.headers) out.headers().add(name, value);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    // Bytes, not set_body(std::string): that overload hands cpprestsdk's
    // container_buffer<std::string> (a basic_streambuf<char>) to an istream of unsigned char
    // through a pointer cast, and every call on it is a call through the wrong type (UBSan:
    // "member call on address ... which does not point to an object of type 'basic_streambuf'",
    // astreambuf.h). The bytes overload's stream is unsigned char throughout; the same
    // length and Content-Type go to the same http_msg_base::set_body.
    std::vector<unsigned char> bytes(request.body.begin(), request.body.end());
    const auto length = static_cast<utility::size64_t>(bytes.size());
    out.set_body(concurrency::streams::bytestream::open_istream(std::move(bytes)), length,
                 request.content_type.empty() ? std::string("application/json") : request.content_type);
  }
  return out;
}

// Reads a response body line by line as chunks arrive.
class CpprestLineReader final : public LineReader {
 public:
  CpprestLineReader(http::http_response response, pplx::cancellation_token_source cancel)
      : response_(std::move(response)), body_(response_.body()), cancel_(std::move(cancel)) {}

  ~CpprestLineReader() override { cancel(); }

  Result<std::optional<std::string>> read_line() override {
    if (cancelled()) return make_error(ErrorKind::Cancelled, "watch cancelled");
    try {
      // A buffer of unsigned char like the body stream: a container_buffer<std::string> would be
      // called through streambuf<unsigned char> (see to_cpprest).
      concurrency::streams::container_buffer<std::vector<unsigned char>> line;
      size_t n = body_.read_line(line).get();
      if (cancelled()) return make_error(ErrorKind::Cancelled, "watch cancelled");
      if (n == 0 && body_.is_eof()) return std::optional<std::string>();
      const std::vector<unsigned char>& bytes = line.collection();
      return std::optional<std::string>(std::string(bytes.begin(), bytes.end()));
    } catch (const std::exception& e) {
      if (cancelled()) return make_error(ErrorKind::Cancelled, "watch cancelled");
      return make_error(ErrorKind::Transient, std::string("stream broken: ") + e.what());
    }
  }

  void cancel() override {
    if (!cancelled_.exchange(true)) cancel_.cancel();
  }

 private:
  // By cancel(), or by the transport's close(): cancel_ is linked to the transport's token.
  bool cancelled() const { return cancelled_ || cancel_.get_token().is_canceled(); }

  http::http_response response_;
  concurrency::streams::istream body_;
  pplx::cancellation_token_source cancel_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

void initialize_http_threads(int threads) {
  static std::once_flag once;
  std::call_once(once, [threads] { crossplat::threadpool::initialize_with_threads(static_cast<size_t>(threads)); });
}

struct CpprestTransport::Impl {
  std::unique_ptr<client::http_client> requests;
  std::unique_ptr<client::http_client> streams;
  TransportOptions options;
  // Cancelled by close(): every request and stream runs under it.
  pplx::cancellation_token_source closing;
};

namespace {
Error closed_error(const HttpRequest& request) {
  return make_error(ErrorKind::Cancelled, "transport closed: " + request.method + " " + request.target);
}
}  // namespace

CpprestTransport::CpprestTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CpprestTransport::~CpprestTransport() = default;

Result<std::unique_ptr<CpprestTransport>> CpprestTransport::create(const ClientConfig& config, TransportOptions options) {
  if (config.server.rfind("https://", 0) != 0) {
    return make_error(ErrorKind::BadConfig, "server " + config.server + ": only https:// is supported");
  }
  if (!config.tls_server_name.empty()) {
    return make_error(ErrorKind::BadConfig, "tls-server-name is not supported by this client");
  }
  initialize_http_threads(4);
  auto ca = config.ca_pem;
  auto cert = config.client_cert_pem;
  auto key = config.client_key_pem;
  auto ssl_setup = [ca, cert, key](boost::asio::ssl::context& ctx) {
    if (!ca.empty()) {
      // Trust exactly the configured CA, as client-go does, not the system store as well.
      SSL_CTX_set_cert_store(ctx.native_handle(), X509_STORE_new());
      ctx.add_certificate_authority(boost::asio::buffer(ca.data(), ca.size()));
    }
    if (!cert.empty()) {
      ctx.use_certificate_chain(boost::asio::buffer(cert.data(), cert.size()));
      ctx.use_private_key(boost::asio::buffer(key.data(), key.size()), boost::asio::ssl::context::pem);
    }
  };
  auto make = [&](std::chrono::seconds timeout) -> Result<std::unique_ptr<client::http_client>> {
    client::http_client_config cfg;
    cfg.set_timeout(timeout);
    cfg.set_validate_certificates(true);
    cfg.set_ssl_context_callback(ssl_setup);
    try {
      return std::make_unique<client::http_client>(web::uri(config.server), cfg);
    } catch (const std::exception& e) {
      return make_error(ErrorKind::BadConfig, "server " + config.server + ": " + e.what());
    }
  };
  auto requests = make(options.request_timeout);
  if (!requests.ok()) return requests.error();
  auto streams = make(options.stream_idle_timeout);
  if (!streams.ok()) return streams.error();
  auto impl = std::make_unique<Impl>();
  impl->requests = std::move(requests.value());
  impl->streams = std::move(streams.value());
  impl->options = options;
  return std::unique_ptr<CpprestTransport>(new CpprestTransport(std::move(impl)));
}

Result<HttpResponse> CpprestTransport::send(const HttpRequest& request) {
  if (impl_->closing.get_token().is_canceled()) return closed_error(request);
  const auto started = std::chrono::steady_clock::now();
  try {
    http::http_response response =
        impl_->requests->request(to_cpprest(request), impl_->closing.get_token()).get();
    HttpResponse out;
    out.status = response.status_code();
    out.headers = headers_of(response);
    out.body = response.extract_utf8string(true).get();
    return out;
  } catch (const std::exception& e) {
    if (impl_->closing.get_token().is_canceled()) return closed_error(request);
    return transport_error(e, request.method != "GET", std::chrono::steady_clock::now() - started,
                           impl_->options.request_timeout);
  }
}

void CpprestTransport::close() { impl_->closing.cancel(); }

Result<StreamResponse> CpprestTransport::open_stream(const HttpRequest& request) {
  if (impl_->closing.get_token().is_canceled()) return closed_error(request);
  const auto started = std::chrono::steady_clock::now();
  pplx::cancellation_token closing = impl_->closing.get_token();
  auto cancel = pplx::cancellation_token_source::create_linked_source(closing);
  try {
    http::http_response response = impl_->streams->request(to_cpprest(request), cancel.get_token()).get();
    StreamResponse out;
    out.status = response.status_code();
    out.headers = headers_of(response);
    if (out.status != 200) {
      out.error_body = response.extract_utf8string(true).get();
      return out;
    }
    out.lines = std::make_unique<CpprestLineReader>(std::move(response), std::move(cancel));
    return out;
  } catch (const std::exception& e) {
    if (impl_->closing.get_token().is_canceled()) return closed_error(request);
    return transport_error(e, false, std::chrono::steady_clock::now() - started, impl_->options.stream_idle_timeout);
  }
}

}  // namespace kube
