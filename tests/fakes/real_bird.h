#pragma once
// Test scaffolding for the tests that drive a real BIRD 2 (or a script
// standing in for it): a temporary directory, a bounded wait, and a BIRD
// child process that binds only its control socket and what its config says.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace kube::testing {

// Bounded real wait for a condition another thread or process makes true; never a timing assertion.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(10),
                       std::chrono::milliseconds step = std::chrono::milliseconds(2)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(step);
  }
  return true;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "rr-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }
  // The names in the directory, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  // An executable /bin/sh script, e.g. standing in for bird.
  std::string script(const std::string& name, const std::string& body) const {
    const std::string path = file(name);
    std::ofstream(path) << "#!/bin/sh\n" << body;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
  }

 private:
  std::filesystem::path path_;
};

// The bird binary scripts/setup.sh installs; "" when there is none.
inline std::string find_bird() {
  for (const char* candidate : {"/usr/sbin/bird", "/usr/local/sbin/bird", "/usr/bin/bird"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return {};
}

// A real BIRD 2 child: `bird -f -c CONFIG -s DIR/bird.ctl -P DIR/bird.pid`, output in DIR/bird.log.
class RealBird {
 public:
  RealBird(std::string binary, const TempDir& dir, std::string config)
      : binary_(std::move(binary)),
        config_(std::move(config)),
        socket_(dir.file("bird.ctl")),
        pid_file_(dir.file("bird.pid")),
        log_(dir.file("bird.log")) {}
  ~RealBird() { stop(); }
  RealBird(const RealBird&) = delete;
  RealBird& operator=(const RealBird&) = delete;

  bool start() {
    std::vector<std::string> args = {binary_, "-f", "-c", config_, "-s", socket_, "-P", pid_file_};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = ::posix_spawn(&pid_, binary_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (!eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, std::chrono::seconds(5))) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  const std::string& config() const { return config_; }
  const std::string& socket() const { return socket_; }
  std::string log() const { return read_file(log_); }

 private:
  std::string binary_;
  std::string config_;
  std::string socket_;
  std::string pid_file_;
  std::string log_;
  pid_t pid_ = -1;
};

}  // namespace kube::testing
