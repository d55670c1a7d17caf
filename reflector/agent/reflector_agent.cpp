#include "agent/reflector_agent.h"

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "agent/config_builder.h"
#include "bird/config_renderer.h"
#include "contract/fabric_spec.h"
#include "contract/observed.h"
#include "contract/well_known.h"
#include "kube/backoff.h"

namespace rr::agent {
namespace {

using kube::Json;

}  // namespace

ReflectorAgent::ReflectorAgent(kube::KubeClient& client, AgentOptions options, BirdDriver& driver,
                               bird::BirdControlClient& control, AgentMetrics& metrics, kube::Logger& log,
                               kube::Clock& clock)
    : client_(client),
      options_(std::move(options)),
      driver_(driver),
      control_(control),
      metrics_(metrics),
      log_(log),
      clock_(clock),
      liveness_(clock, std::chrono::seconds(0)),
      lease_(client, options_.self, clock),
      secrets_(client, options_.self.ns, log),
      warm_up_(options_.ready_grace),
      poll_({options_.session_events != nullptr, options_.session_resync, options_.session_settle,
             options_.session_settle_max}) {
  if (options_.session_events != nullptr) {
    options_.session_events->set_wake([this] {
      std::lock_guard lock(mu_);
      poll_now_ = true;
      cv_.notify_all();
    });
  }
  lease_.set_on_result([this](bool ok, const kube::Error* error) {
    metrics_.lease_renewal(ok);
    if (!ok && error && error->kind != kube::ErrorKind::Cancelled) {
      log_.warn("lease renewal failed; BGP keeps running", {{"error", error->describe()}});
    }
  });
}

ReflectorAgent::~ReflectorAgent() {
  if (options_.session_events != nullptr) options_.session_events->set_wake(nullptr);
  for (auto* i : {leases_.get(), fabric_.get()}) {
    if (i) i->stop();
  }
  if (nodes_) nodes_->stop();
}

void ReflectorAgent::mark_dirty() {
  std::lock_guard lock(mu_);
  dirty_ = true;
  cv_.notify_all();
}

kube::Watcher::ErrorSink ReflectorAgent::log_errors(std::string what) {
  return [this, what](const kube::Error& e) {
    if (e.kind == kube::ErrorKind::Cancelled) return;  // shutting down
    log_.warn("cannot list or watch; retrying", {{"what", what}, {"error", e.describe()}});
  };
}

void ReflectorAgent::start_fabric_informer() {
  kube::InformerOptions o;
  o.watch.field_selector = "metadata.name=" + options_.self.fabric;
  fabric_ = std::make_unique<kube::Informer<Json>>(client_, contract::route_reflector_clusters(), o, kube::keep_whole_object,
                                                   clock_);
  auto dirty = [this](auto&&...) { mark_dirty(); };
  fabric_->add_handlers({dirty, dirty, dirty});
  fabric_->set_error_sink(log_errors("RouteReflectorCluster " + options_.self.fabric));
  fabric_->start();
}

std::optional<contract::FabricSpec> ReflectorAgent::fabric_spec() const {
  auto obj = fabric_->store().get(options_.self.fabric);
  if (!obj) return std::nullopt;
  auto spec = contract::parse_fabric(*obj, options_.default_image);
  if (!spec.ok()) return std::nullopt;
  return spec.value();
}

bool ReflectorAgent::start_scoped_informers(const contract::FabricSpec& spec) {
  if (nodes_ && spec.rack_label == scoped_rack_label_) return true;
  if (nodes_) {
    // The rack label itself changed: the node watch must be re-scoped.
    nodes_->stop();
    nodes_.reset();
  }
  kube::InformerOptions node_options;
  node_options.watch.label_selector = spec.rack_label + "=" + options_.self.rack;
  // One rack of a large cluster: from the API server's watch cache, not a scan of every Node in etcd.
  node_options.watch.list_from_cache = true;
  nodes_ = std::make_unique<kube::Informer<contract::NodeInfo>>(client_, kube::resources::nodes(), node_options,
                                                              contract::node_info_from, clock_);
  nodes_->add_handlers({[this](const std::string&, const contract::NodeInfo&) { mark_dirty(); },
                        [this](const std::string&, const contract::NodeInfo& a, const contract::NodeInfo& b) {
                          if (!(a == b)) mark_dirty();
                        },
                        [this](const std::string&, const contract::NodeInfo&) { mark_dirty(); }});
  nodes_->set_error_sink(log_errors("nodes of rack " + options_.self.rack));
  nodes_->start();
  scoped_rack_label_ = spec.rack_label;

  if (!leases_) {
    kube::InformerOptions lease_options;
    lease_options.watch.ns = options_.self.ns;
    lease_options.watch.label_selector = std::string(contract::kClusterLabel) + "=" + options_.self.fabric;
    // Reconnect within 2 s once the API is back: failed attempts restart the liveness clocks.
    lease_options.watch.backoff.max = std::chrono::seconds(2);
    leases_ = std::make_unique<kube::Informer<Json>>(client_, kube::resources::leases(), lease_options,
                                                     kube::keep_whole_object, clock_);
    // Read type-checked: another agent wrote this Lease (Json::value() would throw on a wrong type).
    auto observe = [this](const std::string& key, const Json& lease) {
      liveness_.observe_lease(key, contract::lease_record_from(lease));
    };
    leases_->add_handlers({[this, observe](const std::string& k, const Json& l) {
                             observe(k, l);
                             mark_dirty();
                           },
                           [this, observe](const std::string& k, const Json& a, const Json& b) {
                             observe(k, b);
                             // A renewal alone changes nothing BIRD needs; an address or port change does.
                             if (kube::annotations_of(a) != kube::annotations_of(b)) mark_dirty();
                           },
                           [this](const std::string& k, const Json&) {
                             liveness_.forget_lease(k);
                             mark_dirty();
                           }});
    leases_->set_error_sink([this, log = log_errors("reflector Leases")](const kube::Error& e) {
      liveness_.observation_lost("leases");
      log(e);
    });
    leases_->set_resume_sink([this] {
      liveness_.observation_resumed("leases");
      mark_dirty();  // every mesh peer is judged again from now
    });
    leases_->start();
  }
  return true;
}

void ReflectorAgent::rebuild() {
  auto spec = fabric_spec();
  if (!spec) {
    auto obj = fabric_->store().get(options_.self.fabric);
    if (obj) {
      auto parsed = contract::parse_fabric(*obj, options_.default_image);
      log_.warn("fabric spec is invalid; BIRD keeps its last configuration",
                {{"fabric", options_.self.fabric}, {"error", parsed.ok() ? "" : parsed.error().message}});
    }
    return;
  }
  start_scoped_informers(*spec);
  if (!nodes_->has_synced() || !leases_->has_synced()) return;
  {
    // The passwords are read by the Secret thread (GETs that may hang while the API does must
    // not stall this loop): at once for a new spec generation, and a rebuild waits for that.
    std::lock_guard lock(secret_mu_);
    if (secrets_wanted_generation_ != spec->generation) {
      secrets_wanted_generation_ = spec->generation;
      secret_cv_.notify_all();
    }
    if (secrets_read_generation_ != spec->generation) return;  // it marks the agent dirty once read
  }

  AgentInputs in;
  in.self = options_.self;
  in.spec = *spec;
  in.client_port = options_.client_port;
  in.nodes = nodes_->store().list();
  in.mesh = mesh_now();
  built_mesh_ = in.mesh;
  next_resync_ = clock_.now() + options_.resync_period;
  in.secrets = secrets_.values();
  auto built = build_reflector_config(in);
  if (!built.ok()) {
    std::lock_guard lock(mu_);
    if (config_error_ != built.error().message) {
      log_.error("cannot build BIRD configuration; BIRD keeps its last one", {{"error", built.error().message}});
    }
    config_error_ = built.error().message;
    return;
  }
  bird::ReflectorConfig config = std::move(built->config);
  {
    std::lock_guard lock(mu_);
    zone_ = built->zone;
  }
  if (options_.timers) {
    config.timers.connect_retry_seconds = options_.timers->connect_retry_seconds;
    config.timers.connect_delay_seconds = options_.timers->connect_delay_seconds;
    config.timers.error_wait_min_seconds = options_.timers->error_wait_min_seconds;
    config.timers.error_wait_max_seconds = options_.timers->error_wait_max_seconds;
  }
  std::string digest;
  for (const auto& w : built->warnings) digest += w + "\n";
  if (digest != last_warning_digest_) {
    for (const auto& w : built->warnings) log_.warn("skipped", {{"detail", w}});
    last_warning_digest_ = digest;
  }
  auto outcome = driver_.apply(config);
  std::lock_guard lock(mu_);
  apply_failed_ = outcome == ApplyOutcome::Failed;
  switch (outcome) {
    case ApplyOutcome::Unchanged:
      if (!configured_ || running_spec_generation_ != spec->generation) ++running_generation_;
      running_spec_generation_ = spec->generation;
      running_ = config;
      configured_ = true;
      warm_up_.configured(clock_.now());
      config_error_.clear();  // what BIRD runs is what the API asks for
      break;
    case ApplyOutcome::Reconfigured:
      ++applies_;
      ++running_generation_;
      running_spec_generation_ = spec->generation;
      running_ = config;
      configured_ = true;
      warm_up_.configured(clock_.now());
      config_error_.clear();
      metrics_.reconfiguration("success");
      log_.info("BIRD reconfigured", {{"peers", std::to_string(config.peers.size())}});
      break;
    case ApplyOutcome::Refused:
      if (config_error_ != driver_.last_error()) {  // once per refused config, not once per rebuild
        config_error_ = driver_.last_error();
        metrics_.reconfiguration("refused");
        log_.error("BIRD refused the configuration; the last good one stays", {{"error", config_error_}});
      }
      break;
    case ApplyOutcome::Failed:
      metrics_.reconfiguration("failed");
      log_.warn("BIRD unreachable; will retry", {{"error", driver_.last_error()}});
      break;
  }
}

std::vector<contract::ReflectorLease> ReflectorAgent::mesh_now() {
  std::vector<contract::ReflectorLease> mesh;
  if (!leases_) return mesh;
  // Judge the other reflectors' Leases only while the API demonstrably answers us:
  // during an API outage nobody's renewals are visible, and dropping the mesh then
  // would cut cross-rack routes although every reflector still runs. BGP must not
  // depend on the API, so the mesh is kept as last seen until the API is back.
  const bool api_answers = lease_.renewed_within(lease_.renew_period() * 3 / 2);
  for (const auto& obj : leases_->store().list()) {
    auto verdict = liveness_.judge_lease(kube::key_of(*obj));
    if (!verdict.fresh && api_answers) continue;  // a reflector that stopped renewing leaves the mesh
    if (!verdict.known) continue;
    if (auto lease = contract::reflector_lease_from(*obj)) mesh.push_back(*lease);
  }
  return mesh;
}

bool ReflectorAgent::rebuild_due(kube::Clock::TimePoint now) {
  {
    std::lock_guard lock(mu_);
    // Not yet configured, or the last attempt failed: keep trying.
    if (!configured_ || !config_error_.empty() || apply_failed_) return true;
  }
  return now >= next_resync_ || mesh_now() != built_mesh_;
}

void ReflectorAgent::read_secrets(std::stop_token stop) {
  std::stop_callback wake(stop, [this] {
    std::lock_guard lock(secret_mu_);
    secret_cv_.notify_all();
  });
  // A Secret that could not be read (the Role that grants it not written yet, the Secret not
  // created yet, the API away) is read again soon, backing off to --secret-refresh: a session
  // that needs its password must not wait a whole refresh for a grant that came a second late.
  kube::Backoff retry({std::chrono::seconds(1), options_.secret_refresh, 2.0, 0.2});
  kube::Clock::Duration wait = options_.secret_refresh;
  while (!stop.stop_requested()) {
    bool asked;
    {
      std::unique_lock lock(secret_mu_);
      // Every --secret-refresh (sooner after a failed read), or at once when a rebuild saw a
      // spec generation not read for yet.
      asked = secret_cv_.wait_for(lock, wait, [&] {
        return stop.stop_requested() || secrets_wanted_generation_ != secrets_read_generation_;
      });
    }
    if (stop.stop_requested()) return;
    auto spec = fabric_spec();
    if (!spec) continue;
    const bool changed = secrets_.refresh(*spec);
    {
      std::lock_guard lock(secret_mu_);
      secrets_read_generation_ = spec->generation;
    }
    if (changed || asked) mark_dirty();
    if (secrets_.failures().empty()) {
      retry.reset();
      wait = options_.secret_refresh;
    } else {
      wait = std::min<kube::Clock::Duration>(retry.next(), options_.secret_refresh);
    }
  }
}

kube::Status ReflectorAgent::query_bird(const PollRequest& request) {
  switch (request.kind) {
    case PollKind::Protocols:
      for (const auto& name : request.protocols) {
        metrics_.bird_query("one");
        auto one = control_.show_protocol_all(name);
        if (!one.ok()) return one.error();
        poll_.protocols({name}, std::move(one).value(), clock_.now());
      }
      return {};
    case PollKind::Status: {
      metrics_.bird_query("status");
      auto status = control_.show_status();
      if (!status.ok()) return status.error();
      if (!poll_.status(*status)) return {};
      [[fallthrough]];  // BIRD restarted since the last poll: everything it said is void
    }
    case PollKind::Full: {
      metrics_.bird_query("all");
      auto all = control_.show_protocols_all();
      if (!all.ok()) return all.error();
      poll_.full(std::move(all).value(), clock_.now());
      return {};
    }
  }
  return {};
}

void ReflectorAgent::log_transitions(const std::vector<bird::ProtocolState>& states) {
  std::map<std::string, bool> now;
  for (const auto& p : states) {
    if (!p.is_bgp() || !bird::role_of_protocol(p.name)) continue;
    const bool up = p.established();
    now.emplace(p.name, up);
    auto before = session_up_.find(p.name);
    if (before != session_up_.end() && before->second == up) continue;
    if (up) {
      log_.info("BGP session up", {{"protocol", p.name}, {"neighbor", p.neighbor_address}});
    } else if (before != session_up_.end()) {  // a session never seen up is not news
      log_.info("BGP session down", {{"protocol", p.name}, {"neighbor", p.neighbor_address},
                                     {"state", p.bgp_state}, {"error", p.last_error}});
    }
  }
  session_up_ = std::move(now);
}

std::vector<std::string> ReflectorAgent::settled_top_tier_sessions(const std::set<std::string>& settled) const {
  std::set<std::string> tops;
  for (const auto& lease : built_mesh_) {
    if (lease.tier == contract::Tier::Top) tops.insert(lease.name);
  }
  std::map<std::string, std::string> peer_of;  // protocol -> top-tier reflector (its IPv4 session)
  for (const auto& peer : running_.peers) {
    if (peer.role == bird::PeerRole::Mesh && tops.count(peer.name)) {
      peer_of.emplace(bird::protocol_name(peer.role, peer.name), peer.name);
    }
  }
  std::vector<std::string> out;
  for (const auto& [protocol, peer] : peer_of) {
    if (settled.count(protocol) != 0) out.push_back(peer);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int ReflectorAgent::settled_sessions(const std::set<std::string>& settled) const {
  int out = 0;
  for (const auto& peer : running_.peers) out += settled.count(bird::protocol_name(peer.role, peer.name)) != 0 ? 1 : 0;
  return out;
}

void ReflectorAgent::poll_sessions() {
  std::int64_t polling_spec_generation = 0;
  bool reconfigured = false;  // BIRD runs another configuration than at the last poll
  {
    std::lock_guard lock(mu_);
    poll_now_ = false;
    polling_spec_generation = running_spec_generation_;
    if (polled_generation_ != running_generation_) {
      reconfigured = true;
      std::vector<std::string> protocols;
      protocols.reserve(running_.peers.size());
      for (const auto& peer : running_.peers) protocols.push_back(bird::protocol_name(peer.role, peer.name));
      poll_.configured(protocols);
      polled_generation_ = running_generation_;
    }
  }
  const auto events = options_.session_events != nullptr ? options_.session_events->take() : SessionEvents::Taken{};
  const bool ok = query_bird(poll_.next(clock_.now(), events)).ok();
  if (!ok) poll_.failed();
  // After a reconfiguration the counts are recomputed whatever changed: they are about its peers.
  const bool changed = poll_.take_changed() || reconfigured;
  const auto states = ok && changed ? poll_.states() : std::vector<bird::ProtocolState>{};
  if (ok && changed) log_transitions(states);
  std::lock_guard lock(mu_);
  bird_up_ = ok;
  metrics_.set_bird_up(ok);
  if (!ok) {
    sessions_.established = 0;  // none that BIRD vouches for; the Lease reports as much
    sessions_.settled = 0;
    upstream_.clear();
    return;
  }
  if (changed) {
    const auto settled = poll_.settled();
    sessions_ = metrics_.update_sessions(states, running_);
    sessions_.settled = settled_sessions(settled);
    upstream_ = settled_top_tier_sessions(settled);
  }
  sessions_spec_generation_ = polling_spec_generation;
  if (configured_) warm_up_.polled(sessions_, clock_.now());
}

void ReflectorAgent::run(std::stop_token stop) {
  start_fabric_informer();
  std::jthread lease_thread([this](std::stop_token s) {
    lease_.run(
        [this] {
          std::lock_guard lock(mu_);
          return LeaseReport{sessions_.settled, sessions_.total, config_error_, zone_, upstream_,
                             sessions_spec_generation_};
        },
        s);
  });
  std::jthread secret_thread([this](std::stop_token s) { read_secrets(s); });
  std::stop_callback wake(stop, [this] {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  });
  auto heartbeat = options_.watchdog ? options_.watchdog->watch("agent main loop") : kube::Watchdog::Loop();
  auto next_poll = clock_.now();
  auto next_rebuild = clock_.now();
  while (!stop.stop_requested()) {
    heartbeat.beat();
    bool dirty;
    bool poll_now;
    {
      std::unique_lock lock(mu_);
      // Wakes at once for a change; otherwise on the tick that drives polls and rebuilds.
      cv_.wait_for(lock, options_.debounce, [&] { return stop.stop_requested() || dirty_ || poll_now_; });
      dirty = dirty_;
      dirty_ = false;
      poll_now = poll_now_;
    }
    if (stop.stop_requested()) break;
    auto now = clock_.now();
    if (dirty || now >= next_rebuild) {
      if (dirty || rebuild_due(now)) rebuild();
      next_rebuild = now + options_.rebuild_period;
    }
    if (now >= next_poll) {
      poll_sessions();
      next_poll = now + options_.session_poll;
    } else if (poll_now) {
      poll_sessions();  // what BIRD's log named, at once; the tick stays where it was
    }
  }
  lease_thread.request_stop();
  secret_thread.request_stop();
}

kube::ProbeResult ReflectorAgent::ready() const {
  std::lock_guard lock(mu_);
  if (!bird_up_) return {false, "BIRD is not answering on its control socket"};
  if (!configured_) return {false, "BIRD has not loaded a configuration built from the API yet"};
  if (!lease_.healthy()) return {false, "cannot renew the Lease: the Kubernetes API is unreachable (BGP keeps running)"};
  if (!warm_up_.warm()) return {false, warm_up_.waiting_for()};
  return {};
}

SessionCounts ReflectorAgent::sessions() const {
  std::lock_guard lock(mu_);
  return sessions_;
}

}  // namespace rr::agent
