#pragma once
// Where bearer tokens come from. Service-account tokens are rotated by the
// kubelet, so a file-backed source re-reads its file instead of keeping the
// token it saw at start-up.

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include "kube/clock.h"
#include "kube/result.h"

namespace kube {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // The token to send now.
  virtual Result<std::string> token() = 0;
  // Called after the server answered 401: the next token() re-reads.
  virtual void invalidate() {}
};

class StaticTokenSource final : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  Result<std::string> token() override { return token_; }

 private:
  const std::string token_;
};

// Reads the token from a file, trimmed of surrounding whitespace. The cached
// copy is re-read once it is older than `refresh` or after invalidate(). While
// the file is unreadable or empty the last good token keeps being served (a
// rotation may be in flight); with no good token yet that is a BadConfig error.
// Safe to call from several threads.
class FileTokenSource final : public TokenSource {
 public:
  FileTokenSource(std::filesystem::path path, Clock& clock,
                  Clock::Duration refresh = std::chrono::minutes(1));

  Result<std::string> token() override;
  void invalidate() override;

  const std::filesystem::path& path() const { return path_; }

 private:
  Result<std::string> read_token() const;

  const std::filesystem::path path_;
  Clock& clock_;
  const Clock::Duration refresh_;

  std::mutex mu_;
  std::optional<std::string> cached_;  // last good token
  Clock::TimePoint read_at_{};
  bool stale_ = true;  // set by invalidate(); cleared by a good read
};

}  // namespace kube
