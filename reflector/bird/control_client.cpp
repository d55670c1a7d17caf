#include "bird/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

namespace rr::bird {
namespace {

using kube::ErrorKind;
using kube::make_error;

std::string errno_text(int err) { return std::strerror(err); }

kube::Error transient(std::string message) { return make_error(ErrorKind::Transient, "bird: " + std::move(message)); }

// Milliseconds left until `deadline`, rounded up so that poll() never wakes
// just before it; 0 when it has passed.
int poll_timeout_ms(kube::Clock::TimePoint now, kube::Clock::TimePoint deadline) {
  if (now >= deadline) return 0;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
  return static_cast<int>(std::min<long long>(left, 60'000));
}

// "configure \"path\"": BIRD's lexer has no escapes inside strings.
kube::Status check_quotable(const std::string& path) {
  if (path.empty() || path.find_first_of("\"\n") != std::string::npos) {
    return make_error(ErrorKind::Invalid, "bird: configuration path cannot be quoted for BIRD: " + path);
  }
  return {};
}

}  // namespace

BirdControlClient::BirdControlClient(kube::Clock& clock) : clock_(clock) {}

BirdControlClient::~BirdControlClient() { close(); }

void BirdControlClient::close() {
  std::lock_guard lock(mu_);
  close_locked();
}

bool BirdControlClient::connected() const {
  std::lock_guard lock(mu_);
  return fd_ >= 0;
}

std::string BirdControlClient::greeting() const {
  std::lock_guard lock(mu_);
  return greeting_;
}

void BirdControlClient::close_locked() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
  greeting_.clear();
}

kube::Status BirdControlClient::connect(const std::string& path, std::chrono::milliseconds timeout) {
  std::lock_guard lock(mu_);
  path_ = path;
  return connect_locked(clock_.now() + timeout);
}

kube::Status BirdControlClient::connect_locked(TimePoint deadline) {
  close_locked();
  if (path_.empty()) return make_error(ErrorKind::BadConfig, "bird: no control socket path");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof(addr.sun_path)) {
    return make_error(ErrorKind::BadConfig, "bird: control socket path too long: " + path_);
  }
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return transient("socket: " + errno_text(errno));
  fd_ = fd;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    if (err == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      const int n = ::poll(&pfd, 1, poll_timeout_ms(clock_.now(), deadline));
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      if (n < 0) so_error = errno;
      else if (n > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
      if (n <= 0 || so_error != 0) {
        close_locked();
        return transient("connect " + path_ + ": " + (n == 0 ? std::string("timed out") : errno_text(so_error)));
      }
    } else {
      close_locked();
      // ENOENT / ECONNREFUSED: BIRD not started yet or restarting; EAGAIN: backlog full.
      const ErrorKind kind = (err == EACCES || err == EPERM) ? ErrorKind::Forbidden : ErrorKind::Transient;
      return make_error(kind, "bird: connect " + path_ + ": " + errno_text(err));
    }
  }

  auto hello = read_reply_locked(deadline);
  if (!hello) return hello.error();  // read_reply_locked closed the connection
  if (hello->final_code != reply_code::kWelcome) {
    close_locked();
    return make_error(ErrorKind::Protocol, "bird: expected a 0001 greeting, got code " +
                                               std::to_string(hello->final_code));
  }
  greeting_ = hello->lines.back().text;
  return {};
}

bool BirdControlClient::connection_looks_alive_locked() {
  // BIRD sends nothing unasked, so a readable idle connection is at EOF
  // (BIRD restarted) or out of step: either way it is not to be used.
  if (!buffer_.empty()) return false;
  pollfd pfd{fd_, POLLIN, 0};
  const int n = ::poll(&pfd, 1, 0);
  return n == 0;
}

kube::Status BirdControlClient::write_all_locked(std::string_view data, TimePoint deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    const int err = errno;
    if (n < 0 && err == EINTR) continue;
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      pollfd pfd{fd_, POLLOUT, 0};
      const int timeout = poll_timeout_ms(clock_.now(), deadline);
      if (timeout == 0 || ::poll(&pfd, 1, timeout) == 0) {
        close_locked();
        return transient("timed out writing to " + path_);
      }
      continue;
    }
    close_locked();
    return transient("write to " + path_ + ": " + errno_text(err));
  }
  return {};
}

