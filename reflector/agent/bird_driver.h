#pragma once
// Owns bird.conf: renders a ReflectorConfig, has BIRD parse it (bird -p)
// before use, writes it atomically with mode 0600 (it may hold passwords),
// and loads it with `configure` over the control socket. A config BIRD
// refuses is reported and the last good one stays loaded and on disk.
// Applying the same config twice does nothing.

#include <filesystem>
#include <optional>
#include <string>

#include "bird/bird_config.h"
#include "bird/control_client.h"
#include "kube/result.h"

namespace rr::agent {

struct BirdDriverOptions {
  // Its temp file for the atomic rename sits beside it, in the same directory
  // (a rename cannot cross mounts): that directory must be writable.
  std::filesystem::path config_path = "/etc/bird/bird.conf";
  std::string bird_binary = "bird";  // for `bird -p`
  // Where `bird -p` reads its temporary copy of a new config from (required).
  std::filesystem::path scratch_dir;
};

enum class ApplyOutcome { Unchanged, Reconfigured, Refused, Failed };

class BirdDriver {
 public:
  BirdDriver(BirdDriverOptions options, bird::BirdControlClient& control);

  // Writes the config file without asking BIRD to load it: for BIRD's first start.
  kube::Status write_initial(const bird::ReflectorConfig& config);
  // Render, check, write, configure. Refused: BIRD (or validate_config) rejected it, the
  // last good config stays. Failed: BIRD unreachable; retried on the next apply.
  ApplyOutcome apply(const bird::ReflectorConfig& config);

  // Why the last apply was Refused or Failed (passwords redacted); empty after
  // Reconfigured or Unchanged.
  std::string last_error() const { return last_error_; }
  const std::string& applied_text() const { return applied_; }

 private:
  kube::Status write_atomically(const std::string& text);
  // Puts applied_ back on disk after a new text was written but not loaded.
  void restore_last_good();
  void remember_refusal(std::string text);

  BirdDriverOptions options_;
  bird::BirdControlClient& control_;
  std::string applied_;   // the text BIRD runs now
  std::string last_error_;
  // The last text `bird -p` refused and why: the same text is not checked again.
  std::string refused_text_;
  std::string refused_error_;
};

}  // namespace rr::agent
