#pragma once
// `kubectl rr status`: a RouteReflectorCluster's status laid out for a terminal. The same
// facts the CRD status holds (conditions, racks, reflectors, sessions), ordered so that the
// worst problem comes first: the fabric's own problem, then racks without a Ready reflector,
// racks short of reflectors, racks with sessions down, then the healthy ones.

#include <chrono>
#include <string>
#include <vector>

#include "kube/object.h"

namespace rr::cli {

// One fabric (a RouteReflectorCluster object as the API returns it). `now` dates the
// conditions' lastTransitionTime ("for 3m12s").
std::string render_status(const kube::Json& fabric, std::chrono::system_clock::time_point now);

// Several fabrics, the unhealthy ones first (not Ready, then Degraded), each as render_status.
std::string render_statuses(std::vector<kube::Json> fabrics, std::chrono::system_clock::time_point now);

// 0 when every fabric is Ready, 1 otherwise: `kubectl rr status || page-someone`.
int status_exit_code(const std::vector<kube::Json>& fabrics);

// "3m12s", "2h5m", "4d3h": how long ago an RFC 3339 time was; "?" when it does not parse.
std::string age(const std::string& rfc3339, std::chrono::system_clock::time_point now);

}  // namespace rr::cli
