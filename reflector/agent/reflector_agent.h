#pragma once
// rr-agent's core: watches the API for the reflector's fabric, its rack's
// Nodes and the fabric's reflector Leases, reads the password Secrets the
// fabric names by name (SecretReader: never a list or watch); rebuilds
// BIRD's config when any of them changes (and BIRD reloads without touching
// unchanged sessions); holds the reflector's Lease with session counts; and
// exports session state. BGP keeps running when the API does not answer.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>

#include "agent/agent_metrics.h"
#include "agent/bird_driver.h"
#include "agent/identity.h"
#include "agent/lease_keeper.h"
#include "agent/secret_reader.h"
#include "agent/session_events.h"
#include "agent/session_poll.h"
#include "agent/warm_up.h"
#include "bird/control_client.h"
#include "contract/liveness_tracker.h"
#include "contract/types.h"
#include "kube/informer.h"
#include "kube/logger.h"
#include "kube/probe_server.h"
#include "kube/watchdog.h"

namespace rr::agent {

struct AgentOptions {
  AgentIdentity self;
  int client_port = 179;
  std::optional<bird::BgpTimers> timers;  // overrides the connect/error timers (tests use short ones)
  std::chrono::milliseconds session_poll{2000};
  // BIRD's log as the agent's BirdProcess passes it on (nullptr: a BIRD the agent does not run,
  // whose log it cannot read). With it, a poll reads only the sessions that changed, and every
  // session only every session_resync (SessionPoll); without it, every poll reads every session.
  SessionEvents* session_events = nullptr;
  std::chrono::milliseconds session_resync{60000};
  // When an Established session counts as settled, its initial route exchange over
  // (SessionPoll): route counts quiet this long, or Established this long whatever they do.
  std::chrono::milliseconds session_settle{2000};
  std::chrono::milliseconds session_settle_max{30000};
  std::chrono::milliseconds debounce{100};
  // How often the one input that changes with time alone is looked at: which other
  // reflectors' Leases are fresh. The whole config is rebuilt only when that changed.
  std::chrono::milliseconds rebuild_period{1000};
  // A whole rebuild at least this often, even when nothing seems to have changed.
  std::chrono::milliseconds resync_period{30000};
  // How often the named password Secrets are read again (GET each); at once, too, when the
  // fabric's spec changes, and sooner (1 s, doubling up to this) after a read failed
  // (--secret-refresh).
  std::chrono::milliseconds secret_refresh{30000};
  std::string default_image;
  // /readyz waits for the BGP sessions of a new reflector at most this long after its first
  // configuration (WarmUp).
  std::chrono::milliseconds ready_grace{60000};
  // Optional (/healthz): the main loop beats it every time round, so a rebuild or a
  // session poll that hangs shows.
  kube::Watchdog* watchdog = nullptr;
};

class ReflectorAgent {
 public:
  ReflectorAgent(kube::KubeClient& client, AgentOptions options, BirdDriver& driver, bird::BirdControlClient& control,
                 AgentMetrics& metrics, kube::Logger& log, kube::Clock& clock = kube::RealClock::instance());
  ~ReflectorAgent();

  // Runs until `stop`: informers, the Lease keeper, config rebuilds and session polls.
  void run(std::stop_token stop);
  // Nudges a rebuild (informer handlers call this).
  void mark_dirty();

  // BIRD runs a config we built, its sessions came up (WarmUp), and the API heard from us
  // within the lease duration.
  kube::ProbeResult ready() const;
  SessionCounts sessions() const;
  int applies() const { return applies_; }

 private:
  void start_fabric_informer();
  // A watch error sink that logs what cannot be listed or watched, and why (not Cancelled).
  kube::Watcher::ErrorSink log_errors(std::string what);
  bool start_scoped_informers(const contract::FabricSpec& spec);
  std::optional<contract::FabricSpec> fabric_spec() const;
  void rebuild();
  // Between events, a rebuild is due only when this says so (cheap: no config is built).
  bool rebuild_due(kube::Clock::TimePoint now);
  // The other reflectors to mesh with now (their Leases fresh as this agent observed them).
  std::vector<contract::ReflectorLease> mesh_now();
  void poll_sessions();
  // The top-tier reflectors (of the last rebuild's Leases) whose session is settled.
  std::vector<std::string> settled_top_tier_sessions(const std::set<std::string>& settled) const;
  // How many sessions of the running configuration are settled.
  int settled_sessions(const std::set<std::string>& settled) const;
  // Asks BIRD what `request` says, into poll_; an error when BIRD did not answer.
  kube::Status query_bird(const PollRequest& request);
  // Logs every BGP session of ours that came up or went down since the last call.
  void log_transitions(const std::vector<bird::ProtocolState>& states);
  // The Secret thread: reads the named password Secrets every secret_refresh and whenever a
  // rebuild asks for a new spec generation; marks the agent dirty when they changed.
  void read_secrets(std::stop_token stop);

  kube::KubeClient& client_;
  AgentOptions options_;
  BirdDriver& driver_;
  bird::BirdControlClient& control_;
  AgentMetrics& metrics_;
  kube::Logger& log_;
  kube::Clock& clock_;
  contract::LivenessTracker liveness_;
  LeaseKeeper lease_;

  std::unique_ptr<kube::Informer<kube::Json>> fabric_;
  std::unique_ptr<kube::Informer<contract::NodeInfo>> nodes_;
  std::unique_ptr<kube::Informer<kube::Json>> leases_;
  SecretReader secrets_;
  std::string scoped_rack_label_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = true;
  bool poll_now_ = false;  // BIRD's log named a session: poll before the next tick
  bird::ReflectorConfig running_;  // what BIRD was last configured with
  // Bumped whenever running_'s peers may have changed; the poll then takes their protocol names.
  std::uint64_t running_generation_ = 0;
  bool configured_ = false;
  // The last apply failed (BIRD unreachable, no scratch space): retried on the next
  // rebuild tick, not at once, so that a lasting failure is no busy loop.
  bool apply_failed_ = false;
  bool bird_up_ = false;
  SessionCounts sessions_;
  WarmUp warm_up_;
  std::string config_error_;
  std::string last_warning_digest_;
  // Run-loop thread only.
  SessionPoll poll_;
  std::uint64_t polled_generation_ = 0;
  std::map<std::string, bool> session_up_;  // protocol -> Established, as last logged
  std::vector<contract::ReflectorLease> built_mesh_;  // the mesh of the last rebuild
  std::string zone_;                       // this reflector's zone, for its Lease
  std::int64_t running_spec_generation_ = 0;   // the fabric generation running_ was built from
  std::int64_t sessions_spec_generation_ = 0;  // ... and the one sessions_ describes (its Lease says)
  std::vector<std::string> upstream_;      // top-tier reflectors with an Established session, for its Lease
  kube::Clock::TimePoint next_resync_{};
  // The Secret thread (read_secrets) and the rebuilds agree on which spec generation the
  // passwords were read for.
  std::mutex secret_mu_;
  std::condition_variable secret_cv_;
  std::optional<std::int64_t> secrets_wanted_generation_;
  std::optional<std::int64_t> secrets_read_generation_;
  std::atomic<int> applies_{0};
};

}  // namespace rr::agent
