// Reflector Leases as the operator and the agent read them: the annotations
// an agent writes (address, port, rack, cluster ID, session counts, config
// error) through reflector_lease_from, and the spec fields liveness is judged
// by (holderIdentity, renewTime, leaseDurationSeconds) through
// lease_record_from, and the check of a Lease against its Pod
// (lease_contradiction). An agent, compromised or not, writes these: whatever it
// writes must read as absent or bounded, never crash its readers.

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "api/observed.h"
#include "contract/liveness_tracker.h"
#include "fuzz_support.h"

namespace {

class StillClock final : public kube::Clock {
 public:
  TimePoint now() const override { return TimePoint(std::chrono::hours(1)); }
  WallTime wall_now() const override { return WallTime(std::chrono::hours(1)); }
  bool sleep_until(TimePoint, std::stop_token) override { return true; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const kube::Json lease = kube::Json::parse(rr::fuzz::as_text(data, size), nullptr, /*allow_exceptions=*/false);
  if (lease.is_discarded()) return 0;

  if (auto observed = rr::api::reflector_lease_from(lease)) {
    if (observed->name.empty()) std::abort();
    if (observed->port < 1 || observed->port > 65535) std::abort();
    if (observed->sessions_established < 0 || observed->sessions_total < 0) std::abort();
    // The top tier's upstream list: what routes_cross_top_tier binary-searches must be sorted names.
    if (!std::is_sorted(observed->upstream.begin(), observed->upstream.end())) std::abort();
    for (const auto& name : observed->upstream) {
      if (name.empty()) std::abort();
    }
  }

  const rr::contract::LeaseRecord record = rr::contract::lease_record_from(lease);
  if (record.duration_seconds < 0) std::abort();
  static StillClock clock;
  rr::contract::LivenessTracker tracker(clock, std::chrono::seconds(30));
  tracker.observe_lease("rr-system/fuzz", record);
  tracker.observe_lease("rr-system/fuzz", record);
  auto verdict = tracker.judge_lease("rr-system/fuzz");
  if (!verdict.known || verdict.remaining < kube::Clock::Duration::zero()) std::abort();
  // The same Lease judged for the Pod of its name, whose UID the holder may or may not be.
  tracker.observe_pod("rr-system/fuzz", "uid-1");
  (void)tracker.held_by_pod("rr-system/fuzz");
  const auto judged = tracker.judge_pod("rr-system/fuzz", std::chrono::seconds(record.duration_seconds));
  if (judged.lease.remaining < kube::Clock::Duration::zero() && judged.lease.fresh) std::abort();
  static const kube::Json pod = kube::Json::parse(R"({"metadata": {"name": "fuzz", "uid": "uid-1",
      "labels": {"rr.bgp.dev/cluster": "f", "rr.bgp.dev/rack": "r1"},
      "annotations": {"rr.bgp.dev/cluster-id": "10.255.0.1"}}, "status": {"hostIP": "192.0.2.1"}})");
  if (auto c = rr::api::lease_contradiction(lease, pod); c && c->message.empty()) std::abort();
  (void)rr::api::lease_contradiction(lease, lease);  // a Pod in the cache is API-server output, but still JSON
  return 0;
}
