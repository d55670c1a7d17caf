#include "agent/identity.h"

#include <charconv>
#include <optional>
#include <vector>

#include "contract/validation.h"
#include "contract/well_known.h"

namespace rr::agent {
namespace {

class EnvReader {
 public:
  explicit EnvReader(const std::function<const char*(const char*)>& getenv) : getenv_(getenv) {}

  std::optional<std::string> optional(std::string_view name) const {
    const std::string key(name);
    const char* value = getenv_ ? getenv_(key.c_str()) : nullptr;
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  }

  std::string required(std::string_view name) {
    auto value = optional(name);
    if (!value) {
      problems_.push_back(std::string(name) + " is not set");
      return {};
    }
    return *value;
  }

  std::string ipv4(std::string_view name) {
    std::string value = required(name);
    if (!value.empty() && (!contract::is_ipv4_address(value) || value == "0.0.0.0")) {
      problems_.push_back(std::string(name) + "=\"" + value + "\" is not a nonzero IPv4 address");
    }
    return value;
  }

  int integer(std::string_view name, int fallback, int min, int max) {
    auto value = optional(name);
    if (!value) return fallback;
    int parsed = 0;
    const char* end = value->data() + value->size();
    auto [ptr, ec] = std::from_chars(value->data(), end, parsed);
    if (ec != std::errc() || ptr != end || parsed < min || parsed > max) {
      problems_.push_back(std::string(name) + "=\"" + *value + "\" is not an integer in " + std::to_string(min) +
                          ".." + std::to_string(max));
      return fallback;
    }
    return parsed;
  }

  void problem(std::string message) { problems_.push_back(std::move(message)); }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  const std::function<const char*(const char*)>& getenv_;
  std::vector<std::string> problems_;
};

}  // namespace

kube::Result<AgentIdentity> identity_from_env(std::function<const char*(const char*)> getenv) {
  EnvReader env(getenv);
  AgentIdentity id;
  id.pod = env.required(contract::kEnvPodName);
  id.uid = env.optional(contract::kEnvPodUid).value_or("");
  id.ns = env.required(contract::kEnvNamespace);
  id.node = env.required(contract::kEnvNodeName);
  id.address = env.ipv4(contract::kEnvHostIP);
  id.fabric = env.required(contract::kEnvFabric);
  const std::string tier = env.optional(contract::kEnvTier).value_or("");
  if (auto parsed = contract::tier_from_word(tier)) {
    id.tier = *parsed;
  } else {
    env.problem(std::string(contract::kEnvTier) + "=\"" + tier + "\" is neither \"rack\" nor \"top\"");
  }
  if (id.tier == contract::Tier::Top) {
    id.zone = env.optional(contract::kEnvZone).value_or("");
  } else {
    id.rack = env.required(contract::kEnvRack);
  }
  id.cluster_id = env.ipv4(contract::kEnvClusterId);
  id.port = env.integer(contract::kEnvBgpPort, id.port, 1, 65535);
  id.lease_duration_seconds = env.integer(contract::kEnvLeaseDurationSeconds, id.lease_duration_seconds, 1, 3600);
  if (auto v6 = env.optional(contract::kEnvHostIPv6)) {
    if (contract::is_ipv6_address(*v6)) {
      id.address_v6 = *v6;
    } else {
      env.problem(std::string(contract::kEnvHostIPv6) + "=\"" + *v6 + "\" is not an IPv6 address");
    }
  }
  if (!env.problems().empty()) {
    std::string message = "agent environment: ";
    for (size_t i = 0; i < env.problems().size(); ++i) {
      if (i > 0) message += "; ";
      message += env.problems()[i];
    }
    return kube::make_error(kube::ErrorKind::BadConfig, message);
  }
  return id;
}

std::string metrics_listen_address(const std::string& configured, const AgentIdentity& self) {
  if (!configured.empty()) return configured;
  return self.address + ":" + std::to_string(contract::kMetricsPort);
}

}  // namespace rr::agent
