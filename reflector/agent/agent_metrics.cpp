#include "agent/agent_metrics.h"

#include <set>

#include "bird/config_renderer.h"

namespace rr::agent {
namespace {

// BIRD's last error says the peer is not there at all: nothing answers at its address. Not a
// peer that answers and closes ("Connection closed": a client whose configuration does not
// know this reflector yet), which comes up soon.
bool peer_unreachable(std::string_view last_error) {
  if (!last_error.starts_with("Socket:")) return false;
  for (std::string_view cause : {"Connection refused", "No route to host", "Network is unreachable",
                                 "Host is unreachable", "Connection timed out"}) {
    if (last_error.find(cause) != std::string_view::npos) return true;
  }
  return false;
}

using prometheus::Labels;

std::string role_label(bird::PeerRole role) {
  switch (role) {
    case bird::PeerRole::Client: return "client";
    case bird::PeerRole::Mesh: return "mesh";
    case bird::PeerRole::External: return "external";
  }
  return "unknown";
}

}  // namespace

AgentMetrics::AgentMetrics(prometheus::Registry& registry, const AgentIdentity& identity)
    : session_up_(prometheus::BuildGauge()
                      .Name("rr_bgp_session_up")
                      .Help("1 when the BGP session with the peer is Established, else 0")
                      .Register(registry)),
      prefixes_received_(prometheus::BuildGauge()
                             .Name("rr_bgp_session_prefixes_received")
                             .Help("Routes imported from the peer, summed over address families")
                             .Register(registry)),
      prefixes_exported_(prometheus::BuildGauge()
                             .Name("rr_bgp_session_prefixes_exported")
                             .Help("Routes exported to the peer, summed over address families")
                             .Register(registry)),
      bird_up_(prometheus::BuildGauge()
                   .Name("rr_bird_up")
                   .Help("1 when BIRD answers on its control socket, else 0")
                   .Register(registry)),
      reconfigurations_(prometheus::BuildCounter()
                            .Name("rr_bird_reconfigurations_total")
                            .Help("Attempts to load a new BIRD configuration, by result")
                            .Register(registry)),
      lease_renewals_(prometheus::BuildCounter()
                          .Name("rr_lease_renewals_total")
                          .Help("Renewals of this reflector's Lease, by result")
                          .Register(registry)),
      bird_queries_(prometheus::BuildCounter()
                        .Name("rr_bird_session_queries_total")
                        .Help("Queries of BGP session state sent to BIRD, by query: all (every session), "
                              "one (one session BIRD's log named) or status (BIRD's liveness only)")
                        .Register(registry)),
      tier_(contract::tier_word(identity.tier)),
      rack_(identity.tier == contract::Tier::Top ? std::string() : identity.rack),
      zone_(identity.tier == contract::Tier::Top ? identity.zone : std::string()),
      cluster_id_(identity.cluster_id) {
  // Every series that can exist without a peer exists from the start, at zero.
  bird_up_.Add({}).Set(0);
  for (const char* result : {"success", "refused", "failed"}) reconfigurations_.Add({{"result", result}});
  for (const char* result : {"success", "failure"}) lease_renewals_.Add({{"result", result}});
  for (const char* query : {"all", "one", "status"}) bird_queries_.Add({{"query", query}});
}

prometheus::Labels AgentMetrics::labels_of(const SessionLabels& s) const {
  return Labels{{"peer", s.peer}, {"peer_address", s.address}, {"role", s.role}, {"tier", tier_},
                {"rack", rack_},  {"zone", zone_},            {"cluster_id", cluster_id_}};
}

void AgentMetrics::remove_series(const SessionLabels& s) {
  const Labels labels = labels_of(s);
  for (auto* family : {&session_up_, &prefixes_received_, &prefixes_exported_}) {
    if (family->Has(labels)) family->Remove(&family->Add(labels));
  }
}

SessionCounts AgentMetrics::update_sessions(const std::vector<bird::ProtocolState>& protocols,
                                            const bird::ReflectorConfig& config) {
  // BIRD's protocol names come from (role, stable name); map them back to the peers.
  std::map<std::string, const bird::Peer*> peers;
  for (const bird::Peer& peer : config.peers) peers.emplace(bird::protocol_name(peer.role, peer.name), &peer);
  std::map<std::string, const bird::ProtocolState*> states;
  for (const bird::ProtocolState& p : protocols) {
    if (p.is_bgp() && bird::role_of_protocol(p.name) && peers.count(p.name) != 0) states.emplace(p.name, &p);
  }

  std::lock_guard lock(mu_);

  // Series of peers no longer configured, or whose labels changed, go.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto peer = peers.find(it->first);
    const bool same = peer != peers.end() && peer->second->name == it->second.peer &&
                      peer->second->address == it->second.address &&
                      role_label(peer->second->role) == it->second.role;
    if (same) {
      ++it;
    } else {
      remove_series(it->second);
      it = sessions_.erase(it);
    }
  }

  // One series per configured peer: a session BIRD does not list (not loaded yet,
  // or refused) is a configured session that is not up.
  SessionCounts counts;
  for (const auto& [protocol, peer] : peers) {
    SessionLabels& s = sessions_[protocol];
    s = SessionLabels{peer->name, peer->address, role_label(peer->role)};
    const Labels labels = labels_of(s);
    auto state = states.find(protocol);
    const bool up = state != states.end() && state->second->established();
    const bird::RouteCounts routes = state != states.end() ? state->second->total_routes() : bird::RouteCounts{};
    session_up_.Add(labels).Set(up ? 1 : 0);
    prefixes_received_.Add(labels).Set(routes.imported);
    prefixes_exported_.Add(labels).Set(routes.exported);
    ++counts.total;
    if (up) ++counts.established;
    if (!up && state != states.end() && peer_unreachable(state->second->last_error)) ++counts.unreachable;
  }
  return counts;
}

void AgentMetrics::set_bird_up(bool up) {
  bird_up_.Add({}).Set(up ? 1 : 0);
  if (up) return;
  // Nobody can vouch for a session while BIRD does not answer: its series go until it does.
  std::lock_guard lock(mu_);
  for (const auto& [protocol, s] : sessions_) remove_series(s);
  sessions_.clear();
}

void AgentMetrics::reconfiguration(std::string_view result) {
  // Only the pre-created values: a label value is never made up from input.
  if (result == "success" || result == "refused" || result == "failed") {
    reconfigurations_.Add({{"result", std::string(result)}}).Increment();
  }
}

void AgentMetrics::bird_query(std::string_view query) {
  if (query == "all" || query == "one" || query == "status") bird_queries_.Add({{"query", std::string(query)}}).Increment();
}

void AgentMetrics::lease_renewal(bool ok) { lease_renewals_.Add({{"result", ok ? "success" : "failure"}}).Increment(); }

}  // namespace rr::agent
