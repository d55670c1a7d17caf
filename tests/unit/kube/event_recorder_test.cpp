#include "kube/event_recorder.h"

#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeKubeClient;

Json pod(const std::string& name = "rr-0") {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "rr-system"}, {"uid", "uid-" + name}, {"resourceVersion", "42"}}}};
}

Json fabric() {
  return {{"apiVersion", "rr.bgp.dev/v1alpha1"},
          {"kind", "RouteReflectorCluster"},
          {"metadata", {{"name", "fabric"}, {"uid", "uid-fabric"}, {"resourceVersion", "7"}}}};
}

struct RecorderFixture {
  FakeClock clock;
  FakeKubeClient api{clock};
  EventRecorder recorder{api, {"rr-operator", "operator-7d9f"}, clock};
  std::mutex mu;
  std::vector<Error> errors_seen;

  RecorderFixture() {
    recorder.set_on_error([this](const Error& e) {
      std::lock_guard lock(mu);
      errors_seen.push_back(e);
    });
  }
  std::vector<Json> events() {
    EXPECT_TRUE(recorder.flush());
    auto listed = api.list(resources::events(), "", {});
    EXPECT_TRUE(listed.ok());
    return listed.ok() ? listed->items : std::vector<Json>{};
  }
  std::vector<Error> errors() {
    std::lock_guard lock(mu);
    return errors_seen;
  }
};

TEST(EventRecorder, CreatesAnEventThenAggregatesARepeat) {
  RecorderFixture f;
  const std::string first = format_time(f.clock.wall_now());
  f.recorder.record(pod(), "Normal", "Placed", "reflector placed on node-3");
  auto created = f.events();
  ASSERT_EQ(created.size(), 1u);
  const Json& e = created[0];
  EXPECT_TRUE(std::regex_match(name_of(e), std::regex(R"(rr-0\.[0-9a-f]{16})"))) << name_of(e);
  EXPECT_EQ(namespace_of(e), "rr-system");
  EXPECT_EQ(e["involvedObject"], (Json{{"apiVersion", "v1"},
                                       {"kind", "Pod"},
                                       {"name", "rr-0"},
                                       {"namespace", "rr-system"},
                                       {"uid", "uid-rr-0"},
                                       {"resourceVersion", "42"}}));
  EXPECT_EQ(e["type"], "Normal");
  EXPECT_EQ(e["reason"], "Placed");
  EXPECT_EQ(e["message"], "reflector placed on node-3");
  EXPECT_EQ(e["source"], (Json{{"component", "rr-operator"}, {"host", "operator-7d9f"}}));
  EXPECT_EQ(e["reportingComponent"], "rr-operator");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["firstTimestamp"], first);
  EXPECT_EQ(e["lastTimestamp"], first);

  f.clock.advance(30s);
  f.recorder.record(pod(), "Normal", "Placed", "reflector placed on node-3");
  auto aggregated = f.events();
  ASSERT_EQ(aggregated.size(), 1u);
  EXPECT_EQ(name_of(aggregated[0]), name_of(e));
  EXPECT_EQ(aggregated[0]["count"], 2);
  EXPECT_EQ(aggregated[0]["firstTimestamp"], first);
  EXPECT_EQ(aggregated[0]["lastTimestamp"], format_time(f.clock.wall_now()));
  EXPECT_NE(aggregated[0]["lastTimestamp"], first);
  EXPECT_EQ(f.api.write_log(), (std::vector<std::string>{"create events rr-system/" + name_of(e),
                                                          "patch events rr-system/" + name_of(e)}));
  EXPECT_TRUE(f.errors().empty());
}

TEST(EventRecorder, DifferentMessageTypeOrReasonCreatesAnotherEvent) {
  RecorderFixture f;  // the fake clock stands still: names must still differ
  f.recorder.record(pod(), "Normal", "Placed", "on node-3");
  f.recorder.record(pod(), "Normal", "Placed", "on node-4");
  f.recorder.record(pod(), "Warning", "Placed", "on node-4");
  f.recorder.record(pod(), "Warning", "Unplaced", "on node-4");
  f.recorder.record(pod("rr-1"), "Warning", "Unplaced", "on node-4");
  auto events = f.events();
  ASSERT_EQ(events.size(), 5u);
  for (const auto& e : events) EXPECT_EQ(e["count"], 1);
  EXPECT_TRUE(f.errors().empty());
}

TEST(EventRecorder, RepeatAfterTheAggregationWindowCreatesANewEvent) {
  RecorderFixture f;
  f.recorder.record(pod(), "Normal", "Placed", "on node-3");
  ASSERT_TRUE(f.recorder.flush());
  f.clock.advance(EventRecorder::kAggregationWindow + 1s);
  f.recorder.record(pod(), "Normal", "Placed", "on node-3");
  auto events = f.events();
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) EXPECT_EQ(e["count"], 1);
}

TEST(EventRecorder, PatchOfAVanishedEventCreatesItAnew) {
  RecorderFixture f;
  f.recorder.record(pod(), "Warning", "Degraded", "BGP session down");
  auto first = f.events();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(f.api.remove(resources::events(), "rr-system", name_of(first[0]), {}).ok());  // expired (TTL)

  f.clock.advance(1s);
  f.recorder.record(pod(), "Warning", "Degraded", "BGP session down");
  auto second = f.events();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(name_of(second[0]), name_of(first[0]));
  EXPECT_EQ(second[0]["count"], 1);
  EXPECT_TRUE(f.errors().empty());

  // Later repeats aggregate onto the new Event.
  f.recorder.record(pod(), "Warning", "Degraded", "BGP session down");
  auto third = f.events();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0]["count"], 2);
}

