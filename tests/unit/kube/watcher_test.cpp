#include "kube/watcher.h"

#include <thread>

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/scripted_transport.h"
#include "kube/rest_kube_client.h"
#include "kube/token_source.h"

namespace kube {
namespace {

using testing::FakeClock;
using testing::ScriptedTransport;

// Records events; a list's ListStarted / ListPage... / Listed become one Listed event holding
// every page's objects (types() keeps the sequence as delivered).
class Recorder {
 public:
  void operator()(WatcherEvent&& e) {
    std::lock_guard lock(mu_);
    types_.push_back(e.type);
    switch (e.type) {
      case WatcherEvent::Type::ListStarted:
        listing_.clear();
        return;
      case WatcherEvent::Type::ListPage:
        page_sizes_.push_back(e.objects.size());
        for (auto& o : e.objects) listing_.push_back(std::move(o));
        return;
      case WatcherEvent::Type::Listed:
        e.objects = std::move(listing_);
        listing_.clear();
        break;
      default:
        break;
    }
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  std::vector<WatcherEvent::Type> types() {
    std::lock_guard lock(mu_);
    return types_;
  }
  std::vector<size_t> page_sizes() {
    std::lock_guard lock(mu_);
    return page_sizes_;
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return events_.size() >= n; });
  }
  std::vector<WatcherEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WatcherEvent> events_;
  std::vector<Json> listing_;
  std::vector<WatcherEvent::Type> types_;
  std::vector<size_t> page_sizes_;
};

std::string event(const std::string& type, const std::string& name, const std::string& rv) {
  return Json{{"type", type}, {"object", {{"metadata", {{"name", name}, {"resourceVersion", rv}}}}}}.dump();
}

struct WatcherFixture {
  FakeClock clock;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  RestKubeClient client{transport, nullptr,
                        [] {
                          RestClientOptions o;
                          o.qps = 0;
                          return o;
                        }(),
                        clock, [] { return 0.0; }};
  Recorder recorder;
  Watcher watcher{client, resources::nodes(), WatcherOptions{}, clock, [] { return 0.0; }};
  std::jthread thread;

  void start() {
    thread = std::jthread([this](std::stop_token stop) { watcher.run(std::ref(recorder), stop); });
  }
  void list(const std::string& rv, const std::vector<std::string>& names) {
    Json items = Json::array();
    for (const auto& n : names) items.push_back({{"metadata", {{"name", n}, {"resourceVersion", rv}}}});
    transport->respond("GET", "/api/v1/nodes?limit=500", 200,
                       Json{{"items", items}, {"metadata", {{"resourceVersion", rv}}}}.dump());
  }
  std::string target(size_t i) { return transport->requests().at(i).target; }
};

TEST(Watcher, ListsThenWatchesFromTheListResourceVersion) {
  WatcherFixture f;
  f.list("10", {"a", "b"});
  auto s = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=10");
  f.start();
  ASSERT_TRUE(f.recorder.wait_for(1));
  s->push_line(event("ADDED", "c", "11"));
  s->push_line(event("DELETED", "a", "12"));
  ASSERT_TRUE(f.recorder.wait_for(3));
  auto ev = f.recorder.events();
  EXPECT_EQ(ev[0].type, WatcherEvent::Type::Listed);
  EXPECT_EQ(ev[0].objects.size(), 2u);
  EXPECT_EQ(ev[1].type, WatcherEvent::Type::Applied);
  EXPECT_EQ(ev[2].type, WatcherEvent::Type::Deleted);
  EXPECT_EQ(f.watcher.resource_version(), "12");
}

TEST(Watcher, DroppedStreamResumesFromLastSeenVersionAfterBackoff) {
  WatcherFixture f;
  f.list("10", {"a"});
  auto s1 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=10");
  f.start();
  s1->push_line(event("MODIFIED", "a", "15"));
  ASSERT_TRUE(f.recorder.wait_for(2));
  auto s2 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=15");
  s1->drop();
  ASSERT_TRUE(f.clock.wait_for_sleepers(1)) << "a dropped stream must back off before reconnecting";
  EXPECT_EQ(f.transport->requests().size(), 2u);
  f.clock.advance(std::chrono::seconds(1));
  s2->push_line(event("MODIFIED", "a", "16"));
  ASSERT_TRUE(f.recorder.wait_for(3));
  EXPECT_EQ(f.watcher.lists(), 1) << "a resumable drop must not relist";
}

// The resume sink tells an observer that the API answers again after errors: once, when the
// watch opens again (no list in between), and never while nothing failed.
TEST(Watcher, AWatchOpenAfterErrorsIsReportedOnceAsResumed) {
  WatcherFixture f;
  std::atomic<int> errors{0}, resumed{0};
  f.watcher.set_error_sink([&](const Error&) { ++errors; });
  f.watcher.set_resume_sink([&] { ++resumed; });
  f.list("10", {"a"});
  auto s1 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=10");
  f.start();
  s1->push_line(event("MODIFIED", "a", "15"));
  ASSERT_TRUE(f.recorder.wait_for(2));
  EXPECT_EQ(resumed.load(), 0) << "nothing failed: nothing resumed";
  s1->drop();
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));
  EXPECT_EQ(errors.load(), 1);
  EXPECT_EQ(resumed.load(), 0) << "still failing";
  auto s2 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=15");
  f.clock.advance(std::chrono::seconds(1));
  s2->push_line(event("MODIFIED", "a", "16"));
  ASSERT_TRUE(f.recorder.wait_for(3));
  EXPECT_EQ(resumed.load(), 1);
  EXPECT_EQ(f.watcher.lists(), 1);
  s2->push_line(event("MODIFIED", "a", "17"));
  ASSERT_TRUE(f.recorder.wait_for(4));
  EXPECT_EQ(resumed.load(), 1) << "once per recovery";
}

