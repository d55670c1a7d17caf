#pragma once
// An informer keeps a Store in step with the API through a Watcher and tells
// handlers what changed. A transform trims each object to what the caller
// needs before it is stored (memory grows with the trimmed value, not the
// whole object); returning nullopt leaves the object out of the cache.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "kube/store.h"
#include "kube/watcher.h"

namespace kube {

struct InformerOptions {
  WatcherOptions watch;                       // namespace, selectors, page size
  Clock::Duration resync_period{};            // 0 = never; else on_update(obj, obj) for every cached object
};

template <class T = Json>
class Informer {
 public:
  using Transform = std::function<std::optional<T>(const Json&)>;
  struct Handlers {
    std::function<void(const std::string& key, const T& obj)> on_add;
    std::function<void(const std::string& key, const T& old_obj, const T& new_obj)> on_update;
    std::function<void(const std::string& key, const T& last)> on_delete;
  };

  Informer(KubeClient& client, ResourceType type, InformerOptions options, Transform transform,
           Clock& clock = RealClock::instance(), RandomSource random = default_random_source())
      : Informer(client, std::move(type), std::move(options), std::move(transform), std::make_shared<Store<T>>(), clock,
                 std::move(random)) {}
  // Several informers, one per namespace, may fill one `store` (for a client that may list only
  // in some namespaces): keys carry the namespace, and a relist replaces only its own namespace's objects.
  Informer(KubeClient& client, ResourceType type, InformerOptions options, Transform transform,
           std::shared_ptr<Store<T>> store, Clock& clock = RealClock::instance(),
           RandomSource random = default_random_source())
      : options_(std::move(options)),
        transform_(std::move(transform)),
        clock_(clock),
        watcher_(client, std::move(type), options_.watch, clock, std::move(random)),
        store_ptr_(std::move(store)),
        store_(*store_ptr_) {}

  ~Informer() { stop(); }
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Handlers must be added before start(). They are called one at a time, from the informer's threads.
  void add_handlers(Handlers handlers) { handlers_.push_back(std::move(handlers)); }
  void set_error_sink(Watcher::ErrorSink sink) { watcher_.set_error_sink(std::move(sink)); }
  // Watcher::set_resume_sink: the API answers again after errors. Set before start().
  void set_resume_sink(std::function<void()> sink) { watcher_.set_resume_sink(std::move(sink)); }
  // Called on the informer's thread after every full list is in the store (the first and
  // every relist), after the handlers: the API answered for this type. Set before start().
  void set_list_sink(std::function<void()> sink) { list_sink_ = std::move(sink); }

  void start() {
    if (thread_.joinable()) return;
    thread_ = std::jthread([this](std::stop_token stop) {
      watcher_.run([this](WatcherEvent&& e) { apply(std::move(e)); }, stop);
    });
    if (options_.resync_period > Clock::Duration::zero()) {
      resync_thread_ = std::jthread([this](std::stop_token stop) {
        while (clock_.sleep_for(options_.resync_period, stop)) resync();
      });
    }
  }
  void stop() {
    resync_thread_.request_stop();
    thread_.request_stop();
    if (resync_thread_.joinable()) resync_thread_.join();
    if (thread_.joinable()) thread_.join();
  }

  bool has_synced() const { return synced_.load(); }
  // From any thread: list every object again and pass each through the transform, even those
  // unchanged (what the transform keeps has changed). Returns a ticket for listed_since().
  std::uint64_t relist() {
    const std::uint64_t ticket = ++relist_generation_;
    watcher_.request_relist();
    return ticket;
  }
  // Whether a list begun after relist() returned `ticket` is complete (0: the first list).
  bool listed_since(std::uint64_t ticket) const { return synced_.load() && listed_generation_.load() >= ticket; }
  // Blocks until the first list is in the cache, or the timeout passes.
  bool wait_for_sync(std::chrono::milliseconds timeout) {
    std::unique_lock lock(sync_mu_);
    return sync_cv_.wait_for(lock, timeout, [this] { return synced_.load(); });
  }

  const Store<T>& store() const { return store_; }
  const Watcher& watcher() const { return watcher_; }

 private:
  using Ptr = typename Store<T>::Ptr;

  void apply(WatcherEvent&& event) {
    std::lock_guard serial(notify_mu_);
    switch (event.type) {
      case WatcherEvent::Type::ListStarted:
        list_begun_generation_ = relist_generation_.load();
        // A list asked for by relist() is to look at every object again (the transform reads
        // something that changed); one after a Gone trusts an unchanged resourceVersion.
        retransform_ = list_begun_generation_ != listed_generation_.load();
        ++list_;
        break;
      case WatcherEvent::Type::ListPage:
        for (const auto& object : event.objects) list_one(object);
        break;
      case WatcherEvent::Type::Listed:
        finish_list();
        if (list_sink_) list_sink_();
        break;
      case WatcherEvent::Type::Applied:
        upsert(event.object);
        break;
      case WatcherEvent::Type::Deleted:
        erase(key_of(event.object));
        break;
    }
  }

