#pragma once
// Runs a helper program (bird -p, birdc) without a shell and collects its
// output, killing it after a limit.

#include <chrono>
#include <string>
#include <vector>

namespace rr::calico {

struct CommandOutput {
  int status = -1;     // exit code, -signal, or -1 when it could not start
  std::string output;  // stdout and stderr together
  bool ok() const { return status == 0; }
};

CommandOutput run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds limit = std::chrono::seconds(20));

}  // namespace rr::calico
