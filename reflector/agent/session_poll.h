#pragma once
// Decides what each session poll asks BIRD, so that a poll costs what changed
// rather than what exists, and merges the answers into the state of every session.
//
//   Full       `show protocols all`: every session (~1.8 KB each). The first poll, every
//              `resync` (prefix counts change without any state change), after BIRD
//              restarted or did not answer, when more sessions are due than kMinBatch and
//              an eighth of all, and on every poll when BIRD's log is not read (events off).
//   Protocols  `show protocols all "NAME"` for each session due: named in BIRD's log since
//              the last poll (SessionEvents), configured but not read yet, not Established
//              (a session in Active or Connect changes its last error without a state change),
//              or Established but not settled yet.
//   Status     `show status` only: nothing is due; proves BIRD answers (rr_bird_up) and
//              shows a restart (its "Last reboot").
//
// Settled: a session whose initial route exchange is over. BGP calls a session Established
// before either side has sent a route, and a reflector with thousands of routes takes seconds
// to send them; BIRD shows no End-of-RIB. So a session counts as settled once it is
// Established and its route counts stayed the same over reads `settle` apart, or once it has
// been Established for `settle_max` whatever its counts do (a fabric whose routes never stop
// changing). Settled for good while it stays Established. What the Lease reports as
// established (the operator's make-before-break) and what readiness waits for.
// Not thread-safe: the agent's main loop only.

#include <chrono>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/session_events.h"
#include "bird/reply_parser.h"
#include "kube/clock.h"

namespace rr::agent {

enum class PollKind { Full, Protocols, Status };

struct PollRequest {
  PollKind kind = PollKind::Full;
  std::vector<std::string> protocols;  // Protocols only
};

struct SessionPollOptions {
  // BIRD's log is read (SessionEvents): only what changed is polled between full reads.
  bool events = false;
  std::chrono::milliseconds resync{60000};
  std::chrono::milliseconds settle{2000};
  std::chrono::milliseconds settle_max{30000};
};

class SessionPoll {
 public:
  // Up to this many sessions are read one by one; more (and more than an eighth of all) are
  // read with one `show protocols all`.
  static constexpr std::size_t kMinBatch = 64;

  explicit SessionPoll(SessionPollOptions options) : options_(options) {}

  // The sessions of the configuration BIRD runs (protocol names).
  void configured(const std::vector<std::string>& protocols);
  PollRequest next(kube::Clock::TimePoint now, const SessionEvents::Taken& events);

  // The answers. A failed query makes the next poll a full one.
  void full(std::vector<bird::ProtocolState> all, kube::Clock::TimePoint now);
  // The states of `asked`, as `show protocols all "NAME"` gave them (a name BIRD no longer
  // has is absent).
  void protocols(const std::vector<std::string>& asked, std::vector<bird::ProtocolState> got,
                 kube::Clock::TimePoint now);
  // True when BIRD restarted since the last status (its "Last reboot" moved): read everything now.
  bool status(const bird::DaemonStatus& status);
  void failed();

  // Something changed since the last call (then states() is worth exporting).
  bool take_changed();
  // Every protocol BIRD reported, merged from the full and single reads.
  std::vector<bird::ProtocolState> states() const;
  // The settled sessions among them.
  std::set<std::string> settled() const;

 private:
  struct Settling {
    kube::Clock::TimePoint up_since;     // first read Established
    kube::Clock::TimePoint quiet_since;  // route counts as `routes` since
    bird::RouteCounts routes;
    bool settled = false;
  };

  bool due(const std::string& protocol) const;
  // A read of `state` at `now`: moves it along the way to settled.
  void observe(const bird::ProtocolState& state, kube::Clock::TimePoint now);

  SessionPollOptions options_;
  std::set<std::string> configured_;
  std::map<std::string, bird::ProtocolState> known_;
  std::map<std::string, Settling> settling_;  // Established sessions only
  bool need_full_ = true;
  bool changed_ = true;
  kube::Clock::TimePoint next_full_{};
  std::string last_reboot_;
};

}  // namespace rr::agent
