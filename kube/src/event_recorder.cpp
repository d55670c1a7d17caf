#include "kube/event_recorder.h"

#include <cinttypes>
#include <cstdio>
#include <list>
#include <optional>
#include <unordered_map>

#include "kube/object.h"
#include "kube/resource_type.h"
#include "kube/token_bucket.h"

namespace kube {
namespace {

// A map that forgets its least recently used entry beyond `capacity`.
template <class V>
class Lru {
 public:
  explicit Lru(std::size_t capacity) : capacity_(capacity) {}

  V* find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    items_.splice(items_.begin(), items_, it->second);
    return &it->second->second;
  }
  V& put(const std::string& key, V value) {
    if (V* existing = find(key)) {
      *existing = std::move(value);
      return *existing;
    }
    items_.emplace_front(key, std::move(value));
    index_[key] = items_.begin();
    if (items_.size() > capacity_) {
      index_.erase(items_.back().first);
      items_.pop_back();
    }
    return items_.front().second;
  }

 private:
  std::size_t capacity_;
  std::list<std::pair<std::string, V>> items_;
  std::unordered_map<std::string, typename std::list<std::pair<std::string, V>>::iterator> index_;
};

std::string string_field(const Json& obj, const char* field) {
  if (!obj.is_object()) return {};
  auto it = obj.find(field);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Invalid UTF-8 would make every later JSON dump throw: replace it now.
std::string valid_utf8(const std::string& s) {
  return Json::parse(Json(s).dump(-1, ' ', false, Json::error_handler_t::replace)).get<std::string>();
}

// At most `max` bytes, never cutting a UTF-8 sequence in half.
std::string truncate_utf8(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

std::string join(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    out += p;
    out += '\x1f';
  }
  return out;
}

}  // namespace

struct EventRecorder::Caches {
  struct Aggregate {
    std::string ns;
    std::string name;
    long long count = 0;
    Clock::TimePoint last_seen;
  };
  struct SpamFilter {
    std::unique_ptr<TokenBucket> bucket;
    // A token reserved when the bucket ran dry: the next event at or after
    // this time spends it. Until then events are dropped without reserving
    // more, so a hot loop cannot push its recovery further out.
    std::optional<Clock::TimePoint> reserved_for;
  };

  Lru<Aggregate> aggregates{kCacheSize};  // writer thread only
  Lru<SpamFilter> spam{kCacheSize};       // under mu_
  std::uint64_t last_suffix = 0;          // writer thread only
};

EventRecorder::EventRecorder(KubeClient& client, EventSource source, Clock& clock)
    : client_(client), source_(std::move(source)), clock_(clock), caches_(std::make_unique<Caches>()) {
  writer_ = std::jthread([this] { write_loop(); });
}

EventRecorder::~EventRecorder() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void EventRecorder::set_on_error(std::function<void(const Error&)> on_error) {
  std::lock_guard lock(mu_);
  on_error_ = std::move(on_error);
}

void EventRecorder::record(const Json& involved, const std::string& type, const std::string& reason,
                           const std::string& message) {
  try {
    Json ref = Json::object();
    const std::string api_version = string_field(involved, "apiVersion");
    const std::string kind = string_field(involved, "kind");
    const std::string name = name_of(involved);
    const std::string ns = namespace_of(involved);
    const std::string uid = uid_of(involved);
    const std::string resource_version = resource_version_of(involved);
    if (!api_version.empty()) ref["apiVersion"] = api_version;
    if (!kind.empty()) ref["kind"] = kind;
    ref["name"] = name;
    if (!ns.empty()) ref["namespace"] = ns;
    if (!uid.empty()) ref["uid"] = uid;
    if (!resource_version.empty()) ref["resourceVersion"] = resource_version;

    const std::string text = truncate_utf8(valid_utf8(message), kMaxMessageBytes);
    const std::string why = valid_utf8(reason);
    Json source = {{"component", source_.component}};
    if (!source_.host.empty()) source["host"] = source_.host;

    Pending p;
    p.event = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"involvedObject", std::move(ref)},
               {"reason", why},
               {"message", text},
               {"type", type},
               {"source", std::move(source)},
               {"reportingComponent", source_.component},
               {"reportingInstance", source_.host}};
    // Cluster-scoped objects get their Events in "default", as client-go does.
    p.ns = ns.empty() ? "default" : ns;
    p.object_name = name;
    p.at = clock_.now();
    p.timestamp = format_time(clock_.wall_now());
    const std::string object_key = join({api_version, kind, ns, name, uid});
    p.aggregation_key = join({uid, kind, name, ns, type, why, text});

