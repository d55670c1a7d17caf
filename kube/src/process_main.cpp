#include "kube/process_main.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>

namespace kube {

void add_log_flags(FlagSet& flags, LogFlags& log) {
  flags.add_string("log-format", &log.format, "text or json", "RR_LOG_FORMAT");
  flags.add_string("log-level", &log.level, "debug, info, warn or error", "RR_LOG_LEVEL");
}

ParsedCommandLine parse_command_line(FlagSet& flags, const LogFlags& log, const std::string& program, int argc,
                                     char** argv) {
  ParsedCommandLine out;
  if (auto s = flags.parse(argc, argv); !s.ok()) {
    std::cerr << program << ": " << s.error().message << "\n";
    out.exit_code = 2;
    return out;
  }
  if (flags.help_requested()) {
    std::cout << flags.usage();
    out.exit_code = 0;
    return out;
  }
  if (!Logger::parse_format(log.format, out.format) || !Logger::parse_level(log.level, out.level)) {
    std::cerr << program << ": --log-format must be text|json and --log-level debug|info|warn|error\n";
    out.exit_code = 2;
  }
  return out;
}

std::jthread stop_on_signals(std::stop_source& stop, Logger& log) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::jthread([set, &stop, &log]() mutable {
    int sig = 0;
    sigwait(&set, &sig);
    log.info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    stop.request_stop();
  });
}

}  // namespace kube
