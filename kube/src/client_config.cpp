// In-cluster configuration and the search order between the config sources.
// load_kubeconfig lives in kubeconfig_loader.cpp.

#include "kube/client_config.h"

#include <cstdlib>
#include <system_error>

#include "config_support.h"

namespace kube {
namespace {

using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// Unset and empty are the same, as in client-go.
std::optional<std::string> env(const Getenv& getenv, const std::string& name) {
  std::optional<std::string> value;
  if (getenv) {
    value = getenv(name);
  } else if (const char* raw = std::getenv(name.c_str())) {
    value = raw;
  }
  if (value && value->empty()) value.reset();
  return value;
}

Error in_cluster_error(const std::string& what) { return make_error(ErrorKind::BadConfig, "in-cluster config: " + what); }

bool is_port(const std::string& s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  int port = std::stoi(s);
  return port > 0 && port <= 65535;
}

bool file_exists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

}  // namespace

Result<ClientConfig> load_in_cluster_config(const InClusterOptions& options, Clock& clock) {
  std::optional<std::string> host = env(options.getenv, "KUBERNETES_SERVICE_HOST");
  std::optional<std::string> port = env(options.getenv, "KUBERNETES_SERVICE_PORT");
  if (!host) return in_cluster_error("environment variable KUBERNETES_SERVICE_HOST: not set");
  if (!port) return in_cluster_error("environment variable KUBERNETES_SERVICE_PORT: not set");
  if (!is_port(*port)) return in_cluster_error("environment variable KUBERNETES_SERVICE_PORT: \"" + *port + "\" is not a port");

  ClientConfig out;
  // IPv6 literals need brackets in a URL (net.JoinHostPort does the same).
  bool ipv6 = host->find(':') != std::string::npos && host->front() != '[';
  out.server = "https://" + (ipv6 ? "[" + *host + "]" : *host) + ":" + *port;
  out.description = "in-cluster";

  // Read now so that a missing file fails at start-up, not at the first request.
  auto token = std::make_shared<FileTokenSource>(options.token_file, clock);
  Result<std::string> first = token->token();
  if (!first.ok()) return in_cluster_error(first.error().message);
  out.token = std::move(token);

  Result<std::string> ca = detail::read_file(options.ca_file);
  if (!ca.ok()) return in_cluster_error("CA file: " + ca.error().message);
  if (auto bad = detail::check_pem_certificates(ca.value())) {
    return in_cluster_error("CA file " + options.ca_file.string() + ": " + *bad);
  }
  out.ca_pem = std::move(ca).value();

  // $POD_NAMESPACE (downward API), then the service-account file, then "default".
  if (std::optional<std::string> ns = env(options.getenv, "POD_NAMESPACE")) {
    out.default_namespace = *ns;
  } else if (file_exists(options.namespace_file)) {
    Result<std::string> ns_file = detail::read_file(options.namespace_file);
    if (!ns_file.ok()) return in_cluster_error("namespace file: " + ns_file.error().message);
    std::string trimmed = detail::trim(ns_file.value());
    if (!trimmed.empty()) out.default_namespace = trimmed;
  }
  return out;
}

Result<ClientConfig> load_client_config(const std::optional<std::filesystem::path>& explicit_path,
                                        const KubeconfigOptions& options, Clock& clock) {
  return load_client_config(explicit_path, options, InClusterOptions{}, clock);
}

Result<ClientConfig> load_client_config(const std::optional<std::filesystem::path>& explicit_path,
                                        const KubeconfigOptions& options, const InClusterOptions& in_cluster,
                                        Clock& clock) {
  if (explicit_path && !explicit_path->empty()) return load_kubeconfig(*explicit_path, options, clock);

  if (std::optional<std::string> list = env(in_cluster.getenv, "KUBECONFIG")) {
    std::vector<std::filesystem::path> files;
    size_t start = 0;
    while (start <= list->size()) {
      size_t end = list->find(':', start);
      if (end == std::string::npos) end = list->size();
      std::filesystem::path entry = list->substr(start, end - start);
      if (!entry.empty() && file_exists(entry)) files.push_back(entry);
      start = end + 1;
    }
    if (!files.empty()) return load_kubeconfig_list(files, options, clock);
    // Falling through to another source could reach a different cluster.
    return make_error(ErrorKind::BadConfig, "KUBECONFIG=\"" + *list + "\": none of the listed files exists");
  }

  if (env(in_cluster.getenv, "KUBERNETES_SERVICE_HOST")) return load_in_cluster_config(in_cluster, clock);

  std::optional<std::string> home = env(in_cluster.getenv, "HOME");
  if (home) {
    std::filesystem::path fallback = std::filesystem::path(*home) / ".kube" / "config";
    if (file_exists(fallback)) return load_kubeconfig(fallback, options, clock);
  }
  return make_error(ErrorKind::BadConfig,
                    "no Kubernetes configuration: no kubeconfig path given, KUBECONFIG unset, "
                    "KUBERNETES_SERVICE_HOST unset (not in a pod), and " +
                        (home ? std::string(*home) + "/.kube/config does not exist" : std::string("HOME unset")));
}

}  // namespace kube
