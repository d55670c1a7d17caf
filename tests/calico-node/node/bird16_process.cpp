#include "node/bird16_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

extern char** environ;

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

pid_t Bird16Process::spawn() {
  std::vector<std::string> args = {options_.bird_binary, "-f", "-c", options_.config_path, "-s", options_.socket_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
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
