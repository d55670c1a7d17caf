#include "fakes/real_bird.h"
#include "agent/bird_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"

namespace rr::agent {
namespace {

using kube::testing::eventually;
using kube::testing::TempDir;
using kube::testing::read_file;

using namespace std::chrono_literals;
using kube::testing::FakeClock;

int count_lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

struct Child {
  pid_t pid;
  char state;  // 'Z' for a zombie
};

// This process's children, from /proc: what a supervisor leaks shows here.
std::vector<Child> children() {
  std::vector<Child> out;
  const pid_t self = ::getpid();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_file(entry.path().string() + "/stat");
    // "pid (comm) state ppid ...": comm may hold spaces, so parse after the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == self) out.push_back({static_cast<pid_t>(std::stoi(name)), state});
  }
  return out;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// Collects on_exit statuses and restart flags across threads.
class ExitLog {
 public:
  std::function<void(int, bool)> callback() {
    return [this](int status, bool restarting) {
      std::lock_guard lock(mu_);
      statuses_.push_back(status);
      restarting_.push_back(restarting);
    };
  }
  std::vector<int> statuses() const {
    std::lock_guard lock(mu_);
    return statuses_;
  }
  std::vector<bool> restarting() const {
    std::lock_guard lock(mu_);
    return restarting_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<int> statuses_;
  std::vector<bool> restarting_;
};

TEST(BirdProcess, StartsBirdInTheForegroundAndStopsItWithSigterm) {
  TempDir dir("rr-bird-process-test");
  const std::string bird = dir.script("bird", "echo \"$@\" > " + dir.file("args") + "\n" +
                                                  "trap 'echo term > " + dir.file("term") + "; exit 0' TERM\n" +
                                                  "echo $$ > " + dir.file("pid") + "\n" +
                                                  "while :; do sleep 0.05; done\n");
  FakeClock clock;
  BirdProcess process({bird, dir.file("bird.conf"), dir.file("bird.ctl"), {"-R"}}, clock);
  ExitLog exits;
  process.set_on_exit(exits.callback());

  std::stop_source stop;
  std::jthread runner([&] { process.run(stop.get_token()); });
  ASSERT_TRUE(eventually([&] { return !read_file(dir.file("pid")).empty(); }));
  EXPECT_TRUE(process.running());
  EXPECT_EQ(std::to_string(process.pid()) + "\n", read_file(dir.file("pid")));
  EXPECT_EQ(read_file(dir.file("args")),
            "-f -c " + dir.file("bird.conf") + " -s " + dir.file("bird.ctl") + " -R\n");

  stop.request_stop();
  runner.join();
  EXPECT_EQ(read_file(dir.file("term")), "term\n");
  EXPECT_FALSE(process.running());
  EXPECT_EQ(process.pid(), -1);
  EXPECT_EQ(process.restarts(), 0);
  ASSERT_EQ(exits.statuses().size(), 1u);
  EXPECT_TRUE(WIFEXITED(exits.statuses()[0]));
  EXPECT_EQ(WEXITSTATUS(exits.statuses()[0]), 0);
  EXPECT_EQ(exits.restarting(), std::vector<bool>{false}) << "the exit the stop asked for is not restarted";
  EXPECT_TRUE(children().empty()) << "a child was left behind";
}

TEST(BirdProcess, RestartsWithBackoffDoublingToThirtySeconds) {
  TempDir dir("rr-bird-process-test");
  const std::string starts = dir.file("starts");
  const std::string bird = dir.script("bird", "echo start >> " + starts + "\nexit 3\n");
  FakeClock clock;
  BirdProcess process({bird, dir.file("bird.conf"), dir.file("bird.ctl"), {}}, clock);
  ExitLog exits;
  process.set_on_exit(exits.callback());

  std::stop_source stop;
  std::jthread runner([&] { process.run(stop.get_token()); });
  const std::vector<std::chrono::seconds> expected = {1s, 2s, 4s, 8s, 16s, 30s, 30s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("restart " + std::to_string(i + 1));
    ASSERT_TRUE(clock.wait_for_sleepers(1, 10s));
    EXPECT_EQ(count_lines(starts), static_cast<int>(i + 1));
    // Between runs the exited child is reaped: no zombie waits for the backoff.
    EXPECT_TRUE(children().empty());
    ASSERT_TRUE(clock.next_deadline().has_value());
    EXPECT_EQ(*clock.next_deadline() - clock.now(), expected[i]);
    clock.advance(expected[i]);
  }
  ASSERT_TRUE(clock.wait_for_sleepers(1, 10s));
  EXPECT_EQ(count_lines(starts), static_cast<int>(expected.size() + 1));
  EXPECT_EQ(process.restarts(), static_cast<int>(expected.size()));
  for (int status : exits.statuses()) {
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 3);
  }
  EXPECT_EQ(exits.statuses().size(), expected.size() + 1);
  EXPECT_EQ(exits.restarting(), std::vector<bool>(expected.size() + 1, true)) << "each crash is restarted";

