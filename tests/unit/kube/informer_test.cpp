#include "kube/informer.h"

#include <atomic>
#include <condition_variable>
#include <thread>

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeKubeClient;
namespace res = resources;

const std::string kNs = "rr-system";

// What the informers below keep of a Lease: its holder.
struct Holder {
  std::string holder;
  bool operator==(const Holder&) const = default;
};

Json lease(const std::string& name, const std::string& holder, const std::string& app = "rr") {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", {{"app", app}}}}},
          {"spec", {{"holderIdentity", holder}}}};
}

// Only reflector Leases, trimmed to their holder.
std::optional<Holder> reflector_holder(const Json& obj) {
  auto labels = labels_of(obj);
  if (labels["role"] != "reflector") return std::nullopt;
  return Holder{obj.value("spec", Json::object()).value("holderIdentity", "")};
}

// Every notification as "add ns/name h", "update ns/name old->new", "resync ns/name h", "delete ns/name h".
class Journal {
 public:
  template <class T>
  typename Informer<T>::Handlers handlers(std::function<std::string(const T&)> show) {
    return {[this, show](const std::string& k, const T& o) { log("add " + k + " " + show(o)); },
            [this, show](const std::string& k, const T& a, const T& b) {
              // A resync hands the cached object as both; a real update has two objects.
              log(&a == &b ? "resync " + k + " " + show(b) : "update " + k + " " + show(a) + "->" + show(b));
            },
            [this, show](const std::string& k, const T& o) { log("delete " + k + " " + show(o)); }};
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mu_);
    return std::exchange(entries_, {});
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return entries_.size();
  }
  // Waits (in real time) until `n` entries arrived, then takes them.
  std::vector<std::string> take(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 5s, [&] { return entries_.size() >= n; });
    return std::exchange(entries_, {});
  }

 private:
  void log(std::string e) {
    std::lock_guard lock(mu_);
    entries_.push_back(std::move(e));
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> entries_;
};

std::string holder_of(const Json& o) { return o.value("spec", Json::object()).value("holderIdentity", ""); }
std::string show_holder(const Holder& h) { return h.holder; }

template <class T = Json>
struct InformerFixture {
  FakeClock clock;
  FakeKubeClient api{clock};
  Journal journal;
  std::unique_ptr<Informer<T>> informer;

  void make(typename Informer<T>::Transform transform, InformerOptions options = {},
            std::function<std::string(const T&)> show = {}) {
    options.watch.ns = kNs;
    informer = std::make_unique<Informer<T>>(api, res::leases(), options, std::move(transform), clock,
                                             [] { return 0.0; });
    informer->add_handlers(journal.handlers<T>(std::move(show)));
  }
  void start_and_sync() {
    informer->start();
    ASSERT_TRUE(informer->wait_for_sync(5s));
    ASSERT_TRUE(api.wait_for_open_watches(1));
  }
  void seed(const Json& obj) { api.seed(res::leases(), obj); }
  void set_holder(const std::string& name, const std::string& holder) {
    ASSERT_TRUE(api.patch(res::leases(), kNs, name, PatchType::Merge, {{"spec", {{"holderIdentity", holder}}}}, {}).ok());
  }
  void set_labels(const std::string& name, Json labels) {
    ASSERT_TRUE(api.patch(res::leases(), kNs, name, PatchType::Merge, {{"metadata", {{"labels", labels}}}}, {}).ok());
  }
  std::optional<T> cached(const std::string& name) {
    auto p = informer->store().get(kNs + "/" + name);
    return p ? std::optional<T>(*p) : std::nullopt;
  }
};

std::string key(const std::string& name) { return kNs + "/" + name; }

TEST(Informer, TransformTrimsAndNulloptLeavesObjectsOut) {
  InformerFixture<Holder> f;
  f.make(reflector_holder, {}, show_holder);
  Json r1 = lease("r1", "node-1");
  r1["metadata"]["labels"]["role"] = "reflector";
  f.seed(r1);
  f.seed(lease("other", "x"));
  f.start_and_sync();
  EXPECT_EQ(f.journal.take(1), std::vector<std::string>{"add " + key("r1") + " node-1"});
  EXPECT_EQ(f.informer->store().size(), 1u);
  EXPECT_EQ(f.cached("r1"), Holder{"node-1"});
  EXPECT_FALSE(f.cached("other"));

  f.set_holder("other", "y");  // still left out: no notification
  f.set_labels("other", {{"app", "rr"}, {"role", "reflector"}});  // now kept
  f.set_labels("r1", {{"app", "rr"}, {"role", "spare"}});         // now left out: gone from the cache
  EXPECT_EQ(f.journal.take(2),
            (std::vector<std::string>{"add " + key("other") + " y", "delete " + key("r1") + " node-1"}));
  EXPECT_EQ(f.cached("other"), Holder{"y"});
  EXPECT_FALSE(f.cached("r1"));
}