TEST(Watcher, BookmarksMoveTheResumePointWithoutEvents) {
  WatcherFixture f;
  f.list("10", {});
  auto s1 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=10");
  f.start();
  ASSERT_TRUE(f.recorder.wait_for(1));
  auto s2 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=40");
  s1->push_line(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"40"}}})");
  s1->end();  // the server's timeoutSeconds elapsed: resume at once, no backoff
  ASSERT_TRUE(f.transport->wait_for_requests(3));
  EXPECT_EQ(f.recorder.events().size(), 1u);
  EXPECT_NE(f.target(2).find("resourceVersion=40"), std::string::npos);
}

TEST(Watcher, GoneMidWatchRelistsAndReportsTheFullSet) {
  WatcherFixture f;
  f.list("10", {"a", "b"});
  auto s1 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=10");
  f.start();
  ASSERT_TRUE(f.recorder.wait_for(1));
  f.list("90", {"b", "c"});
  auto s2 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=90");
  s1->push_line(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}})");
  ASSERT_TRUE(f.recorder.wait_for(2));
  auto ev = f.recorder.events();
  ASSERT_EQ(ev[1].type, WatcherEvent::Type::Listed);
  ASSERT_EQ(ev[1].objects.size(), 2u);
  EXPECT_EQ(name_of(ev[1].objects[1]), "c");
  EXPECT_EQ(f.watcher.lists(), 2);
  ASSERT_TRUE(f.transport->wait_for_requests(4));
  EXPECT_NE(f.target(3).find("resourceVersion=90"), std::string::npos);
}

TEST(Watcher, ListFailuresBackOffAndRetry) {
  WatcherFixture f;
  // The client retries an idempotent list itself (5 attempts); the watcher then backs off and lists again.
  for (int i = 0; i < 7; ++i) {
    f.transport->fail("GET", "/api/v1/nodes?limit=500", make_error(ErrorKind::Transient, "connect refused"));
  }
  f.list("5", {"x"});
  auto s = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=5");
  std::atomic<int> errors{0};
  f.watcher.set_error_sink([&](const Error&) { ++errors; });
  std::atomic<int> resumed{0};
  f.watcher.set_resume_sink([&] { ++resumed; });
  f.start();
  for (int i = 0; i < 100 && f.recorder.events().empty(); ++i) {
    f.clock.wait_for_sleepers(1, std::chrono::milliseconds(50));
    f.clock.advance(std::chrono::seconds(5));
  }
  ASSERT_EQ(f.recorder.events().size(), 1u);
  EXPECT_EQ(f.watcher.lists(), 2);
  EXPECT_EQ(errors.load(), 1);
  EXPECT_EQ(resumed.load(), 1) << "the list that succeeded after the failure";
}

std::string page(const std::vector<std::string>& names, const std::string& rv, const std::string& next) {
  Json items = Json::array();
  for (const auto& n : names) items.push_back({{"metadata", {{"name", n}, {"resourceVersion", rv}}}});
  Json metadata = {{"resourceVersion", rv}};
  if (!next.empty()) metadata["continue"] = next;
  return Json{{"items", items}, {"metadata", metadata}}.dump();
}

