#pragma once
// Asks the real BIRD whether it accepts a configuration: `bird -p -c FILE`
// parses the file and exits without starting anything (no sockets, no root).
// The agent checks a rendered config before swapping it in, so BIRD never
// reloads a file it would refuse.

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "kube/result.h"

namespace rr::bird {

struct BirdValidatorOptions {
  std::string bird_binary = "bird";  // looked up in PATH unless it has a '/'
  // Where check_with_bird writes its temporary copy. Required, and never
  // $TMPDIR or /tmp: in the reflector Pod only mounted volumes are writable.
  std::filesystem::path scratch_dir;
  std::chrono::milliseconds timeout{10000};  // BIRD is killed after this
};

// OK when BIRD accepts the text. When it refuses: ErrorKind::Invalid with
// "bird refused the config: line L:C: MESSAGE; line L: `TEXT`" (TEXT redacted
// when it holds a password). ErrorKind::BadConfig when the binary cannot run,
// Transient on timeout or a temp file that cannot be written in scratch_dir;
// BadConfig without a scratch_dir.
kube::Status check_with_bird(std::string_view config_text, const BirdValidatorOptions& options = {});

// OK when a temp file can be created (and is removed again) in scratch_dir:
// checked at start-up, so that a Pod without a writable scratch volume fails
// visibly instead of running BIRD on its empty start-up config forever.
kube::Status check_scratch_dir(const std::filesystem::path& scratch_dir);

// The same for a file already on disk (its lines are not quoted back).
kube::Status check_file_with_bird(const std::string& path, const BirdValidatorOptions& options = {});

}  // namespace rr::bird
