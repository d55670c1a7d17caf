#pragma once
// When a new reflector may count as Ready (its Pod's readiness, /readyz): once its BGP
// sessions are up, so that a rollout, which replaces a rack's next reflector only while
// every other one is Ready, never takes the second reflector of a rack away while the
// clients have not yet come up with the first one's replacement.
//
// A session counts as settled when it is Established, or when BIRD tried it and the peer
// was not there (a socket error: refused, unreachable, timed out): waiting for a peer that
// is down helps no one. And at the latest `grace` after the first configuration, the
// reflector is warm whatever its sessions say. Warm once, warm for good: a client that
// joins or fails later does not take a serving reflector out of rotation.

#include <chrono>
#include <optional>
#include <string>

#include "agent/agent_metrics.h"
#include "kube/clock.h"

namespace rr::agent {

class WarmUp {
 public:
  explicit WarmUp(std::chrono::milliseconds grace) : grace_(grace) {}

  // BIRD loaded a configuration built from the API (the first one starts the grace).
  void configured(kube::Clock::TimePoint now);
  // A session poll of the running configuration.
  void polled(const SessionCounts& counts, kube::Clock::TimePoint now);

  bool warm() const { return warm_; }
  // While not warm: what it waits for, for /readyz.
  std::string waiting_for() const;

 private:
  std::chrono::milliseconds grace_;
  std::optional<kube::Clock::TimePoint> configured_at_;
  bool warm_ = false;
  SessionCounts last_{};
  bool polled_ = false;
};

}  // namespace rr::agent