  // Stopping during the backoff returns without another start.
  stop.request_stop();
  runner.join();
  EXPECT_EQ(count_lines(starts), static_cast<int>(expected.size() + 1));
  EXPECT_TRUE(children().empty());
}

TEST(BirdProcess, BackoffStartsAfreshAfterAStableRun) {
  TempDir dir("rr-bird-process-test");
  const std::string starts = dir.file("starts");
  const std::string bird = dir.script("bird", "echo start >> " + starts + "\nexec sleep 1000\n");
  FakeClock clock;
  BirdProcess process({bird, dir.file("bird.conf"), dir.file("bird.ctl"), {}}, clock);
  std::stop_source stop;
  std::jthread runner([&] { process.run(stop.get_token()); });

  auto crash_after = [&](int start, FakeClock::Duration ran_for) {
    EXPECT_TRUE(eventually([&] { return count_lines(starts) == start && process.pid() > 0; }));
    clock.advance(ran_for);
    ASSERT_EQ(::kill(process.pid(), SIGKILL), 0);
  };
  auto expect_backoff = [&](FakeClock::Duration d) {
    ASSERT_TRUE(clock.wait_for_sleepers(1, 10s));
    EXPECT_EQ(*clock.next_deadline() - clock.now(), d);
    clock.advance(d);
  };

  crash_after(1, 0s);
  expect_backoff(1s);
  crash_after(2, 0s);
  expect_backoff(2s);
  crash_after(3, 29s);
  expect_backoff(4s);
  crash_after(4, 30s);  // healthy for the longest backoff: the next crash is treated as a first
  expect_backoff(1s);
  ASSERT_TRUE(eventually([&] { return count_lines(starts) == 5 && process.pid() > 0; }));
  const pid_t last = process.pid();
  stop.request_stop();
  runner.join();
  EXPECT_FALSE(alive(last));
  EXPECT_EQ(process.restarts(), 4);
  EXPECT_TRUE(children().empty());
}

TEST(BirdProcess, KillsABirdThatIgnoresSigterm) {
  TempDir dir("rr-bird-process-test");
  const std::string bird = dir.script("bird", "trap '' TERM\necho $$ > " + dir.file("pid") + "\nexec sleep 1000\n");
  FakeClock clock;
  BirdProcessOptions options{bird, dir.file("bird.conf"), dir.file("bird.ctl"), {}};
  options.stop_grace = 5s;
  BirdProcess process(options, clock);
  ExitLog exits;
  process.set_on_exit(exits.callback());
  std::stop_source stop;
  std::jthread runner([&] { process.run(stop.get_token()); });
  ASSERT_TRUE(eventually([&] { return !read_file(dir.file("pid")).empty() && process.running(); }));

  stop.request_stop();
  // Ignored SIGTERM: still running until the grace period passes on the clock.
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(process.running());
  EXPECT_TRUE(eventually([&] {
    clock.advance(1s);
    return !process.running();
  }));
  runner.join();
  ASSERT_EQ(exits.statuses().size(), 1u);
  EXPECT_TRUE(WIFSIGNALED(exits.statuses()[0]));
  EXPECT_EQ(WTERMSIG(exits.statuses()[0]), SIGKILL);
  EXPECT_TRUE(children().empty());
}

TEST(BirdProcess, BinaryThatCannotRunIsRetriedWithBackoff) {
  TempDir dir("rr-bird-process-test");
  FakeClock clock;
  BirdProcess process({dir.file("no-such-bird"), dir.file("bird.conf"), dir.file("bird.ctl"), {}}, clock);
  ExitLog exits;
  process.set_on_exit(exits.callback());
  std::stop_source stop;
  std::jthread runner([&] { process.run(stop.get_token()); });
  ASSERT_TRUE(clock.wait_for_sleepers(1, 10s));
  EXPECT_EQ(*clock.next_deadline() - clock.now(), 1s);
  clock.advance(1s);
  ASSERT_TRUE(clock.wait_for_sleepers(1, 10s));
  EXPECT_EQ(*clock.next_deadline() - clock.now(), 2s);
  stop.request_stop();
  runner.join();
  ASSERT_EQ(exits.statuses().size(), 2u);
  EXPECT_TRUE(WIFEXITED(exits.statuses()[0]));
  EXPECT_EQ(WEXITSTATUS(exits.statuses()[0]), 127);
  EXPECT_TRUE(children().empty());
}

TEST(BirdProcess, BirdGetsDefaultSignalsEvenWhenTheAgentBlocksThem) {
  // The agent's main thread blocks SIGTERM to sigwait() for it; BIRD must still receive it.
  TempDir dir("rr-bird-process-test");
  const std::string bird = dir.script("bird", "echo $$ > " + dir.file("pid") + "\nexec sleep 1000\n");
  FakeClock clock;
  BirdProcess process({bird, dir.file("bird.conf"), dir.file("bird.ctl"), {}}, clock);
  ExitLog exits;
  process.set_on_exit(exits.callback());
  std::stop_source stop;
  std::jthread runner([&] {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, nullptr);
    process.run(stop.get_token());
  });
  ASSERT_TRUE(eventually([&] { return !read_file(dir.file("pid")).empty() && process.running(); }));
  stop.request_stop();
  // The clock stands still: only SIGTERM can end it (else SIGKILL once the grace passes, below).
  EXPECT_TRUE(eventually([&] { return !process.running(); }, 5s));
  while (process.running()) {
    clock.advance(10s);
    std::this_thread::sleep_for(10ms);
  }
  runner.join();
  ASSERT_EQ(exits.statuses().size(), 1u);
  EXPECT_TRUE(WIFSIGNALED(exits.statuses()[0]));
  EXPECT_EQ(WTERMSIG(exits.statuses()[0]), SIGTERM);  // not SIGKILL after the grace period
  EXPECT_TRUE(children().empty());
}

// BIRD's stderr through the log sink: every line, in order, the last one even without '\n'.
TEST(BirdProcess, PassesEveryLineOfBirdsStderrToTheLogSink) {
  TempDir dir("rr-bird-process-test");
  const std::string bird = dir.script(
      "bird", "echo '2026-12-04 18:47:10.622 <TRACE> client_n1: State changed to start' >&2\n"
              "echo 'not a log line on stdout'\n"
              "printf '2026-12-04 18:47:11.474 <TRACE> client_n1: State changed to up\\nno newline at exit' >&2\n"
              "grep '^flags' /proc/$$/fdinfo/2 > " + dir.file("stderr-flags") + "\n"
              "exit 0\n");
  FakeClock clock;
  BirdProcess process({bird, dir.file("bird.conf"), dir.file("bird.ctl"), {}}, clock);
  std::mutex mu;
  std::vector<std::string> lines;
  process.set_log_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    lines.emplace_back(line);
  });
  ExitLog exits;
  process.set_on_exit(exits.callback());
  std::stop_source stop;
  std::jthread runner([&] { process.run(stop.get_token()); });
  ASSERT_TRUE(eventually([&] { return !exits.statuses().empty(); }));
  stop.request_stop();
  clock.advance(1h);
  runner.join();
  std::lock_guard lock(mu);
  EXPECT_EQ(lines, (std::vector<std::string>{"2026-12-04 18:47:10.622 <TRACE> client_n1: State changed to start",
                                             "2026-12-04 18:47:11.474 <TRACE> client_n1: State changed to up",
                                             "no newline at exit"}));
  // O_NONBLOCK (04000 octal) on BIRD's stderr: an agent that stops reading never blocks BIRD.
  const std::string flags = read_file(dir.file("stderr-flags"));
  ASSERT_FALSE(flags.empty());
  const unsigned long value = std::stoul(flags.substr(flags.find_first_of("0123456789")), nullptr, 8);
  EXPECT_NE(value & 04000, 0u) << flags;
}

