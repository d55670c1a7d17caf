#pragma once
// Asks the real BIRD whether it accepts a configuration: `bird -p -c FILE`
// parses the file and exits without starting anything (no sockets, no root).
// The agent checks a rendered config before swapping it in, so BIRD never
// reloads a file it would refuse.

#include <chrono>
#include <string>
#include <string_view>

#include "kube/result.h"

namespace rr::bird {

struct BirdValidatorOptions {
  std::string bird_binary = "bird";         // looked up in PATH unless it has a '/'
  std::string temp_dir;                     // "" = $TMPDIR, else /tmp
  std::chrono::milliseconds timeout{10000};  // BIRD is killed after this
};

// OK when BIRD accepts the text. When it refuses: ErrorKind::Invalid with
// "bird refused the config: line L:C: MESSAGE; line L: `TEXT`" (TEXT redacted
// when it holds a password). ErrorKind::BadConfig when the binary cannot run,
// Transient on timeout or a temp file that cannot be written.
kube::Status check_with_bird(std::string_view config_text, const BirdValidatorOptions& options = {});

// The same for a file already on disk (its lines are not quoted back).
kube::Status check_file_with_bird(const std::string& path, const BirdValidatorOptions& options = {});

}  // namespace rr::bird
