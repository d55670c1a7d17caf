#pragma once
// The agent's heartbeat: a Lease named after its Pod, in its namespace,
// labelled with the fabric and rack and annotated with what the other
// reflectors (mesh) and the operator (liveness, status) need to know.
//
// Renewals follow the kubelet's node lease: update the object this agent last
// wrote (one request); on a conflict, or when there is none, read it and
// write again. The holderIdentity is the Pod's UID (its name for a Pod without
// RR_POD_UID): the operator counts renewals only for the Pod that made them, so
// a replacement of the same name takes the Lease over instead of inheriting its
// predecessor's verdict. The Lease has no ownerReference: the operator deletes
// a lapsed reflector's Lease, and a fabric's Leases, itself.

#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>

#include "agent/identity.h"
#include "kube/backoff.h"
#include "kube/clock.h"
#include "kube/kube_client.h"
#include "kube/object.h"

namespace rr::agent {

struct LeaseReport {
  int sessions_established = 0;
  int sessions_total = 0;
  std::string config_error;  // BIRD refused the last configuration; "" = none
  std::string zone = {};     // contract::ReflectorLease::zone
  std::vector<std::string> upstream = {};  // contract::ReflectorLease::upstream, sorted
  std::int64_t observed_generation = 0;    // contract::ReflectorLease::observed_generation
};

class LeaseKeeper {
 public:
  // `random` jitters the retry backoff (tests pass a constant).
  LeaseKeeper(kube::KubeClient& client, AgentIdentity self, kube::Clock& clock,
              kube::RandomSource random = kube::default_random_source());

  // One renewal: creates the Lease, takes it over from another holder
  // (acquireTime, leaseTransitions + 1) or renews it; a 409 re-reads and
  // writes once more within the call.
  kube::Status renew(const LeaseReport& report);

  // Renews every lease duration / 3 until `stop`; after a failure retries
  // sooner, with a backoff capped at duration / 3. Never throws.
  void run(const std::function<LeaseReport()>& report, std::stop_token stop);

  // The last successful renewal started less than one lease duration ago:
  // what the operator can still see as alive. Readiness follows it.
  bool healthy() const;
  // True when a renewal succeeded within `window`: the API answers us now.
  bool renewed_within(kube::Clock::Duration window) const;
  int renewals_ok() const;
  int renewals_failed() const;

  // Called after every renew() with its outcome; error is null on success.
  void set_on_result(std::function<void(bool ok, const kube::Error* error)> on_result);

  kube::Clock::Duration renew_period() const;

 private:
  kube::Result<kube::Json> write(const LeaseReport& report);
  kube::Result<kube::Json> update_from(const kube::Json& current, const LeaseReport& report);
  kube::Json desired(const kube::Json& base, const LeaseReport& report) const;

  kube::KubeClient& client_;
  const AgentIdentity self_;
  kube::Clock& clock_;
  kube::RandomSource random_;

  std::mutex renew_mu_;                     // one renew() at a time
  std::optional<kube::Json> last_written_;  // guarded by renew_mu_: the server's copy after our last write

  mutable std::mutex mu_;
  std::optional<kube::Clock::TimePoint> last_ok_;  // when the last successful renewal started
  int ok_ = 0;
  int failed_ = 0;
  std::function<void(bool, const kube::Error*)> on_result_;
};

}  // namespace rr::agent
