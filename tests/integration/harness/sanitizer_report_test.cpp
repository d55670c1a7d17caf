// The harness fails a test whose child process printed a sanitizer report, whatever the child's
// exit code and whenever it printed it (see support/process.h). Our binaries are instrumented in
// the sanitizer tiers (build-address, build-thread), and a test that expects exit code 1 from
// `kubectl rr status`, or stops rr-operator without reading its exit code, would otherwise pass
// over an ASan abort (exit 1) or a leak report at exit.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "support/pod_sandbox.h"
#include "support/process.h"
#include "support/short_temp_dir.h"

namespace rr::testing {
namespace {

using namespace std::chrono_literals;

// Real reports, abridged, as GCC 12's sanitizers print them.
const std::string kAsan =
    "I1204 starting\n"
    "=================================================================\n"
    "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000014 at pc 0x55d0 bp 0x7ffd\n"
    "READ of size 4 at 0x602000000014 thread T0\n"
    "    #0 0x55d0 in heap_use_after_free sanitizer_canary.cpp:24\n"
    "SUMMARY: AddressSanitizer: heap-use-after-free sanitizer_canary.cpp:24 in heap_use_after_free\n"
    "==4242==ABORTING\n";
const std::string kLeak =
    "==77==ERROR: LeakSanitizer: detected memory leaks\n\n"
    "Direct leak of 64 byte(s) in 1 object(s) allocated from:\n"
    "    #0 0x7f in operator new[](unsigned long)\n\n"
    "SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s).\n";
const std::string kUbsan =
    "operator/planner/planner.cpp:120:17: runtime error: signed integer overflow: 2147483647 + 1 cannot be "
    "represented in type 'int'\n"
    "    #0 0x55 in rr::planner::plan(...) planner.cpp:120\n"
    "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior operator/planner/planner.cpp:120:17 in \n";
const std::string kTsan =
    "==================\n"
    "WARNING: ThreadSanitizer: data race (pid=9)\n"
    "  Write of size 4 at 0x5555 by thread T2:\n"
    "SUMMARY: ThreadSanitizer: data race sanitizer_canary.cpp:50 in operator()\n"
    "==================\n";

TEST(SanitizerReportTest, FindsEveryKindFromItsFirstLineToItsSummary) {
  auto asan = sanitizer_report(kAsan);
  ASSERT_TRUE(asan.has_value());
  EXPECT_EQ(asan->rfind("==4242==ERROR: AddressSanitizer: heap-use-after-free", 0), 0u) << *asan;
  EXPECT_NE(asan->find("SUMMARY: AddressSanitizer: heap-use-after-free"), std::string::npos) << *asan;
  EXPECT_EQ(asan->find("ABORTING"), std::string::npos) << *asan;
  EXPECT_EQ(asan->find("starting"), std::string::npos) << *asan;

  auto leak = sanitizer_report("I1204 stopping on SIGTERM\n" + kLeak);
  ASSERT_TRUE(leak.has_value());
  EXPECT_EQ(leak->rfind("==77==ERROR: LeakSanitizer: detected memory leaks", 0), 0u) << *leak;

  auto ubsan = sanitizer_report("I1204 planning\n" + kUbsan);
  ASSERT_TRUE(ubsan.has_value());
  EXPECT_EQ(ubsan->rfind("operator/planner/planner.cpp:120:17: runtime error: signed integer overflow", 0), 0u)
      << *ubsan;

  auto tsan = sanitizer_report(kTsan);
  ASSERT_TRUE(tsan.has_value());
  EXPECT_EQ(tsan->rfind("WARNING: ThreadSanitizer: data race (pid=9)", 0), 0u) << *tsan;
}

TEST(SanitizerReportTest, OrdinaryOutputIsNoReport) {
  EXPECT_FALSE(sanitizer_report(""));
  EXPECT_FALSE(sanitizer_report("I1204 reconciling fabric default/demo\nE1204 apiserver: 503\n"));
  // Go's panics (kube-apiserver, Prometheus) say "runtime error" too, without UBSan's FILE:LINE:COL.
  EXPECT_FALSE(sanitizer_report("panic: runtime error: index out of range [3] with length 3\n"));
  EXPECT_FALSE(sanitizer_report("error: runtime error: at 12:3 in the config\n"));
}

// A child that prints `text` on stderr and exits with `code`, as an instrumented binary halting
// on a report does (ASan exits 1).
void run_child_printing(const std::string& text, int code) {
  ShortTempDir dir("rr-harness");
  ChildProcess child({"/bin/sh", "-c", "printf '%s' \"$REPORT\" >&2; exit " + std::to_string(code)},
                     dir.file("child.log"), {{"REPORT", text}});
  EXPECT_EQ(child.wait_for_exit(30s), code);
}

TEST(ChildProcessSanitizerTest, AChildsReportFailsTheTestWhateverItsExitCode) {
  EXPECT_NONFATAL_FAILURE(run_child_printing(kAsan, 1), "AddressSanitizer: heap-use-after-free");
  EXPECT_NONFATAL_FAILURE(run_child_printing(kUbsan, 0), "runtime error: signed integer overflow");
  EXPECT_NONFATAL_FAILURE(run_child_printing(kTsan, 66), "ThreadSanitizer: data race");
}

// A child that reports only once stopped, as LeakSanitizer does at exit after SIGTERM; the test
// stops it through stop() or, never reading the status, through the destructor.
void stop_child_reporting_at_exit(bool explicit_stop) {
  ShortTempDir dir("rr-harness");
  ChildProcess child({"/bin/sh", "-c",
                      "trap 'kill $idle; printf \"%s\" \"$REPORT\" >&2; exit 1' TERM; sleep 600 & idle=$!; echo ready; wait $idle"},
                     dir.file("child.log"), {{"REPORT", kLeak}});
  ASSERT_TRUE(child.wait_for_log("ready", 30s)) << child.log();
  if (explicit_stop) child.stop();
}

TEST(ChildProcessSanitizerTest, AReportAtExitAfterTheTestStoppedTheChildFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(stop_child_reporting_at_exit(true), "LeakSanitizer: detected memory leaks");
  EXPECT_NONFATAL_FAILURE(stop_child_reporting_at_exit(false), "LeakSanitizer: detected memory leaks");
}

TEST(ChildProcessSanitizerTest, ACleanChildFailsNothing) {
  run_child_printing("I1204 done\npanic: runtime error: index out of range\n", 2);
}

void run_command_printing(const std::string& text, int code) {
  CommandResult r = run_argv({"/bin/sh", "-c", "printf '%s' \"$1\" >&2; exit " + std::to_string(code), "sh", text});
  EXPECT_EQ(r.status, code) << r.output;
}

TEST(RunArgvSanitizerTest, AReportInACommandsOutputFailsTheTestEvenWithTheExitCodeItExpected) {
  // `kubectl rr status` exits 1 for a fabric that is not Ready: exactly ASan's exit code.
  EXPECT_NONFATAL_FAILURE(run_command_printing(kAsan, 1), "AddressSanitizer: heap-use-after-free");
  run_command_printing("FABRIC demo: Ready=False\n", 1);
}

// A Pod's container gets the Pod's environment only, but an instrumented binary run in the pod
// sandbox still needs the tier's options (TSan's suppressions of uninstrumented libraries).
TEST(PodSandboxSanitizerTest, TheContainerRunsWithTheTestsSanitizerOptions) {
  const char* saved = std::getenv("TSAN_OPTIONS");
  const std::string previous = saved != nullptr ? saved : "";
  setenv("TSAN_OPTIONS", "halt_on_error=1:suppressions=/nonexistent/tsan.supp", 1);
  ShortTempDir dir("rr-harness");
  ContainerSandbox sandbox;
  sandbox.uid = sandbox.gid = 65534;
  sandbox.read_only_root = true;
  sandbox.argv = {"/usr/bin/env"};
  sandbox.env = {{"POD_NAME", "rr-demo-rack-a-0"}};
  CommandResult r = run_argv(sandbox.launcher(dir.path()));
  if (saved != nullptr) setenv("TSAN_OPTIONS", previous.c_str(), 1); else unsetenv("TSAN_OPTIONS");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("POD_NAME=rr-demo-rack-a-0\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("TSAN_OPTIONS=halt_on_error=1:suppressions=/nonexistent/tsan.supp\n"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("PATH="), std::string::npos) << "the rest of the test's environment stays out: " << r.output;
}

#ifdef RR_SANITIZER_CANARY_BIN
// The same through a real instrumented binary of this tree, with the options CI runs under
// (scripts/test.sh exports them; ctest passes them on to the test and the test to its children).
void run_canary(const std::string& mode) {
  ShortTempDir dir("rr-harness");
  ChildProcess canary({RR_SANITIZER_CANARY_BIN, mode}, dir.file("canary.log"));
  EXPECT_TRUE(canary.wait_for_exit(60s).has_value()) << canary.log();
}

[[maybe_unused]] void stop_canary(const std::string& mode) {  // LeakSanitizer: the ASan tree only
  ShortTempDir dir("rr-harness");
  ChildProcess canary({RR_SANITIZER_CANARY_BIN, mode}, dir.file("canary.log"));
  ASSERT_TRUE(canary.wait_for_log("ready", 60s)) << canary.log();
  canary.stop(60s);
}

#if defined(__SANITIZE_ADDRESS__)
TEST(InstrumentedChildTest, AnAsanUbsanBinarysReportsFailTheTest) {
  EXPECT_NONFATAL_FAILURE(run_canary("heap-use-after-free"), "AddressSanitizer: heap-use-after-free");
  EXPECT_NONFATAL_FAILURE(run_canary("signed-overflow"), "runtime error: signed integer overflow");
  EXPECT_NONFATAL_FAILURE(stop_canary("leak-at-exit"), "LeakSanitizer: detected memory leaks");
}
#elif defined(__SANITIZE_THREAD__)
TEST(InstrumentedChildTest, ATsanBinarysReportFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(run_canary("data-race"), "ThreadSanitizer: data race");
}
#endif
#endif

}  // namespace
}  // namespace rr::testing