  // Notifications run outside the store lock so handlers may read the store.
  void upsert(const Json& object) {
    std::string key = key_of(object);
    std::optional<T> trimmed = transform_(object);
    if (!trimmed) {
      erase(key);
      return;
    }
    Ptr value = std::make_shared<const T>(std::move(*trimmed));
    Ptr old;
    {
      std::unique_lock lock(store_.mu_);
      auto& entry = store_.items_[key];
      old = entry.value;
      entry.resource_version = resource_version_of(object);
      entry.value = value;
      entry.listed = list_;
    }
    notify(key, old, value);
  }

  void erase(const std::string& key) {
    Ptr old;
    {
      std::unique_lock lock(store_.mu_);
      auto it = store_.items_.find(key);
      if (it == store_.items_.end()) return;
      old = it->second.value;
      store_.items_.erase(it);
    }
    for (auto& h : handlers_) {
      if (h.on_delete) h.on_delete(key, *old);
    }
  }

  // A page of a list: unchanged objects (same resourceVersion) stay quiet. Each object it names
  // is marked with the list's number, so the list's end finds the ones it did not name without
  // a set of every key listed (100,000 Nodes: ~10 MB for the length of a list).
  void list_one(const Json& object) {
    if (!retransform_) {
      const std::string key = key_of(object);
      std::unique_lock lock(store_.mu_);
      auto it = store_.items_.find(key);
      if (it != store_.items_.end() && !it->second.resource_version.empty() &&
          it->second.resource_version == resource_version_of(object)) {
        it->second.listed = list_;
        return;
      }
    }
    upsert(object);
  }

  // The list is whole: objects it did not name are gone.
  void finish_list() {
    std::vector<std::string> gone;
    {
      std::shared_lock lock(store_.mu_);
      for (const auto& [key, entry] : store_.items_) {
        if (entry.listed != list_ && lists(key)) gone.push_back(key);
      }
    }
    for (const auto& key : gone) erase(key);
    listed_generation_ = list_begun_generation_;
    if (!synced_.exchange(true)) {
      std::lock_guard lock(sync_mu_);
      sync_cv_.notify_all();
    }
  }

  // Whether `key` ("namespace/name") is this informer's to list: a store shared by informers of
  // several namespaces holds the others' objects too.
  bool lists(const std::string& key) const {
    const std::string& ns = options_.watch.ns;
    return ns.empty() || (key.size() > ns.size() && key.compare(0, ns.size(), ns) == 0 && key[ns.size()] == '/');
  }

  void notify(const std::string& key, const Ptr& old, const Ptr& now) {
    for (auto& h : handlers_) {
      if (old) {
        if (h.on_update) h.on_update(key, *old, *now);
      } else if (h.on_add) {
        h.on_add(key, *now);
      }
    }
  }

  void resync() {
    std::lock_guard serial(notify_mu_);
    for (const auto& key : store_.keys()) {
      if (!lists(key)) continue;  // another informer's to resync
      Ptr cur = store_.get(key);
      if (!cur) continue;
      for (auto& h : handlers_) {
        if (h.on_update) h.on_update(key, *cur, *cur);
      }
    }
  }

  InformerOptions options_;
  Transform transform_;
  Clock& clock_;
  Watcher watcher_;
  std::shared_ptr<Store<T>> store_ptr_;
  Store<T>& store_;
  std::vector<Handlers> handlers_;
  std::function<void()> list_sink_;
  // Watch events and resyncs notify one at a time, as client-go's informers do: handlers need no
  // locking against each other, and a resync never hands out an object older than one already notified.
  std::mutex notify_mu_;
  std::atomic<bool> synced_{false};
  // The lists begun so far (the informer's thread only): the store's entries carry the number
  // of the last one that named them.
  std::uint64_t list_ = 0;
  bool retransform_ = false;
  std::uint64_t list_begun_generation_ = 0;
  std::atomic<std::uint64_t> relist_generation_{0};  // relist() calls so far
  std::atomic<std::uint64_t> listed_generation_{0};  // the relist() calls the last complete list answers
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::jthread thread_;
  std::jthread resync_thread_;
};

// The identity transform for informers that keep whole objects.
inline std::optional<Json> keep_whole_object(const Json& obj) { return obj; }

// The whole object but metadata.managedFields (server-side apply's bookkeeping, often as
// large as the rest): for caches that never send it back. An update (PUT) without it leaves
// the server's managedFields as they are.
inline std::optional<Json> without_managed_fields(const Json& obj) {
  Json kept = obj;
  if (auto meta = kept.find("metadata"); meta != kept.end() && meta->is_object()) meta->erase("managedFields");
  return kept;
}

}  // namespace kube