// A BIRD that writes more than the pipe holds while the agent does not read (frozen) keeps
// running and exits; what did not fit is lost, BIRD is never blocked.
TEST(BirdProcess, ABirdWhoseLogIsNotReadIsNeverBlocked) {
  TempDir dir("rr-bird-process-test");
  // 4 MB of log, then a mark: with a blocking stderr and nobody reading, `head` would hang.
  const std::string bird = dir.script("bird", "head -c 4000000 /dev/zero | tr '\\0' 'x' | fold -w 100 >&2 2>/dev/null\n"
                                              "echo done > " + dir.file("done") + "\n"
                                              "exec sleep 1000\n");
  FakeClock clock;
  BirdProcess process({bird, dir.file("bird.conf"), dir.file("bird.ctl"), {}}, clock);
  std::atomic<bool> frozen{true};
  std::atomic<int> lines{0};
  process.set_log_sink([&](std::string_view) {
    frozen.wait(true);  // the reader stops, as a SIGSTOPped agent does
    ++lines;
  });
  std::stop_source stop;
  std::jthread runner([&] { process.run(stop.get_token()); });
  EXPECT_TRUE(eventually([&] { return read_file(dir.file("done")) == "done\n"; }, 60s)) << "BIRD blocked on its log";
  frozen = false;
  frozen.notify_all();
  stop.request_stop();
  clock.advance(1h);
  runner.join();
  EXPECT_GT(lines.load(), 0);
}

}  // namespace
}  // namespace rr::agent
