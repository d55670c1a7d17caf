#include "kube/watcher.h"

#include <mutex>

namespace kube {

Watcher::Watcher(KubeClient& client, ResourceType type, WatcherOptions options, Clock& clock, RandomSource random)
    : client_(client),
      type_(std::move(type)),
      options_(std::move(options)),
      clock_(clock),
      backoff_(options_.backoff, std::move(random)) {}

void Watcher::report(const Error& e) {
  failing_ = true;
  if (on_error_) on_error_(e);
}

void Watcher::answered() {
  if (!failing_) return;
  failing_ = false;
  if (on_resume_) on_resume_();
}

void Watcher::request_relist() {
  relist_requested_ = true;
  std::lock_guard lock(stream_mu_);
  if (stream_) stream_->cancel();
}

bool Watcher::relist(const Sink& sink, std::stop_token stop) {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.limit = options_.page_size;
  if (options_.list_from_cache) list_options.resource_version.assign(1, '0');  // not = "0": GCC 12 -Wrestrict false positive
  ++lists_;
  relist_requested_ = false;  // this list answers every request made before it began
  auto listed = client_.list_pages(type_, options_.ns, list_options, [&](std::vector<Json>&& items, bool restart) {
    if (restart) sink(WatcherEvent{WatcherEvent::Type::ListStarted, {}, {}});
    sink(WatcherEvent{WatcherEvent::Type::ListPage, std::move(items), {}});
  });
  if (stop.stop_requested()) return false;
  if (!listed.ok()) {
    report(listed.error());
    return false;
  }
  set_resource_version(std::move(*listed));
  answered();
  sink(WatcherEvent{WatcherEvent::Type::Listed, {}, {}});
  return true;
}

Watcher::WatchOutcome Watcher::watch_once(const Sink& sink, std::stop_token stop) {
  WatchOptions watch_options;
  watch_options.label_selector = options_.label_selector;
  watch_options.field_selector = options_.field_selector;
  watch_options.resource_version = resource_version_;
  watch_options.allow_bookmarks = true;
  watch_options.timeout_seconds = options_.watch_timeout_seconds;
  ++watches_;
  if (relist_requested_) return WatchOutcome::Requested;
  auto opened = client_.watch(type_, options_.ns, watch_options);
  if (stop.stop_requested()) return WatchOutcome::Stopped;
  if (!opened.ok()) {
    if (opened.is(ErrorKind::Gone)) return WatchOutcome::Relist;
    report(opened.error());
    return WatchOutcome::Backoff;
  }
  answered();
  std::unique_ptr<WatchStream> stream = std::move(opened.value());
  std::stop_callback cancel_on_stop(stop, [&stream] { stream->cancel(); });
  {
    std::lock_guard lock(stream_mu_);
    stream_ = stream.get();
  }
  struct Forget {
    Watcher& w;
    ~Forget() {
      std::lock_guard lock(w.stream_mu_);
      w.stream_ = nullptr;
    }
  } forget{*this};
  for (;;) {
    if (relist_requested_) return WatchOutcome::Requested;
    auto next = stream->next();
    if (stop.stop_requested()) return WatchOutcome::Stopped;
    if (relist_requested_) return WatchOutcome::Requested;
    if (!next.ok()) {
      if (next.is(ErrorKind::Gone)) return WatchOutcome::Relist;
      report(next.error());
      return WatchOutcome::Backoff;
    }
    if (!next->has_value()) return WatchOutcome::Resume;  // the server closed the watch: resume at once
    WatchEvent& event = **next;
    std::string rv = resource_version_of(event.object);
    if (!rv.empty()) set_resource_version(std::move(rv));
    backoff_.reset();
    switch (event.type) {
      case WatchEvent::Type::Bookmark:
        break;
      case WatchEvent::Type::Added:
      case WatchEvent::Type::Modified:
        sink(WatcherEvent{WatcherEvent::Type::Applied, {}, std::move(event.object)});
        break;
      case WatchEvent::Type::Deleted:
        sink(WatcherEvent{WatcherEvent::Type::Deleted, {}, std::move(event.object)});
        break;
    }
  }
}

void Watcher::run(const Sink& sink, std::stop_token stop) {
  bool listed = false;
  while (!stop.stop_requested()) {
    if (!listed) {
      listed = relist(sink, stop);
      if (!listed) {
        if (!clock_.sleep_for(backoff_.next(), stop)) return;
        continue;
      }
    }
    switch (watch_once(sink, stop)) {
      case WatchOutcome::Stopped:
        return;
      case WatchOutcome::Resume:
        break;
      case WatchOutcome::Requested:
        listed = false;  // asked for, not a failure: no backoff
        break;
      case WatchOutcome::Relist: {
        listed = false;
        // A relist whose watch is Gone again before any event would spin: back off from the second one on.
        bool repeated = backoff_.attempts() > 0;
        auto delay = backoff_.next();
        if (repeated && !clock_.sleep_for(delay, stop)) return;
        break;
      }
      case WatchOutcome::Backoff:
        if (!clock_.sleep_for(backoff_.next(), stop)) return;
        break;
    }
  }
}

}  // namespace kube
