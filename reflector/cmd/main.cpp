// rr-agent: runs inside each reflector Pod. It supervises BIRD 2, builds its
// configuration from the Kubernetes API, holds the reflector's Lease, and
// serves /metrics, /healthz and /readyz.

#include <iostream>
#include <thread>

#include <prometheus/registry.h>

#include "agent/agent_metrics.h"
#include "agent/bird_driver.h"
#include "agent/bird_process.h"
#include "agent/identity.h"
#include "agent/reflector_agent.h"
#include "bird/config_validator.h"
#include "bird/control_client.h"
#include "kube/client_config.h"
#include "kube/flags.h"
#include "kube/logger.h"
#include "kube/probe_server.h"
#include "kube/process_main.h"
#include "kube/rest_kube_client.h"
#include "kube/watchdog.h"

namespace {

struct Options {
  std::string kubeconfig;
  // Empty: the host's address (RR_HOST_IP) on 9179, never a wildcard (identity.h).
  std::string metrics_address;
  std::string bird_binary = "bird";
  std::string bird_config = "/etc/bird/bird.conf";
  std::string bird_socket = "/run/bird/bird.ctl";
  // The reflector Pod's root filesystem is read-only: every temporary file goes to this
  // directory, a volume of its own in the Pod (never $TMPDIR or /tmp).
  std::string scratch_dir = "/run/rr-agent";
  bool run_bird = true;
  int client_port = 179;
  std::chrono::milliseconds session_poll{2000};
  std::chrono::milliseconds session_resync{60000};
  std::chrono::milliseconds session_settle{2000};
  std::chrono::milliseconds session_settle_max{30000};
  std::chrono::milliseconds ready_grace{60000};
  std::chrono::milliseconds secret_refresh{30000};
  std::chrono::milliseconds stall_timeout{60000};
  int connect_retry = 0;  // 0 = BIRD's defaults via the renderer's
  int connect_delay = 0;
  int error_wait_min = 0;
  int error_wait_max = 0;
  kube::LogFlags log;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  kube::FlagSet flags("rr-agent",
                      "Runs beside BIRD 2 in a reflector Pod: renders and reloads BIRD's configuration from the\n"
                      "Kubernetes API, holds the reflector's Lease, exports BGP session state. Identity comes from\n"
                      "the Pod's environment (RR_POD_NAME, RR_NAMESPACE, RR_NODE_NAME, RR_HOST_IP, RR_FABRIC,\n"
                      "RR_RACK, RR_CLUSTER_ID, RR_POD_UID, RR_BGP_PORT, RR_LEASE_DURATION_SECONDS).");
  // No env fallback: $KUBECONFIG is kubectl's ':' list, which load_client_config reads (and merges) itself.
  flags.add_string("kubeconfig", &o.kubeconfig, "kubeconfig file; empty: $KUBECONFIG (a ':' list), in-cluster");
  flags.add_string("metrics-address", &o.metrics_address,
                   "listen address of /metrics, /healthz, /readyz; empty: the host's address (RR_HOST_IP) on port 9179",
                   "RR_METRICS_ADDRESS");
  flags.add_string("bird-binary", &o.bird_binary, "BIRD 2 executable", "RR_BIRD_BINARY");
  flags.add_string("bird-config", &o.bird_config, "bird.conf path (written with mode 0600)", "RR_BIRD_CONFIG");
  flags.add_string("bird-socket", &o.bird_socket, "BIRD control socket", "RR_BIRD_SOCKET");
  flags.add_string("scratch-dir", &o.scratch_dir,
                   "writable directory for the agent's temporary files (the config check's copy of bird.conf)",
                   "RR_SCRATCH_DIR");
  flags.add_bool("run-bird", &o.run_bird, "start and supervise BIRD (false: use a BIRD already running)",
                 "RR_RUN_BIRD");
  const kube::FlagSet::IntRange port{1, 65535};
  const kube::FlagSet::IntRange bgp_seconds{0, 65535};  // BIRD's range; 0: the renderer's default
  flags.add_int("client-port", &o.client_port, "port the rack's Calico nodes listen on", "RR_CLIENT_PORT", port);
  flags.add_duration("session-poll", &o.session_poll,
                     "how often to look at BGP session state: the sessions BIRD's log named since, those not "
                     "Established, else BIRD's status only (all sessions, when BIRD runs outside the agent)",
                     "RR_SESSION_POLL", std::chrono::milliseconds(100));
  flags.add_duration("session-resync", &o.session_resync,
                     "how often every session is read in full (prefix counts), whatever BIRD's log said",
                     "RR_SESSION_RESYNC", std::chrono::milliseconds(100));
  flags.add_duration("session-settle", &o.session_settle,
                     "an Established session counts as settled (its first routes exchanged: the Lease's established "
                     "count, readiness) once its route counts stayed the same this long",
                     "RR_SESSION_SETTLE", std::chrono::milliseconds(0));
  flags.add_duration("session-settle-max", &o.session_settle_max,
                     "an Established session counts as settled at the latest this long after it came up, whatever "
                     "its route counts do",
                     "RR_SESSION_SETTLE_MAX", std::chrono::milliseconds(0));
  flags.add_duration("ready-grace", &o.ready_grace,
                     "/readyz waits for the BGP sessions of a new reflector (each settled or its peer unreachable) "
                     "at most this long after the first configuration",
                     "RR_READY_GRACE", std::chrono::milliseconds(0));
  flags.add_duration("secret-refresh", &o.secret_refresh,
                     "how often to read the password Secrets the fabric names again (by name; at once on a spec change, "
                     "sooner after a failed read)",
                     "RR_SECRET_REFRESH", std::chrono::seconds(1));
  flags.add_duration("stall-timeout", &o.stall_timeout,
                     "/healthz fails when the main loop (config rebuilds, session polls) makes no progress this long",
                     "RR_STALL_TIMEOUT", std::chrono::seconds(1));
  flags.add_int("connect-retry-seconds", &o.connect_retry, "BGP connect retry time (0: default)",
                "RR_CONNECT_RETRY_SECONDS", bgp_seconds);
  flags.add_int("connect-delay-seconds", &o.connect_delay, "BGP connect delay (0: default)", "RR_CONNECT_DELAY_SECONDS",
                bgp_seconds);
  flags.add_int("error-wait-min-seconds", &o.error_wait_min, "BGP error wait minimum (0: default)",
                "RR_ERROR_WAIT_MIN_SECONDS", bgp_seconds);
  flags.add_int("error-wait-max-seconds", &o.error_wait_max, "BGP error wait maximum (0: default)",
                "RR_ERROR_WAIT_MAX_SECONDS", bgp_seconds);
  kube::add_log_flags(flags, o.log);
  auto command_line = kube::parse_command_line(flags, o.log, "rr-agent", argc, argv);
  if (command_line.exit_code) return *command_line.exit_code;
  rr::bird::BgpTimers timers;
  if (o.connect_retry) timers.connect_retry_seconds = o.connect_retry;
  if (o.connect_delay) timers.connect_delay_seconds = o.connect_delay;
  if (o.error_wait_min) timers.error_wait_min_seconds = o.error_wait_min;
  if (o.error_wait_max) timers.error_wait_max_seconds = o.error_wait_max;
  if (timers.error_wait_min_seconds > timers.error_wait_max_seconds) {
    std::cerr << "rr-agent: --error-wait-min-seconds (" << timers.error_wait_min_seconds
              << ") is above --error-wait-max-seconds (" << timers.error_wait_max_seconds
              << (o.error_wait_max ? "" : ", the default") << ")\n";
    return 2;
  }
  kube::Logger log("rr-agent", command_line.format, command_line.level);
  auto identity = rr::agent::identity_from_env([](const char* n) { return std::getenv(n); });
  if (!identity.ok()) {
    log.error("bad identity", {{"error", identity.error().message}});
    return 2;
  }
  o.metrics_address = rr::agent::metrics_listen_address(o.metrics_address, *identity);

