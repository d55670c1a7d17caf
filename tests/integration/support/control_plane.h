#pragma once
// Access to the real local control plane a CTest fixture started
// (scripts/kube-local.sh): its env file, admin and non-admin clients, and the
// process controls that tests of failure need.

#include <map>
#include <memory>
#include <string>

#include "kube/client_config.h"
#include "kube/rest_kube_client.h"

namespace rr::testing {

class ControlPlane {
 public:
  // Reads $RR_KUBE_ENV_FILE or $RR_KUBE_DIR/env; fails the test (and returns null) when absent.
  static std::unique_ptr<ControlPlane> from_environment();

  const std::string& server() const { return env_.at("RR_KUBE_SERVER"); }
  const std::string& dir() const { return env_.at("RR_KUBE_DIR"); }
  std::string var(const std::string& name) const;
  std::string kubeconfig() const { return var("KUBECONFIG"); }
  // kubectl as the admin of this control plane, ready for arguments.
  std::string kubectl() const { return var("RR_KUBECTL") + " --kubeconfig " + kubeconfig(); }
  // Applies rr-operator's CRD (plus the test copies of Calico's when `with_calico`) and
  // waits until every CRD is established.
  void install_crds(bool with_calico) const;

  kube::ClientConfig admin_config() const;                         // client certificate
  kube::ClientConfig token_config(const std::string& token) const;  // bearer token, same CA
  std::unique_ptr<kube::RestKubeClient> admin_client(kube::RestClientOptions options = {}) const;
  std::unique_ptr<kube::RestKubeClient> client_with_token(const std::string& token) const;
  // A token of ServiceAccount ns/name, as its Pod would mount one (TokenRequest, retried while a
  // new ServiceAccount is not yet served); "" and a test failure when none is issued.
  std::string service_account_token(const std::string& ns, const std::string& name, int seconds = 7200) const;
  // A kubeconfig at `path` that authenticates with `token` (the same server and CA); returns `path`.
  std::string write_token_kubeconfig(const std::string& path, const std::string& token) const;

  // kube-apiserver only; etcd keeps the data.
  void stop_apiserver() const;
  void start_apiserver() const;
  // Compacts etcd up to its current revision: older resourceVersions become 410 Gone.
  long compact_etcd() const;

  // A fresh namespace named after the test, deleted by the caller if it cares.
  std::string create_namespace(kube::KubeClient& client, const std::string& prefix) const;

 private:
  std::map<std::string, std::string> env_;
};

// Runs a command, returns its stdout; fails the test on a non-zero exit.
std::string run_command(const std::string& command);
// The repository's root directory (for crds/, deploy/, scripts/).
std::string repo_root();

}  // namespace rr::testing
