#include "agent/secret_reader.h"

#include "kube/object.h"

namespace rr::agent {
namespace {

std::string joined(const std::vector<std::string>& fields) {
  std::string out;
  for (const auto& f : fields) out += (out.empty() ? "" : ", ") + f;
  return out;
}

// What the log says about a failed read: the API's message names the Secret, never a value.
std::string why(const kube::Error& e) {
  if (e.kind == kube::ErrorKind::NotFound) return "not found: " + e.message;
  if (e.kind == kube::ErrorKind::Forbidden) {
    return "forbidden (rr-agent may get only the Secrets its fabric names, through the Role rr-operator keeps): " +
           e.message;
  }
  return e.describe();
}

}  // namespace

std::map<std::string, std::vector<std::string>> password_secret_fields(const contract::FabricSpec& spec) {
  std::map<std::string, std::vector<std::string>> out;
  if (spec.bgp.password) out[spec.bgp.password->name].push_back("spec.bgp.passwordSecretRef");
  for (std::size_t i = 0; i < spec.external_peers.size(); ++i) {
    if (const auto& ref = spec.external_peers[i].password) {
      out[ref->name].push_back("spec.externalPeers[" + std::to_string(i) + "].passwordSecretRef");
    }
  }
  return out;
}

SecretReader::SecretReader(kube::KubeClient& client, std::string ns, kube::Logger& log)
    : client_(client), ns_(std::move(ns)), log_(log) {}

bool SecretReader::refresh(const contract::FabricSpec& spec) {
  const auto fields = password_secret_fields(spec);
  std::map<std::string, kube::Result<kube::Json>> read;
  for (const auto& entry : fields) read.emplace(entry.first, client_.get(kube::resources::secrets(), ns_, entry.first));

  std::lock_guard lock(mu_);
  bool changed = false;
  // What the spec no longer names is forgotten, value and failure alike.
  std::erase_if(failures_, [&](const auto& entry) { return !fields.count(entry.first); });
  changed |= std::erase_if(data_, [&](const auto& entry) { return !fields.count(entry.first); }) > 0;
  for (const auto& [name, secret] : read) {
    const std::string field = joined(fields.at(name));
    if (secret.ok()) {
      auto values = kube::decoded_secret_data(*secret);
      auto it = data_.find(name);
      if (it == data_.end() || it->second != values) {
        data_[name] = std::move(values);
        changed = true;
      }
      if (failures_.erase(name)) log_.info("password Secret readable again", {{"secret", ns_ + "/" + name}, {"field", field}});
      continue;
    }
    // Said once per cause, not at every refresh.
    std::string reason = why(secret.error());
    auto& last = failures_[name];
    if (last == reason) continue;
    last = reason;
    log_.warn(data_.count(name) ? "cannot read a password Secret; its last good value stays"
                                : "cannot read a password Secret; the sessions that need it are not configured",
              {{"secret", ns_ + "/" + name}, {"field", field}, {"error", reason}});
  }
  return changed;
}

std::map<std::string, std::string> SecretReader::values() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [name, keys] : data_) {
    for (const auto& [key, value] : keys) out[name + "/" + key] = value;
  }
  return out;
}

std::map<std::string, std::string> SecretReader::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

}  // namespace rr::agent
