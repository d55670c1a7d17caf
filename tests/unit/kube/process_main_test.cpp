#include "kube/process_main.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace kube {
namespace {

using namespace std::chrono_literals;

// Each test runs in its own process (gtest_discover_tests), and stop_on_signals blocks
// SIGTERM in the calling thread before any other starts, so the signal below reaches
// the signal thread only.

TEST(StopOnSignals, LetsMainReturnWithoutASignal) {
  Logger log("test", LogFormat::Text, LogLevel::Error);
  std::stop_source stop;
  {
    auto signals = stop_on_signals(stop, log);
  }  // joined here: an error exit must not wait for a SIGTERM
  EXPECT_FALSE(stop.stop_requested());
}

TEST(StopOnSignals, TurnsSigtermIntoAStopRequest) {
  Logger log("test", LogFormat::Text, LogLevel::Error);
  std::stop_source stop;
  auto signals = stop_on_signals(stop, log);
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  for (auto until = std::chrono::steady_clock::now() + 10s;
       !stop.stop_requested() && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(stop.stop_requested());
  signals.join();  // it ends after the first signal
}

}  // namespace
}  // namespace kube
