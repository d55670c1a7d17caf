#include "controller/host_readiness.h"

namespace rr::controller {

HostReadiness::HostReadiness(kube::Clock& clock, kube::Clock::Duration grace) : clock_(clock), grace_(grace) {}

void HostReadiness::observe(const std::string& node, bool ready) {
  std::lock_guard lock(mu_);
  if (ready) {
    not_ready_since_.erase(node);
  } else {
    not_ready_since_.try_emplace(node, clock_.now());
  }
}

void HostReadiness::forget(const std::string& node) {
  std::lock_guard lock(mu_);
  not_ready_since_.erase(node);
}

std::map<std::string, kube::Clock::Duration> HostReadiness::within_grace() const {
  std::lock_guard lock(mu_);
  std::map<std::string, kube::Clock::Duration> out;
  const auto now = clock_.now();
  for (const auto& [node, since] : not_ready_since_) {
    if (const auto left = since + grace_ - now; left > kube::Clock::Duration::zero()) out.emplace(node, left);
  }
  return out;
}

}  // namespace rr::controller
