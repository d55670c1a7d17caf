#pragma once
// Owns bird.cfg for BIRD 1.6, as confd does for calico-node's bird: checks a
// new text with `bird -p`, writes it atomically with mode 0600 (it may hold
// passwords), and asks the running BIRD to load it (`birdc -s SOCK
// configure`) only when it changed. A text BIRD refuses is remembered and the
// last good one stays on disk and loaded.

#include <string>

namespace rr::calico {

struct Bird16DriverOptions {
  std::string config_path;
  std::string socket_path;
  std::string bird_binary = "bird";
  std::string birdc_binary = "birdc";
};

enum class ApplyOutcome {
  Unchanged,     // the text is what BIRD runs (or will read at start)
  Written,       // BIRD is not running: written for its start
  Reconfigured,  // BIRD loaded it
  Refused,       // bird -p or configure rejected it; the last good text stays
  Failed,        // could not write or reach BIRD; retried on the next apply
};
const char* to_string(ApplyOutcome outcome);

class Bird16Driver {
 public:
  explicit Bird16Driver(Bird16DriverOptions options) : options_(std::move(options)) {}

  ApplyOutcome apply(const std::string& text, bool bird_running);

  bool has_config() const { return !applied_.empty(); }
  bool reload_pending() const { return reload_pending_; }
  // Why the last apply was Refused or Failed (BIRD's own message; it never quotes passwords back).
  const std::string& last_error() const { return last_error_; }
  const std::string& applied_text() const { return applied_; }

 private:
  // Written when `bird -p` accepts the text, Refused when not, Failed when it cannot be checked.
  ApplyOutcome check(const std::string& text);
  bool write_atomically(const std::string& path, const std::string& text);
  ApplyOutcome configure();

  Bird16DriverOptions options_;
  std::string applied_;
  std::string refused_;
  bool reload_pending_ = false;
  bool refused_by_bird_ = false;
  std::string last_error_;
};

}  // namespace rr::calico
