#pragma once
// Runs BIRD in the foreground as a child (`bird -f -c CONF -s SOCK`) and
// restarts it with backoff when it exits. The agent is the container's
// entrypoint; BGP keeps running whatever happens to the Kubernetes API.
// With a log sink, BIRD's stderr comes through a pipe: each line is passed to
// the sink and then written to the agent's stderr unchanged (the container log
// stays the same). BIRD's end of the pipe is non-blocking: an agent that stops
// reading (frozen, wedged) costs BIRD log lines, never a blocked BGP daemon.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "kube/clock.h"

namespace rr::agent {

struct BirdProcessOptions {
  std::string bird_binary = "bird";
  std::filesystem::path config_path = "/etc/bird/bird.conf";
  std::filesystem::path socket_path = "/run/bird/bird.ctl";
  std::vector<std::string> extra_args;
  // After SIGTERM on stop, how long (on the clock) BIRD may take before SIGKILL.
  std::chrono::milliseconds stop_grace{10000};
};

class BirdProcess {
 public:
  BirdProcess(BirdProcessOptions options, kube::Clock& clock = kube::RealClock::instance());
  ~BirdProcess();

  // Supervises until `stop`: start, wait, restart after 1 s doubling to 30 s. Stopping sends SIGTERM.
  void run(std::stop_token stop);
  bool running() const { return running_; }
  int restarts() const { return restarts_; }
  // The running child's pid, -1 between runs.
  pid_t pid() const { return pid_; }
  // Called on the run() thread after each exit, with BIRD's waitpid() status and whether run()
  // starts it again (false for the exit a stop asked for). Set before run().
  void set_on_exit(std::function<void(int status, bool restarting)> on_exit) { on_exit_ = std::move(on_exit); }
  // Called on the run() thread with every line BIRD writes to stderr (without '\n'). Set before run().
  void set_log_sink(std::function<void(std::string_view line)> sink) { log_sink_ = std::move(sink); }

 private:
  // fork + exec; -1 when fork fails. With a log sink, *log_fd is the read end of BIRD's stderr.
  pid_t spawn(int* log_fd);
  // Waits for the child to exit, sending SIGTERM (then SIGKILL after stop_grace) once
  // `stop` is requested, and passing its log on meanwhile (log_fd, -1 for none); reaps it and
  // returns its waitpid() status.
  int wait_for_exit(pid_t pid, int log_fd, std::stop_token stop);
  // Reads what BIRD wrote (non-blocking); complete lines go to the sink and to stderr. At EOF
  // (`final`), a last line without '\n' goes too.
  void pass_log(int log_fd, bool final);

  BirdProcessOptions options_;
  kube::Clock& clock_;
  std::atomic<bool> running_{false};
  std::atomic<int> restarts_{0};
  std::atomic<pid_t> pid_{-1};
  std::function<void(int, bool)> on_exit_;
  std::function<void(std::string_view)> log_sink_;
  std::string log_partial_;  // run() thread only: BIRD's last line, not yet complete
  std::mutex mu_;  // pid_ is cleared under it before the child is reaped
};

}  // namespace rr::agent