TEST(Informer, HandlersSeeAddsUpdatesAndDeletesInOrder) {
  InformerFixture<> f;
  f.make(keep_whole_object, {}, holder_of);
  f.seed(lease("a", "h1"));
  f.start_and_sync();
  ASSERT_TRUE(f.api.create(res::leases(), kNs, lease("b", "h1")).ok());
  f.set_holder("a", "h2");
  f.set_holder("a", "h3");
  ASSERT_TRUE(f.api.remove(res::leases(), kNs, "b", {}).ok());
  EXPECT_EQ(f.journal.take(5), (std::vector<std::string>{"add " + key("a") + " h1", "add " + key("b") + " h1",
                                                          "update " + key("a") + " h1->h2",
                                                          "update " + key("a") + " h2->h3",
                                                          "delete " + key("b") + " h1"}));
  EXPECT_EQ(holder_of(*f.cached("a")), "h3");
  EXPECT_FALSE(f.cached("b"));
}

TEST(Informer, RelistAfterGoneDeletesVanishedObjectsAndStaysQuietForUnchangedOnes) {
  InformerFixture<> f;
  f.make(keep_whole_object, {}, holder_of);
  for (const char* name : {"keep", "gone", "changed"}) f.seed(lease(name, "h1"));
  f.start_and_sync();
  EXPECT_EQ(f.journal.take(3).size(), 3u);

  // The watch drops; while the watcher backs off, things change and etcd compacts past them.
  f.api.fail_watches(make_error(ErrorKind::Transient, "connection reset"));
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));
  ASSERT_TRUE(f.api.remove(res::leases(), kNs, "gone", {}).ok());
  f.set_holder("changed", "h2");
  ASSERT_TRUE(f.api.create(res::leases(), kNs, lease("new", "h1")).ok());
  f.api.compact();
  // Resuming from the old resourceVersion is 410 Gone: the watcher relists (after backing off again).
  for (auto until = std::chrono::steady_clock::now() + 5s;
       f.journal.size() < 3 && std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(5ms)) {
    if (f.clock.sleepers() > 0) f.clock.advance(1s);
  }
  // Pages first (changes as they come), deletions once the list is whole.
  EXPECT_EQ(f.journal.take(3), (std::vector<std::string>{"update " + key("changed") + " h1->h2",
                                                          "add " + key("new") + " h1",
                                                          "delete " + key("gone") + " h1"}));
  EXPECT_EQ(f.informer->watcher().lists(), 2);
  ASSERT_TRUE(f.api.wait_for_open_watches(1));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(f.journal.take().empty()) << "\"keep\" has the same resourceVersion: no notification";
  EXPECT_EQ(f.informer->store().keys(), (std::vector<std::string>{key("changed"), key("keep"), key("new")}));
}

