#pragma once
// The env file scripts/kube-local.sh writes into its directory (RR_KUBE_SERVER, RR_KUBE_CA,
// RR_KUBE_ADMIN_TOKEN, ...), for the benchmarks that talk to a control plane of their own.

#include <fstream>
#include <map>
#include <optional>
#include <string>

namespace rr::bench {

// KEY=VALUE lines, "export " and one level of quotes taken off; nullopt when unreadable.
inline std::optional<std::map<std::string, std::string>> read_env_file(const std::string& path) {
  std::map<std::string, std::string> env;
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("export ", 0) == 0) line = line.substr(7);
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string v = line.substr(eq + 1);
    if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
    env[line.substr(0, eq)] = v;
  }
  return env;
}

}  // namespace rr::bench
