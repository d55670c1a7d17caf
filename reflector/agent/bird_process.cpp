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

pid_t BirdProcess::spawn() {
  const std::string binary = resolve_binary(options_.bird_binary);
  std::vector<std::string> args = {options_.bird_binary, "-f", "-c", options_.config_path.string(),
                                   "-s", options_.socket_path.string()};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;  // parent, or -1

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
  // stdin, stdout and stderr only: BIRD must not hold the agent's sockets.
  if (::close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < 4096; ++fd) ::close(fd);
  }
  ::execv(binary.c_str(), argv.data());
  ::_exit(127);
}

int BirdProcess::wait_for_exit(pid_t pid, std::stop_token stop) {
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
    pollfd fds[2];
    nfds_t n = 0;
    if (!terminated) fds[n++] = {wakeup.fd(), POLLIN, 0};  // stays readable once written
    if (pidfd >= 0) fds[n++] = {pidfd, POLLIN, 0};
    ::poll(fds, n, timeout);
  }
  if (pidfd >= 0) ::close(pidfd);

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
    const pid_t pid = spawn();
    if (pid > 0) {
      std::lock_guard lock(mu_);
      pid_ = pid;
      running_ = true;
    }
    if (pid > 0) {
      const int status = wait_for_exit(pid, stop);
      if (on_exit_) on_exit_(status);
      if (clock_.now() - started >= kStableRun) backoff = kFirstBackoff;
    }
    // fork failed: retry with the same backoff as a crash
    if (stop.stop_requested()) break;
    if (!clock_.sleep_for(backoff, stop)) break;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace rr::agent
