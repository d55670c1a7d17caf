#pragma once
// A network namespace a test creates and must delete: `ip netns add
// rr-it-<pid>-<n>`, addresses on its loopback, commands run inside it. The
// destructor kills whatever still runs inside (only this test's processes
// can be there) and deletes it. Needs root and iproute2.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace rr::testing {

// argv prefixed with `setpriv --pdeathsig TERM`: the process (which keeps
// that pid, setpriv execs in place) is sent SIGTERM when the thread that
// started it dies, so a test killed outright (a ctest timeout) leaves no
// servers behind. The setting survives the execs of `ip netns exec`.
std::vector<std::string> die_with_parent(const std::vector<std::string>& argv);

class NetworkNamespace {
 public:
  // Creates a fresh namespace with its loopback up. Null, with the reason in
  // *error, when that is impossible (not root, no `ip netns`, ...).
  static std::unique_ptr<NetworkNamespace> create(std::string* error);
  ~NetworkNamespace();
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;

  const std::string& name() const { return name_; }

  // Adds an address to the namespace's lo ("10.77.1.1/32", "fd77:1::1/128";
  // IPv6 ones without duplicate address detection, so usable at once).
  CommandResult add_address(const std::string& cidr) const;
  // argv prefixed so that it runs inside: {"/usr/sbin/ip", "netns", "exec", name, argv...}.
  // `ip netns exec` execs in place: the pid stays that of the command.
  std::vector<std::string> wrap(const std::vector<std::string>& argv) const;
  CommandResult exec(const std::vector<std::string>& argv,
                     std::chrono::milliseconds limit = std::chrono::seconds(20)) const;
  // Writes an executable script at `path` that runs `binary` inside with its
  // arguments (for programs that take a binary path, e.g. rr-agent --bird-binary).
  void write_wrapper(const std::string& path, const std::string& binary) const;
  // Pids of the processes inside.
  std::vector<pid_t> pids() const;

  // Deletes rr-it-<pid>-<n> namespaces whose creating process is gone (after
  // killing what runs inside them); returns how many.
  static int remove_stale();

 private:
  explicit NetworkNamespace(std::string name) : name_(std::move(name)) {}
  void kill_inside() const;
  std::string name_;
};

}  // namespace rr::testing
