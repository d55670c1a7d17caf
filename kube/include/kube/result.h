#pragma once
// A classified error and a must-use result type. Exceptions from cpprestsdk,
// nlohmann/json and yaml-cpp stop at the adapters; everything above them
// returns Result<T>.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kube {

enum class ErrorKind {
  NotFound,
  AlreadyExists,
  Conflict,
  Gone,             // resourceVersion too old (HTTP 410, reason Expired/Gone)
  Forbidden,
  Unauthorized,
  Invalid,          // 422 or 400: the request itself is wrong; retrying will not help
  TooManyRequests,  // 429
  Transient,        // 5xx, timeouts, connection failures: worth retrying
  BadConfig,        // kubeconfig / flags / environment
  Cancelled,
  Protocol,         // the server answered something that is not what the API promises
};

std::string_view to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::Transient;
  std::string message;
  int http_status = 0;                          // 0 when no HTTP response was seen
  std::optional<std::chrono::seconds> retry_after;
  // True when the request may have reached the server and been applied.
  bool maybe_applied = false;
  // True when no answer came within the transport's deadline (a server that accepts
  // connections but never answers, or never completes TLS).
  bool timed_out = false;

  std::string describe() const;
};

Error make_error(ErrorKind kind, std::string message);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }
  bool is(ErrorKind kind) const { return !ok() && error().kind == kind; }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }
  bool is(ErrorKind kind) const { return !ok() && error_->kind == kind; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace kube