TEST(Informer, ARequestedRelistPassesEveryObjectThroughTheTransformAgainAndPagesNeverHoldTheWholeList) {
  InformerFixture<Holder> f;
  std::atomic<bool> with_app{false};  // what the transform keeps changes under it
  InformerOptions paged;
  paged.watch.page_size = 2;
  f.make([&](const Json& o) -> std::optional<Holder> {
    std::string h = holder_of(o);
    if (with_app) h += "@" + labels_of(o)["app"];
    return Holder{h};
  }, paged, show_holder);
  for (const char* name : {"a", "b", "c", "d", "e"}) f.seed(lease(name, "h"));
  f.start_and_sync();
  EXPECT_EQ(f.journal.take(5).size(), 5u);
  EXPECT_TRUE(f.informer->listed_since(0));

  with_app = true;
  // The relist's first list fails: until the watcher's backoff ends, no list has completed since the request.
  f.api.inject_error("list", res::leases(), make_error(ErrorKind::Transient, "connection reset"));
  const auto ticket = f.informer->relist();
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));
  EXPECT_FALSE(f.informer->listed_since(ticket)) << "the list asked for failed; none has completed since";
  EXPECT_TRUE(f.journal.take().empty());
  // Same resourceVersions, yet every object is transformed again: the watch ends, three pages follow.
  for (auto until = std::chrono::steady_clock::now() + 5s;
       f.journal.size() < 5 && std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(5ms)) {
    if (f.clock.sleepers() > 0) f.clock.advance(1s);
  }
  auto updates = f.journal.take(5);
  ASSERT_EQ(updates.size(), 5u);
  EXPECT_EQ(updates[0], "update " + key("a") + " h->h@rr");
  EXPECT_EQ(updates[4], "update " + key("e") + " h->h@rr");
  for (int i = 0; i < 500 && !f.informer->listed_since(ticket); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(f.informer->listed_since(ticket));
  EXPECT_EQ(f.cached("c"), Holder{"h@rr"});
  EXPECT_EQ(f.informer->watcher().lists(), 3) << "the first list, the failed one, the relist";
  EXPECT_EQ(f.informer->store().size(), 5u);
}

TEST(Informer, ResyncCallsOnUpdateWithTheCachedObjectForEveryObjectEachPeriod) {
  InformerFixture<Holder> f;
  InformerOptions options;
  options.resync_period = 30s;
  f.make([](const Json& o) { return std::optional<Holder>(Holder{holder_of(o)}); }, options, show_holder);
  f.seed(lease("a", "h1"));
  f.seed(lease("b", "h2"));
  f.start_and_sync();
  EXPECT_EQ(f.journal.take(2).size(), 2u);
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));  // only the resync timer sleeps; the watch blocks on the API

  f.clock.advance(29s);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(f.journal.take().empty()) << "resync before the period";

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    f.clock.advance(1s);
    EXPECT_EQ(f.journal.take(2), (std::vector<std::string>{"resync " + key("a") + " h1", "resync " + key("b") + " h2"}));
    ASSERT_TRUE(f.clock.wait_for_sleepers(1));
    f.clock.advance(29s);
  }
  EXPECT_EQ(f.informer->watcher().lists(), 1) << "a resync reads the cache, not the API";
}

TEST(Informer, HasSyncedOnlyOnceTheFirstListIsInTheCache) {
  InformerFixture<> f;
  f.make(keep_whole_object, {}, holder_of);
  f.seed(lease("a", "h1"));
  f.api.inject_error("list", res::leases(), make_error(ErrorKind::Transient, "apiserver starting"));
  EXPECT_FALSE(f.informer->has_synced());
  f.informer->start();
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));  // backing off after the failed list
  EXPECT_FALSE(f.informer->has_synced());
  EXPECT_FALSE(f.informer->wait_for_sync(50ms));
  EXPECT_EQ(f.informer->store().size(), 0u);

  f.clock.advance(1s);
  ASSERT_TRUE(f.informer->wait_for_sync(5s));
  EXPECT_TRUE(f.informer->has_synced());
  EXPECT_TRUE(f.cached("a")) << "synced means the list is already in the cache";
}

TEST(Informer, AnEmptyFirstListStillSyncs) {
  InformerFixture<> f;
  f.make(keep_whole_object, {}, holder_of);
  f.start_and_sync();
  EXPECT_TRUE(f.informer->has_synced());
  EXPECT_EQ(f.informer->store().size(), 0u);
}

TEST(Informer, LabelSelectorScopesWhatTheInformerSees) {
  InformerFixture<> f;
  InformerOptions options;
  options.watch.label_selector = "app=rr";
  f.make(keep_whole_object, options, holder_of);
  f.seed(lease("mine", "h1"));
  f.seed(lease("theirs", "h1", "other"));
  f.start_and_sync();
  EXPECT_EQ(f.journal.take(1), std::vector<std::string>{"add " + key("mine") + " h1"});
  EXPECT_EQ(f.informer->store().keys(), std::vector<std::string>{key("mine")});

  ASSERT_TRUE(f.api.create(res::leases(), kNs, lease("theirs-2", "h1", "other")).ok());
  f.set_holder("theirs", "h2");
  f.set_labels("theirs", {{"app", "rr"}});  // enters the selection
  f.set_labels("mine", {{"app", "gone"}});  // leaves it
  EXPECT_EQ(f.journal.take(2),
            (std::vector<std::string>{"add " + key("theirs") + " h2", "delete " + key("mine") + " h1"}));
  EXPECT_EQ(f.informer->store().keys(), std::vector<std::string>{key("theirs")});
}

