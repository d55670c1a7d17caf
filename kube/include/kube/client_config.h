#pragma once
// Where the client finds its cluster: a kubeconfig file, the pod's service
// account, or the usual search order between them. Loading checks everything
// it can up front (files readable, base64, PEM, https) so that a bad config
// fails at start-up with the file and the field named.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kube/clock.h"
#include "kube/result.h"
#include "kube/token_source.h"

namespace kube {

struct ClientConfig {
  std::string server;                  // "https://host:port", no trailing slash
  std::string ca_pem;                  // PEM bytes; empty => system trust store
  std::string client_cert_pem;         // PEM bytes or empty
  std::string client_key_pem;          // PEM bytes or empty
  std::shared_ptr<TokenSource> token;  // may be null
  std::string tls_server_name;         // optional SNI / verification name override
  std::string default_namespace = "default";
  std::string description;             // e.g. "kubeconfig /x/config, context dev" or "in-cluster"
};

struct KubeconfigOptions {
  std::optional<std::string> context;  // unset => the file's current-context
};

// Reads one kubeconfig file (clientcmd semantics for the fields listed in
// ClientConfig). exec, auth-provider, basic auth, impersonation and proxy-url
// are refused rather than ignored. Errors are BadConfig and read
// "kubeconfig <path>: <field>: <what>".
Result<ClientConfig> load_kubeconfig(const std::filesystem::path& path, const KubeconfigOptions& options = {},
                                     Clock& clock = RealClock::instance());
// A KUBECONFIG list of existing files, merged as kubectl merges it: each named cluster, user
// and context from the first file naming it, current-context from the first file setting it,
// relative paths against the file they are written in. Errors name the file(s).
Result<ClientConfig> load_kubeconfig_list(const std::vector<std::filesystem::path>& files,
                                          const KubeconfigOptions& options = {}, Clock& clock = RealClock::instance());
// The same for kubeconfig text already read: `path` names it in errors and
// anchors its relative paths (certificate-authority, tokenFile, ...). The
// seam the kubeconfig fuzzer (fuzz/kubeconfig_fuzzer.cpp) drives.
Result<ClientConfig> parse_kubeconfig(std::string_view text, const std::filesystem::path& path,
                                      const KubeconfigOptions& options = {}, Clock& clock = RealClock::instance());

struct InClusterOptions {  // defaults are the real in-pod paths and environment
  std::filesystem::path token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::filesystem::path ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::filesystem::path namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
  std::function<std::optional<std::string>(const std::string&)> getenv;  // null => ::getenv
};

// Server from KUBERNETES_SERVICE_HOST/PORT, token re-read from token_file, CA
// from ca_file, namespace from $POD_NAMESPACE, else namespace_file, else "default".
Result<ClientConfig> load_in_cluster_config(const InClusterOptions& options = {},
                                            Clock& clock = RealClock::instance());

// Precedence: explicit path > $KUBECONFIG (its existing entries of a ':' list,
// merged) > in-cluster (when KUBERNETES_SERVICE_HOST is set) > $HOME/.kube/config.
// A $KUBECONFIG naming no existing file is an error, not a fall-through.
Result<ClientConfig> load_client_config(const std::optional<std::filesystem::path>& explicit_path,
                                        const KubeconfigOptions& options = {},
                                        Clock& clock = RealClock::instance());
// The same, reading the environment (KUBECONFIG, HOME, KUBERNETES_SERVICE_*)
// through `in_cluster.getenv`: the seam tests use.
Result<ClientConfig> load_client_config(const std::optional<std::filesystem::path>& explicit_path,
                                        const KubeconfigOptions& options, const InClusterOptions& in_cluster,
                                        Clock& clock = RealClock::instance());

}  // namespace kube
