// rr-operator: keeps RouteReflectorCluster fabrics true. Runs as 2+ replicas;
// one Lease elects the writer.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <prometheus/registry.h>

#include "contract/validation.h"
#include "controller/fabric_controller.h"
#include "controller/operator_metrics.h"
#include "kube/client_config.h"
#include "kube/event_recorder.h"
#include "kube/flags.h"
#include "kube/leader_elector.h"
#include "kube/logger.h"
#include "kube/probe_server.h"
#include "kube/process_main.h"
#include "kube/rest_kube_client.h"
#include "kube/watchdog.h"

namespace {

struct Options {
  std::string kubeconfig;
  std::string context;
  // Loopback unless told otherwise; deploy/ and the chart pass 0.0.0.0:8080 so Prometheus can scrape.
  std::string metrics_address = "127.0.0.1:8080";
  bool leader_elect = true;
  std::string leader_namespace = "rr-system";
  std::string leader_name = "rr-operator";
  std::string identity;
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  std::chrono::milliseconds startup_grace{120000};
  std::chrono::milliseconds host_not_ready_grace{30000};
  std::chrono::milliseconds mesh_settle{15000};
  std::chrono::milliseconds stall_timeout{60000};
  int workers = 2;
  double qps = 50;
  int burst = 100;
  std::string calico_api = "crd.projectcalico.org/v1";
  std::string reflector_image = "rr-agent:0.1.0";
  std::vector<std::string> allowed_images;      // besides reflector_image
  std::vector<std::string> allowed_namespaces;  // empty: {leader_namespace}, this operator's own
  std::string calico_password_namespace;         // empty: no copies of BGP passwords for calico-node
  std::string calico_node_service_account = "calico-node";
  kube::LogFlags log;
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::string hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// The last list/watch failure, for /readyz to name while the informers wait to sync.
class LastApiError {
 public:
  void set(std::string message) {
    std::lock_guard lock(mu_);
    message_ = std::move(message);
  }
  std::string get() const {
    std::lock_guard lock(mu_);
    return message_;
  }

