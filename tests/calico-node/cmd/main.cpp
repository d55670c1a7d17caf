// calico-node-standin: the BGP part of calico-node for tests on a real
// cluster. It renders this node's BIRD 1.6 config from Nodes, BGPPeers,
// BGPConfigurations and the Secrets of its own namespace as calico-node's
// confd does, runs BIRD 1.6 as its child and reloads it when the config
// changes. /readyz answers once BIRD runs the current config.

#include <filesystem>
#include <thread>

#include "kube/client_config.h"
#include "kube/flags.h"
#include "kube/logger.h"
#include "kube/probe_server.h"
#include "kube/process_main.h"
#include "kube/rest_kube_client.h"
#include "node/bird16_driver.h"
#include "node/bird16_process.h"
#include "node/standin.h"

namespace {

struct Options {
  std::string kubeconfig;
  std::string node_name;
  std::string ns;
  std::string bird_binary = "bird";
  std::string birdc_binary = "birdc";
  std::string bird_config = "/etc/bird/bird.cfg";
  std::string bird_socket = "/var/run/bird/bird.ctl";
  bool run_bird = true;
  bool program_kernel = false;
  std::string calico_node_selector = rr::calico::NodeInputs{}.calico_node_selector;
  std::string health_address = "127.0.0.1:9099";
  kube::LogFlags log;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  kube::FlagSet flags("calico-node-standin",
                      "Renders this node's BIRD 1.6 config from the Kubernetes API as calico-node does (node-to-node\n"
                      "mesh, BGPPeers selecting the node, its pod CIDR announced), runs BIRD 1.6 and reloads it.");
  flags.add_string("kubeconfig", &o.kubeconfig, "kubeconfig file; empty: in-cluster", "KUBECONFIG");
  flags.add_string("node-name", &o.node_name, "this node's name (the Pod's spec.nodeName)", "NODE_NAME");
  flags.add_string("namespace", &o.ns, "namespace of the BGP password Secrets (default: the Pod's own)",
                   "POD_NAMESPACE");
  flags.add_string("bird-binary", &o.bird_binary, "BIRD 1.6 executable", "CALICO_STANDIN_BIRD");
  flags.add_string("birdc-binary", &o.birdc_binary, "BIRD 1.6 birdc executable", "CALICO_STANDIN_BIRDC");
  flags.add_string("bird-config", &o.bird_config, "bird.cfg path (written with mode 0600)", "CALICO_STANDIN_CONFIG");
  flags.add_string("bird-socket", &o.bird_socket, "BIRD control socket", "CALICO_STANDIN_SOCKET");
  flags.add_bool("run-bird", &o.run_bird, "start and supervise BIRD (false: reload a BIRD run beside it)",
                 "CALICO_STANDIN_RUN_BIRD");
  flags.add_bool("program-kernel-routes", &o.program_kernel,
                 "export BGP-learned routes to the kernel as calico-node does (needs NET_ADMIN)",
                 "CALICO_STANDIN_PROGRAM_KERNEL");
  flags.add_string("calico-node-selector", &o.calico_node_selector,
                   "Calico selector of the nodes that run calico-node (meshed even without the address annotation)",
                   "CALICO_STANDIN_NODE_SELECTOR");
  flags.add_string("health-address", &o.health_address, "listen address of /healthz and /readyz",
                   "CALICO_STANDIN_HEALTH_ADDRESS");
  kube::add_log_flags(flags, o.log);
  auto command_line = kube::parse_command_line(flags, o.log, "calico-node-standin", argc, argv);
  if (command_line.exit_code) return *command_line.exit_code;
  kube::Logger log("calico-node-standin", command_line.format, command_line.level);
  if (o.node_name.empty()) {
    log.error("--node-name (NODE_NAME) is required");
    return 2;
  }
  if (auto selector = rr::calico::Selector::parse(o.calico_node_selector); !selector.ok()) {
    log.error("bad --calico-node-selector", {{"error", selector.error().message}});
    return 2;
  }

  std::stop_source stop;
  auto signals = kube::stop_on_signals(stop, log);

  auto config = kube::load_client_config(
      o.kubeconfig.empty() ? std::nullopt : std::optional<std::filesystem::path>(o.kubeconfig));
  if (!config.ok()) {
    log.error("cannot load Kubernetes client configuration", {{"error", config.error().message}});
    return 1;
  }
  if (o.ns.empty()) o.ns = config->default_namespace;
  kube::RestClientOptions copts;
  copts.user_agent = "calico-node-standin/0.1.0";
  auto client = kube::RestKubeClient::connect(*config, copts);
  if (!client.ok()) {
    log.error("cannot create Kubernetes client", {{"error", client.error().describe()}});
    return 1;
  }

  // As rr-agent does: nothing on the way out needs the API, so stopping ends every request and
  // watch at once (a SIGTERM is not held up by an API server that never answers).
  std::stop_callback close_client(stop.get_token(), [&client] { (*client)->close(); });

  rr::calico::Bird16Driver driver({o.bird_config, o.bird_socket, o.bird_binary, o.birdc_binary});
  rr::calico::Bird16Process bird({o.bird_binary, o.bird_config, o.bird_socket});
  bird.set_on_exit([&log](int status) { log.warn("BIRD exited; restarting", {{"status", std::to_string(status)}}); });
  // Beside an external BIRD, "running" means its control socket exists.
  auto bird_running = [&] { return o.run_bird ? bird.running() : std::filesystem::exists(o.bird_socket); };
  std::jthread bird_thread;
  auto start_bird = [&] {
    if (!o.run_bird) return;
    log.info("starting BIRD", {{"config", o.bird_config}, {"socket", o.bird_socket}});
    bird_thread = std::jthread([&bird, &stop](std::stop_token) { bird.run(stop.get_token()); });
  };

  rr::calico::StandinOptions sopts;
  sopts.node_name = o.node_name;
  sopts.secret_namespace = o.ns;
  sopts.program_kernel = o.program_kernel;
  sopts.calico_node_selector = o.calico_node_selector;
  rr::calico::CalicoNodeStandin standin(**client, sopts, driver, log);
  auto probes = kube::ProbeServer::start(
      {o.health_address, nullptr, [] { return kube::ProbeResult{}; },
       [&] { return standin.readiness(bird_running()); }});
  if (!probes.ok()) {
    log.error("cannot serve probes", {{"address", o.health_address}, {"error", probes.error().message}});
    return 1;
  }
  log.info("starting", {{"node", o.node_name}, {"secret_namespace", o.ns}, {"probes", (*probes)->url()}});
  standin.start_informers();
  standin.run(stop.get_token(), bird_running, start_bird);
  if (bird_thread.joinable()) bird_thread.join();
  log.info("stopped");
  return 0;
}
