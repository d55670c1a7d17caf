#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, following client-go's
// tools/leaderelection: a candidate acquires the Lease when it is free or has
// expired, renews it every retry period, and stops leading when it cannot
// renew within the renew deadline, which is shorter than the lease duration,
// so the old leader has stopped before anyone else may take over.
//
// Expiry is judged only from this process's monotonic clock: a record counts
// as expired leaseDurationSeconds after we last saw it change, whatever its
// renewTime says (the holder's wall clock is not ours).

#include <functional>
#include <mutex>
#include <stop_token>
#include <string>

#include "kube/backoff.h"
#include "kube/clock.h"
#include "kube/kube_client.h"
#include "kube/result.h"
#include "kube/watchdog.h"

namespace kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;
  // Written into the Lease as whole seconds.
  Clock::Duration lease_duration = std::chrono::seconds(15);
  // A leader that has not renewed successfully for this long stops leading.
  Clock::Duration renew_deadline = std::chrono::seconds(10);
  // Between renewals, and (with up to 1.2x jitter added) between acquire attempts.
  Clock::Duration retry_period = std::chrono::seconds(2);
  // On a clean stop while leading, clear holderIdentity so a standby takes over at once.
  bool release_on_cancel = true;

  // Runs on its own thread; `leading` is stopped when leadership ends.
  std::function<void(std::stop_token leading)> on_started_leading;
  // Called exactly once per run(), before run() returns (also when run()
  // stops without ever leading, as client-go does).
  std::function<void()> on_stopped_leading;
  // Optional: the observed holder changed ("" when the Lease was released).
  // Called on the elector's thread; keep it short.
  std::function<void(const std::string& identity)> on_new_leader;
  // Optional: the acquire and renew loops beat it after every attempt, so
  // /healthz sees an election that hangs. Must outlive run().
  Watchdog* watchdog = nullptr;
};

// lease_duration > renew_deadline > 1.2 x retry_period, all positive,
// lease_duration whole seconds, names and both leading callbacks set.
// Invalid with a message naming the field.
Status validate(const LeaderElectionConfig& config);

class LeaderElector {
 public:
  // Throws std::invalid_argument when validate(config) fails: check it first.
  LeaderElector(KubeClient& client, LeaderElectionConfig config, Clock& clock = RealClock::instance(),
                RandomSource random = default_random_source());
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Blocks: acquire, lead, renew. Returns when `stop` is requested or
  // leadership is lost; on_stopped_leading has run by then. One run() at a time.
  void run(std::stop_token stop);

  bool is_leader() const;
  // The holder of the Lease as last observed ("" when unknown or released).
  std::string observed_leader() const;

  // Failed API calls (including the 409s of a lost race); set before run().
  void set_on_error(std::function<void(const Error&)> on_error);

 private:
  enum class Attempt { Acquired, HeldByOther, Failed };
  struct Leading;

  bool acquire(std::stop_token stop, Clock::TimePoint& acquired_at, Watchdog::Loop& heartbeat);
  void lead(std::stop_token stop, Clock::TimePoint acquired_at, Watchdog::Loop& heartbeat);
  void watch_deadline(Leading& leading);
  void stop_leading(Leading& leading);
  Attempt try_acquire_or_renew(bool renewing, std::stop_token stop);
  void release();

  Json make_lease(const Json& base, bool keep_acquire) const;
  void observe(const Json& lease);
  bool observed_valid_locked(Clock::TimePoint now) const;
  void report_transition();
  void report(const Error& error);

  KubeClient& client_;
  const LeaderElectionConfig config_;
  Clock& clock_;
  RandomSource random_;

  mutable std::mutex mu_;
  Json observed_lease_;                 // last Lease seen or written, with its resourceVersion
  Clock::TimePoint observed_time_{};    // clock_.now() when observed_lease_ last changed
  std::string observed_holder_;
  std::string reported_leader_;
  bool leading_ = false;
  std::function<void(const Error&)> on_error_;
};

}  // namespace kube