    std::optional<Error> dropped;
    {
      std::lock_guard lock(mu_);
      if (!allow_locked(object_key, p.at)) return;  // spam: dropped quietly, as client-go does
      if (queue_.size() >= kMaxQueued) {
        dropped = make_error(ErrorKind::TooManyRequests,
                             "event queue full, dropped event " + why + " for " + kind + " " + make_key(ns, name));
      } else {
        queue_.push_back(std::move(p));
      }
    }
    if (dropped) {
      report(*dropped);
      return;
    }
    wake_.notify_one();
  } catch (const std::exception& e) {
    report(make_error(ErrorKind::Invalid, std::string("cannot record event: ") + e.what()));
  }
}

bool EventRecorder::allow_locked(const std::string& object_key, Clock::TimePoint now) {
  Caches::SpamFilter* filter = caches_->spam.find(object_key);
  if (!filter) {
    const double qps = 1.0 / std::chrono::duration<double>(kSpamRefill).count();
    filter = &caches_->spam.put(object_key, {std::make_unique<TokenBucket>(qps, kSpamBurst, clock_), std::nullopt});
  }
  if (filter->reserved_for) {
    if (now < *filter->reserved_for) return false;
    filter->reserved_for.reset();
    return true;
  }
  auto wait = filter->bucket->reserve();
  if (wait <= Clock::Duration::zero()) return true;
  filter->reserved_for = now + wait;
  return false;
}

bool EventRecorder::flush(std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, limit, [this] { return queue_.empty() && !busy_; });
}

void EventRecorder::write_loop() {
  for (;;) {
    Pending p;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      p = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    try {
      write(p);
    } catch (const std::exception& e) {
      report(make_error(ErrorKind::Protocol, std::string("writing event: ") + e.what()));
    }
    {
      std::lock_guard lock(mu_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

void EventRecorder::write(const Pending& p) {
  const auto& events = resources::events();

  // A repeat: count it on the Event we already wrote.
  if (Caches::Aggregate* seen = caches_->aggregates.find(p.aggregation_key);
      seen && p.at - seen->last_seen <= kAggregationWindow) {
    Json patch = {{"count", seen->count + 1}, {"lastTimestamp", p.timestamp}};
    auto patched = client_.patch(events, seen->ns, seen->name, PatchType::Merge, patch, {});
    if (patched) {
      ++seen->count;
      seen->last_seen = p.at;
      return;
    }
    if (!patched.is(ErrorKind::NotFound)) {
      report(patched.error());
      return;
    }
    // The Event expired or was deleted: start a new one.
  }

  Error last_error;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // client-go names Events <object>.<UnixNano in hex>; ours are also unique per recorder.
    const auto nanos = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.wall_now().time_since_epoch()).count());
    caches_->last_suffix = std::max(nanos, caches_->last_suffix + 1);
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016" PRIx64, caches_->last_suffix);
    const std::string name = p.object_name + "." + suffix;

    Json body = p.event;
    body["metadata"] = {{"name", name}, {"namespace", p.ns}};
    body["count"] = 1;
    body["firstTimestamp"] = p.timestamp;
    body["lastTimestamp"] = p.timestamp;
    auto created = client_.create(events, p.ns, body);
    if (created) {
      caches_->aggregates.put(p.aggregation_key, {p.ns, name, 1, p.at});
      return;
    }
    last_error = created.error();
    if (!created.is(ErrorKind::AlreadyExists)) break;  // a name clash is worth one more try
  }
  report(last_error);
}

void EventRecorder::report(const Error& error) {
  std::function<void(const Error&)> on_error;
  {
    std::lock_guard lock(mu_);
    on_error = on_error_;
  }
  if (on_error) on_error(error);
}

}  // namespace kube
