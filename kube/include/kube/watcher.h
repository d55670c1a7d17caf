#pragma once
// List-then-watch as a small state machine (after kube-rs's watcher):
//   Empty --list pages--> Watching(rv) --event--> Watching(rv')
//   Watching --stream ended / dropped--> Watching(rv) again, after backoff on errors
//   Watching --410 Gone / ERROR Expired, or request_relist()--> Empty (relist)
// A list is handed on page by page (ListStarted, ListPage..., Listed), so no one holds it whole.
// It never gives up: errors are reported and retried with jittered backoff.

#include <atomic>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "kube/backoff.h"
#include "kube/clock.h"
#include "kube/kube_client.h"

namespace kube {

struct WatcherEvent {
  enum class Type {
    ListStarted,  // a full list begins (after start, a relist, or again when its snapshot expired)
    ListPage,     // a page of that list: objects that exist now
    Listed,       // the list is complete: its pages together are the set of objects that exist now
    Applied,      // an object was added or modified
    Deleted,      // an object was deleted (its last state)
  };
  Type type = Type::Applied;
  std::vector<Json> objects;  // ListPage
  Json object;                // Applied, Deleted
};

struct WatcherOptions {
  std::string ns;  // "" = all namespaces (or a cluster-scoped type)
  std::string label_selector;
  std::string field_selector;
  int page_size = 500;
  // Lists with resourceVersion=0: the API server answers from its watch cache, in one piece
  // (page_size ignored), perhaps a moment behind (the watch that follows catches up), without
  // reading etcd. For a selective list of a large collection (an agent's one rack of 100k
  // Nodes) that is the difference between a scan of every object in etcd and a lookup.
  bool list_from_cache = false;
  int watch_timeout_seconds = 290;
  BackoffPolicy backoff{std::chrono::milliseconds(200), std::chrono::seconds(30), 2.0, 0.2};
};

class Watcher {
 public:
  using Sink = std::function<void(WatcherEvent&&)>;
  using ErrorSink = std::function<void(const Error&)>;

  Watcher(KubeClient& client, ResourceType type, WatcherOptions options, Clock& clock = RealClock::instance(),
          RandomSource random = default_random_source());

  // Runs until `stop` is requested. `sink` sees every change in order.
  void run(const Sink& sink, std::stop_token stop);
  void set_error_sink(ErrorSink sink) { on_error_ = std::move(sink); }
  // Called once when a list or watch succeeds after reported errors: the API answers again.
  // What happened in between was unseen (an observer judging time since it last saw a change
  // must not count that time). Set before run().
  void set_resume_sink(std::function<void()> sink) { on_resume_ = std::move(sink); }
  // From any thread: list everything again soon (the open watch is ended), even with no error.
  void request_relist();

  // Counters for tests and metrics, read from any thread while run() counts on its own.
  int lists() const { return lists_.load(); }
  int watches() const { return watches_.load(); }
  std::string resource_version() const {
    std::lock_guard lock(rv_mu_);
    return resource_version_;
  }
  const ResourceType& type() const { return type_; }

 private:
  bool relist(const Sink& sink, std::stop_token stop);
  enum class WatchOutcome { Resume, Relist, Requested, Backoff, Stopped };
  WatchOutcome watch_once(const Sink& sink, std::stop_token stop);
  void report(const Error& e);
  void answered();  // a list or watch succeeded: the resume sink, if errors came before
  void set_resource_version(std::string rv) {
    std::lock_guard lock(rv_mu_);
    resource_version_ = std::move(rv);
  }

  KubeClient& client_;
  ResourceType type_;
  WatcherOptions options_;
  Clock& clock_;
  Backoff backoff_;
  ErrorSink on_error_;
  std::function<void()> on_resume_;
  bool failing_ = false;  // an error was reported and nothing has succeeded since (run()'s thread)
  mutable std::mutex rv_mu_;     // resource_version_ is written by run() and read from anywhere
  std::string resource_version_;
  std::atomic<int> lists_{0};
  std::atomic<int> watches_{0};
  std::atomic<bool> relist_requested_{false};
  std::mutex stream_mu_;             // the open watch, for request_relist() to end
  WatchStream* stream_ = nullptr;
};

}  // namespace kube
