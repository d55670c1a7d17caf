#pragma once
// Plays kubelet for one container of a rendered Pod, as far as its files and
// identity go: the container sees a read-only root when its securityContext
// says readOnlyRootFilesystem, a fresh writable tmpfs at every emptyDir mount
// and nothing else writable, the service-account token where in-cluster
// clients look for it, and runs as runAsUser:runAsGroup with only the added
// capabilities in its bounding set. Everything is read from the Pod, so a
// change to the Pod that takes away a place the program writes shows up as
// the program failing. The mounts are done by pod-sandbox.sh in a private
// mount namespace (root needed); the host's files are never changed.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kube/object.h"

namespace rr::testing {

// What kubelet would fill in for the Pod on its node.
struct PodRuntime {
  std::string node_name;  // spec.nodeName
  std::string host_ip;    // status.hostIP
  std::string pod_uid = "00000000-0000-4000-8000-000000000001";  // metadata.uid when the Pod has none
  // Serves as /var/run/secrets/kubernetes.io/serviceaccount when the Pod
  // mounts its token (token, ca.crt, namespace; readable by the container's user).
  std::string service_account_dir;
  std::string kubernetes_service_host, kubernetes_service_port;
  // The image: its ENTRYPOINT and CMD, and the host file to run as ENTRYPOINT[0].
  std::vector<std::string> image_entrypoint, image_cmd;
  std::string entrypoint_binary;
};

struct ContainerSandbox {
  int uid = 0;
  int gid = 0;
  bool read_only_root = false;
  std::vector<std::string> empty_dirs;                          // container paths
  std::vector<std::pair<std::string, std::string>> read_only;   // host source, container path
  std::vector<std::string> added_capabilities;                  // lower case, no CAP_ prefix
  std::vector<std::string> argv;                                // command + args, as the container runs them
  std::map<std::string, std::string> env;

  // The argv that runs the container in `work_dir` (an empty directory, short path)
  // under `unshare --mount` and pod-sandbox.sh.
  std::vector<std::string> launcher(const std::string& work_dir) const;
  // The value of `--flag=value` or `--flag value` in the container's argv, if any.
  std::optional<std::string> flag(const std::string& name) const;
};

// The sandbox of container `container` of `pod`; nullopt with the reason in
// *why when the Pod asks for something this player of kubelet cannot give
// (a volume type, subPath, an env source it does not know).
std::optional<ContainerSandbox> container_sandbox(const kube::Json& pod, const std::string& container,
                                                  const PodRuntime& runtime, std::string* why);

// `kubectl exec` into a running sandbox: argv that runs `command` in the mount
// namespace and root of process `pid` (as root).
std::vector<std::string> exec_in_sandbox(int pid, const std::vector<std::string>& command);

// ENTRYPOINT and CMD of a Dockerfile's last stage (JSON array form only).
struct ImageCommand {
  std::vector<std::string> entrypoint, cmd;
};
std::optional<ImageCommand> read_image_command(const std::string& dockerfile, std::string* why);

}  // namespace rr::testing
