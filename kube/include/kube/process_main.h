#pragma once
// What both binaries' main() share: the log flags, flag parsing with --help,
// and turning SIGTERM/SIGINT into a stop request.

#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "kube/flags.h"
#include "kube/logger.h"

namespace kube {

struct LogFlags {
  std::string format = "text";
  std::string level = "info";
};
void add_log_flags(FlagSet& flags, LogFlags& log);

// Parses the command line. Returns an exit code when main() should return at
// once (--help: 0; a bad flag: 2, with the error on stderr), else the logger to use.
struct ParsedCommandLine {
  std::optional<int> exit_code;
  LogFormat format = LogFormat::Text;
  LogLevel level = LogLevel::Info;
};
ParsedCommandLine parse_command_line(FlagSet& flags, const LogFlags& log, const std::string& program, int argc,
                                     char** argv);

// Blocks SIGTERM and SIGINT in this and every later thread (call it before
// starting any) and returns the thread that turns the first one into `stop`.
// Destroying the thread (or requesting its stop) ends its wait at once, so
// main() may return on any path without waiting for a signal.
std::jthread stop_on_signals(std::stop_source& stop, Logger& log);

}  // namespace kube
