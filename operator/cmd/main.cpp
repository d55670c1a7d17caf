// rr-operator: keeps RouteReflectorCluster fabrics true (issue C fills in the reconciler).
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include "kube/client_config.h"
#include "kube/rest_kube_client.h"

namespace {
void usage() {
  std::cout << "usage: rr-operator [--kubeconfig PATH] [--context NAME] [--version]\n"
               "  Connects to the Kubernetes API and reports the server version.\n";
}
}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> kubeconfig;
  kube::KubeconfigOptions kopts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--version") {
      std::cout << "rr-operator 0.1.0\n";
      return 0;
    } else if (a == "--kubeconfig" && i + 1 < argc) {
      kubeconfig = argv[++i];
    } else if (a == "--context" && i + 1 < argc) {
      kopts.context = argv[++i];
    } else {
      std::cerr << "rr-operator: unknown argument " << a << "\n";
      usage();
      return 2;
    }
  }
  auto config = kube::load_client_config(kubeconfig ? std::optional<std::filesystem::path>(*kubeconfig) : std::nullopt, kopts);
  if (!config.ok()) {
    std::cerr << "rr-operator: " << config.error().describe() << "\n";
    return 1;
  }
  auto client = kube::RestKubeClient::connect(*config);
  if (!client.ok()) {
    std::cerr << "rr-operator: " << client.error().describe() << "\n";
    return 1;
  }
  auto version = (*client)->get_path("/version");
  if (!version.ok()) {
    std::cerr << "rr-operator: " << config->description << ": " << version.error().describe() << "\n";
    return 1;
  }
  std::cout << "connected to " << config->server << ", Kubernetes " << version->value("gitVersion", "?") << "\n";
  return 0;
}