 private:
  mutable std::mutex mu_;
  std::string message_;
};

// The leader election settings the flags give (callbacks and watchdog are main's).
kube::LeaderElectionConfig leader_election_config(const Options& o) {
  kube::LeaderElectionConfig le;
  le.lease_namespace = o.leader_namespace;
  le.lease_name = o.leader_name;
  le.identity = o.identity;
  le.lease_duration = o.lease_duration;
  le.renew_deadline = o.renew_deadline;
  le.retry_period = o.retry_period;
  return le;
}

// Those settings, checked at start (before any API call) and named as the user wrote them.
std::optional<std::string> leader_election_flags_error(const Options& o) {
  kube::LeaderElectionConfig le = leader_election_config(o);
  le.on_started_leading = [](std::stop_token) {};
  le.on_stopped_leading = [] {};
  auto s = kube::validate(le);
  if (s.ok()) return std::nullopt;
  std::string message = s.error().message;
  const std::pair<const char*, const char*> names[] = {
      {"lease_namespace", "--leader-election-namespace"}, {"lease_name", "--leader-election-id"},
      {"lease_duration", "--lease-duration"},             {"renew_deadline", "--renew-deadline"},
      {"retry_period", "--retry-period"},                 {"identity", "--identity"}};
  for (const auto& [field, flag] : names) {
    for (size_t at = message.find(field); at != std::string::npos; at = message.find(field, at + 1)) {
      message.replace(at, std::string_view(field).size(), flag);
    }
  }
  return message;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread: glibc would give each of the ~20 informer, worker and HTTP threads an
  // arena of its own (up to 8 per core), each keeping what it freed; at 100k Nodes a third
  // of the RSS was memory held that way (docs/benchmarks.md).
  mallopt(M_ARENA_MAX, 2);
  Options o;
  o.identity = hostname() + "_" + std::to_string(getpid());
  kube::FlagSet flags("rr-operator",
                      "Keeps BGP route-reflector fabrics (RouteReflectorCluster) true on a Calico cluster: reflector\n"
                      "Pods per rack, stable cluster IDs, one Calico BGPPeer per live reflector.");
  // No env fallback: $KUBECONFIG is kubectl's ':' list, which load_client_config reads (and merges) itself.
  flags.add_string("kubeconfig", &o.kubeconfig,
                   "kubeconfig file; empty: $KUBECONFIG (a ':' list, merged as kubectl does), in-cluster, "
                   "~/.kube/config");
  flags.add_string("context", &o.context, "kubeconfig context; empty: current-context", "RR_CONTEXT");
  flags.add_string("metrics-address", &o.metrics_address, "listen address of /metrics, /healthz, /readyz",
                   "RR_METRICS_ADDRESS");
  flags.add_bool("leader-elect", &o.leader_elect, "elect one writer among replicas through a Lease", "RR_LEADER_ELECT");
  flags.add_string("leader-election-namespace", &o.leader_namespace, "namespace of the leader Lease",
                   "RR_LEADER_ELECTION_NAMESPACE");
  flags.add_string("leader-election-id", &o.leader_name, "name of the leader Lease", "RR_LEADER_ELECTION_ID");
  flags.add_string("identity", &o.identity, "this replica's identity in the leader Lease (default: host_pid)",
                   "RR_IDENTITY");
  const std::chrono::milliseconds shortest_period(100);
  flags.add_duration("lease-duration", &o.lease_duration, "leader Lease duration", "RR_LEASE_DURATION",
                     shortest_period);
  flags.add_duration("renew-deadline", &o.renew_deadline, "a leader that cannot renew within this stops writing",
                     "RR_RENEW_DEADLINE", shortest_period);
  flags.add_duration("retry-period", &o.retry_period, "leader election retry period", "RR_RETRY_PERIOD",
                     shortest_period);
  flags.add_duration("reflector-startup-grace", &o.startup_grace,
                     "time past the lease duration a new reflector gets to publish its first Lease",
                     "RR_REFLECTOR_STARTUP_GRACE");
  flags.add_duration("host-not-ready-grace", &o.host_not_ready_grace,
                     "a reflector whose Node is NotReady is replaced once the Node has stayed NotReady this long",
                     "RR_HOST_NOT_READY_GRACE");
  flags.add_duration("mesh-settle", &o.mesh_settle,
                     "deleting a fabric keeps its BGPPeers until Calico's node-to-node mesh has been on this long",
                     "RR_MESH_SETTLE");
  flags.add_duration("stall-timeout", &o.stall_timeout,
                     "/healthz fails when leader election, informer sync or a reconcile makes no progress this long",
                     "RR_STALL_TIMEOUT");
  flags.add_int("workers", &o.workers, "concurrent reconciles (never two of one fabric)", "RR_WORKERS",
                kube::FlagSet::IntRange{1, 64});
  flags.add_double("kube-api-qps", &o.qps, "client-side rate limit", "RR_KUBE_API_QPS",
                   kube::FlagSet::DoubleRange{0.1, 100000});
  flags.add_int("kube-api-burst", &o.burst, "client-side burst", "RR_KUBE_API_BURST",
                kube::FlagSet::IntRange{1, 100000});
  flags.add_string("calico-api", &o.calico_api, "crd.projectcalico.org/v1 or projectcalico.org/v3", "RR_CALICO_API");
  flags.add_string("reflector-image", &o.reflector_image, "image for fabrics whose spec names none (always allowed)",
                   "RR_REFLECTOR_IMAGE");
  flags.add_string_list("allowed-reflector-images", &o.allowed_images,
                        "comma-separated exact image references a fabric's spec.reflectors.image may name besides "
                        "--reflector-image; any other holds the fabric (ImageNotAllowed)",
                        "RR_ALLOWED_REFLECTOR_IMAGES");
  flags.add_string_list("allowed-namespaces", &o.allowed_namespaces,
                        "comma-separated namespaces a fabric's spec.namespace may name (any other holds the fabric: "
                        "NamespaceNotAllowed); reflector Pods and Leases are watched there only, so rr-operator "
                        "needs their Role in each; empty: the --leader-election-namespace",
                        "RR_ALLOWED_NAMESPACES");
  flags.add_string("calico-password-namespace", &o.calico_password_namespace,
                   "calico-node's namespace (e.g. calico-system): keep there, per fabric, a copy of the password "
                   "Secret its BGPPeers name (rr-bgp-passwords-<fabric>) and a Role letting calico-node get it; "
                   "rr-operator needs secrets, roles and rolebindings rights there. Empty: off, the BGPPeers "
                   "name the Secret in spec.namespace",
                   "RR_CALICO_PASSWORD_NAMESPACE");
  flags.add_string("calico-node-service-account", &o.calico_node_service_account,
                   "calico-node's ServiceAccount in --calico-password-namespace, granted get on the copies",
                   "RR_CALICO_NODE_SERVICE_ACCOUNT");
  kube::add_log_flags(flags, o.log);
  auto command_line = kube::parse_command_line(flags, o.log, "rr-operator", argc, argv);
  if (command_line.exit_code) return *command_line.exit_code;
  rr::planner::CalicoApi calico_api;
  if (o.calico_api == "crd.projectcalico.org/v1") {
    calico_api = rr::planner::CalicoApi::CrdV1;
  } else if (o.calico_api == "projectcalico.org/v3") {
    calico_api = rr::planner::CalicoApi::ProjectCalicoV3;
  } else {
    std::cerr << "rr-operator: --calico-api must be crd.projectcalico.org/v1 or projectcalico.org/v3\n";
    return 2;
  }
  if (o.allowed_namespaces.empty()) o.allowed_namespaces = {o.leader_namespace};
  for (const auto& ns : o.allowed_namespaces) {
    if (!rr::contract::is_dns_label(ns)) {
      std::cerr << "rr-operator: --allowed-namespaces: \"" << ns << "\" is not a namespace name\n";
      return 2;
    }
  }
  if (!o.calico_password_namespace.empty() && !rr::contract::is_dns_label(o.calico_password_namespace)) {
    std::cerr << "rr-operator: --calico-password-namespace: \"" << o.calico_password_namespace
              << "\" is not a namespace name\n";
    return 2;
  }
  if (!rr::contract::is_dns_subdomain(o.calico_node_service_account)) {
    std::cerr << "rr-operator: --calico-node-service-account: \"" << o.calico_node_service_account
              << "\" is not a ServiceAccount name\n";
    return 2;
  }
  if (o.reflector_image.empty()) {
    std::cerr << "rr-operator: --reflector-image must not be empty\n";
    return 2;
  }
  // A standby's acquire loop goes round about every --retry-period, always within the lease duration.
  if (o.stall_timeout <= (o.leader_elect ? o.lease_duration : std::chrono::milliseconds::zero())) {
    std::cerr << "rr-operator: --stall-timeout must be greater than " << (o.leader_elect ? "--lease-duration" : "zero")
              << "\n";
    return 2;
  }
  if (o.leader_elect) {
    if (auto bad = leader_election_flags_error(o)) {
      std::cerr << "rr-operator: " << *bad << "\n";
      return 2;
    }
  }
  kube::Logger log("rr-operator", command_line.format, command_line.level);
  std::stop_source stop;
  auto signals = kube::stop_on_signals(stop, log);

  kube::KubeconfigOptions kopts;
  if (!o.context.empty()) kopts.context = o.context;
  auto config = kube::load_client_config(
      o.kubeconfig.empty() ? std::nullopt : std::optional<std::filesystem::path>(o.kubeconfig), kopts);
  if (!config.ok()) {
    log.error("cannot load Kubernetes client configuration", {{"error", config.error().message}});
    return 1;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  rr::controller::OperatorMetrics metrics(*registry);
  // Failed, refused for load, throttled or slow attempts (retries included), at debug level:
  // what a loop that fell behind, or a leader that missed its renew deadline, was waiting on.
  auto observe = [&metrics, &log](std::string_view client_name) {
    return [&metrics, &log, client_name](const kube::ApiAttempt& a) {
      metrics.api_request(a.verb, a.code);
      using std::chrono::seconds;
      if (a.code != 0 && a.code != 429 && a.code < 500 && a.took < seconds(1) && a.throttled < seconds(1)) return;
      auto ms = [](kube::Clock::Duration d) {
        return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
      };
      log.debug("api request", {{"client", std::string(client_name)},
                                {"verb", std::string(a.verb)},
                                {"target", std::string(a.target)},
                                {"attempt", std::to_string(a.attempt)},
                                {"code", std::to_string(a.code)},
                                {"took", ms(a.took)},
                                {"throttled", ms(a.throttled)},
                                {"error", a.error ? a.error->describe() : ""}});
    };
  };
  kube::RestClientOptions copts;
  copts.qps = o.qps;
  copts.burst = o.burst;
  copts.user_agent = "rr-operator/0.1.0";
  copts.observe = observe("controller");
  auto client = kube::RestKubeClient::connect(*config, copts);
  if (!client.ok()) {
    log.error("cannot create Kubernetes client", {{"error", client.error().describe()}});
    return 1;
  }
  // Leader election has a client of its own, as kube-controller-manager's has: its renewals
  // neither wait for the controller's rate limit (--kube-api-qps) nor for a connection while a
  // new leader's informers open theirs, so a busy leader does not miss its renew deadline.
  copts.observe = observe("leader-election");
  auto election_client = kube::RestKubeClient::connect(*config, copts);
  if (!election_client.ok()) {
    log.error("cannot create Kubernetes client", {{"error", election_client.error().describe()}});
    return 1;
  }
  log.info("starting", {{"server", config->server},
                        {"config", config->description},
                        {"identity", o.identity},
                        {"allowed-namespaces", join(o.allowed_namespaces)},
                        {"reflector-image", o.reflector_image},
                        {"allowed-reflector-images", join(o.allowed_images)},
                        {"calico-password-namespace", o.calico_password_namespace}});

  std::atomic<bool> synced{false};
  std::atomic<bool> leading{!o.leader_elect};
  // A leader still releases its Lease on the way out (bounded by the request deadline);
  // everyone else stops talking to the API at once, so a request stuck on an API server
  // that never answers cannot hold up a SIGTERM.
  std::atomic<bool> holds_lease{false};
  std::stop_callback close_client(stop.get_token(), [&] {
    if (holds_lease) return;
    (*client)->close();
    (*election_client)->close();
  });
  struct CloseOnExit {
    kube::RestKubeClient& client;
    ~CloseOnExit() { client.close(); }
  };
  LastApiError last_api_error;
  kube::Watchdog watchdog(kube::RealClock::instance(), o.stall_timeout);
  auto probes = kube::ProbeServer::start(
      {o.metrics_address, registry, [&watchdog] { return watchdog.check(); },
       [&] {
         if (synced) return kube::ProbeResult{};
         std::string last = last_api_error.get();
         return kube::ProbeResult{false, "informers not synced" + (last.empty() ? "" : "; last API error: " + last)};
       }});
  if (!probes.ok()) {
    log.error("cannot serve metrics", {{"address", o.metrics_address}, {"error", probes.error().message}});
    return 1;
  }
  log.info("serving /metrics, /healthz, /readyz", {{"url", (*probes)->url()}});

  kube::EventRecorder events(**client, kube::EventSource{"rr-operator", hostname()});
  rr::controller::ControllerOptions copt;
  copt.reconciler.startup_grace = o.startup_grace;
  copt.reconciler.host_not_ready_grace = o.host_not_ready_grace;
  copt.reconciler.mesh_settle = o.mesh_settle;
  copt.reconciler.calico_api = calico_api;
  copt.reconciler.default_image = o.reflector_image;
  copt.reconciler.policy.namespaces = o.allowed_namespaces;
  copt.reconciler.policy.images = o.allowed_images;
  copt.reconciler.calico_passwords = {o.calico_password_namespace, o.calico_node_service_account};
  copt.workers = o.workers;
  copt.watchdog = &watchdog;
  copt.on_error = [&log](const std::string& fabric, const kube::Error& e) {
    log.warn("reconcile failed; retrying", {{"fabric", fabric}, {"error", e.describe()}});
  };
  copt.on_watch_error = [&log, &last_api_error](const std::string& what, const kube::Error& e) {
    if (e.kind == kube::ErrorKind::Cancelled) return;  // shutting down
    log.warn("cannot list or watch; retrying", {{"what", what}, {"error", e.describe()}});
    last_api_error.set(what + ": " + e.describe());
  };
  // A reconcile of a large fabric frees tens of MB at its end (100k Nodes, 2,000 reflectors:
  // RSS stayed ~50 MB higher after the reconciles that follow the first plan); hand that back
  // too, at most once a second.
  auto last_trim = std::make_shared<std::atomic<std::int64_t>>(0);
  copt.on_reconciled = [&log, last_trim](const std::string& fabric, const rr::controller::ReconcileOutcome& out) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::steady_clock::now().time_since_epoch()).count();
    if (last_trim->exchange(now) != now) malloc_trim(0);
    const auto& c = out.plan.conditions;
    log.debug("reconciled", {{"fabric", fabric},
                             {"result", out.result},
                             {"ready", !c.empty() && c.front().status ? "true" : "false"},
                             {"reason", c.empty() ? "" : std::string(c.front().reason.name())}});
  };
  copt.on_calico_api = [&log](const kube::ResourceType& type, const std::optional<kube::Error>& error) {
    if (error) {
      log.warn("Calico API not served; every fabric reports CalicoAPIUnavailable until it is",
               {{"resource", type.describe()}, {"apiVersion", type.api_version()}, {"error", error->describe()}});
    } else {
      log.info("Calico API served again", {{"resource", type.describe()}, {"apiVersion", type.api_version()}});
    }
  };
  copt.on_namespace_access = [&log](const std::string& ns, const std::optional<kube::Error>& refusal) {
    if (refusal) {
      log.warn("namespace not watchable; its fabrics report NamespaceNotWatchable until it is (bind rr-operator's "
               "Role there)",
               {{"namespace", ns}, {"error", refusal->describe()}});
    } else {
      log.info("namespace watchable again", {{"namespace", ns}});
    }
  };
  // A list of 100k Nodes passes ~600 MB through the heap one page at a time; what it freed
  // goes back to the system rather than staying in the RSS.
  copt.on_nodes_listed = [] { malloc_trim(0); };
  copt.on_node_relist = [&log](const rr::planner::LabelKeys& keys) {
    std::string joined;
    for (const auto& k : keys) joined += (joined.empty() ? "" : ",") + k;
    log.info("a fabric reads a Node label not kept so far; relisting Nodes, fabrics wait for that list",
             {{"labelKeys", joined}});
  };
  copt.on_forged_lease = [&log](const std::string& lease, const std::string& fabric, const std::string& field,
                                const std::string& message) {
    log.warn("reflector Lease ignored: its Pod contradicts it",
             {{"lease", lease}, {"fabric", fabric}, {"field", field}, {"reason", message}});
  };
  rr::controller::FabricController controller(**client, copt, kube::RealClock::instance(), &metrics, &events);
  // Before the controller's informer threads are joined: none may still wait on the API.
  CloseOnExit close_on_exit{**client};