kube::Result<Reply> BirdControlClient::read_reply_locked(TimePoint deadline) {
  std::vector<ReplyLine> lines;
  std::optional<int> previous;
  std::size_t consumed = 0;
  for (;;) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      auto line = parse_reply_line(std::string_view(buffer_).substr(0, nl), previous);
      consumed += nl + 1;
      buffer_.erase(0, nl + 1);
      if (!line) {
        close_locked();
        return line.error();
      }
      previous = line->code;
      const bool last = line->last;
      lines.push_back(std::move(line).value());
      if (last) return make_reply(std::move(lines));
      continue;
    }
    if (consumed + buffer_.size() > kMaxReplyBytes) {
      close_locked();
      return make_error(ErrorKind::Protocol, "bird: reply larger than " + std::to_string(kMaxReplyBytes) + " bytes");
    }

    const int timeout = poll_timeout_ms(clock_.now(), deadline);
    if (timeout == 0) {
      close_locked();
      return transient("timed out waiting for a reply on " + path_);
    }
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, timeout);
    if (ready < 0 && errno != EINTR) {
      const int err = errno;
      close_locked();
      return transient("poll: " + errno_text(err));
    }
    if (ready <= 0) continue;  // EINTR or the wait ran out: the deadline check above decides

    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0) {
      close_locked();
      return transient(lines.empty() && consumed == 0 ? "connection closed by BIRD"
                                                      : "connection closed by BIRD in the middle of a reply");
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      const int err = errno;
      close_locked();
      return transient("read from " + path_ + ": " + errno_text(err));
    }
  }
}

kube::Result<Reply> BirdControlClient::command(std::string_view cmd, std::chrono::milliseconds timeout) {
  if (cmd.empty() || cmd.find('\n') != std::string_view::npos) {
    return make_error(ErrorKind::Invalid, "bird: a command is one non-empty line");
  }
  std::lock_guard lock(mu_);
  const TimePoint deadline = clock_.now() + timeout;
  if (fd_ >= 0 && !connection_looks_alive_locked()) close_locked();
  if (fd_ < 0) {
    if (auto connected = connect_locked(deadline); !connected) return connected.error();
  }
  std::string line(cmd);
  line += '\n';
  if (auto written = write_all_locked(line, deadline); !written) {
    kube::Error error = written.error();
    error.maybe_applied = true;  // part of the line may have reached BIRD
    return error;
  }
  auto reply = read_reply_locked(deadline);
  if (!reply) {
    kube::Error error = reply.error();
    error.maybe_applied = true;
    return error;
  }
  // Bytes after a final line mean we are out of step with BIRD: start afresh next time.
  if (!buffer_.empty()) close_locked();
  return reply;
}

kube::Result<std::vector<ProtocolState>> BirdControlClient::show_protocols_all(std::chrono::milliseconds timeout) {
  auto reply = command("show protocols all", timeout);
  if (!reply) return reply.error();
  return parse_show_protocols_all(*reply);
}

kube::Result<std::vector<ProtocolState>> BirdControlClient::show_protocol_all(std::string_view name,
                                                                             std::chrono::milliseconds timeout) {
  const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
  if (!plain) return make_error(ErrorKind::Invalid, "bird: not a protocol name: " + std::string(name));
  auto reply = command("show protocols all \"" + std::string(name) + "\"", timeout);
  if (!reply) return reply.error();
  if (reply->final_code == reply_code::kNoProtocolsMatch) return std::vector<ProtocolState>{};
  return parse_show_protocols_all(*reply);
}

kube::Result<DaemonStatus> BirdControlClient::show_status(std::chrono::milliseconds timeout) {
  auto reply = command("show status", timeout);
  if (!reply) return reply.error();
  return parse_show_status(*reply);
}

kube::Status BirdControlClient::configure(const std::string& path, std::chrono::milliseconds timeout) {
  if (auto quotable = check_quotable(path); !quotable) return quotable;
  auto reply = command("configure \"" + path + "\"", timeout);
  if (!reply) return reply.error();
  return configure_outcome(*reply);
}

kube::Status BirdControlClient::configure_check(const std::string& path, std::chrono::milliseconds timeout) {
  if (auto quotable = check_quotable(path); !quotable) return quotable;
  auto reply = command("configure check \"" + path + "\"", timeout);
  if (!reply) return reply.error();
  return configure_check_outcome(*reply);
}

}  // namespace rr::bird
