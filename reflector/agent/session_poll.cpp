#include "agent/session_poll.h"

#include <algorithm>
#include <utility>

namespace rr::agent {
namespace {

// What the exported series and the Lease's counts are made of.
bool same_state(const bird::ProtocolState& a, const bird::ProtocolState& b) {
  const auto ra = a.total_routes(), rb = b.total_routes();
  return a.state == b.state && a.bgp_state == b.bgp_state && a.last_error == b.last_error && a.proto == b.proto &&
         ra.imported == rb.imported && ra.exported == rb.exported;
}

}  // namespace

void SessionPoll::configured(const std::vector<std::string>& protocols) {
  std::set<std::string> now(protocols.begin(), protocols.end());
  if (now == configured_) return;
  configured_ = std::move(now);
  changed_ = true;  // series come and go with the configuration, whatever BIRD says
}

bool SessionPoll::due(const std::string& protocol) const {
  auto it = known_.find(protocol);
  if (it == known_.end() || !it->second.established()) return true;
  auto s = settling_.find(protocol);
  return s == settling_.end() || !s->second.settled;
}

void SessionPoll::observe(const bird::ProtocolState& state, kube::Clock::TimePoint now) {
  if (!state.established()) {
    if (settling_.erase(state.name) != 0) changed_ = true;
    return;
  }
  const auto routes = state.total_routes();
  auto [it, fresh] = settling_.try_emplace(state.name, Settling{now, now, routes, false});
  Settling& s = it->second;
  if (s.settled) return;
  if (!fresh && !(routes == s.routes)) {
    s.routes = routes;
    s.quiet_since = now;
  }
  if (now - s.quiet_since >= options_.settle || now - s.up_since >= options_.settle_max) {
    s.settled = true;
    changed_ = true;
  }
}

PollRequest SessionPoll::next(kube::Clock::TimePoint now, const SessionEvents::Taken& events) {
  if (events.restarted || events.overflow) need_full_ = true;
  if (!options_.events || need_full_ || now >= next_full_) return {PollKind::Full, {}};

  std::set<std::string> wanted;
  for (const auto& name : events.protocols) {
    if (configured_.count(name) != 0) wanted.insert(name);
  }
  for (const auto& name : configured_) {
    if (due(name)) wanted.insert(name);
  }
  if (wanted.size() > std::max(kMinBatch, configured_.size() / 8)) return {PollKind::Full, {}};
  if (wanted.empty()) return {PollKind::Status, {}};
  return {PollKind::Protocols, std::vector<std::string>(wanted.begin(), wanted.end())};
}

void SessionPoll::full(std::vector<bird::ProtocolState> all, kube::Clock::TimePoint now) {
  std::map<std::string, bird::ProtocolState> fresh;
  for (auto& p : all) {
    observe(p, now);
    std::string name = p.name;
    fresh.insert_or_assign(std::move(name), std::move(p));
  }
  std::erase_if(settling_, [&](const auto& s) { return fresh.count(s.first) == 0; });
  known_ = std::move(fresh);
  need_full_ = false;
  next_full_ = now + options_.resync;
  changed_ = true;
}

void SessionPoll::protocols(const std::vector<std::string>& asked, std::vector<bird::ProtocolState> got,
                            kube::Clock::TimePoint now) {
  for (const auto& name : asked) {
    auto reported = std::find_if(got.begin(), got.end(), [&](const auto& p) { return p.name == name; });
    auto it = known_.find(name);
    if (reported == got.end()) {
      settling_.erase(name);
      if (it != known_.end()) {
        known_.erase(it);
        changed_ = true;
      }
      continue;
    }
    observe(*reported, now);
    if (it == known_.end()) {
      known_.emplace(name, std::move(*reported));
      changed_ = true;
    } else if (!same_state(it->second, *reported)) {
      it->second = std::move(*reported);
      changed_ = true;
    } else {
      it->second = std::move(*reported);  // same for the series; kept fresh all the same
    }
  }
}

bool SessionPoll::status(const bird::DaemonStatus& status) {
  const bool rebooted = !last_reboot_.empty() && status.last_reboot != last_reboot_;
  last_reboot_ = status.last_reboot;
  if (rebooted) need_full_ = true;
  return rebooted;
}

void SessionPoll::failed() {
  need_full_ = true;
  last_reboot_.clear();
  if (!known_.empty()) changed_ = true;
  known_.clear();
  settling_.clear();  // nobody vouches for a session now; a later read starts it over
}

bool SessionPoll::take_changed() { return std::exchange(changed_, false); }

std::vector<bird::ProtocolState> SessionPoll::states() const {
  std::vector<bird::ProtocolState> out;
  out.reserve(known_.size());
  for (const auto& [name, state] : known_) out.push_back(state);
  return out;
}

std::set<std::string> SessionPoll::settled() const {
  std::set<std::string> out;
  for (const auto& [name, s] : settling_) {
    if (s.settled) out.insert(name);
  }
  return out;
}

}  // namespace rr::agent
