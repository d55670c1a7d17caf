#include "kube/token_source.h"

#include "config_support.h"

namespace kube {

FileTokenSource::FileTokenSource(std::filesystem::path path, Clock& clock, Clock::Duration refresh)
    : path_(std::move(path)), clock_(clock), refresh_(refresh) {}

Result<std::string> FileTokenSource::token() {
  std::lock_guard lock(mu_);
  const Clock::TimePoint now = clock_.now();
  if (cached_ && !stale_ && now - read_at_ < refresh_) return *cached_;

  Result<std::string> fresh = read_token();
  if (fresh.ok()) {
    cached_ = fresh.value();
    read_at_ = now;
    stale_ = false;
    return *cached_;
  }
  // A missing or empty file is usually a rotation in flight; the old token is
  // still the best we have. read_at_ stays put so the next call retries.
  if (cached_) return *cached_;
  return fresh.error();
}

void FileTokenSource::invalidate() {
  std::lock_guard lock(mu_);
  stale_ = true;
}

Result<std::string> FileTokenSource::read_token() const {
  Result<std::string> contents = detail::read_file(path_);
  if (!contents.ok()) return make_error(ErrorKind::BadConfig, "token file: " + contents.error().message);
  std::string token = detail::trim(contents.value());
  if (token.empty()) return make_error(ErrorKind::BadConfig, "token file " + path_.string() + ": empty");
  return token;
}

}  // namespace kube