  // Without it no config could ever be checked, so none applied: say so and exit rather than run BIRD empty.
  if (auto s = rr::bird::check_scratch_dir(o.scratch_dir); !s.ok()) {
    log.error("cannot write in the scratch directory (--scratch-dir)",
              {{"path", o.scratch_dir}, {"error", s.error().message}});
    return 1;
  }

  std::stop_source stop;
  auto signals = kube::stop_on_signals(stop, log);

  auto config = kube::load_client_config(
      o.kubeconfig.empty() ? std::nullopt : std::optional<std::filesystem::path>(o.kubeconfig));
  if (!config.ok()) {
    log.error("cannot load Kubernetes client configuration", {{"error", config.error().message}});
    return 1;
  }
  kube::RestClientOptions copts;
  copts.qps = 20;
  copts.burst = 40;
  copts.user_agent = "rr-agent/0.1.0";
  auto client = kube::RestKubeClient::connect(*config, copts);
  if (!client.ok()) {
    log.error("cannot create Kubernetes client", {{"error", client.error().describe()}});
    return 1;
  }
  // Nothing the agent does on its way out needs the API: a request stuck on an API server that
  // never answers must not hold up a SIGTERM.
  std::stop_callback close_client(stop.get_token(), [&client] { (*client)->close(); });

