#include "support/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/control_plane.h"

namespace rr::testing {

namespace {

// Children are started with posix_spawn, never fork: the test binaries are multithreaded, and a
// forked child of one runs only the forking thread, with every lock another thread held at the
// fork still held. In an ASan build a child that allocates before exec can hang for good on the
// allocator's or stack depot's lock (seen: an operator that never started, its log empty); glibc's
// posix_spawn runs no code of ours, and nothing instrumented, between clone and exec.
struct SpawnActions {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnActions() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnActions() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

// argv as exec takes it; the strings stay owned by `argv`.
std::vector<char*> exec_vector(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// This process's environment with `overrides` set.
std::vector<std::string> environment_with(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    if (overrides.count(entry.substr(0, entry.find('='))) == 0) out.push_back(entry);
  }
  for (const auto& [k, v] : overrides) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string log_path, std::map<std::string, std::string> env)
    : name_(argv.empty() ? std::string() : argv.front()), log_path_(std::move(log_path)) {
  if (argv.empty()) {
    status_ = 127;
    return;
  }
  SpawnActions spawn;
  posix_spawnattr_setflags(&spawn.attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&spawn.attributes, 0);
  posix_spawn_file_actions_addopen(&spawn.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&spawn.actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&spawn.actions, 1, 2);
  auto environment = environment_with(env);
  auto envp = exec_vector(environment);
  auto args = exec_vector(argv);
  const int rc = posix_spawn(&pid_, args[0], &spawn.actions, &spawn.attributes, args.data(), envp.data());
  if (rc != 0) {
    // As a shell would: the command could not run, with exit status 127 and the reason in its log.
    pid_ = -1;
    status_ = 127;
    std::ofstream(log_path_, std::ios::app) << name_ << ": cannot run: " << std::strerror(rc) << "\n";
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) stop(std::chrono::seconds(5));
}

bool ChildProcess::running() {
  if (status_ || pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    reaped();
    return false;
  }
  return true;
}

void ChildProcess::reaped() {
  if (auto report = sanitizer_report(log())) {
    ADD_FAILURE() << name_ << " (pid " << pid_ << ", exit status " << status_.value_or(-1)
                  << ") printed a sanitizer report in " << log_path_ << ":\n"
                  << *report;
  }
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (status_) return *status_;
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto waited = std::chrono::milliseconds(0);
  while (running() && waited < grace) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    waited += std::chrono::milliseconds(20);
  }
  if (running()) kill_now();
  return status_.value_or(-1);
}

std::optional<int> ChildProcess::wait_for_exit(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (running()) return std::nullopt;
  return status_;
}

void ChildProcess::kill_now() {
  if (status_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  status_ = -SIGKILL;
  reaped();  // a report printed before the kill still counts
}

std::string ChildProcess::log() const {
  std::ifstream in(log_path_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::optional<std::string> ChildProcess::wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const {
  for (auto waited = std::chrono::milliseconds(0); waited <= limit; waited += std::chrono::milliseconds(50)) {
    std::istringstream lines(log());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find(needle) != std::string::npos) return line;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

CommandResult run_argv(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  CommandResult result;
  if (argv.empty()) return result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.output = "pipe failed";
    return result;
  }
  SpawnActions spawn;
  posix_spawn_file_actions_addopen(&spawn.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&spawn.actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&spawn.actions, fds[1], 2);
  std::vector<std::string> strings = argv;
  auto args = exec_vector(strings);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &spawn.actions, &spawn.attributes, args.data(), environ);
  if (rc != 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    result.status = 127;
    result.output = argv.front() + ": cannot run: " + std::strerror(rc);
    return result;
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool timed_out = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;  // the deadline check ends the loop
    char buf[4096];
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the command (and anything holding its output) is done
    result.output.append(buf, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  if (timed_out) {
    ::kill(pid, SIGKILL);
    result.output += "\n(killed after " + std::to_string(limit.count()) + " ms)";
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  if (timed_out && result.status == 0) result.status = -SIGKILL;
  if (auto report = sanitizer_report(result.output)) {
    ADD_FAILURE() << argv.front() << " (exit status " << result.status << ") printed a sanitizer report:\n"
                  << *report;
  }
  return result;
}

std::optional<std::string> sanitizer_report(const std::string& output) {
  // The first line of each kind of report, and the SUMMARY line every kind ends with:
  //   ==PID==ERROR: AddressSanitizer: heap-use-after-free on address ...
  //   ==PID==ERROR: LeakSanitizer: detected memory leaks
  //   FILE:LINE:COL: runtime error: signed integer overflow: ...     (UBSan)
  //   WARNING: ThreadSanitizer: data race (pid=PID)
  //   SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).
  // (Go's "panic: runtime error: ..." is not UBSan's: that one follows FILE:LINE:COL.)
  static constexpr const char* kStarts[] = {"ERROR: AddressSanitizer:", "ERROR: LeakSanitizer:",
                                            "WARNING: ThreadSanitizer:", "ERROR: ThreadSanitizer:",
                                            "SUMMARY: AddressSanitizer:", "SUMMARY: UndefinedBehaviorSanitizer:",
                                            "SUMMARY: ThreadSanitizer:"};
  size_t start = std::string::npos;
  for (const char* marker : kStarts) start = std::min(start, output.find(marker));
  const std::string ubsan = ": runtime error: ";
  for (size_t at = output.find(ubsan); at != std::string::npos && at < start; at = output.find(ubsan, at + 1)) {
    // FILE:LINE:COL just before it
    size_t i = at;
    int numbers = 0;
    while (numbers < 2) {
      size_t digits = 0;
      while (i > 0 && std::isdigit(static_cast<unsigned char>(output[i - 1]))) --i, ++digits;
      if (digits == 0 || i == 0 || output[i - 1] != ':') break;
      --i;
      ++numbers;
    }
    if (numbers == 2) start = at;
  }
  if (start == std::string::npos) return std::nullopt;
  start = output.rfind('\n', start);
  start = start == std::string::npos ? 0 : start + 1;
  size_t end = output.find("SUMMARY: ", start);
  end = end == std::string::npos ? output.size() : output.find('\n', end);
  if (end == std::string::npos) end = output.size();
  // Long reports (a TSan race with two deep stacks) are cut: the log file has the rest.
  constexpr size_t kMax = 8000;
  std::string report = output.substr(start, std::min(end - start, kMax));
  if (end - start > kMax) report += "\n...";
  return report;
}

std::string http_get(const std::string& url) {
  CommandResult r = run_argv({"curl", "-s", "--max-time", "5", url}, std::chrono::seconds(10));
  return r.ok() ? r.output : "";
}

std::optional<double> metric_value(const std::string& exposition, const std::string& name,
                                   const std::string& label_fragment) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : ' ';
    if (next != '{' && next != ' ') continue;
    if (!label_fragment.empty() && line.find(label_fragment) == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

double metric_sum(const std::string& exposition, const std::string& name) {
  double sum = 0;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : ' ';
    if (next != '{' && next != ' ') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace rr::testing