TEST(EventRecorder, SpamFilterDropsAfterBurstAndRecoversAfterRefill) {
  RecorderFixture f;
  for (int i = 0; i < 40; ++i) f.recorder.record(pod(), "Normal", "Tick", "tick " + std::to_string(i));
  EXPECT_EQ(f.events().size(), 25u);
  f.recorder.record(pod("rr-1"), "Normal", "Tick", "another object has its own budget");
  EXPECT_EQ(f.events().size(), 26u);

  f.clock.advance(EventRecorder::kSpamRefill - 1s);
  f.recorder.record(pod(), "Normal", "Tick", "still too soon");
  EXPECT_EQ(f.events().size(), 26u);

  f.clock.advance(1s);
  f.recorder.record(pod(), "Normal", "Tick", "one more after the refill");
  f.recorder.record(pod(), "Normal", "Tick", "but only one");
  auto events = f.events();
  EXPECT_EQ(events.size(), 27u);
  int refilled = 0;
  for (const auto& e : events) refilled += e["message"] == "one more after the refill";
  EXPECT_EQ(refilled, 1);

  // A steady hot loop gets one event per refill period, not more.
  for (int minute = 0; minute < 30; ++minute) {
    f.clock.advance(1min);
    for (int i = 0; i < 10; ++i) f.recorder.record(pod(), "Normal", "Tick", "hot " + std::to_string(minute));
  }
  EXPECT_EQ(f.events().size(), 27u + 30 / 5);
  EXPECT_TRUE(f.errors().empty());  // spam is dropped quietly
}

TEST(EventRecorder, ClusterScopedObjectGetsEventsInDefault) {
  RecorderFixture f;
  f.recorder.record(fabric(), "Warning", "InvalidSpec", "clusterIDPool overlaps fabric b");
  auto events = f.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(namespace_of(events[0]), "default");
  EXPECT_EQ(name_of(events[0]).rfind("fabric.", 0), 0u);
  EXPECT_FALSE(events[0]["involvedObject"].contains("namespace"));
  EXPECT_EQ(events[0]["involvedObject"]["kind"], "RouteReflectorCluster");
  EXPECT_EQ(events[0]["involvedObject"]["apiVersion"], "rr.bgp.dev/v1alpha1");
}

TEST(EventRecorder, LongMessageIsTruncatedOnACharacterBoundary) {
  RecorderFixture f;
  f.recorder.record(pod("a"), "Normal", "Long", std::string(5000, 'x'));
  std::string accents = "x";
  for (int i = 0; i < 1000; ++i) accents += "\xc3\xa9";  // é: byte 1024 falls inside one
  f.recorder.record(pod("b"), "Normal", "Long", accents);
  f.recorder.record(pod("c"), "Normal", "Broken", "bad \xff byte");
  auto events = f.events();
  ASSERT_EQ(events.size(), 3u);
  for (const auto& e : events) {
    const std::string message = e["message"];
    SCOPED_TRACE(name_of(e));
    EXPECT_LE(message.size(), EventRecorder::kMaxMessageBytes);
    EXPECT_NO_THROW((void)e.dump());
    const std::string object = e["involvedObject"]["name"];
    const std::string expected = object == "a"   ? std::string(1024, 'x')
                                 : object == "b" ? accents.substr(0, 1023)
                                                 : "bad \xef\xbf\xbd byte";
    EXPECT_EQ(message, expected);
  }
}

TEST(EventRecorder, WriteFailuresGoToOnErrorAndNeverThrow) {
  RecorderFixture f;
  f.api.set_unavailable(true);
  EXPECT_NO_THROW(f.recorder.record(pod(), "Warning", "Degraded", "down"));
  EXPECT_TRUE(f.recorder.flush());
  f.api.set_unavailable(false);
  EXPECT_TRUE(f.events().empty());
  auto errors = f.errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, ErrorKind::Transient);

  f.api.inject_error("patch", resources::events(), make_error(ErrorKind::Forbidden, "no patch for you"));
  f.recorder.record(pod(), "Warning", "Degraded", "again");
  f.recorder.record(pod(), "Warning", "Degraded", "again");
  auto events = f.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["count"], 1);
  ASSERT_EQ(f.errors().size(), 2u);
  EXPECT_EQ(f.errors()[1].kind, ErrorKind::Forbidden);

  EXPECT_NO_THROW(f.recorder.record(Json::array({1, 2}), "Normal", "Odd", "not an object"));
  EXPECT_TRUE(f.recorder.flush());
}

TEST(EventRecorder, RecordsFromManyThreads) {
  RecorderFixture f;
  constexpr int kThreads = 4, kRepeats = 20;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&f, t] {
        for (int i = 0; i < kRepeats; ++i) {
          f.recorder.record(pod("rr-" + std::to_string(t)), "Normal", "Renewed", "same words");
        }
      });
    }
  }
  auto events = f.events();
  ASSERT_EQ(events.size(), static_cast<size_t>(kThreads));
  for (const auto& e : events) EXPECT_EQ(e["count"], kRepeats);
  EXPECT_TRUE(f.errors().empty());
}

}  // namespace
}  // namespace kube