  auto run_controller = [&](std::stop_token leading_token) {
    controller.start_informers();
    {
      auto heartbeat = watchdog.watch("informer sync");
      // Short waits: a replica that stopped leading meanwhile must not linger here. Logged once a second.
      for (int waits = 1; !controller.wait_for_sync(std::chrono::milliseconds(100)); ++waits) {
        heartbeat.beat();
        if (leading_token.stop_requested()) return;
        if (waits % 10 == 0) log.info("waiting for informers to sync");
      }
    }
    if (leading_token.stop_requested()) return;
    synced = true;
    log.info("caches synced; reconciling");
    controller.run(leading_token);
  };

  if (!o.leader_elect) {
    run_controller(stop.get_token());
    log.info("stopped");
    return 0;
  }
  kube::LeaderElectionConfig le = leader_election_config(o);
  le.release_on_cancel = true;
  le.watchdog = &watchdog;
  bool lost = false;
  le.on_started_leading = [&](std::stop_token token) {
    holds_lease = true;
    if (stop.stop_requested()) return;
    log.info("became leader", {{"lease", o.leader_namespace + "/" + o.leader_name}});
    metrics.set_leader(true);
    leading = true;
    run_controller(token);
  };
  le.on_stopped_leading = [&] {
    metrics.set_leader(false);
    if (!stop.stop_requested()) lost = true;
    // The elector calls this on every exit, as client-go's does; a standby never led.
    if (holds_lease) log.info("stopped leading");
  };
  le.on_new_leader = [&](const std::string& id) { log.info("leader is", {{"identity", id}}); };
  if (auto s = kube::validate(le); !s.ok()) {
    log.error("invalid leader election settings", {{"error", s.error().message}});
    return 2;
  }
  synced = true;  // a standby is ready: it waits for the Lease
  kube::LeaderElector elector(**election_client, le);
  elector.set_on_error([&log](const kube::Error& e) { log.warn("leader election", {{"error", e.describe()}}); });
  elector.run(stop.get_token());
  if (lost) {
    // client-go's rule: a replica that lost leadership exits, and restarts clean.
    log.error("lost leadership; exiting");
    return 1;
  }
  log.info("stopped");
  return 0;
}
