#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "support/control_plane.h"

namespace rr::testing {

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string log_path, std::map<std::string, std::string> env)
    : log_path_(std::move(log_path)) {
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) stop(std::chrono::seconds(5));
}

bool ChildProcess::running() {
  if (status_ || pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    return false;
  }
  return true;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (status_) return *status_;
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto waited = std::chrono::milliseconds(0);
  while (running() && waited < grace) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    waited += std::chrono::milliseconds(20);
  }
  if (running()) kill_now();
  return status_.value_or(-1);
}

void ChildProcess::kill_now() {
  if (status_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  status_ = -SIGKILL;
}

std::string ChildProcess::log() const {
  std::ifstream in(log_path_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::optional<std::string> ChildProcess::wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const {
  for (auto waited = std::chrono::milliseconds(0); waited <= limit; waited += std::chrono::milliseconds(50)) {
    std::istringstream lines(log());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find(needle) != std::string::npos) return line;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

std::string http_get(const std::string& url) {
  std::string out;
  FILE* p = popen(("curl -sS --max-time 5 '" + url + "' 2>/dev/null").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::optional<double> metric_value(const std::string& exposition, const std::string& name,
                                   const std::string& label_fragment) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : ' ';
    if (next != '{' && next != ' ') continue;
    if (!label_fragment.empty() && line.find(label_fragment) == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

double metric_sum(const std::string& exposition, const std::string& name) {
  double sum = 0;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : ' ';
    if (next != '{' && next != ' ') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace rr::testing
