#include "support/netns.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

namespace rr::testing {
namespace {

constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kPrefix = "rr-it-";

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<pid_t> pids_in(const std::string& ns) {
  std::vector<pid_t> out;
  CommandResult r = run_argv({kIp, "netns", "pids", ns}, std::chrono::seconds(10));
  if (!r.ok()) return out;
  for (const std::string& w : words(r.output)) {
    try {
      out.push_back(static_cast<pid_t>(std::stol(w)));
    } catch (...) {
    }
  }
  return out;
}

// SIGTERM, then SIGKILL after a bounded wait, to every process inside `ns`.
void kill_all_in(const std::string& ns) {
  std::vector<pid_t> pids = pids_in(ns);
  if (pids.empty()) return;
  for (pid_t p : pids) ::kill(p, SIGTERM);
  for (int i = 0; i < 50 && !pids.empty(); ++i) {  // 5 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    pids = pids_in(ns);
  }
  for (pid_t p : pids) ::kill(p, SIGKILL);
  for (int i = 0; i < 20 && !pids_in(ns).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

CommandResult delete_ns(const std::string& ns) {
  CommandResult r;
  for (int attempt = 0; attempt < 5; ++attempt) {
    r = run_argv({kIp, "netns", "delete", ns}, std::chrono::seconds(10));
    if (r.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return r;
}

}  // namespace

std::vector<std::string> die_with_parent(const std::vector<std::string>& argv) {
  std::vector<std::string> out = {"/usr/bin/setpriv", "--pdeathsig", "TERM"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::unique_ptr<NetworkNamespace> NetworkNamespace::create(std::string* error) {
  auto fail = [&](std::string why) -> std::unique_ptr<NetworkNamespace> {
    if (error) *error = std::move(why);
    return nullptr;
  };
  if (::geteuid() != 0) {
    return fail("network namespaces need root (euid " + std::to_string(::geteuid()) +
                "): run the agent integration tests as root, as CI does");
  }
  if (::access(kIp, X_OK) != 0) return fail(std::string(kIp) + " (iproute2) is not installed");
  if (::access("/usr/bin/setpriv", X_OK) != 0) return fail("/usr/bin/setpriv (util-linux) is not installed");
  remove_stale();
  static std::atomic<int> counter{0};
  const std::string name = kPrefix + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  CommandResult add = run_argv({kIp, "netns", "add", name});
  if (!add.ok()) return fail("`ip netns add " + name + "` failed: " + add.output);
  std::unique_ptr<NetworkNamespace> ns(new NetworkNamespace(name));
  CommandResult lo = ns->exec({kIp, "link", "set", "lo", "up"});
  if (!lo.ok()) return fail("`ip netns exec " + name + " ip link set lo up` failed: " + lo.output);  // ns deletes itself
  return ns;
}

NetworkNamespace::~NetworkNamespace() {
  kill_inside();
  delete_ns(name_);
}

CommandResult NetworkNamespace::add_address(const std::string& cidr) const {
  if (cidr.find(':') != std::string::npos) {
    return exec({kIp, "-6", "addr", "add", cidr, "dev", "lo", "nodad"});
  }
  return exec({kIp, "addr", "add", cidr, "dev", "lo"});
}

std::vector<std::string> NetworkNamespace::wrap(const std::vector<std::string>& argv) const {
  std::vector<std::string> out = {kIp, "netns", "exec", name_};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

CommandResult NetworkNamespace::exec(const std::vector<std::string>& argv, std::chrono::milliseconds limit) const {
  return run_argv(wrap(argv), limit);
}

void NetworkNamespace::write_wrapper(const std::string& path, const std::string& binary) const {
  {
    std::ofstream out(path, std::ios::trunc);
    out << "#!/bin/sh\n"
        << "# Runs " << binary << " inside network namespace " << name_ << ".\n"
        << "exec " << kIp << " netns exec " << name_ << " " << binary << " \"$@\"\n";
  }
  ::chmod(path.c_str(), 0755);
}

std::vector<pid_t> NetworkNamespace::pids() const { return pids_in(name_); }

void NetworkNamespace::kill_inside() const { kill_all_in(name_); }

int NetworkNamespace::remove_stale() {
  CommandResult list = run_argv({kIp, "netns", "list"}, std::chrono::seconds(10));
  if (!list.ok()) return 0;
  int removed = 0;
  std::istringstream lines(list.output);
  for (std::string line; std::getline(lines, line);) {
    const std::vector<std::string> w = words(line);
    if (w.empty() || w[0].rfind(kPrefix, 0) != 0) continue;
    const std::string& name = w[0];
    // rr-it-<pid>-<n>
    const std::string rest = name.substr(std::string(kPrefix).size());
    const auto dash = rest.find('-');
    if (dash == std::string::npos) continue;
    pid_t owner = 0;
    try {
      owner = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
    } catch (...) {
      continue;
    }
    if (owner <= 0 || owner == ::getpid()) continue;
    if (::kill(owner, 0) == 0 || errno != ESRCH) continue;  // its creator still runs
    kill_all_in(name);
    if (delete_ns(name).ok()) ++removed;
  }
  return removed;
}

}  // namespace rr::testing
