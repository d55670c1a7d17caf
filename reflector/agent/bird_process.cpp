#include "agent/bird_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <utility>

namespace rr::agent {
namespace {

using namespace std::chrono_literals;

constexpr kube::Clock::Duration kFirstBackoff = 1s;
constexpr kube::Clock::Duration kMaxBackoff = 30s;
// A BIRD that ran this long was healthy: its next failure starts the backoff afresh.
constexpr kube::Clock::Duration kStableRun = kMaxBackoff;
// Without a pidfd, how often the exit is looked for.
constexpr int kFallbackPollMs = 100;
// BIRD's log lines are short; a longer one is passed on in pieces of this size.
constexpr std::size_t kMaxLogLine = 64 * 1024;

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the agent's own stderr is gone: nothing better to do with the line
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// The binary's path, looked up in PATH here because the child may only make
// async-signal-safe calls between fork and exec.
std::string resolve_binary(const std::string& binary) {
  if (binary.find('/') != std::string::npos) return binary;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = end > start ? dirs.substr(start, end - start) : std::string(".");
    const std::string candidate = dir + "/" + binary;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return binary;  // execv fails; the child exits 127 and is restarted with backoff
}

// An eventfd written once when stop is requested.
class Wakeup {
 public:
  Wakeup() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Wakeup() {
    if (fd_ >= 0) ::close(fd_);
  }
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;
  int fd() const { return fd_; }
  void notify() const {
    const std::uint64_t one = 1;
    if (fd_ >= 0) (void)!::write(fd_, &one, sizeof one);
  }

 private:
  int fd_;
};

// The child exited (it stays a zombie until reaped, so its pid cannot be reused meanwhile).
bool has_exited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;  // not ours any more: nothing to wait for
  }
  return info.si_pid == pid;
}

}  // namespace

BirdProcess::BirdProcess(BirdProcessOptions options, kube::Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

BirdProcess::~BirdProcess() {
  // run() reaps its child before returning; this only matters if it never returned.
  std::lock_guard lock(mu_);
  const pid_t pid = pid_.load();
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

pid_t BirdProcess::spawn(int* log_fd) {
  *log_fd = -1;
  int log_pipe[2] = {-1, -1};
  if (log_sink_ && ::pipe2(log_pipe, O_CLOEXEC) == 0) {
    // Both ends non-blocking: BIRD never waits for the agent to read its log, and pass_log()
    // never waits for BIRD to write.
    ::fcntl(log_pipe[0], F_SETFL, O_NONBLOCK);
    ::fcntl(log_pipe[1], F_SETFL, O_NONBLOCK);
  }
  const std::string binary = resolve_binary(options_.bird_binary);
  std::vector<std::string> args = {options_.bird_binary, "-f", "-c", options_.config_path.string(),
                                   "-s", options_.socket_path.string()};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) {  // parent, or -1
    if (log_pipe[1] >= 0) ::close(log_pipe[1]);
    if (pid > 0) {
      *log_fd = log_pipe[0];
    } else if (log_pipe[0] >= 0) {
      ::close(log_pipe[0]);
    }
    return pid;
  }

  // Child: async-signal-safe calls only.
  // BIRD dies with the agent (the thread that forked it, which lives until it is reaped):
  // no orphan BIRD to clash with the next agent's.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(1);
  // The agent may block or ignore signals for its own handling; BIRD needs SIGTERM and friends.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (log_pipe[1] >= 0) ::dup2(log_pipe[1], STDERR_FILENO);  // dup2 clears O_CLOEXEC on fd 2
  // stdin, stdout and stderr only: BIRD must not hold the agent's sockets.
  if (::close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < 4096; ++fd) ::close(fd);
  }
  ::execv(binary.c_str(), argv.data());
  ::_exit(127);
}

