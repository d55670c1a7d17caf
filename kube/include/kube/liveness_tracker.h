#pragma once
// Judges Lease holders' liveness from what THIS process observed, never from the
// holder's clock (client-go's rule): a Lease is fresh while its renewTime or
// holder changed less than its duration ago, measured on our monotonic clock.
// A Pod that produced no fresh Lease within the duration plus a start-up grace
// after we first saw it has lapsed.

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "kube/clock.h"
#include "kube/object.h"

namespace kube {

// What liveness is judged by in a coordination.k8s.io Lease, read
// type-checked: a Lease that is not an object, or a field of the wrong type,
// reads as absent; nothing throws, whatever the JSON.
struct LeaseRecord {
  std::string holder;        // spec.holderIdentity
  std::string renew_time;    // spec.renewTime, as written (compared, never parsed)
  int duration_seconds = 0;  // spec.leaseDurationSeconds; 0 when absent or not in 1..2^31-1
};
LeaseRecord lease_record_from(const Json& lease);

class LivenessTracker {
 public:
  LivenessTracker(Clock& clock, Clock::Duration startup_grace);

  // Every add/update of a reflector Lease (key "ns/name").
  void observe_lease(const std::string& key, const std::string& holder, const std::string& renew_time,
                     int duration_seconds);
  void observe_lease(const std::string& key, const LeaseRecord& lease) {
    observe_lease(key, lease.holder, lease.renew_time, lease.duration_seconds);
  }
  void forget_lease(const std::string& key);
  // The watch that feeds observations failed: time we could not observe must not
  // count against any holder, so every Lease's clock restarts now.
  void restart_observation();
  // Every reflector Pod the cache holds (key "ns/name").
  void observe_pod(const std::string& key);
  void forget_pod(const std::string& key);

  struct LeaseVerdict {
    bool known = false;
    bool fresh = false;
    Clock::Duration remaining{};  // until it stops being fresh
  };
  LeaseVerdict judge_lease(const std::string& key) const;
  // True once the pod has been seen for longer than `lease_duration` + grace without a fresh lease.
  bool pod_lapsed(const std::string& pod_key, const LeaseVerdict& lease, Clock::Duration lease_duration) const;
  // When the verdict for this pod would next change, if it can.
  std::optional<Clock::Duration> pod_deadline(const std::string& pod_key, Clock::Duration lease_duration) const;

 private:
  struct Observed {
    std::string holder;
    std::string renew_time;
    Clock::Duration duration{};
    Clock::TimePoint changed_at{};
  };
  Clock& clock_;
  Clock::Duration grace_;
  mutable std::mutex mu_;
  std::map<std::string, Observed> leases_;
  std::map<std::string, Clock::TimePoint> pods_first_seen_;
};

}  // namespace kube