  auto registry = std::make_shared<prometheus::Registry>();
  rr::agent::AgentMetrics metrics(*registry, *identity);
  rr::bird::BirdControlClient control;
  rr::agent::BirdDriver driver({o.bird_config, o.bird_binary, o.scratch_dir}, control);

  // BIRD starts on a config with no peers yet; the first rebuild from the API fills them in.
  rr::bird::ReflectorConfig initial;
  initial.router_id = identity->address;
  initial.cluster_id = identity->cluster_id;
  initial.listen_address = identity->address;
  initial.listen_port = identity->port;
  if (auto s = driver.write_initial(initial); !s.ok()) {
    log.error("cannot write the initial BIRD configuration", {{"path", o.bird_config}, {"error", s.error().message}});
    return 1;
  }
  // Outlives `bird` and `agent`: BIRD's log lines reach it from the BirdProcess thread.
  rr::agent::SessionEvents session_events;
  rr::agent::BirdProcess bird({o.bird_binary, o.bird_config, o.bird_socket, {}});
  // Its own stop token: every return from main() stops BIRD and joins the thread before `bird` goes.
  std::jthread bird_thread;
  if (o.run_bird) {
    bird.set_on_exit([&log, &session_events](int status, bool restarting) {
      session_events.bird_exited();
      if (restarting) {
        log.warn("BIRD exited; restarting", {{"status", std::to_string(status)}});
      } else {
        log.info("BIRD stopped", {{"status", std::to_string(status)}});
      }
    });
    bird.set_log_sink([&session_events](std::string_view line) { session_events.log_line(line); });
    bird_thread = std::jthread([&bird](std::stop_token own) { bird.run(own); });
  }
  if (auto c = control.connect(o.bird_socket, std::chrono::seconds(5)); !c.ok()) {
    log.warn("BIRD control socket not answering yet", {{"socket", o.bird_socket}, {"error", c.error().message}});
  }

  rr::agent::AgentOptions aopts;
  aopts.self = *identity;
  aopts.client_port = o.client_port;
  aopts.session_poll = o.session_poll;
  aopts.session_resync = o.session_resync;
  aopts.session_settle = o.session_settle;
  aopts.session_settle_max = o.session_settle_max;
  if (o.run_bird) aopts.session_events = &session_events;
  aopts.ready_grace = o.ready_grace;
  aopts.secret_refresh = o.secret_refresh;
  if (o.connect_retry || o.connect_delay || o.error_wait_min || o.error_wait_max) aopts.timers = timers;
  kube::Watchdog watchdog(kube::RealClock::instance(), o.stall_timeout);
  aopts.watchdog = &watchdog;
  rr::agent::ReflectorAgent agent(**client, aopts, driver, control, metrics, log);
  auto probes = kube::ProbeServer::start({o.metrics_address, registry, [&watchdog] { return watchdog.check(); },
                                          [&] { return agent.ready(); }});
  if (!probes.ok()) {
    log.error("cannot serve metrics", {{"address", o.metrics_address}, {"error", probes.error().message}});
    return 1;
  }
  log.info("starting", {{"pod", identity->pod},
                        {"fabric", identity->fabric},
                        {"rack", identity->rack},
                        {"cluster_id", identity->cluster_id},
                        {"address", identity->address + ":" + std::to_string(identity->port)},
                        {"url", (*probes)->url()}});
  agent.run(stop.get_token());
  log.info("stopped");
  return 0;
}