TEST(Informer, ResyncAndWatchNotificationsNeverOverlap) {
  InformerFixture<> f;
  InformerOptions options;
  options.resync_period = 30s;
  f.make(keep_whole_object, options, holder_of);
  std::mutex mu;
  std::condition_variable cv;
  bool in_resync = false;
  bool release = false;
  std::atomic<bool> overlapped{false};
  std::atomic<bool> added{false};
  Informer<Json>::Handlers h;
  h.on_update = [&](const std::string&, const Json& a, const Json& b) {
    if (&a != &b) return;
    std::unique_lock lock(mu);
    in_resync = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });  // a slow handler, mid-resync
    in_resync = false;
  };
  h.on_add = [&](const std::string& k, const Json&) {
    std::lock_guard lock(mu);
    if (in_resync) overlapped = true;
    if (k == key("late")) added = true;
  };
  f.informer->add_handlers(h);
  f.seed(lease("a", "h1"));
  f.start_and_sync();
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));
  f.clock.advance(30s);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return in_resync; }));
  }
  ASSERT_TRUE(f.api.create(res::leases(), kNs, lease("late", "h1")).ok());
  std::this_thread::sleep_for(100ms);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto until = std::chrono::steady_clock::now() + 5s; !added && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(added);
  EXPECT_FALSE(overlapped) << "on_add ran while a resync on_update was still running: handlers need no locks "
                              "of their own only if notifications are serial";
}

// One informer per namespace, all filling one Store (what a client allowed to list only in
// some namespaces needs): each sees only its namespace, and a relist of one never removes
// another's objects.
TEST(Informer, InformersOfSeveralNamespacesShareOneStoreAndRelistOnlyTheirOwn) {
  FakeClock clock;
  FakeKubeClient api{clock};
  auto in = [](const std::string& ns, const std::string& name) {
    Json l = lease(name, "h1");
    l["metadata"]["namespace"] = ns;
    return l;
  };
  api.seed(res::leases(), in("a", "x"));
  api.seed(res::leases(), in("b", "y"));
  api.seed(res::leases(), in("elsewhere", "z"));
  auto store = std::make_shared<Store<Json>>();
  Journal journal;
  std::vector<std::unique_ptr<Informer<Json>>> informers;
  for (const char* ns : {"a", "b"}) {
    InformerOptions options;
    options.watch.ns = ns;
    informers.push_back(std::make_unique<Informer<Json>>(api, res::leases(), options, keep_whole_object, store,
                                                         clock, [] { return 0.0; }));
    informers.back()->add_handlers(journal.handlers<Json>(holder_of));
  }
  for (auto& i : informers) i->start();
  for (auto& i : informers) ASSERT_TRUE(i->wait_for_sync(5s));
  ASSERT_TRUE(api.wait_for_open_watches(2));
  EXPECT_EQ(journal.take(2).size(), 2u);
  EXPECT_EQ(store->keys(), (std::vector<std::string>{"a/x", "b/y"}));
  EXPECT_EQ(&informers[0]->store(), store.get());

  // Namespace a's watch drops and etcd compacts: its informer relists, and b's object stays.
  api.fail_watches(make_error(ErrorKind::Transient, "connection reset"));
  ASSERT_TRUE(clock.wait_for_sleepers(2));
  ASSERT_TRUE(api.create(res::leases(), "a", in("a", "x2")).ok());
  api.compact();
  for (auto until = std::chrono::steady_clock::now() + 5s;
       journal.size() < 1 && std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(5ms)) {
    if (clock.sleepers() > 0) clock.advance(1s);
  }
  EXPECT_EQ(journal.take(1), std::vector<std::string>{"add a/x2 h1"});
  ASSERT_TRUE(api.wait_for_open_watches(2));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(journal.take().empty()) << "no informer deletes another namespace's objects";
  EXPECT_EQ(store->keys(), (std::vector<std::string>{"a/x", "a/x2", "b/y"}));
}

}  // namespace
}  // namespace kube
