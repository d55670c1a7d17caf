#include "node/standin.h"

#include "confd/bird16_renderer.h"

namespace rr::calico {

const kube::ResourceType& bgp_peers() {
  static const kube::ResourceType type{"crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", false};
  return type;
}
const kube::ResourceType& bgp_configurations() {
  static const kube::ResourceType type{"crd.projectcalico.org", "v1", "bgpconfigurations", "BGPConfiguration", false};
  return type;
}

namespace {

// An informer transform that parses with `parse` and leaves out (with a log line) what does not parse.
template <class T>
std::function<std::optional<T>(const kube::Json&)> parsed_by(kube::Result<T> (*parse)(const kube::Json&),
                                                             kube::Logger& log) {
  return [parse, &log](const kube::Json& obj) -> std::optional<T> {
    auto value = parse(obj);
    if (!value.ok()) {
      log.warn("ignoring an object calico-node would reject", {{"error", value.error().message}});
      return std::nullopt;
    }
    return std::move(*value);
  };
}

template <class T>
std::vector<T> values_of(const kube::Informer<T>& informer) {
  std::vector<T> out;
  for (const auto& p : informer.store().list()) out.push_back(*p);
  return out;
}

}  // namespace

CalicoNodeStandin::CalicoNodeStandin(kube::KubeClient& client, StandinOptions options, Bird16Driver& driver,
                                     kube::Logger& log)
    : options_(std::move(options)), driver_(driver), log_(log) {
  nodes_ = std::make_unique<kube::Informer<CalicoNode>>(client, kube::resources::nodes(), kube::InformerOptions{},
                                                        parsed_by<CalicoNode>(&node_from_json, log_));
  peers_ = std::make_unique<kube::Informer<BgpPeer>>(client, bgp_peers(), kube::InformerOptions{},
                                                     parsed_by<BgpPeer>(&bgp_peer_from_json, log_));
  configurations_ = std::make_unique<kube::Informer<BgpConfiguration>>(
      client, bgp_configurations(), kube::InformerOptions{},
      parsed_by<BgpConfiguration>(&bgp_configuration_from_json, log_));
  kube::InformerOptions secret_options;
  secret_options.watch.ns = options_.secret_namespace;
  secrets_ = std::make_unique<kube::Informer<SecretData>>(
      client, kube::resources::secrets(), secret_options,
      [](const kube::Json& secret) -> std::optional<SecretData> { return kube::decoded_secret_data(secret); });
}

CalicoNodeStandin::~CalicoNodeStandin() {
  secrets_->stop();
  configurations_->stop();
  peers_->stop();
  nodes_->stop();
}

void CalicoNodeStandin::changed() {
  {
    std::lock_guard lock(mu_);
    dirty_ = true;
  }
  cv_.notify_all();
}

void CalicoNodeStandin::start_informers() {
  auto wire = [this](auto& informer, const char* what) {
    using T = typename std::remove_reference_t<decltype(*informer)>::Handlers;
    informer->add_handlers(T{[this](const auto&, const auto&) { changed(); },
                             [this](const auto&, const auto&, const auto&) { changed(); },
                             [this](const auto&, const auto&) { changed(); }});
    informer->set_error_sink([this, what](const kube::Error& e) {
      log_.warn("watch error", {{"resource", what}, {"error", e.describe()}});
    });
    informer->start();
  };
  wire(nodes_, "nodes");
  wire(peers_, "bgppeers");
  wire(configurations_, "bgpconfigurations");
  wire(secrets_, "secrets");
}

bool CalicoNodeStandin::synced() const {
  return nodes_->has_synced() && peers_->has_synced() && configurations_->has_synced() && secrets_->has_synced();
}

NodeInputs CalicoNodeStandin::inputs() const {
  NodeInputs in;
  in.node_name = options_.node_name;
  in.program_kernel = options_.program_kernel;
  in.calico_node_selector = options_.calico_node_selector;
  in.nodes = values_of(*nodes_);
  in.peers = values_of(*peers_);
  in.configurations = values_of(*configurations_);
  for (const auto& key : secrets_->store().keys()) {
    auto data = secrets_->store().get(key);
    if (!data) continue;
    const std::string name = kube::split_key(key).second;
    for (const auto& [k, v] : *data) in.secrets[SecretKeyRef{name, k}] = v;
  }
  return in;
}

kube::ProbeResult CalicoNodeStandin::readiness(bool bird_running) const {
  if (!has_config_.load()) return {false, "no config rendered yet"};
  if (!bird_running) return {false, "BIRD is not running"};
  if (!current_loaded_.load()) return {false, "BIRD has not loaded the current config"};
  return {};
}

bool CalicoNodeStandin::wait_for_change(std::stop_token stop) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, stop, options_.resync, [this] { return dirty_; });
  dirty_ = false;
  return !stop.stop_requested();
}

void CalicoNodeStandin::render_and_apply(bool bird_running) {
  auto config = build_node_bird_config(inputs());
  if (!config.ok()) {
    log_.warn("cannot render this node's BIRD config yet", {{"error", config.error().message}});
    return;
  }
  std::string skipped;
  for (const auto& s : config->skipped) skipped += (skipped.empty() ? "" : "; ") + s;
  if (skipped != last_skipped_ && !skipped.empty()) log_.warn("peerings left out", {{"why", skipped}});
  last_skipped_ = skipped;
  const ApplyOutcome outcome = driver_.apply(render_bird16(*config), bird_running);
  has_config_ = driver_.has_config();
  // A refused text leaves the last good one loaded; Written means BIRD reads it when it starts.
  current_loaded_ = driver_.has_config() && !driver_.reload_pending();
  if (outcome == ApplyOutcome::Unchanged) return;
  const std::string sessions = std::to_string(config->mesh.size() + config->global_peers.size() +
                                              config->node_peers.size());
  if (outcome == ApplyOutcome::Refused || outcome == ApplyOutcome::Failed) {
    // Said once per distinct problem, not on every resync that meets it again.
    const std::string problem = std::string(to_string(outcome)) + driver_.last_error();
    if (problem != last_problem_) {
      log_.warn("BIRD config not loaded", {{"outcome", to_string(outcome)}, {"error", driver_.last_error()}});
    }
    last_problem_ = problem;
  } else {
    last_problem_.clear();
    log_.info("BIRD config applied", {{"outcome", to_string(outcome)},
                                      {"mesh", config->mesh_enabled ? "on" : "off"},
                                      {"sessions", sessions}});
  }
}

void CalicoNodeStandin::run(std::stop_token stop, const std::function<bool()>& bird_running,
                            const std::function<void()>& start_bird) {
  while (!stop.stop_requested() && !synced()) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, stop, std::chrono::milliseconds(200), [] { return false; });
  }
  while (wait_for_change(stop)) {
    render_and_apply(bird_running());
    if (!applied_once_ && driver_.has_config()) {
      applied_once_ = true;
      start_bird();
    }
  }
}

}  // namespace rr::calico
