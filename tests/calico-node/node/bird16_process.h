#pragma once
// BIRD 1.6 as a child of the stand-in, as calico-node runs its bird under
// runit: `bird -f -c CONF -s SOCK`, restarted after it exits (1 s doubling to
// 30 s), SIGTERM then SIGKILL on stop.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <stop_token>
#include <string>

namespace rr::calico {

struct Bird16ProcessOptions {
  std::string bird_binary = "bird";
  std::string config_path;
  std::string socket_path;
  std::chrono::milliseconds stop_grace{10000};
};

class Bird16Process {
 public:
  explicit Bird16Process(Bird16ProcessOptions options) : options_(std::move(options)) {}
  // Supervises until `stop` is requested.
  void run(std::stop_token stop);
  bool running() const { return pid_.load() > 0; }
  int restarts() const { return restarts_.load(); }
  void set_on_exit(std::function<void(int status)> on_exit) { on_exit_ = std::move(on_exit); }

 private:
  pid_t spawn();
  int wait_for_exit(pid_t pid, std::stop_token stop);

  Bird16ProcessOptions options_;
  std::atomic<pid_t> pid_{-1};
  std::atomic<int> restarts_{0};
  std::function<void(int)> on_exit_;
};

}  // namespace rr::calico
