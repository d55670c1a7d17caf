#include "node/bird16_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace rr::calico {
namespace {

// Sleeps `d` unless `stop` is requested first; false when stopped.
bool sleep_unless_stopped(std::chrono::milliseconds d, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  return !cv.wait_for(lock, stop, d, [] { return false; }) && !stop.stop_requested();
}

}  // namespace

// fork + exec rather than posix_spawn: the child asks for SIGTERM when the thread that
// supervises it dies, so a stand-in killed outright leaves no BIRD behind.
pid_t Bird16Process::spawn() {
  std::vector<std::string> args = {options_.bird_binary, "-f", "-c", options_.config_path, "-s", options_.socket_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;  // the parent, or -1
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  const int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0) ::dup2(null, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the stand-in blocks SIGTERM in its threads; BIRD must not
  ::execvp(argv[0], argv.data());
  ::_exit(127);
}

int Bird16Process::wait_for_exit(pid_t pid, std::stop_token stop) {
  int status = 0;
  bool terminated = false;
  auto killed_at = std::chrono::steady_clock::time_point::max();
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return status;
    if (stop.stop_requested() && !terminated) {
      ::kill(pid, SIGTERM);
      terminated = true;
      killed_at = std::chrono::steady_clock::now() + options_.stop_grace;
    }
    if (terminated && std::chrono::steady_clock::now() > killed_at) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Bird16Process::run(std::stop_token stop) {
  std::chrono::milliseconds backoff{1000};
  while (!stop.stop_requested()) {
    const pid_t pid = spawn();
    if (pid > 0) {
      pid_ = pid;
      const int status = wait_for_exit(pid, stop);
      pid_ = -1;
      if (stop.stop_requested()) return;
      if (on_exit_) on_exit_(status);
      ++restarts_;
    }
    if (!sleep_unless_stopped(backoff, stop)) return;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
  }
}

}  // namespace rr::calico
