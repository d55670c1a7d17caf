#include "bird/config_validator.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <vector>

extern char** environ;

namespace rr::bird {
namespace {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal
  bool timed_out = false;
  std::string output;  // stdout and stderr together
};

kube::Result<RunResult> run_bird(const std::string& binary, const std::string& config_path,
                                 std::chrono::milliseconds timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return kube::make_error(kube::ErrorKind::Transient, std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<std::string> args = {binary, "-p", "-c", config_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return kube::make_error(kube::ErrorKind::BadConfig,
                            "cannot run " + binary + ": " + std::strerror(rc));
  }

  RunResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int pr = poll(&pfd, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) {
      result.timed_out = pr == 0;
      break;
    }
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: BIRD closed its output
    if (result.output.size() < 65536) result.output.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  if (result.timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The config's line `number` (1-based), or nullopt.
std::optional<std::string> line_of(std::string_view text, long number) {
  long current = 1;
  std::size_t start = 0;
  while (current < number) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return std::nullopt;
    start = nl + 1;
    ++current;
  }
  if (start >= text.size()) return std::nullopt;
  const std::size_t end = text.find('\n', start);
  return std::string(text.substr(start, end == std::string_view::npos ? end : end - start));
}

// BIRD says "bird: PATH:LINE:COL MESSAGE". Rewrites it as
// "line LINE:COL: MESSAGE" (plus the offending line when the text is known).
std::string describe_refusal(const std::string& output, const std::string& path,
                             const std::string* config_text) {
  std::string msg = trim(output);
  // Use the last line that names our file: BIRD stops at the first error.
  std::istringstream lines(msg);
  std::string line;
  std::string chosen;
  const std::string marker = path + ":";
  while (std::getline(lines, line)) {
    if (line.find(marker) != std::string::npos) chosen = line;
  }
  if (chosen.empty()) return msg.empty() ? "no message" : msg;
  std::string rest = chosen.substr(chosen.find(marker) + marker.size());  // "L:C MESSAGE"
  const std::size_t sp = rest.find(' ');
  const std::string position = rest.substr(0, sp);
  const std::string text = sp == std::string::npos ? "" : rest.substr(sp + 1);
  std::string out = "line " + position + ": " + text;
  if (config_text != nullptr) {
    const long number = std::strtol(position.c_str(), nullptr, 10);
    if (auto l = line_of(*config_text, number)) {
      std::string quoted = *l;
      if (quoted.find("password") != std::string::npos) quoted = "<line with a password>";
      out += "; line " + std::to_string(number) + ": `" + quoted + "`";
    }
  }
  return out;
}

kube::Status check(const std::string& path, const BirdValidatorOptions& options,
                   const std::string* config_text) {
  auto run = run_bird(options.bird_binary, path, options.timeout);
  if (!run.ok()) return run.error();
  if (run->timed_out) {
    return kube::make_error(kube::ErrorKind::Transient, options.bird_binary + " -p timed out");
  }
  if (run->exit_code == 0) return {};
  if (run->exit_code == 127 || run->exit_code == 126) {
    return kube::make_error(kube::ErrorKind::BadConfig,
                            "cannot run " + options.bird_binary + ": " + trim(run->output));
  }
  return kube::make_error(kube::ErrorKind::Invalid,
                          "bird refused the config: " + describe_refusal(run->output, path, config_text));
}

// A new file in `dir` holding `text`, mode 0600 (it may hold passwords): its path.
kube::Result<std::string> write_temp_copy(const std::filesystem::path& dir, std::string_view text) {
  if (dir.empty()) {
    return kube::make_error(kube::ErrorKind::BadConfig, "no scratch directory for the config check (scratch_dir)");
  }
  std::string path = (dir / "rr-bird-XXXXXX.conf").string();
  const int fd = mkostemps(path.data(), 5, O_CLOEXEC);
  if (fd < 0) {
    return kube::make_error(kube::ErrorKind::Transient,
                            "cannot create a temp file in the scratch directory " + dir.string() + ": " +
                                std::strerror(errno));
  }
  std::size_t written = 0;
  bool ok = true;
  while (written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (close(fd) != 0) ok = false;
  if (!ok) {
    unlink(path.c_str());
    return kube::make_error(kube::ErrorKind::Transient, "cannot write " + path);
  }
  return path;
}

}  // namespace

kube::Status check_file_with_bird(const std::string& path, const BirdValidatorOptions& options) {
  return check(path, options, nullptr);
}

kube::Status check_with_bird(std::string_view config_text, const BirdValidatorOptions& options) {
  auto path = write_temp_copy(options.scratch_dir, config_text);
  if (!path.ok()) return path.error();
  const std::string text(config_text);
  kube::Status status = check(*path, options, &text);
  unlink(path->c_str());
  return status;
}

kube::Status check_scratch_dir(const std::filesystem::path& scratch_dir) {
  auto path = write_temp_copy(scratch_dir, "");
  if (!path.ok()) return path.error();
  unlink(path->c_str());
  return {};
}

}  // namespace rr::bird
