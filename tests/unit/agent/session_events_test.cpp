#include "agent/session_events.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace rr::agent {
namespace {

TEST(SessionEventsTest, FindsTheProtocolInBirdsOwnLogLines) {
  // As BIRD 2.0.12 logs them with `log stderr all; debug protocols { states };`.
  EXPECT_EQ(SessionEvents::protocol_of("2026-12-04 18:47:11.474 <TRACE> client_n1: State changed to start"),
            "client_n1");
  EXPECT_EQ(SessionEvents::protocol_of("2026-12-04 18:47:11.474 <RMT> mesh_rack_b_0: Error: Bad BGP identifier"),
            "mesh_rack_b_0");
  EXPECT_EQ(SessionEvents::protocol_of("2026-12-04 18:47:10.622 <TRACE> ext_tor.ipv4: Channel state changed to up"),
            "ext_tor");
  EXPECT_FALSE(SessionEvents::protocol_of("2026-12-04 18:47:10.622 <INFO> Started"));
  EXPECT_FALSE(SessionEvents::protocol_of("2026-12-04 18:47:10.622 <ERR> bird.conf:3:1 syntax error, unexpected"));
  EXPECT_FALSE(SessionEvents::protocol_of("bird: I/O loop cycle took 5012 ms for 3 events"));
  EXPECT_FALSE(SessionEvents::protocol_of(""));
}

TEST(SessionEventsTest, ANamedProtocolIsHeldOnceUntilTakenAndWakesThePoll) {
  SessionEvents events;
  int wakes = 0;
  events.set_wake([&] { ++wakes; });
  EXPECT_TRUE(events.log_line("2026-12-04 18:47:11.474 <TRACE> client_n1: State changed to stop"));
  EXPECT_TRUE(events.log_line("2026-12-04 18:47:11.475 <TRACE> client_n1: State changed to down"));
  EXPECT_FALSE(events.log_line("2026-12-04 18:47:11.475 <INFO> Started"));
  EXPECT_EQ(wakes, 2);
  auto taken = events.take();
  EXPECT_EQ(taken.protocols, (std::set<std::string>{"client_n1"}));
  EXPECT_FALSE(taken.restarted);
  EXPECT_TRUE(events.take().protocols.empty()) << "taken once";
  events.set_wake(nullptr);
  EXPECT_TRUE(events.log_line("2026-12-04 18:47:12.000 <TRACE> client_n2: State changed to up"));
  EXPECT_EQ(wakes, 2);
}

TEST(SessionEventsTest, BirdExitingVoidsWhatItSaid) {
  SessionEvents events;
  events.bird_exited();
  EXPECT_TRUE(events.take().restarted);
  EXPECT_FALSE(events.take().restarted);
}

TEST(SessionEventsTest, TooManyNamesBecomeOneFullRead) {
  SessionEvents events;
  for (std::size_t i = 0; i <= SessionEvents::kMaxPending; ++i) {
    events.log_line("2026-12-04 18:47:11.474 <TRACE> client_n" + std::to_string(i) + ": State changed to up");
  }
  auto taken = events.take();
  EXPECT_TRUE(taken.overflow);
  EXPECT_TRUE(taken.protocols.empty());
}

TEST(SessionEventsTest, LinesFromBirdsThreadAndTakesFromThePollsNeverLoseAName) {
  SessionEvents events;
  std::set<std::string> seen;
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) {
      events.log_line("2026-12-04 18:47:11.474 <TRACE> client_n" + std::to_string(i) + ": State changed to up");
    }
  });
  while (seen.size() < 2000) {
    auto taken = events.take();
    seen.insert(taken.protocols.begin(), taken.protocols.end());
    if (seen.size() < 2000) std::this_thread::yield();
  }
  writer.join();
  EXPECT_EQ(seen.size(), 2000u);
}

}  // namespace
}  // namespace rr::agent