TEST(Watcher, AListIsHandedOnPageByPageAndStartsOverWhenItsSnapshotExpires) {
  WatcherFixture f;
  WatcherOptions two;
  two.page_size = 2;
  Watcher watcher{f.client, resources::nodes(), two, f.clock, [] { return 0.0; }};
  f.transport->respond("GET", "/api/v1/nodes?limit=2", 200, page({"a", "b"}, "10", "t1"));
  f.transport->respond("GET", "/api/v1/nodes?limit=2&continue=t1", 410,
                       R"({"kind":"Status","code":410,"reason":"Expired","message":"continue expired"})");
  f.transport->respond("GET", "/api/v1/nodes?limit=2", 200, page({"a", "b"}, "12", "t2"));
  f.transport->respond("GET", "/api/v1/nodes?limit=2&continue=t2", 200, page({"c"}, "12", ""));
  auto s = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=12");
  std::jthread thread([&](std::stop_token stop) { watcher.run(std::ref(f.recorder), stop); });
  ASSERT_TRUE(f.recorder.wait_for(1));
  using T = WatcherEvent::Type;
  // The first snapshot's page, then the second snapshot from its start: a holder of the pages
  // knows to forget what the expired one said.
  EXPECT_EQ(f.recorder.types(), (std::vector<T>{T::ListStarted, T::ListPage, T::ListStarted, T::ListPage,
                                                T::ListPage, T::Listed}));
  EXPECT_EQ(f.recorder.page_sizes(), (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(f.recorder.events()[0].objects.size(), 3u);
  EXPECT_EQ(watcher.resource_version(), "12");
}

TEST(Watcher, ARequestedRelistEndsTheOpenWatchAndListsAgainWithoutBackoff) {
  WatcherFixture f;
  f.list("10", {"a"});
  auto s1 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=10");
  f.start();
  ASSERT_TRUE(f.recorder.wait_for(1));
  ASSERT_TRUE(f.transport->wait_for_requests(2));  // the watch is open
  f.list("20", {"a", "b"});
  auto s2 = f.transport->stream("/api/v1/nodes?watch=true&resourceVersion=20");
  f.watcher.request_relist();
  ASSERT_TRUE(f.recorder.wait_for(2)) << "the open watch must end and a list follow, with no clock advanced";
  auto ev = f.recorder.events();
  EXPECT_EQ(ev[1].type, WatcherEvent::Type::Listed);
  EXPECT_EQ(ev[1].objects.size(), 2u);
  EXPECT_EQ(f.watcher.lists(), 2);
  ASSERT_TRUE(f.transport->wait_for_requests(4));
  EXPECT_NE(f.target(3).find("resourceVersion=20"), std::string::npos);
}

TEST(Watcher, AListFromTheCacheAsksForResourceVersionZero) {
  WatcherFixture f;
  WatcherOptions cached;
  cached.label_selector = "rack=r1";
  cached.list_from_cache = true;
  Watcher watcher{f.client, resources::nodes(), cached, f.clock, [] { return 0.0; }};
  f.transport->respond("GET", "/api/v1/nodes?labelSelector=rack%3Dr1&limit=500&resourceVersion=0", 200,
                       page({"a"}, "30", ""));
  auto s = f.transport->stream("/api/v1/nodes?labelSelector=rack%3Dr1&watch=true&resourceVersion=30");
  std::jthread thread([&](std::stop_token stop) { watcher.run(std::ref(f.recorder), stop); });
  ASSERT_TRUE(f.recorder.wait_for(1));
  EXPECT_EQ(f.recorder.events()[0].objects.size(), 1u);
  ASSERT_TRUE(f.transport->wait_for_requests(2));
  EXPECT_NE(f.target(1).find("resourceVersion=30"), std::string::npos) << "the watch starts where the list was";
}

TEST(Watcher, StopCancelsABlockedWatchPromptly) {
  WatcherFixture f;
  f.list("10", {});
  auto s = f.transport->stream("/api/v1/nodes?watch=true");
  f.start();
  ASSERT_TRUE(f.recorder.wait_for(1));
  ASSERT_TRUE(f.transport->wait_for_requests(2));
  f.thread.request_stop();
  f.thread.join();  // would hang if the blocked next() were not cancelled
  SUCCEED();
}

}  // namespace
}  // namespace kube
