// kubectl-rr: rr-operator's kubectl plugin (kubectl finds `kubectl-rr` on $PATH and runs it
// for `kubectl rr ...`). Read-only: it needs get/list on routereflectorclusters only.
//
//   kubectl rr status [NAME] [--kubeconfig FILE] [--context NAME] [-o table|json]
//
// Exit codes: 0 every fabric shown is Ready, 1 one is not, 2 usage or API error.
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "contract/well_known.h"
#include "cli/status_view.h"
#include "kube/client_config.h"
#include "kube/rest_kube_client.h"

namespace {

constexpr int kUsageOrApiError = 2;

const char* const kUsage =
    "Usage: kubectl rr status [NAME] [--kubeconfig FILE] [--context NAME] [-o table|json]\n"
    "\n"
    "Shows RouteReflectorCluster fabrics as rr-operator reports them: each rack's cluster ID,\n"
    "reflectors, sessions up/configured, and the worst problem first. Exit code 0 when every\n"
    "fabric shown is Ready, 1 when one is not, 2 on a usage or API error.\n";

struct Args {
  std::string command;
  std::string name;
  std::string kubeconfig;
  std::string context;
  std::string output = "table";
};

std::optional<Args> parse_args(int argc, char** argv, std::string& error) {
  Args a;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& flag) -> std::optional<std::string> {
      if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
      if (arg == flag) {
        if (i + 1 >= argc) {
          error = flag + " needs a value";
          return std::nullopt;
        }
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    if (arg == "-h" || arg == "--help") {
      a.command = "help";
      return a;
    }
    if (auto v = value("--kubeconfig")) {
      a.kubeconfig = *v;
    } else if (auto v2 = value("--context")) {
      a.context = *v2;
    } else if (auto v3 = value("--output")) {
      a.output = *v3;
    } else if (auto v4 = value("-o")) {
      a.output = *v4;
    } else if (!error.empty()) {
      return std::nullopt;
    } else if (!arg.empty() && arg[0] == '-') {
      error = "unknown flag " + arg;
      return std::nullopt;
    } else {
      positional.push_back(arg);
    }
  }
  if (!error.empty()) return std::nullopt;
  if (positional.empty()) {
    error = "missing command";
    return std::nullopt;
  }
  a.command = positional[0];
  if (a.command != "status") {
    error = "unknown command '" + a.command + "'";
    return std::nullopt;
  }
  if (positional.size() > 2) {
    error = "status takes at most one fabric NAME";
    return std::nullopt;
  }
  if (positional.size() == 2) a.name = positional[1];
  if (a.output != "table" && a.output != "json") {
    error = "-o: '" + a.output + "' is not table or json";
    return std::nullopt;
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  std::string error;
  auto args = parse_args(argc, argv, error);
  if (!args) {
    std::cerr << "kubectl-rr: " << error << "\n\n" << kUsage;
    return kUsageOrApiError;
  }
  if (args->command == "help") {
    std::cout << kUsage;
    return 0;
  }
  kube::KubeconfigOptions kopts;
  if (!args->context.empty()) kopts.context = args->context;
  auto config = kube::load_client_config(
      args->kubeconfig.empty() ? std::nullopt : std::optional<std::filesystem::path>(args->kubeconfig), kopts);
  if (!config.ok()) {
    std::cerr << "kubectl-rr: cannot load the Kubernetes client configuration: " << config.error().message << "\n";
    return kUsageOrApiError;
  }
  kube::RestClientOptions copts;
  copts.user_agent = "kubectl-rr/0.1.0";
  auto client = kube::RestKubeClient::connect(*config, copts);
  if (!client.ok()) {
    std::cerr << "kubectl-rr: cannot create a Kubernetes client: " << client.error().describe() << "\n";
    return kUsageOrApiError;
  }
  const auto& type = rr::contract::route_reflector_clusters();
  std::vector<kube::Json> fabrics;
  if (!args->name.empty()) {
    auto one = (*client)->get(type, "", args->name);
    if (!one.ok()) {
      std::cerr << "kubectl-rr: RouteReflectorCluster " << args->name << ": " << one.error().describe() << "\n";
      return kUsageOrApiError;
    }
    fabrics.push_back(std::move(one).value());
  } else {
    auto all = (*client)->list(type, "", {});
    if (!all.ok()) {
      std::cerr << "kubectl-rr: cannot list RouteReflectorClusters: " << all.error().describe() << "\n";
      return kUsageOrApiError;
    }
    fabrics = std::move(all->items);
    if (fabrics.empty()) {
      std::cout << "No RouteReflectorCluster found.\n";
      return 0;
    }
  }
  if (args->output == "json") {
    kube::Json out = kube::Json::array();
    for (const auto& f : fabrics) {
      out.push_back({{"name", f["metadata"].value("name", "")}, {"status", f.value("status", kube::Json::object())}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << rr::cli::render_statuses(fabrics, std::chrono::system_clock::now());
  }
  return rr::cli::status_exit_code(fabrics);
}
