#include "kube/result.h"

namespace kube {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::NotFound: return "NotFound";
    case ErrorKind::AlreadyExists: return "AlreadyExists";
    case ErrorKind::Conflict: return "Conflict";
    case ErrorKind::Gone: return "Gone";
    case ErrorKind::Forbidden: return "Forbidden";
    case ErrorKind::Unauthorized: return "Unauthorized";
    case ErrorKind::Invalid: return "Invalid";
    case ErrorKind::TooManyRequests: return "TooManyRequests";
    case ErrorKind::Transient: return "Transient";
    case ErrorKind::BadConfig: return "BadConfig";
    case ErrorKind::Cancelled: return "Cancelled";
    case ErrorKind::Protocol: return "Protocol";
  }
  return "Unknown";
}

std::string Error::describe() const {
  std::string s(to_string(kind));
  if (http_status != 0) s += " (HTTP " + std::to_string(http_status) + ")";
  if (!message.empty()) s += ": " + message;
  return s;
}

Error make_error(ErrorKind kind, std::string message) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

}  // namespace kube
