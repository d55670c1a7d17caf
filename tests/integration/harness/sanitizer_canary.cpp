// A program with a real bug of its own for each sanitizer, built only in a sanitizer tree
// (-DRR_SANITIZE=address|thread) with that tree's flags, exactly like rr-operator and rr-agent.
// harness_integration_tests starts it the way the integration tests start our binaries and
// expects the report to fail the test: proof that a child's report is never swallowed.
//
//   sanitizer_canary heap-use-after-free | signed-overflow | leak-at-exit | data-race
// leak-at-exit prints "ready", waits for SIGTERM and returns from main, leaking (LSan reports then).
#include <signal.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>

namespace {

int* volatile g_sink = nullptr;  // keeps the compiler from seeing through the bugs
int g_shared = 0;

int heap_use_after_free() {
  g_sink = new int[4]{1, 2, 3, 4};
  int* p = g_sink;
  delete[] p;
  return g_sink[1];
}

int signed_overflow() {
  volatile int big = INT_MAX;
  int sum = big + 1;
  return sum == INT_MIN ? 0 : 1;
}

__attribute__((noinline)) void leak() {
  for (int i = 0; i < 4; ++i) g_sink = new int[16];
  g_sink = nullptr;  // no pointer to any of them is left
}

int leak_at_exit() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  leak();
  std::puts("ready");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}

int data_race() {
  std::thread a([] { for (int i = 0; i < 1000; ++i) g_shared = g_shared + 1; });
  std::thread b([] { for (int i = 0; i < 1000; ++i) g_shared = g_shared + 1; });
  a.join();
  b.join();
  return g_shared > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "heap-use-after-free") == 0) return heap_use_after_free();
  if (std::strcmp(mode, "signed-overflow") == 0) return signed_overflow();
  if (std::strcmp(mode, "leak-at-exit") == 0) return leak_at_exit();
  if (std::strcmp(mode, "data-race") == 0) return data_race();
  std::fprintf(stderr, "usage: %s heap-use-after-free|signed-overflow|leak-at-exit|data-race\n", argv[0]);
  return 2;
}
