// kubectl-rr: rr-operator's kubectl plugin (kubectl finds `kubectl-rr` on $PATH and runs it
// for `kubectl rr ...`). Read-only: it writes nothing.
//
//   kubectl rr status [NAME] [--kubeconfig FILE] [--context NAME] [-o table|json]
//     exit codes: 0 every fabric shown is Ready, 1 one is not, 2 usage or API error.
//   kubectl rr plan -f FILE|- [--kubeconfig FILE] [--context NAME] [-o table|json|yaml|dot|svg]
//                   [the operator's flags: --allowed-namespaces ... (docs/preview.md)]
//     exit codes: 0 no change, 1 changes, 2 usage or API error, 3 the fabric would be held.
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "cli/status_view.h"
#include "contract/validation.h"
#include "contract/well_known.h"
#include "kube/client_config.h"
#include "kube/flags.h"
#include "kube/manifest.h"
#include "kube/rest_kube_client.h"
#include "preview/plan_report.h"
#include "preview/preview.h"

namespace {

constexpr int kUsageOrApiError = 2;

constexpr int kWouldBeHeld = 3;

const char* const kUsage =
    "Usage: kubectl rr status [NAME] [--kubeconfig FILE] [--context NAME] [-o table|json]\n"
    "       kubectl rr plan -f FILE|- [--kubeconfig FILE] [--context NAME] [-o table|json|yaml|dot|svg]\n"
    "                       [--allowed-namespaces NS,...] [--reflector-image IMAGE]\n"
    "                       [--allowed-reflector-images IMAGE,...] [--calico-api API]\n"
    "                       [--calico-password-namespace NS] [--calico-node-service-account SA]\n"
    "                       [--reflector-startup-grace DURATION]\n"
    "\n"
    "status: RouteReflectorCluster fabrics as rr-operator reports them: each rack's cluster ID,\n"
    "reflectors, sessions up/configured, and the worst problem first. Exit code 0 when every\n"
    "fabric shown is Ready, 1 when one is not, 2 on a usage or API error.\n"
    "\n"
    "plan: what applying the RouteReflectorCluster in FILE would do, computed by rr-operator's own\n"
    "reconcile over the cluster's objects with every write recorded, never sent: per rack the\n"
    "cluster ID and reflector hosts, the Pods and BGPPeers to create, change and delete, the\n"
    "node-to-node mesh decision, and every problem with its field. Give it the operator's flags\n"
    "(same names and defaults as rr-operator's). Needs read rights only. Exit code 0 when nothing\n"
    "would change, 1 when something would, 2 on a usage or API error, 3 when the fabric would be\n"
    "held (invalid spec, conflict with another fabric, refused by the operator's policy).\n";

struct Args {
  std::string command;
  std::string name;
  std::string kubeconfig;
  std::string context;
  std::string output = "table";
  std::vector<std::string> rest;  // plan's flags, for its own FlagSet
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
      // plan's own flags (checked by its FlagSet); -f is kubectl's short --filename.
      if (arg == "-f") arg = "--filename";
      if (arg.rfind("-f=", 0) == 0) arg = "--filename=" + arg.substr(3);
      a.rest.push_back(arg);
      // Its value, when given apart: the next word, unless that is another flag ("-" is stdin).
      const bool value_next = arg.find('=') == std::string::npos && i + 1 < argc &&
                              (argv[i + 1][0] != '-' || std::string(argv[i + 1]) == "-");
      if (value_next) a.rest.push_back(argv[++i]);
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
  if (a.command == "plan") {
    if (positional.size() > 1) {
      error = "plan takes no NAME: the fabric is the one in -f FILE";
      return std::nullopt;
    }
    if (a.output != "table" && a.output != "json" && a.output != "yaml" && a.output != "dot" && a.output != "svg") {
      error = "-o: '" + a.output + "' is not table, json, yaml, dot or svg";
      return std::nullopt;
    }
    return a;
  }
  if (a.command != "status") {
    error = "unknown command '" + a.command + "'";
    return std::nullopt;
  }
  if (!a.rest.empty()) {
    error = "unknown flag " + a.rest.front();
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

// The client of --kubeconfig / --context (kubectl's rules); null after saying why.
std::unique_ptr<kube::RestKubeClient> connect(const Args& args) {
  kube::KubeconfigOptions kopts;
  if (!args.context.empty()) kopts.context = args.context;
  auto config = kube::load_client_config(
      args.kubeconfig.empty() ? std::nullopt : std::optional<std::filesystem::path>(args.kubeconfig), kopts);
  if (!config.ok()) {
    std::cerr << "kubectl-rr: cannot load the Kubernetes client configuration: " << config.error().message << "\n";
    return nullptr;
  }
  kube::RestClientOptions copts;
  copts.user_agent = "kubectl-rr/0.1.0";
  auto client = kube::RestKubeClient::connect(*config, copts);
  if (!client.ok()) {
    std::cerr << "kubectl-rr: cannot create a Kubernetes client: " << client.error().describe() << "\n";
    return nullptr;
  }
  return std::move(client).value();
}

std::optional<std::string> read_input(const std::string& path, std::string& error) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path);
  if (!in) {
    error = "-f " + path + ": cannot be read";
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Graphviz's dot, from $PATH, turns the picture into SVG.
int write_svg(const std::string& dot) {
  FILE* pipe = popen("dot -Tsvg", "w");
  if (!pipe) {
    std::cerr << "kubectl-rr: -o svg needs Graphviz's dot on $PATH (apt-get install graphviz); -o dot prints "
                 "its input\n";
    return kUsageOrApiError;
  }
  std::fwrite(dot.data(), 1, dot.size(), pipe);
  const int status = pclose(pipe);
  if (status != 0) {
    std::cerr << "kubectl-rr: dot -Tsvg failed (exit status " << status
              << "): is Graphviz installed? (apt-get install graphviz); -o dot prints its input\n";
    return kUsageOrApiError;
  }
  return 0;
}

// Flags and the file first (a usage error needs no cluster), then the cluster.
int plan(const Args& args) {
  // The operator's configuration, under its own flag names and with its defaults (rr-operator --help).
  std::string filename;
  std::string calico_api = "crd.projectcalico.org/v1";
  std::string reflector_image = "rr-agent:0.1.0";
  std::vector<std::string> allowed_images;
  std::vector<std::string> allowed_namespaces = {"rr-system"};
  std::string password_namespace;
  std::string calico_node_service_account = "calico-node";
  std::chrono::milliseconds startup_grace{120000};
  kube::FlagSet flags("kubectl rr plan", "");
  flags.add_string("filename", &filename, "the RouteReflectorCluster to preview (YAML or JSON); - for stdin");
  flags.add_string("calico-api", &calico_api, "as rr-operator's");
  flags.add_string("reflector-image", &reflector_image, "as rr-operator's");
  flags.add_string_list("allowed-reflector-images", &allowed_images, "as rr-operator's");
  flags.add_string_list("allowed-namespaces", &allowed_namespaces, "as rr-operator's (default rr-system)");
  flags.add_string("calico-password-namespace", &password_namespace, "as rr-operator's");
  flags.add_string("calico-node-service-account", &calico_node_service_account, "as rr-operator's");
  flags.add_duration("reflector-startup-grace", &startup_grace, "as rr-operator's");
  std::vector<const char*> argv = {"kubectl-rr-plan"};
  for (const auto& r : args.rest) argv.push_back(r.c_str());
  if (auto s = flags.parse(static_cast<int>(argv.size()), argv.data(), [](const char*) -> const char* {
        return nullptr;
      });
      !s.ok()) {
    std::cerr << "kubectl-rr: " << s.error().message << "\n\n" << kUsage;
    return kUsageOrApiError;
  }
  if (filename.empty()) {
    std::cerr << "kubectl-rr: plan needs -f FILE (or -f - for stdin)\n\n" << kUsage;
    return kUsageOrApiError;
  }
  rr::preview::PreviewOptions options;
  if (calico_api == "crd.projectcalico.org/v1") {
    options.reconciler.calico_api = rr::planner::CalicoApi::CrdV1;
  } else if (calico_api == "projectcalico.org/v3") {
    options.reconciler.calico_api = rr::planner::CalicoApi::ProjectCalicoV3;
  } else {
    std::cerr << "kubectl-rr: --calico-api must be crd.projectcalico.org/v1 or projectcalico.org/v3\n";
    return kUsageOrApiError;
  }
  for (const auto& ns : allowed_namespaces) {
    if (!rr::contract::is_dns_label(ns)) {
      std::cerr << "kubectl-rr: --allowed-namespaces: \"" << ns << "\" is not a namespace name\n";
      return kUsageOrApiError;
    }
  }
  options.reconciler.default_image = reflector_image;
  options.reconciler.policy.namespaces = allowed_namespaces;
  options.reconciler.policy.images = allowed_images;
  options.reconciler.calico_passwords = {password_namespace, calico_node_service_account};
  options.reconciler.startup_grace = startup_grace;

  std::string error;
  auto text = read_input(filename, error);
  if (!text) {
    std::cerr << "kubectl-rr: " << error << "\n";
    return kUsageOrApiError;
  }
  auto docs = kube::parse_manifests(*text);
  if (!docs.ok()) {
    std::cerr << "kubectl-rr: -f " << filename << ": " << docs.error().message << "\n";
    return kUsageOrApiError;
  }
  const auto& type = rr::contract::route_reflector_clusters();
  std::vector<kube::Json> fabrics;
  for (const auto& d : *docs) {
    if (d.is_object() && d.value("kind", "") == type.kind) fabrics.push_back(d);
  }
  if (fabrics.size() != 1) {
    std::cerr << "kubectl-rr: -f " << filename << ": expected one " << type.kind << ", found " << fabrics.size()
              << "\n";
    return kUsageOrApiError;
  }
  auto client = connect(args);
  if (!client) return kUsageOrApiError;
  auto preview = rr::preview::preview_fabric(*client, fabrics.front(), options);
  if (!preview.ok()) {
    std::cerr << "kubectl-rr: cannot preview " << kube::name_of(fabrics.front()) << ": " << preview.error().message
              << "\n";
    return kUsageOrApiError;
  }
  if (args.output == "json") {
    std::cout << rr::preview::render_json(*preview).dump(2) << "\n";
  } else if (args.output == "yaml") {
    std::cout << kube::to_yaml(rr::preview::render_json(*preview));
  } else if (args.output == "dot") {
    std::cout << rr::preview::render_dot(*preview);
  } else if (args.output == "svg") {
    std::cout.flush();
    if (int rc = write_svg(rr::preview::render_dot(*preview)); rc != 0) return rc;
  } else {
    std::cout << rr::preview::render_table(*preview);
  }
  return rr::preview::exit_code(*preview);
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
  if (args->command == "plan") return plan(*args);
  auto client = connect(*args);
  if (!client) return kUsageOrApiError;
  const auto& type = rr::contract::route_reflector_clusters();
  std::vector<kube::Json> fabrics;
  if (!args->name.empty()) {
    auto one = client->get(type, "", args->name);
    if (!one.ok()) {
      std::cerr << "kubectl-rr: RouteReflectorCluster " << args->name << ": " << one.error().describe() << "\n";
      return kUsageOrApiError;
    }
    fabrics.push_back(std::move(one).value());
  } else {
    auto all = client->list(type, "", {});
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
