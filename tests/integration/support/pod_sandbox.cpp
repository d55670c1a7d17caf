#include "support/pod_sandbox.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>

#include "support/control_plane.h"

namespace rr::testing {
namespace {

using kube::Json;

constexpr const char* kServiceAccountPath = "/var/run/secrets/kubernetes.io/serviceaccount";
// A container runtime starts a Debian image with this PATH (the image sets no ENV PATH).
constexpr const char* kImagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const Json* member(const Json& object, const std::string& key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// The container's value, else the Pod's (securityContext fields a container may override).
const Json* security_field(const Json& pod_spec, const Json& container, const std::string& key) {
  if (const Json* sc = member(container, "securityContext")) {
    if (const Json* v = member(*sc, key)) return v;
  }
  if (const Json* sc = member(pod_spec, "securityContext")) return member(*sc, key);
  return nullptr;
}

std::vector<std::string> strings_of(const Json* array) {
  std::vector<std::string> out;
  if (array == nullptr || !array->is_array()) return out;
  for (const auto& s : *array) out.push_back(s.get<std::string>());
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool fail(std::string* why, const std::string& reason) {
  if (why != nullptr) *why = reason;
  return false;
}

bool add_identity(const Json& spec, const Json& container, ContainerSandbox& out, std::string* why) {
  const Json* uid = security_field(spec, container, "runAsUser");
  const Json* gid = security_field(spec, container, "runAsGroup");
  if (uid == nullptr || gid == nullptr) return fail(why, "runAsUser and runAsGroup must be set (the image's USER is not modeled)");
  out.uid = uid->get<int>();
  out.gid = gid->get<int>();
  if (const Json* ro = security_field(spec, container, "readOnlyRootFilesystem")) out.read_only_root = ro->get<bool>();
  if (const Json* sc = member(container, "securityContext")) {
    if (const Json* caps = member(*sc, "capabilities")) {
      for (const auto& c : strings_of(member(*caps, "add"))) out.added_capabilities.push_back(lower(c));
    }
  }
  return true;
}

// The array `key` of `object`, or an empty one.
const Json& array_of(const Json& object, const std::string& key) {
  static const Json empty = Json::array();
  const Json* v = member(object, key);
  return v != nullptr && v->is_array() ? *v : empty;
}

bool add_volumes(const Json& spec, const Json& container, const PodRuntime& runtime, ContainerSandbox& out,
                 std::string* why) {
  bool token_mounted = false;
  for (const auto& mount : array_of(container, "volumeMounts")) {
    const std::string name = mount.value("name", "");
    const std::string path = mount.value("mountPath", "");
    if (mount.contains("subPath") || mount.contains("subPathExpr")) return fail(why, "volumeMount " + name + ": subPath");
    const Json* volume = nullptr;
    for (const auto& v : array_of(spec, "volumes")) {
      if (v.value("name", "") == name) volume = &v;
    }
    if (volume == nullptr) return fail(why, "volumeMount " + name + " names no volume");
    if (!volume->contains("emptyDir")) return fail(why, "volume " + name + ": only emptyDir volumes are modeled");
    if (mount.value("readOnly", false)) return fail(why, "volumeMount " + name + ": a read-only emptyDir");
    out.empty_dirs.push_back(path);
    token_mounted = token_mounted || path == kServiceAccountPath;
  }
  // The API server's default, unless the Pod (or its service account) says false.
  if (spec.value("automountServiceAccountToken", true) && !token_mounted) {
    if (runtime.service_account_dir.empty()) return fail(why, "the Pod mounts its token but no service_account_dir was given");
    out.read_only.emplace_back(runtime.service_account_dir, kServiceAccountPath);
    out.env["KUBERNETES_SERVICE_HOST"] = runtime.kubernetes_service_host;
    out.env["KUBERNETES_SERVICE_PORT"] = runtime.kubernetes_service_port;
  }
  return true;
}

bool add_env(const Json& pod, const Json& container, const PodRuntime& runtime, ContainerSandbox& out,
             std::string* why) {
  if (container.contains("envFrom")) return fail(why, "envFrom is not modeled");
  out.env["PATH"] = kImagePath;
  const std::map<std::string, std::string> fields = {
      {"metadata.name", pod.at("metadata").value("name", "")},
      {"metadata.namespace", pod.at("metadata").value("namespace", "")},
      // The API server assigns a Pod's UID; a rendered Pod that was never created has none.
      {"metadata.uid", pod.at("metadata").value("uid", runtime.pod_uid)},
      {"spec.nodeName", runtime.node_name},
      {"status.hostIP", runtime.host_ip}};
  for (const auto& e : array_of(container, "env")) {
    const std::string name = e.value("name", "");
    if (e.contains("value")) {
      out.env[name] = e["value"].get<std::string>();
      continue;
    }
    const Json* from = member(e, "valueFrom");
    const Json* field = from != nullptr ? member(*from, "fieldRef") : nullptr;
    if (field == nullptr) return fail(why, "env " + name + ": only values and fieldRefs are modeled");
    auto it = fields.find(field->value("fieldPath", ""));
    if (it == fields.end()) return fail(why, "env " + name + ": fieldPath " + field->value("fieldPath", "") + " is not modeled");
    out.env[name] = it->second;
  }
  return true;
}

// Kubernetes' rule: command replaces ENTRYPOINT (and drops CMD), args replace CMD.
bool add_command(const Json& container, const PodRuntime& runtime, ContainerSandbox& out, std::string* why) {
  const bool has_command = container.contains("command");
  std::vector<std::string> command = has_command ? strings_of(member(container, "command")) : runtime.image_entrypoint;
  std::vector<std::string> args =
      container.contains("args") ? strings_of(member(container, "args")) : (has_command ? std::vector<std::string>{} : runtime.image_cmd);
  if (command.empty()) return fail(why, "neither the container nor the image has a command");
  if (!has_command) out.read_only.emplace_back(runtime.entrypoint_binary, command[0]);
  out.argv = std::move(command);
  out.argv.insert(out.argv.end(), args.begin(), args.end());
  return true;
}

// The test's sanitizer options (scripts/test.sh's tiers: halt_on_error, TSan's suppressions)
// reach the container too: the container's environment is the Pod's, and without them an
// instrumented binary in the sandbox would run with the defaults.
constexpr const char* kSanitizerOptions[] = {"ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"};

}  // namespace

std::optional<ContainerSandbox> container_sandbox(const Json& pod, const std::string& container_name,
                                                  const PodRuntime& runtime, std::string* why) {
  const Json& spec = pod.at("spec");
  const Json* container = nullptr;
  for (const auto& c : array_of(spec, "containers")) {
    if (c.value("name", "") == container_name) container = &c;
  }
  if (container == nullptr) {
    fail(why, "no container " + container_name);
    return std::nullopt;
  }
  ContainerSandbox out;
  if (!add_identity(spec, *container, out, why) || !add_volumes(spec, *container, runtime, out, why) ||
      !add_env(pod, *container, runtime, out, why) || !add_command(*container, runtime, out, why)) {
    return std::nullopt;
  }
  return out;
}

std::vector<std::string> ContainerSandbox::launcher(const std::string& work_dir) const {
  std::string bounding = "-all";
  for (const auto& c : added_capabilities) bounding += ",+" + c;
  std::vector<std::string> out = {"/usr/bin/unshare", "--mount", "--propagation", "private", "--",
                                  repo_root() + "/tests/integration/support/pod-sandbox.sh", work_dir,
                                  "--uid", std::to_string(uid), "--gid", std::to_string(gid),
                                  "--bounding-set", bounding};
  if (read_only_root) out.push_back("--read-only-root");
  for (const auto& path : empty_dirs) out.insert(out.end(), {"--empty-dir", path});
  for (const auto& [source, path] : read_only) out.insert(out.end(), {"--ro-bind", source, path});
  out.insert(out.end(), {"--", "/usr/bin/env", "-i"});
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  for (const char* name : kSanitizerOptions) {
    const char* value = std::getenv(name);
    if (value != nullptr && !env.contains(name)) out.push_back(std::string(name) + "=" + value);
  }
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::optional<std::string> ContainerSandbox::flag(const std::string& name) const {
  const std::string prefix = "--" + name;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (argv[i].rfind(prefix + "=", 0) == 0) return argv[i].substr(prefix.size() + 1);
    if (argv[i] == prefix && i + 1 < argv.size()) return argv[i + 1];
  }
  return std::nullopt;
}

std::vector<std::string> exec_in_sandbox(int pid, const std::vector<std::string>& command) {
  std::vector<std::string> out = {"/usr/bin/nsenter", "--target", std::to_string(pid), "--mount", "--root", "--"};
  out.insert(out.end(), command.begin(), command.end());
  return out;
}

std::optional<ImageCommand> read_image_command(const std::string& dockerfile, std::string* why) {
  std::ifstream in(dockerfile);
  if (!in) {
    fail(why, "cannot read " + dockerfile);
    return std::nullopt;
  }
  ImageCommand out;
  for (std::string line; std::getline(in, line);) {
    auto json_array = [&](std::size_t at) {
      Json parsed = Json::parse(line.substr(at), nullptr, /*allow_exceptions=*/false);
      return parsed.is_array() ? strings_of(&parsed) : std::vector<std::string>{};
    };
    if (line.rfind("FROM ", 0) == 0) out = {};  // a new stage: only the last one is the image
    if (line.rfind("ENTRYPOINT ", 0) == 0) out.entrypoint = json_array(11);
    if (line.rfind("CMD ", 0) == 0) out.cmd = json_array(4);
  }
  if (out.entrypoint.empty()) {
    fail(why, dockerfile + ": no ENTRYPOINT in JSON form in the last stage");
    return std::nullopt;
  }
  return out;
}

}  // namespace rr::testing
