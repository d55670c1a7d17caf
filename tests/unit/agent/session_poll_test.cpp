#include "agent/session_poll.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rr::agent {
namespace {

using namespace std::chrono_literals;
using TimePoint = kube::Clock::TimePoint;

const TimePoint t0{};

bird::ProtocolState session(const std::string& name, bool up, std::uint32_t imported = 0) {
  bird::ProtocolState p;
  p.name = name;
  p.proto = "BGP";
  p.state = up ? "up" : "start";
  p.bgp_state = up ? "Established" : "Active";
  p.last_error = up ? "" : "Socket: Connection refused";
  bird::ChannelState c;
  c.routes = bird::RouteCounts{.imported = imported};
  p.channels.push_back(c);
  return p;
}

std::vector<std::string> names(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("client_n" + std::to_string(i));
  return out;
}

std::vector<bird::ProtocolState> all_up(int n) {
  std::vector<bird::ProtocolState> out;
  for (const auto& name : names(n)) out.push_back(session(name, true));
  return out;
}

SessionEvents::Taken named(std::set<std::string> protocols) { return {std::move(protocols), false, false}; }

// A poll with every session Established (and settled at once): how the steady state of a big
// reflector looks.
SessionPoll settled(int n) {
  SessionPoll poll({.events = true, .resync = 60s, .settle = 0s});
  poll.configured(names(n));
  EXPECT_EQ(poll.next(t0, {}).kind, PollKind::Full) << "the first poll reads everything";
  poll.full(all_up(n), t0);
  EXPECT_TRUE(poll.take_changed());
  return poll;
}

TEST(SessionPollTest, AtSteadyStateAPollAsksOnlyForBirdsStatus) {
  SessionPoll poll = settled(5000);
  for (auto at : {t0 + 2s, t0 + 4s, t0 + 58s}) {
    auto request = poll.next(at, {});
    EXPECT_EQ(request.kind, PollKind::Status);
    EXPECT_TRUE(request.protocols.empty());
  }
  EXPECT_FALSE(poll.take_changed());
}

TEST(SessionPollTest, ASessionBirdsLogNamedIsReadAloneAndItsChangeIsExported) {
  SessionPoll poll = settled(5000);
  auto request = poll.next(t0 + 2s, named({"client_n42", "device1", "client_gone"}));
  ASSERT_EQ(request.kind, PollKind::Protocols);
  EXPECT_EQ(request.protocols, std::vector<std::string>{"client_n42"}) << "only configured sessions are read";
  poll.protocols(request.protocols, {session("client_n42", false)}, t0 + 2s);
  EXPECT_TRUE(poll.take_changed());
  auto states = poll.states();
  ASSERT_EQ(states.size(), 5000u);
  auto n42 = std::find_if(states.begin(), states.end(), [](const auto& p) { return p.name == "client_n42"; });
  ASSERT_NE(n42, states.end());
  EXPECT_FALSE(n42->established());
}

TEST(SessionPollTest, ASessionNotEstablishedIsReadEveryPollButExportedOnlyWhenItChanges) {
  SessionPoll poll({.events = true, .resync = 60s, .settle = 0s});
  poll.configured(names(3));
  ASSERT_EQ(poll.next(t0, {}).kind, PollKind::Full);
  auto states = all_up(3);
  states[1] = session("client_n1", false);
  poll.full(states, t0);
  ASSERT_TRUE(poll.take_changed());
  // Its last error may change without a state change BIRD would log.
  for (auto at : {t0 + 2s, t0 + 4s}) {
    auto request = poll.next(at, {});
    ASSERT_EQ(request.kind, PollKind::Protocols);
    EXPECT_EQ(request.protocols, std::vector<std::string>{"client_n1"});
    poll.protocols(request.protocols, {session("client_n1", false)}, at);
    EXPECT_FALSE(poll.take_changed()) << "the same state is not exported again";
  }
  poll.protocols({"client_n1"}, {session("client_n1", true)}, t0 + 5s);
  EXPECT_TRUE(poll.take_changed());
  EXPECT_EQ(poll.next(t0 + 6s, {}).kind, PollKind::Status);
}

TEST(SessionPollTest, NewlyConfiguredSessionsAreReadAndExportedAtOnce) {
  SessionPoll poll = settled(100);
  poll.configured(names(102));
  EXPECT_TRUE(poll.take_changed()) << "series of new peers appear (at 0) before BIRD reports them";
  auto request = poll.next(t0 + 2s, {});
  ASSERT_EQ(request.kind, PollKind::Protocols);
  EXPECT_EQ(request.protocols, (std::vector<std::string>{"client_n100", "client_n101"}));
}

TEST(SessionPollTest, ManySessionsDueAreReadWithOneFullQuery) {
  SessionPoll poll = settled(5000);
  std::set<std::string> many;
  for (int i = 0; i < 700; ++i) many.insert("client_n" + std::to_string(i));  // > 5000 / 8
  EXPECT_EQ(poll.next(t0 + 2s, named(many)).kind, PollKind::Full);

  SessionPoll small = settled(100);
  std::set<std::string> some;
  for (int i = 0; i < 60; ++i) some.insert("client_n" + std::to_string(i));  // > 100 / 8, < kMinBatch
  auto request = small.next(t0 + 2s, named(some));
  EXPECT_EQ(request.kind, PollKind::Protocols);
  EXPECT_EQ(request.protocols.size(), 60u);
}

TEST(SessionPollTest, EverySessionIsReadAgainEveryResync) {
  SessionPoll poll = settled(10);
  EXPECT_EQ(poll.next(t0 + 59s, {}).kind, PollKind::Status);
  EXPECT_EQ(poll.next(t0 + 60s, {}).kind, PollKind::Full) << "prefix counts change without state changes";
  poll.full(all_up(10), t0 + 60s);
  EXPECT_EQ(poll.next(t0 + 62s, {}).kind, PollKind::Status);
}

TEST(SessionPollTest, ABirdThatRestartedOrDidNotAnswerIsReadInFull) {
  SessionPoll poll = settled(10);
  EXPECT_EQ(poll.next(t0 + 2s, {.protocols = {}, .overflow = false, .restarted = true}).kind, PollKind::Full);
  poll.full(all_up(10), t0 + 2s);
  EXPECT_EQ(poll.next(t0 + 4s, {.protocols = {}, .overflow = true, .restarted = false}).kind, PollKind::Full);
  poll.full(all_up(10), t0 + 4s);

  bird::DaemonStatus status;
  status.last_reboot = "2026-12-04 18:00:00.000";
  EXPECT_FALSE(poll.status(status));
  status.last_reboot = "2026-12-04 18:05:00.000";
  EXPECT_TRUE(poll.status(status)) << "a restart the log did not show (BIRD run by hand)";
  EXPECT_EQ(poll.next(t0 + 6s, {}).kind, PollKind::Full);
  poll.full(all_up(10), t0 + 6s);

  poll.failed();
  EXPECT_TRUE(poll.take_changed());
  EXPECT_TRUE(poll.states().empty()) << "nothing BIRD said before is vouched for";
  EXPECT_EQ(poll.next(t0 + 8s, {}).kind, PollKind::Full);
}

TEST(SessionPollTest, WithoutBirdsLogEveryPollReadsEverySession) {
  SessionPoll poll({.events = false, .resync = 60s});
  poll.configured(names(10));
  for (auto at : {t0, t0 + 2s, t0 + 4s}) {
    EXPECT_EQ(poll.next(at, {}).kind, PollKind::Full);
    poll.full(all_up(10), at);
  }
}

std::vector<std::string> settled_names(const SessionPoll& poll) {
  auto s = poll.settled();
  return {s.begin(), s.end()};
}

// BGP says Established before a route has crossed: the Lease's count (make-before-break) and
// readiness wait until the first exchange is over.
TEST(SessionPollTest, AnEstablishedSessionSettlesOnceItsRouteCountsStayTheSameForTheSettleTime) {
  SessionPoll poll({.events = true, .resync = 60s, .settle = 2s, .settle_max = 30s});
  poll.configured(names(3));
  ASSERT_EQ(poll.next(t0, {}).kind, PollKind::Full);
  poll.full(all_up(3), t0);
  EXPECT_TRUE(poll.settled().empty()) << "Established, no route counted yet";

  auto request = poll.next(t0 + 1s, {});
  ASSERT_EQ(request.kind, PollKind::Protocols) << "sessions not settled are read every poll";
  EXPECT_EQ(request.protocols, names(3));
  poll.protocols(request.protocols, {session("client_n0", true, 5), session("client_n1", true), session("client_n2", true)},
                 t0 + 1s);
  EXPECT_TRUE(poll.settled().empty());

  (void)poll.take_changed();
  request = poll.next(t0 + 2s, {});
  poll.protocols(request.protocols, {session("client_n0", true, 5), session("client_n1", true), session("client_n2", true)},
                 t0 + 2s);
  EXPECT_EQ(settled_names(poll), (std::vector<std::string>{"client_n1", "client_n2"}))
      << "client_n0's routes were still arriving a second ago";
  EXPECT_TRUE(poll.take_changed()) << "settling changes the Lease's count";

  request = poll.next(t0 + 3s, {});
  ASSERT_EQ(request.protocols, std::vector<std::string>{"client_n0"});
  poll.protocols(request.protocols, {session("client_n0", true, 5)}, t0 + 3s);
  EXPECT_EQ(settled_names(poll), names(3));
  EXPECT_EQ(poll.next(t0 + 4s, {}).kind, PollKind::Status) << "settled sessions cost nothing more";

  // Settled for good while Established: later route changes are the fabric's, not the exchange's.
  poll.protocols({"client_n1"}, {session("client_n1", true, 9)}, t0 + 5s);
  EXPECT_EQ(settled_names(poll), names(3));
}

TEST(SessionPollTest, ASessionThatGoesDownSettlesAgainFromScratch) {
  SessionPoll poll({.events = true, .resync = 60s, .settle = 2s, .settle_max = 30s});
  poll.configured(names(1));
  poll.full(all_up(1), t0);
  poll.full(all_up(1), t0 + 2s);
  ASSERT_EQ(settled_names(poll), names(1));
  poll.protocols({"client_n0"}, {session("client_n0", false)}, t0 + 3s);
  EXPECT_TRUE(poll.settled().empty());
  poll.protocols({"client_n0"}, {session("client_n0", true)}, t0 + 4s);
  EXPECT_TRUE(poll.settled().empty()) << "up again: its routes are exchanged anew";
  poll.protocols({"client_n0"}, {session("client_n0", true)}, t0 + 6s);
  EXPECT_EQ(settled_names(poll), names(1));

  poll.failed();
  EXPECT_TRUE(poll.settled().empty()) << "nobody vouches for a session BIRD did not report";
  poll.full(all_up(1), t0 + 7s);
  EXPECT_TRUE(poll.settled().empty());
}

TEST(SessionPollTest, ASessionWhoseRoutesNeverStopChangingSettlesAfterTheMaximum) {
  SessionPoll poll({.events = true, .resync = 60s, .settle = 2s, .settle_max = 10s});
  poll.configured(names(1));
  for (int i = 0; i < 10; ++i) {
    poll.protocols({"client_n0"}, {session("client_n0", true, static_cast<std::uint32_t>(i))}, t0 + i * 1s);
    EXPECT_TRUE(poll.settled().empty()) << "at " << i << "s";
  }
  poll.protocols({"client_n0"}, {session("client_n0", true, 10)}, t0 + 10s);
  EXPECT_EQ(settled_names(poll), names(1));
}

}  // namespace
}  // namespace rr::agent
