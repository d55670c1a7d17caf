#include "agent/bird_driver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "bird/config_renderer.h"
#include "bird/config_validator.h"

namespace rr::agent {
namespace {

kube::Error io_error(const std::string& what, const std::filesystem::path& path, int err) {
  return kube::make_error(kube::ErrorKind::Transient, what + " " + path.string() + ": " + std::strerror(err));
}

// Closes a descriptor and removes a temp file unless released.
class TempFile {
 public:
  TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void release() { path_.clear(); }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

BirdDriver::BirdDriver(BirdDriverOptions options, bird::BirdControlClient& control)
    : options_(std::move(options)), control_(control) {}

kube::Status BirdDriver::write_initial(const bird::ReflectorConfig& config) {
  if (auto valid = bird::validate_config(config); !valid) return valid;
  std::string text = bird::render_bird_config(config);
  if (auto written = write_atomically(text); !written) return written;
  applied_ = std::move(text);
  last_error_.clear();
  return {};
}

ApplyOutcome BirdDriver::apply(const bird::ReflectorConfig& config) {
  if (auto valid = bird::validate_config(config); !valid) {
    last_error_ = valid.error().message;
    return ApplyOutcome::Refused;
  }
  std::string text = bird::render_bird_config(config);
  if (text == applied_) {
    last_error_.clear();  // what BIRD runs is what is wanted: an earlier refusal no longer matters
    return ApplyOutcome::Unchanged;
  }
  if (!refused_text_.empty() && text == refused_text_) {
    last_error_ = refused_error_;  // BIRD's verdict on a text does not change; do not ask again
    return ApplyOutcome::Refused;
  }

  bird::BirdValidatorOptions check_options;
  check_options.bird_binary = options_.bird_binary;
  check_options.scratch_dir = options_.scratch_dir;
  if (auto checked = bird::check_with_bird(text, check_options); !checked) {
    last_error_ = checked.error().message;
    // Invalid: BIRD read the file and said no. Anything else (cannot run bird,
    // timeout, no temp space) says nothing about the config: try again later.
    if (checked.error().kind != kube::ErrorKind::Invalid) return ApplyOutcome::Failed;
    remember_refusal(text);
    return ApplyOutcome::Refused;
  }

  if (auto written = write_atomically(text); !written) {
    last_error_ = written.error().message;
    restore_last_good();
    return ApplyOutcome::Failed;
  }
  auto configured = control_.configure(options_.config_path.string());
  if (configured) {
    applied_ = std::move(text);
    last_error_.clear();
    return ApplyOutcome::Reconfigured;
  }
  // BIRD keeps running its old config either way; the file goes back to it so
  // that a BIRD restart loads what runs now. applied_ stays, so the next apply
  // tries the new text again.
  // Not remembered as refused: `bird -p` accepted the text, so this verdict may
  // depend on the running BIRD.
  last_error_ = configured.error().message;
  restore_last_good();
  return configured.error().kind == kube::ErrorKind::Invalid ? ApplyOutcome::Refused : ApplyOutcome::Failed;
}

void BirdDriver::remember_refusal(std::string text) {
  refused_text_ = std::move(text);
  refused_error_ = last_error_;
}

void BirdDriver::restore_last_good() {
  // Without a last good text (no write_initial) the new one stays: it passed `bird -p`.
  if (applied_.empty()) return;
  (void)write_atomically(applied_);
}

kube::Status BirdDriver::write_atomically(const std::string& text) {
  const std::filesystem::path& target = options_.config_path;
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  // Same directory as the target, so that rename() replaces it atomically.
  std::string pattern = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0) return io_error("cannot create a temp file for", target, errno);
  TempFile tmp(fd, pattern);
  // mkostemp already creates 0600; say so explicitly, before any byte of a password is written.
  if (::fchmod(fd, 0600) != 0) return io_error("cannot chmod", tmp.path(), errno);

  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot write", tmp.path(), errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return io_error("cannot fsync", tmp.path(), errno);
  if (tmp.close() != 0) return io_error("cannot close", tmp.path(), errno);
  if (::rename(tmp.path().c_str(), target.c_str()) != 0) return io_error("cannot rename to", target, errno);
  tmp.release();
  // The rename itself is durable once the directory is synced; a failure here changes nothing we can act on.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

}  // namespace rr::agent
