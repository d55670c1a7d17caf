#pragma once
// Judges Lease holders' liveness from what THIS process observed, never from the
// holder's clock (client-go's rule): a Lease is fresh while its renewTime or
// holder changed less than its duration ago, measured on our monotonic clock.
//
// A reflector Pod is judged only by renewals made by that Pod: a Lease's
// renewals count for the Pod whose UID is the Lease's holderIdentity. A Pod
// replaced under the same name (a new UID) therefore never inherits its
// predecessor's lapsed Lease: it gets its own start-up grace, and is judged
// dead only when it produced no renewal of its own within the lease duration
// plus that grace, or when its own renewals stopped for a lease duration.
// Agents of the previous version hold the Lease under the Pod's name: such a
// holder counts for the Pod of that name, but only with renewals observed
// after this process first saw that Pod's UID (an older one is the
// predecessor's, or cannot be told apart from it).

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kube/clock.h"
#include "kube/object.h"

namespace rr::contract {

// What liveness is judged by in a coordination.k8s.io Lease, read
// type-checked: a Lease that is not an object, or a field of the wrong type,
// reads as absent; nothing throws, whatever the JSON.
struct LeaseRecord {
  std::string holder;        // spec.holderIdentity
  std::string renew_time;    // spec.renewTime, as written (compared, never parsed)
  int duration_seconds = 0;  // spec.leaseDurationSeconds; 0 when absent or not in 1..2^31-1
};
LeaseRecord lease_record_from(const kube::Json& lease);

struct ContainerRuns {
  int restarts = 0;
  bool running = false;
};

class LivenessTracker {
 public:
  LivenessTracker(kube::Clock& clock, kube::Clock::Duration startup_grace);

  // Every add/update of a reflector Lease (key "ns/name"), observed now, or `at`: a one-shot
  // reader (kubectl rr plan) that saw no renewal happen dates it by its renewTime instead.
  void observe_lease(const std::string& key, const std::string& holder, const std::string& renew_time,
                     int duration_seconds, std::optional<kube::Clock::TimePoint> at = std::nullopt);
  void observe_lease(const std::string& key, const LeaseRecord& lease,
                     std::optional<kube::Clock::TimePoint> at = std::nullopt) {
    observe_lease(key, lease.holder, lease.renew_time, lease.duration_seconds, at);
  }
  void forget_lease(const std::string& key);
  // A watch that feeds observations (`source`: one per watch) failed. Time we cannot
  // observe must not count against any holder: until every lost source answers again
  // (observation_resumed), we are blind: every Lease is judged as if observed just now
  // (fresh, a whole duration left), and a Pod's start-up grace as it stood when we went
  // blind. A reconnect that hangs (an API server that accepts connections but does not
  // answer yet) is part of the blind time, reported or not.
  void observation_lost(const std::string& source);
  // That watch answers again: every Lease's clock restarts now (its holder, cut off from
  // the API as we were, gets a whole duration to be seen renewing); once no source is lost,
  // the start-up grace of a Pod that has not renewed yet resumes where it stopped.
  void observation_resumed(const std::string& source);
  // Every reflector Pod the cache holds (key "ns/name") with its UID. A UID that
  // differs from the last one seen under this key is a new Pod: its start-up
  // grace starts now. An empty UID keeps the one already known.
  // `at`: when it was first seen, if not now (a one-shot reader dates it by its creationTimestamp).
  void observe_pod(const std::string& key, const std::string& uid = "",
                   std::optional<kube::Clock::TimePoint> at = std::nullopt);
  void forget_pod(const std::string& key);
  // What the kubelet reports of the Pod's containers: restarts (the sum of their
  // restartCounts) and whether every one is running. A restart seen (the count grew, or a
  // container stopped running) after the Pod's last renewal starts a start-up grace of its
  // own: the kubelet is starting the agent again, as in a new Pod, and the Pod is not judged
  // lapsed before that grace ends (a crash-looping container whose back-off outgrows it is).
  void observe_containers(const std::string& key, const ContainerRuns& runs);

  struct LeaseVerdict {
    bool known = false;
    bool fresh = false;
    kube::Clock::Duration remaining{};  // until it stops being fresh
  };
  // The Lease as its current holder keeps it, whoever that is.
  LeaseVerdict judge_lease(const std::string& key) const;

  struct PodVerdict {
    // The Lease at the Pod's name, counting only this Pod's own renewals:
    // known = this Pod renewed it at least once (as far as we observed).
    LeaseVerdict lease;
    // The Pod stopped renewing for a lease duration, or produced no renewal of
    // its own within the lease duration + grace after we first saw its UID.
    bool lapsed = false;
    // When the verdict would next change without a new observation, if it can.
    std::optional<kube::Clock::Duration> deadline;
  };
  // The Pod `pod_key` ("ns/name") by its own renewals of the Lease of the same key.
  PodVerdict judge_pod(const std::string& pod_key, kube::Clock::Duration lease_duration) const;
  // Whether the current holder of Lease `key` is the Pod observed under that key
  // (its UID, or its name for an agent of the previous version, see above).
  bool held_by_pod(const std::string& key) const;
  // Whether `uid` is the UID of an earlier Pod this process saw under `key` (the
  // predecessor of a replacement of the same name), as far as this process
  // remembers: a few per key.
  bool former_pod_uid(const std::string& key, const std::string& uid) const;

 private:
  struct Renewals {
    kube::Clock::TimePoint seen{};     // freshness clock: last renewal, or when observation restarted
    kube::Clock::TimePoint renewed{};  // last renewal actually observed (not moved by restarts)
  };
  struct Observed {
    std::string holder;
    std::string renew_time;
    kube::Clock::Duration duration{};
    kube::Clock::TimePoint changed_at{};
    std::map<std::string, Renewals> by_holder;  // recent holders' renewals (a few at most)
  };
  struct SeenPod {
    std::string uid;
    kube::Clock::TimePoint first_seen{};  // of this UID
    std::optional<ContainerRuns> runs;    // as last reported, for this UID
    kube::Clock::TimePoint restarted{};   // when a restart of its containers was last seen
  };
  // The renewals of the Lease `key` made by the Pod seen under `key`; null when none.
  const Renewals* own_renewals(const std::string& key) const;  // mu_ held
  void remember_former(const std::string& key, const std::string& uid);  // mu_ held
  void restart_clocks(kube::Clock::TimePoint now);  // mu_ held

  kube::Clock& clock_;
  kube::Clock::Duration grace_;
  mutable std::mutex mu_;
  std::map<std::string, Observed> leases_;
  std::map<std::string, SeenPod> pods_;
  std::map<std::string, std::vector<std::string>> former_uids_;  // by Pod key, oldest first
  std::set<std::string> lost_;          // sources that failed and have not answered since
  kube::Clock::TimePoint lost_since_{};  // when lost_ last became non-empty
};

}  // namespace rr::contract
