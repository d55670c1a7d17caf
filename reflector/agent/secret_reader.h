#pragma once
// The password Secrets of the agent's fabric, read one by one by name (GET), never listed or
// watched: rr-agent may get only the Secrets its fabric's spec names (the Role rr-operator keeps
// per fabric, docs/security.md), so a compromised reflector reads no other Secret of its
// namespace. A Secret that cannot be read (403, 404, the API away) keeps its last good value,
// and one log line names the Secret and the field that names it (never a value).

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "contract/types.h"
#include "kube/kube_client.h"
#include "kube/logger.h"

namespace rr::agent {

class SecretReader {
 public:
  SecretReader(kube::KubeClient& client, std::string ns, kube::Logger& log);

  // GETs every Secret `spec` names and forgets those it no longer names. Returns whether
  // values() changed. One caller at a time; values() and failures() may be called meanwhile
  // from other threads (the GETs hold no lock).
  bool refresh(const contract::FabricSpec& spec);
  // "secretName/key" -> value (AgentInputs::secrets): the last good read of every named Secret.
  std::map<std::string, std::string> values() const;
  // Secret name -> why the last read failed ("forbidden: ...", "not found: ..."), for the named ones.
  std::map<std::string, std::string> failures() const;

 private:
  kube::KubeClient& client_;
  std::string ns_;
  kube::Logger& log_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> data_;  // last good, per Secret
  std::map<std::string, std::string> failures_;
};

// The fields of `spec` that name each Secret: "spec.bgp.passwordSecretRef",
// "spec.externalPeers[0].passwordSecretRef", ...
std::map<std::string, std::vector<std::string>> password_secret_fields(const contract::FabricSpec& spec);

}  // namespace rr::agent
