#include "kube/watchdog.h"

#include <stdexcept>
#include <utility>

namespace kube {
namespace {

std::string whole_seconds(Clock::Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

Watchdog::Watchdog(Clock& clock, Clock::Duration threshold) : clock_(clock), threshold_(threshold) {
  if (threshold <= Clock::Duration::zero()) throw std::invalid_argument("watchdog threshold must be greater than zero");
}

Watchdog::Loop Watchdog::watch(std::string name) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_id_++;
  loops_.emplace(id, Entry{std::move(name), clock_.now(), false});
  return Loop(this, id);
}

void Watchdog::beat(std::uint64_t id) {
  const auto now = clock_.now();
  std::lock_guard lock(mu_);
  auto it = loops_.find(id);
  if (it == loops_.end()) return;
  it->second.last_beat = now;
  it->second.idle = false;
}

void Watchdog::idle(std::uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = loops_.find(id);
  if (it != loops_.end()) it->second.idle = true;
}

void Watchdog::forget(std::uint64_t id) {
  std::lock_guard lock(mu_);
  loops_.erase(id);
}

ProbeResult Watchdog::check() const {
  const auto now = clock_.now();
  std::string overdue;
  std::lock_guard lock(mu_);
  for (const auto& [id, loop] : loops_) {
    if (loop.idle || now - loop.last_beat <= threshold_) continue;
    if (!overdue.empty()) overdue += "; ";
    overdue += loop.name + " made no progress for " + whole_seconds(now - loop.last_beat);
  }
  if (overdue.empty()) return {};
  return {false, overdue + " (threshold " + whole_seconds(threshold_) + ")"};
}

Watchdog::Loop::Loop(Loop&& other) noexcept
    : watchdog_(std::exchange(other.watchdog_, nullptr)), id_(std::exchange(other.id_, 0)) {}

Watchdog::Loop& Watchdog::Loop::operator=(Loop&& other) noexcept {
  if (this != &other) {
    if (watchdog_) watchdog_->forget(id_);
    watchdog_ = std::exchange(other.watchdog_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

Watchdog::Loop::~Loop() {
  if (watchdog_) watchdog_->forget(id_);
}

void Watchdog::Loop::beat() {
  if (watchdog_) watchdog_->beat(id_);
}

void Watchdog::Loop::idle() {
  if (watchdog_) watchdog_->idle(id_);
}

}  // namespace kube
