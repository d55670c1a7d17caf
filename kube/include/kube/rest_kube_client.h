#pragma once
// KubeClient over HTTP: URL building, auth headers, a client-side rate limit,
// retries for 429 and 5xx that honour Retry-After (never for a request that
// may have been applied and is not idempotent), and errors classified from the
// API's Status object.

#include <functional>
#include <memory>
#include <string_view>

#include "kube/backoff.h"
#include "kube/clock.h"
#include "kube/http_transport.h"
#include "kube/kube_client.h"
#include "kube/token_bucket.h"

namespace kube {

class TokenSource;
struct ClientConfig;

// One attempt at a request, as RestClientOptions::observe sees it.
struct ApiAttempt {
  std::string_view verb;    // get, list, watch, create, update, patch, delete
  std::string_view target;  // path and query
  int attempt = 1;          // 1 for the first; a retry counts up
  int code = 0;             // HTTP status; 0 when the transport failed (see error)
  Clock::Duration took{};
  Clock::Duration throttled{};  // waited for the client-side rate limit before it was sent
  const Error* error = nullptr;  // the transport's failure, when code is 0
};

struct RestClientOptions {
  double qps = 50;
  int burst = 100;
  int max_attempts = 5;  // including the first
  BackoffPolicy retry_backoff{std::chrono::milliseconds(100), std::chrono::seconds(10), 2.0, 0.2};
  std::string user_agent = "rr-operator";
  // Called after every attempt (retries included). Must be cheap and thread-safe.
  std::function<void(const ApiAttempt&)> observe;
};

class RestKubeClient final : public KubeClient {
 public:
  RestKubeClient(std::shared_ptr<HttpTransport> transport, std::shared_ptr<TokenSource> token,
                 RestClientOptions options = {}, Clock& clock = RealClock::instance(),
                 RandomSource random = default_random_source());

  // The usual way in: HTTPS with the config's TLS settings and credentials.
  static Result<std::unique_ptr<RestKubeClient>> connect(const ClientConfig& config, RestClientOptions options = {});

  Result<Json> get(const ResourceType& type, const std::string& ns, const std::string& name) override;
  Result<ObjectList> list(const ResourceType& type, const std::string& ns, const ListOptions& options) override;
  // Fetches page n+1 while page n is decoded and handed on (its continue token is read from
  // the top of its body first): a first sync then costs about the wire time, not wire plus decode.
  Result<std::string> list_pages(const ResourceType& type, const std::string& ns, ListOptions options,
                                 const PageSink& page) override;
  Result<Json> create(const ResourceType& type, const std::string& ns, const Json& object) override;
  Result<Json> update(const ResourceType& type, const Json& object) override;
  Result<Json> update_status(const ResourceType& type, const Json& object) override;
  Result<Json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                     PatchType patch_type, const Json& patch, const PatchOptions& options) override;
  Status remove(const ResourceType& type, const std::string& ns, const std::string& name,
                const DeleteOptions& options) override;
  Result<std::unique_ptr<WatchStream>> watch(const ResourceType& type, const std::string& ns,
                                             const WatchOptions& options) override;

  // Raw GET of a path such as "/version" or "/readyz", with auth and retries.
  Result<Json> get_path(const std::string& path);

  // For shutdown, once nothing more needs the API: every request in flight or waiting to be
  // retried returns Cancelled at once, and so does every later one. Thread-safe; idempotent.
  void close();

 private:
  enum class Idempotency { Safe, Unsafe };
  Result<HttpResponse> execute(std::string_view verb, HttpRequest request, Idempotency idempotency);
  Result<Json> execute_json(std::string_view verb, HttpRequest request, Idempotency idempotency);
  Result<HttpResponse> fetch_page(const ResourceType& type, const std::string& ns, const ListOptions& options);
  Status add_auth(HttpRequest& request);
  // Waits for the client-side rate limit: how long, or Cancelled once the client is closed.
  Result<Clock::Duration> throttle(const HttpRequest& request);

  std::shared_ptr<HttpTransport> transport_;
  std::shared_ptr<TokenSource> token_;
  RestClientOptions options_;
  Clock& clock_;
  RandomSource random_;
  TokenBucket limiter_;
  std::stop_source closing_;
};

// Maps a non-2xx response to an Error, reading the API's Status object when present.
Error error_from_response(int http_status, const std::string& body, const std::string& retry_after_header);
// Maps a Status object (an ERROR watch event's payload) to an Error.
Error error_from_status_object(const Json& status);

}  // namespace kube
