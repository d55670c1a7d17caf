#pragma once
// Records core/v1 Events about objects, the way client-go's record package
// does: repeats of the same event are folded into one Event whose count
// grows, and a per-object spam filter keeps a hot loop from flooding the API.
//
// record() never blocks on the API and never throws: it queues the event and
// a writer thread sends it. Failed writes go to on_error.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kube/clock.h"
#include "kube/kube_client.h"

namespace kube {

struct EventSource {
  std::string component;  // e.g. "rr-operator"
  std::string host;       // e.g. the pod or node name
};

class EventRecorder {
 public:
  static constexpr std::size_t kMaxMessageBytes = 1024;
  // A repeat within this long of the previous one patches the existing Event.
  static constexpr std::chrono::minutes kAggregationWindow{10};
  static constexpr std::size_t kCacheSize = 4096;  // events remembered, and objects spam-filtered
  // client-go's spam filter: per involved object, a burst of 25, then one per 5 minutes.
  static constexpr int kSpamBurst = 25;
  static constexpr std::chrono::minutes kSpamRefill{5};
  static constexpr std::size_t kMaxQueued = 1000;  // events waiting for the writer

  EventRecorder(KubeClient& client, EventSource source, Clock& clock = RealClock::instance());
  // Stops the writer after the write in flight; events still queued are dropped (flush() first to keep them).
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // `involved` is the object itself: apiVersion, kind and metadata name,
  // namespace, uid, resourceVersion are read from it. `type` is "Normal" or
  // "Warning". Thread-safe.
  void record(const Json& involved, const std::string& type, const std::string& reason, const std::string& message);

  // Failed writes and dropped events. Called from the writer thread (or from
  // record() when the queue is full); keep it short.
  void set_on_error(std::function<void(const Error&)> on_error);

  // Waits until every queued event has been written (or has failed). False on timeout.
  bool flush(std::chrono::milliseconds limit = std::chrono::seconds(5));

 private:
  // One event on its way to the API.
  struct Pending {
    Json event;                   // the body, without name, count and timestamps
    std::string aggregation_key;  // involved object + type + reason + message
    std::string ns;               // where the Event goes
    std::string object_name;      // prefix of the Event's name
    Clock::TimePoint at;          // when it was recorded (monotonic)
    std::string timestamp;        // when it was recorded (wall, metav1.Time)
  };
  struct Caches;

  bool allow_locked(const std::string& object_key, Clock::TimePoint now);
  void write_loop();
  void write(const Pending& event);
  void report(const Error& error);

  KubeClient& client_;
  const EventSource source_;
  Clock& clock_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Pending> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::function<void(const Error&)> on_error_;
  std::unique_ptr<Caches> caches_;  // spam filter: under mu_; aggregation: writer thread only

  std::jthread writer_;  // last: started once everything else exists
};

}  // namespace kube
