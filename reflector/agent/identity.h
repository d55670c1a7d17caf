#pragma once
// Who this agent is: the reflector Pod's identity and placement, handed over
// by the operator through the Pod's environment (contract/well_known.h names).

#include <functional>
#include <string>
#include <string_view>

#include "contract/types.h"
#include "kube/result.h"

namespace rr::agent {

struct AgentIdentity {
  std::string pod;
  // The Pod's UID: the Lease's holderIdentity, so that the operator counts this
  // Pod's renewals and never a predecessor's of the same name. Empty (a Pod
  // rendered by an operator of the previous version): the Pod's name holds it.
  std::string uid;
  std::string ns;
  std::string node;
  std::string fabric;
  contract::Tier tier = contract::Tier::Rack;
  std::string rack;        // a rack reflector's; empty for a top-tier one
  std::string zone;        // a top-tier reflector's zone ("" = fabric-wide)
  std::string cluster_id;  // IPv4 format, the rack's BGP cluster ID
  std::string address;     // the host's IPv4 address: router id and listen address
  int port = 179;          // where this reflector's BIRD listens
  int lease_duration_seconds = 15;
  std::string address_v6;  // optional

  const std::string& lease_holder() const { return uid.empty() ? pod : uid; }
};

// Reads RR_POD_NAME, RR_NAMESPACE, RR_NODE_NAME, RR_HOST_IP, RR_FABRIC,
// RR_CLUSTER_ID (required), RR_TIER ("rack" or "top"; absent: rack), RR_RACK
// (required for a rack reflector), RR_ZONE (a top-tier reflector's zone),
// RR_POD_UID (optional: Pods of the previous version lack it), RR_BGP_PORT
// (default 179), RR_LEASE_DURATION_SECONDS (default 15) and RR_HOST_IPV6 (optional).
// ErrorKind::BadConfig naming every missing or malformed variable, joined by "; ".
kube::Result<AgentIdentity> identity_from_env(std::function<const char*(const char*)> getenv);

// Where /metrics, /healthz and /readyz listen: `configured` (--metrics-address)
// when set, else the host's address (RR_HOST_IP, the kubelet's status.hostIP) on
// port 9179. The Pod is on the host network: a wildcard address would serve the
// agent's endpoints on every interface of the host; the kubelet probes a
// hostNetwork Pod at status.hostIP, so that address is all it needs.
std::string metrics_listen_address(const std::string& configured, const AgentIdentity& self);

}  // namespace rr::agent
