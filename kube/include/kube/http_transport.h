#pragma once
// The seam between the REST client and the wire. RestKubeClient speaks only to
// this interface; CpprestTransport implements it over HTTPS, and tests use a
// scripted transport.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kube/result.h"

namespace kube {

struct HttpRequest {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string target;  // path and query: "/api/v1/nodes?limit=500"
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A streamed body read line by line (watch events are newline-delimited JSON).
class LineReader {
 public:
  virtual ~LineReader() = default;
  // The next complete line without its newline; nullopt once the server closed
  // the stream; an Error when the connection broke or was cancelled.
  virtual Result<std::optional<std::string>> read_line() = 0;
  // Makes a blocked or later read_line() return Cancelled promptly. Thread-safe.
  virtual void cancel() = 0;
};

struct StreamResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string error_body;               // the body, when status is not 200
  std::unique_ptr<LineReader> lines;    // set when status is 200
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Any HTTP status is a success here; an Error means no usable response
  // (connect failure, timeout, TLS failure). Error::maybe_applied tells whether
  // the request may have reached the server.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
  virtual Result<StreamResponse> open_stream(const HttpRequest& request) = 0;
  // For shutdown: aborts every request and stream in flight, and makes every later
  // one fail with Cancelled. Thread-safe; idempotent.
  virtual void close() = 0;
};

}  // namespace kube
