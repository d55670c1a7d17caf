#pragma once
// A child process a test starts and must stop: its output goes to a log file
// the test can read; the destructor kills it if the test did not.
//
// Our binaries are built in the same tree as the tests, so in a sanitizer build (build-address,
// build-thread) they are instrumented, and a report makes them exit with a code that a test may
// well expect for other reasons (ASan exits 1, as do `kubectl rr status` on an unready fabric and
// a binary given bad flags), or at exit after the test already stopped them (LeakSanitizer). So
// the harness reads every child's output when it is reaped and fails the running test on a
// sanitizer report (sanitizer_report()); run_argv() does the same for the output it captures.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rr::testing {

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string log_path, std::map<std::string, std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // SIGTERM, then SIGKILL after `grace`; returns the exit status (or -signal).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Waits (bounded) for the process to exit by itself; its exit status (or -signal), nullopt if it still runs.
  std::optional<int> wait_for_exit(std::chrono::milliseconds limit);
  void kill_now();  // SIGKILL: the process gets no chance to clean up
  std::string log() const;
  // Waits (bounded) until the log contains `needle`; returns the matching line.
  std::optional<std::string> wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const;

 private:
  void reaped();  // after waitpid(): fails the test on a sanitizer report in the log

  pid_t pid_ = -1;
  std::string name_;  // argv[0], for the failure message
  std::string log_path_;
  std::optional<int> status_;
};

// The first sanitizer report (ASan, LSan, UBSan, TSan) in a process's output, from its first line
// through its SUMMARY line (or the end of the output); nullopt when there is none.
std::optional<std::string> sanitizer_report(const std::string& output);

struct CommandResult {
  int status = -1;  // exit code, or -signal; -1 when it could not run
  std::string output;  // stdout and stderr
  bool ok() const { return status == 0; }
};

// Runs argv (PATH lookup) without a shell; kills it after `limit`.
CommandResult run_argv(const std::vector<std::string>& argv,
                       std::chrono::milliseconds limit = std::chrono::seconds(20));

// Fetches a URL with curl (loopback only) and returns the body ("" on failure).
std::string http_get(const std::string& url);
// The value of one Prometheus sample, e.g. metric_value(body, "rr_operator_api_writes_total", "verb=\"create\"").
std::optional<double> metric_value(const std::string& exposition, const std::string& name,
                                   const std::string& label_fragment = "");
// The sum over every sample of a metric.
double metric_sum(const std::string& exposition, const std::string& name);

}  // namespace rr::testing
