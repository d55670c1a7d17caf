#pragma once
// What BIRD's log says about sessions. The rendered config turns on
// `debug protocols { states }`, so BIRD logs every protocol state change:
//   2026-12-04 18:47:11.474 <TRACE> client_n1: State changed to start
// BirdProcess hands every line of BIRD's stderr to log_line() (its thread);
// the session poll (the agent's thread) takes the protocols named since the
// last poll and reads only those (SessionPoll). Lines that name no protocol
// ("<INFO> Started") are ignored; a word that only looks like a name is dropped by
// the poll, which reads only configured sessions.

#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace rr::agent {

class SessionEvents {
 public:
  // Named protocols held until taken; past this many, the next poll reads everything instead.
  static constexpr std::size_t kMaxPending = 65536;

  struct Taken {
    std::set<std::string> protocols;  // named since the last take()
    bool overflow = false;            // more than kMaxPending were named: read them all
    bool restarted = false;           // BIRD exited since: what it said before is void
  };

  // Any thread. True when the line names a protocol (the wake callback has run then).
  bool log_line(std::string_view line);
  // Any thread: BIRD exited (BirdProcess's on_exit).
  void bird_exited();
  // Called after each line that names a protocol, on the thread that passed it; nullptr unsets.
  void set_wake(std::function<void()> wake);
  Taken take();

  // The protocol a line of BIRD's log is about: "... <CLASS> NAME: text" -> NAME, a channel's
  // "NAME.ipv4: ..." -> NAME. nullopt for lines about no protocol.
  static std::optional<std::string_view> protocol_of(std::string_view line);

 private:
  std::mutex mu_;
  Taken pending_;
  std::function<void()> wake_;
};

}  // namespace rr::agent
