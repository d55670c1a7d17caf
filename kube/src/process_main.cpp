#include "kube/process_main.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <iostream>
#include <memory>
#include <system_error>

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

namespace {

// A file descriptor closed with its owner.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int checked(int fd, const char* what) {
  if (fd < 0) throw std::system_error(errno, std::generic_category(), what);
  return fd;
}

const char* signal_name(std::uint32_t sig) { return sig == SIGTERM ? "SIGTERM" : "SIGINT"; }

}  // namespace

// The thread waits on the signals and on its own stop token at once (signalfd and
// eventfd under poll), so main() can return on any path: joining the thread wakes it.
std::jthread stop_on_signals(std::stop_source& stop, Logger& log) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto signals = std::make_shared<OwnedFd>(checked(::signalfd(-1, &set, SFD_CLOEXEC), "signalfd"));
  auto wakeup = std::make_shared<OwnedFd>(checked(::eventfd(0, EFD_CLOEXEC), "eventfd"));
  return std::jthread([signals, wakeup, &stop, &log](std::stop_token own) {
    std::stop_callback wake(own, [&wakeup] {
      const std::uint64_t one = 1;
      (void)!::write(wakeup->get(), &one, sizeof one);
    });
    pollfd fds[2] = {{signals->get(), POLLIN, 0}, {wakeup->get(), POLLIN, 0}};
    while (!own.stop_requested()) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "poll on the signal fd");
      }
      if ((fds[0].revents & POLLIN) == 0) continue;
      signalfd_siginfo info{};
      if (::read(signals->get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
      log.info("shutting down", {{"signal", signal_name(info.ssi_signo)}});
      stop.request_stop();
      return;
    }
  });
}

}  // namespace kube
