#pragma once
// rr-agent's Prometheus series (bird_exporter's meanings, rr_ prefix).
// Session series carry only bounded labels (peer name, peer address, role, and
// where the reflector serves: tier "rack" or "top", rack, zone, cluster ID) and
// are removed when the session goes away.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "agent/identity.h"
#include "bird/bird_config.h"
#include "bird/reply_parser.h"

namespace rr::agent {

struct SessionCounts {
  int established = 0;
  // Established with the initial route exchange over (SessionPoll's settled): what the Lease
  // reports as established and what readiness waits for. Counted by the agent.
  int settled = 0;
  int total = 0;
  // Not established, and BIRD's last error for it is a socket error: tried, peer not there.
  int unreachable = 0;
};

class AgentMetrics {
 public:
  // The session series' tier, rack, zone and cluster_id are the identity's (rack "" on a
  // top-tier reflector, zone "" on a rack reflector).
  AgentMetrics(prometheus::Registry& registry, const AgentIdentity& identity);

  // From `show protocols all` and the config it runs: one series per BGP session.
  SessionCounts update_sessions(const std::vector<bird::ProtocolState>& protocols,
                                const bird::ReflectorConfig& config);
  // Down also drops every session series: nobody can vouch for a session BIRD does not report.
  void set_bird_up(bool up);
  void reconfiguration(std::string_view result);  // success | refused | failed
  void lease_renewal(bool ok);
  // One query of a session poll: all (`show protocols all`), one (`show protocols all "NAME"`)
  // or status (`show status`). Shows that polls cost what changed (SessionPoll).
  void bird_query(std::string_view query);

 private:
  struct SessionLabels {
    std::string peer, address, role;
  };
  prometheus::Labels labels_of(const SessionLabels& s) const;
  void remove_series(const SessionLabels& s);  // with mu_ held
  prometheus::Family<prometheus::Gauge>& session_up_;
  prometheus::Family<prometheus::Gauge>& prefixes_received_;
  prometheus::Family<prometheus::Gauge>& prefixes_exported_;
  prometheus::Family<prometheus::Gauge>& bird_up_;
  prometheus::Family<prometheus::Counter>& reconfigurations_;
  prometheus::Family<prometheus::Counter>& lease_renewals_;
  prometheus::Family<prometheus::Counter>& bird_queries_;
  std::string tier_;
  std::string rack_;
  std::string zone_;
  std::string cluster_id_;
  std::mutex mu_;
  std::map<std::string, SessionLabels> sessions_;  // protocol name -> labels of its live series
};

}  // namespace rr::agent
