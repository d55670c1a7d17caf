#include "kube/liveness_tracker.h"

#include <cstdint>

namespace kube {

LeaseRecord lease_record_from(const Json& lease) {
  LeaseRecord out;
  if (!lease.is_object()) return out;
  auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return out;
  if (auto it = spec->find("holderIdentity"); it != spec->end() && it->is_string()) out.holder = it->get<std::string>();
  if (auto it = spec->find("renewTime"); it != spec->end() && it->is_string()) out.renew_time = it->get<std::string>();
  if (auto it = spec->find("leaseDurationSeconds"); it != spec->end() && it->is_number_integer()) {
    // int32 in the API; anything else reads as absent rather than wrapping.
    const bool fits = it->is_number_unsigned() ? it->get<std::uint64_t>() <= 2147483647u
                                               : it->get<std::int64_t>() > 0 && it->get<std::int64_t>() <= 2147483647;
    if (fits) out.duration_seconds = static_cast<int>(it->get<std::int64_t>());
  }
  return out;
}

LivenessTracker::LivenessTracker(Clock& clock, Clock::Duration startup_grace)
    : clock_(clock), grace_(startup_grace) {}

void LivenessTracker::observe_lease(const std::string& key, const std::string& holder, const std::string& renew_time,
                                    int duration_seconds) {
  std::lock_guard lock(mu_);
  auto& o = leases_[key];
  o.duration = std::chrono::seconds(duration_seconds > 0 ? duration_seconds : 15);
  if (o.changed_at == Clock::TimePoint{} || o.holder != holder || o.renew_time != renew_time) {
    o.holder = holder;
    o.renew_time = renew_time;
    o.changed_at = clock_.now();
  }
}

void LivenessTracker::forget_lease(const std::string& key) {
  std::lock_guard lock(mu_);
  leases_.erase(key);
}

void LivenessTracker::restart_observation() {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  for (auto& [key, observed] : leases_) observed.changed_at = now;
}

void LivenessTracker::observe_pod(const std::string& key) {
  std::lock_guard lock(mu_);
  pods_first_seen_.try_emplace(key, clock_.now());
}

void LivenessTracker::forget_pod(const std::string& key) {
  std::lock_guard lock(mu_);
  pods_first_seen_.erase(key);
}

LivenessTracker::LeaseVerdict LivenessTracker::judge_lease(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = leases_.find(key);
  if (it == leases_.end()) return {};
  auto age = clock_.now() - it->second.changed_at;
  LeaseVerdict v;
  v.known = true;
  v.fresh = !it->second.holder.empty() && age < it->second.duration;
  v.remaining = v.fresh ? it->second.duration - age : Clock::Duration::zero();
  return v;
}

bool LivenessTracker::pod_lapsed(const std::string& pod_key, const LeaseVerdict& lease,
                                 Clock::Duration lease_duration) const {
  if (lease.fresh) return false;
  if (lease.known) return true;  // it renewed once and stopped
  std::lock_guard lock(mu_);
  auto it = pods_first_seen_.find(pod_key);
  if (it == pods_first_seen_.end()) return false;
  return clock_.now() - it->second >= lease_duration + grace_;
}

std::optional<Clock::Duration> LivenessTracker::pod_deadline(const std::string& pod_key,
                                                                   Clock::Duration lease_duration) const {
  std::lock_guard lock(mu_);
  auto it = pods_first_seen_.find(pod_key);
  if (it == pods_first_seen_.end()) return std::nullopt;
  auto left = it->second + lease_duration + grace_ - clock_.now();
  if (left <= Clock::Duration::zero()) return std::nullopt;
  return left;
}

}  // namespace kube