void BirdProcess::pass_log(int log_fd, bool final) {
  char chunk[16384];
  for (;;) {
    const ssize_t n = ::read(log_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: all read for now; 0: BIRD closed its end
    log_partial_.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = log_partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      const std::string_view line(log_partial_.data() + start, nl - start);
      log_sink_(line);
      write_all(STDERR_FILENO, std::string_view(log_partial_.data() + start, nl - start + 1));
    }
    log_partial_.erase(0, start);
    // A line longer than the pipe is passed on in pieces rather than held without bound.
    if (log_partial_.size() > kMaxLogLine) {
      log_sink_(log_partial_);
      write_all(STDERR_FILENO, log_partial_ + "\n");
      log_partial_.clear();
    }
  }
  if (final && !log_partial_.empty()) {
    log_sink_(log_partial_);
    write_all(STDERR_FILENO, log_partial_ + "\n");
    log_partial_.clear();
  }
}

int BirdProcess::wait_for_exit(pid_t pid, int log_fd, std::stop_token stop) {
  Wakeup wakeup;
  std::stop_callback on_stop(stop, [&wakeup] { wakeup.notify(); });
  // Via syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C". -1 on old kernels: waitid is polled instead.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));

  bool terminated = false;
  bool killed = false;
  auto kill_deadline = kube::Clock::TimePoint::max();
  for (;;) {
    if (has_exited(pid)) break;
    if (stop.stop_requested() && !terminated) {
      ::kill(pid, SIGTERM);  // safe: an unreaped child keeps its pid
      terminated = true;
      kill_deadline = clock_.now() + options_.stop_grace;
    }
    int timeout = pidfd >= 0 ? -1 : kFallbackPollMs;
    if (terminated && !killed) {
      const auto now = clock_.now();
      if (now >= kill_deadline) {
        ::kill(pid, SIGKILL);
        killed = true;
      } else {
        // Rechecked at least this often: a fake clock moves without waking poll().
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(kill_deadline - now).count();
        timeout = timeout < 0 ? static_cast<int>(left) : std::min<int>(timeout, static_cast<int>(left));
      }
    }
    pollfd fds[3];
    nfds_t n = 0;
    if (!terminated) fds[n++] = {wakeup.fd(), POLLIN, 0};  // stays readable once written
    if (pidfd >= 0) fds[n++] = {pidfd, POLLIN, 0};
    if (log_fd >= 0) fds[n++] = {log_fd, POLLIN, 0};
    ::poll(fds, n, timeout);
    if (log_fd >= 0) {
      pass_log(log_fd, false);
      // Every writer closed its end: an fd at EOF stays readable, so it is polled no more.
      if ((fds[n - 1].revents & (POLLHUP | POLLERR)) != 0 && (fds[n - 1].revents & POLLIN) == 0) {
        pass_log(log_fd, true);
        ::close(log_fd);
        log_fd = -1;
      }
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  if (log_fd >= 0) {
    pass_log(log_fd, true);
    ::close(log_fd);
  }

  int status = 0;
  {
    // Forget the pid before it is reaped and can be reused.
    std::lock_guard lock(mu_);
    pid_ = -1;
    running_ = false;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  return status;
}

void BirdProcess::run(std::stop_token stop) {
  kube::Clock::Duration backoff = kFirstBackoff;
  bool first = true;
  while (!stop.stop_requested()) {
    if (!first) ++restarts_;
    first = false;
    const auto started = clock_.now();
    int log_fd = -1;
    const pid_t pid = spawn(&log_fd);
    if (pid > 0) {
      std::lock_guard lock(mu_);
      pid_ = pid;
      running_ = true;
    }
    if (pid > 0) {
      const int status = wait_for_exit(pid, log_fd, stop);
      if (on_exit_) on_exit_(status, !stop.stop_requested());
      if (clock_.now() - started >= kStableRun) backoff = kFirstBackoff;
    }
    // fork failed: retry with the same backoff as a crash
    if (stop.stop_requested()) break;
    if (!clock_.sleep_for(backoff, stop)) break;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace rr::agent
