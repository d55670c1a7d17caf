#include "contract/liveness_tracker.h"

#include <algorithm>
#include <cstdint>

namespace rr::contract {
namespace {

std::string name_part(const std::string& key) {
  auto slash = key.find('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

}  // namespace

LeaseRecord lease_record_from(const kube::Json& lease) {
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

LivenessTracker::LivenessTracker(kube::Clock& clock, kube::Clock::Duration startup_grace)
    : clock_(clock), grace_(startup_grace) {}

void LivenessTracker::observe_lease(const std::string& key, const std::string& holder, const std::string& renew_time,
                                    int duration_seconds, std::optional<kube::Clock::TimePoint> at) {
  std::lock_guard lock(mu_);
  const auto now = at.value_or(clock_.now());
  auto& o = leases_[key];
  o.duration = std::chrono::seconds(duration_seconds > 0 ? duration_seconds : 15);
  if (o.changed_at == kube::Clock::TimePoint{} || o.holder != holder || o.renew_time != renew_time) {
    o.holder = holder;
    o.renew_time = renew_time;
    o.changed_at = now;
    if (!holder.empty()) o.by_holder[holder] = Renewals{now, now};
  }
  // Earlier holders are kept while their renewals could still count (two holders
  // writing in turn, a partitioned predecessor and its replacement); then dropped.
  for (auto it = o.by_holder.begin(); it != o.by_holder.end();) {
    if (it->first != o.holder && now - it->second.seen >= 2 * o.duration) {
      it = o.by_holder.erase(it);
    } else {
      ++it;
    }
  }
}

void LivenessTracker::forget_lease(const std::string& key) {
  std::lock_guard lock(mu_);
  leases_.erase(key);
}

void LivenessTracker::restart_clocks(kube::Clock::TimePoint now) {
  for (auto& [key, observed] : leases_) {
    observed.changed_at = now;
    for (auto& [holder, renewals] : observed.by_holder) renewals.seen = now;
  }
}

void LivenessTracker::observation_lost(const std::string& source) {
  std::lock_guard lock(mu_);
  const auto now = clock_.now();
  if (lost_.empty()) lost_since_ = now;
  lost_.insert(source);
  restart_clocks(now);
}

void LivenessTracker::observation_resumed(const std::string& source) {
  std::lock_guard lock(mu_);
  if (lost_.erase(source) == 0) return;
  const auto now = clock_.now();
  restart_clocks(now);
  if (!lost_.empty()) return;
  for (auto& [key, pod] : pods_) pod.first_seen += now - std::max(pod.first_seen, lost_since_);
}

void LivenessTracker::observe_pod(const std::string& key, const std::string& uid,
                                  std::optional<kube::Clock::TimePoint> at) {
  std::lock_guard lock(mu_);
  const auto now = at.value_or(clock_.now());
  auto [it, inserted] = pods_.try_emplace(key, SeenPod{uid, now, std::nullopt, {}});
  if (!inserted && !uid.empty() && it->second.uid != uid) {
    remember_former(key, it->second.uid);
    it->second = SeenPod{uid, now, std::nullopt, {}};
  }
}

void LivenessTracker::observe_containers(const std::string& key, const ContainerRuns& runs) {
  std::lock_guard lock(mu_);
  auto it = pods_.find(key);
  if (it == pods_.end()) return;
  SeenPod& pod = it->second;
  if (pod.runs && (runs.restarts > pod.runs->restarts || (pod.runs->running && !runs.running))) {
    pod.restarted = clock_.now();
  }
  pod.runs = runs;
}

void LivenessTracker::forget_pod(const std::string& key) {
  std::lock_guard lock(mu_);
  if (auto it = pods_.find(key); it != pods_.end()) {
    remember_former(key, it->second.uid);
    pods_.erase(it);
  }
}

void LivenessTracker::remember_former(const std::string& key, const std::string& uid) {
  // Bounded: a few predecessors per name, and names are few (one per reflector host).
  constexpr std::size_t kPerKey = 4;
  constexpr std::size_t kKeys = 4096;
  if (uid.empty()) return;
  if (!former_uids_.count(key) && former_uids_.size() >= kKeys) former_uids_.erase(former_uids_.begin());
  auto& uids = former_uids_[key];
  if (std::find(uids.begin(), uids.end(), uid) != uids.end()) return;
  if (uids.size() >= kPerKey) uids.erase(uids.begin());
  uids.push_back(uid);
}

bool LivenessTracker::former_pod_uid(const std::string& key, const std::string& uid) const {
  std::lock_guard lock(mu_);
  auto it = former_uids_.find(key);
  return it != former_uids_.end() && std::find(it->second.begin(), it->second.end(), uid) != it->second.end();
}

LivenessTracker::LeaseVerdict LivenessTracker::judge_lease(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = leases_.find(key);
  if (it == leases_.end()) return {};
  // While blind, every Lease is judged as if observed just now.
  auto age = lost_.empty() ? clock_.now() - it->second.changed_at : kube::Clock::Duration::zero();
  LeaseVerdict v;
  v.known = true;
  v.fresh = !it->second.holder.empty() && age < it->second.duration;
  v.remaining = v.fresh ? it->second.duration - age : kube::Clock::Duration::zero();
  return v;
}

const LivenessTracker::Renewals* LivenessTracker::own_renewals(const std::string& key) const {
  auto pod = pods_.find(key);
  auto lease = leases_.find(key);
  if (pod == pods_.end() || lease == leases_.end()) return nullptr;
  const auto& holders = lease->second.by_holder;
  if (!pod->second.uid.empty()) {
    if (auto it = holders.find(pod->second.uid); it != holders.end()) return &it->second;
  }
  // An agent of the previous version holds the Lease under the Pod's name; its
  // predecessor of the same name did too: only renewals since this UID appeared count.
  if (auto it = holders.find(name_part(key)); it != holders.end() && it->second.renewed >= pod->second.first_seen) {
    return &it->second;
  }
  return nullptr;
}

bool LivenessTracker::held_by_pod(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto lease = leases_.find(key);
  if (lease == leases_.end() || lease->second.holder.empty()) return false;
  auto own = lease->second.by_holder.find(lease->second.holder);
  return own != lease->second.by_holder.end() && own_renewals(key) == &own->second;
}

LivenessTracker::PodVerdict LivenessTracker::judge_pod(const std::string& pod_key,
                                                       kube::Clock::Duration lease_duration) const {
  std::lock_guard lock(mu_);
  PodVerdict v;
  const bool blind = !lost_.empty();
  // While blind: renewals as if observed just now, a start-up grace as it stood when we went blind.
  const auto now = blind ? lost_since_ : clock_.now();
  if (const Renewals* own = own_renewals(pod_key)) {
    const auto duration = leases_.at(pod_key).duration;
    const auto age = blind ? kube::Clock::Duration::zero() : now - own->seen;
    v.lease.known = true;
    v.lease.fresh = age < duration;
    v.lease.remaining = v.lease.fresh ? duration - age : kube::Clock::Duration::zero();
    v.lapsed = !v.lease.fresh;  // it renewed and stopped
    if (v.lease.fresh) v.deadline = v.lease.remaining;
    const SeenPod& pod = pods_.at(pod_key);
    if (v.lapsed && pod.restarted != kube::Clock::TimePoint{} && pod.restarted >= own->renewed) {
      // Its containers restarted since its last renewal: it starts anew, with a grace of its own.
      const auto left = pod.restarted + lease_duration + grace_ - now;
      if (left > kube::Clock::Duration::zero()) {
        v.lapsed = false;
        v.deadline = left;
      }
    }
    return v;
  }
  auto pod = pods_.find(pod_key);
  if (pod == pods_.end()) return v;  // not seen: nothing to judge yet
  const auto left = pod->second.first_seen + lease_duration + grace_ - now;
  v.lapsed = left <= kube::Clock::Duration::zero();
  if (!v.lapsed) v.deadline = blind ? lease_duration : left;
  return v;
}

}  // namespace rr::contract
