#include "node/bird16_driver.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "node/command.h"

namespace rr::calico {

const char* to_string(ApplyOutcome outcome) {
  switch (outcome) {
    case ApplyOutcome::Unchanged: return "unchanged";
    case ApplyOutcome::Written: return "written";
    case ApplyOutcome::Reconfigured: return "reconfigured";
    case ApplyOutcome::Refused: return "refused";
    case ApplyOutcome::Failed: return "failed";
  }
  return "unknown";
}

namespace {

std::string first_error_line(const std::string& output) {
  std::string best;
  std::size_t start = 0;
  while (start < output.size()) {
    auto end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.rfind("BIRD ", 0) == 0 || line.rfind("Reading configuration", 0) == 0) continue;
    if (best.empty()) best = line;
  }
  return best.empty() ? output : best;
}

}  // namespace

bool Bird16Driver::write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

ApplyOutcome Bird16Driver::check(const std::string& text) {
  const std::string candidate = options_.config_path + ".check";
  if (!write_atomically(candidate, text)) {
    last_error_ = "cannot write " + candidate + ": " + std::strerror(errno);
    return ApplyOutcome::Failed;
  }
  const CommandOutput parsed = run_command({options_.bird_binary, "-p", "-c", candidate});
  ::unlink(candidate.c_str());
  if (parsed.ok()) return ApplyOutcome::Written;
  last_error_ = first_error_line(parsed.output);
  return ApplyOutcome::Refused;
}

ApplyOutcome Bird16Driver::configure() {
  const CommandOutput reply = run_command({options_.birdc_binary, "-s", options_.socket_path, "configure"});
  const bool loaded = reply.output.find("Reconfigured") != std::string::npos ||
                      reply.output.find("Reconfiguration in progress") != std::string::npos ||
                      reply.output.find("Reconfiguration already in progress") != std::string::npos;
  refused_by_bird_ = false;
  if (loaded) {
    reload_pending_ = false;
    last_error_.clear();
    return ApplyOutcome::Reconfigured;
  }
  reload_pending_ = true;
  // BIRD 1.6 answers a config it cannot load with "<file>, line N: <what>".
  refused_by_bird_ = reply.output.find(", line ") != std::string::npos;
  last_error_ = "birdc configure: " + first_error_line(reply.output);
  return ApplyOutcome::Failed;
}

ApplyOutcome Bird16Driver::apply(const std::string& text, bool bird_running) {
  if (text == applied_) {
    if (!reload_pending_ || !bird_running) return ApplyOutcome::Unchanged;
    return configure();
  }
  if (text == refused_) return ApplyOutcome::Refused;
  if (const ApplyOutcome checked = check(text); checked != ApplyOutcome::Written) {
    if (checked == ApplyOutcome::Refused) refused_ = text;
    return checked;
  }
  if (!write_atomically(options_.config_path, text)) {
    last_error_ = "cannot write " + options_.config_path + ": " + std::strerror(errno);
    return ApplyOutcome::Failed;
  }
  const std::string previous = applied_;
  applied_ = text;
  refused_.clear();
  if (!bird_running) {
    // A BIRD that starts later reads the file; one that is restarting reloads on its own start.
    reload_pending_ = false;
    last_error_.clear();
    return ApplyOutcome::Written;
  }
  const ApplyOutcome outcome = configure();
  if (outcome == ApplyOutcome::Failed && refused_by_bird_ && !previous.empty()) {
    // BIRD parsed it with -p but would not load it: the last good text goes back on disk.
    (void)write_atomically(options_.config_path, previous);
    applied_ = previous;
    refused_ = text;
    reload_pending_ = false;
    return ApplyOutcome::Refused;
  }
  return outcome;
}

}  // namespace rr::calico
