#include "controller/operator_metrics.h"

#include <string>

#include "api/observed.h"
#include "api/render.h"

namespace rr::controller {
namespace {
const char* const kResults[] = {"success", "error", "invalid", "conflict"};
const char* const kVerbs[] = {"get", "list", "watch", "create", "update", "patch", "delete"};
const char* const kWriteVerbs[] = {"create", "update", "patch", "delete"};
}  // namespace

OperatorMetrics::OperatorMetrics(prometheus::Registry& registry)
    : reconciles_(prometheus::BuildCounter()
                      .Name("rr_operator_reconciles_total")
                      .Help("Reconciles of RouteReflectorClusters by result")
                      .Register(registry)),
      reconcile_seconds_(prometheus::BuildHistogram()
                             .Name("rr_operator_reconcile_duration_seconds")
                             .Help("Time to reconcile one RouteReflectorCluster")
                             .Register(registry)),
      api_requests_(prometheus::BuildCounter()
                        .Name("rr_operator_api_requests_total")
                        .Help("Kubernetes API requests by verb and HTTP code (0: no response)")
                        .Register(registry)),
      reflectors_(prometheus::BuildGauge()
                      .Name("rr_operator_reflectors")
                      .Help("Reflectors of all fabrics by state")
                      .Register(registry)),
      bgp_peers_(prometheus::BuildGauge()
                     .Name("rr_operator_bgppeers_owned")
                     .Help("Calico BGPPeer objects the operator owns")
                     .Register(registry)),
      leader_(prometheus::BuildGauge()
                  .Name("rr_operator_leader")
                  .Help("1 while this replica holds the leader Lease")
                  .Register(registry)),
      uncovered_nodes_(prometheus::BuildGauge()
                           .Name("rr_operator_uncovered_nodes")
                           .Help("Calico nodes that hold Calico's node-to-node mesh on: served by no Ready fabric "
                                 "(or, with the mesh off, by no reflector)")
                           .Register(registry)),
      writes_(prometheus::BuildCounter()
                  .Name("rr_operator_api_writes_total")
                  .Help("Writes the applier made, by verb")
                  .Register(registry)),
      forged_leases_(prometheus::BuildCounter()
                         .Name("rr_operator_forged_leases_total")
                         .Help("Reflector Lease revisions ignored because the Pod they are named after contradicts "
                               "them, by the first field that disagrees (holder, fabric, rack, clusterID, address)")
                         .Register(registry)) {
  for (const char* r : kResults) reconciles_.Add({{"result", r}});
  for (auto s : planner::kReflectorStates) reflectors_.Add({{"state", std::string(api::to_string(s))}});
  for (const char* v : kVerbs) api_requests_.Add({{"verb", v}, {"code", "200"}});
  for (const char* v : kWriteVerbs) writes_.Add({{"verb", v}});
  for (const char* f : api::kLeaseContradictionFields) forged_leases_.Add({{"field", f}});
  bgp_peers_.Add({});
  leader_.Add({});
  uncovered_nodes_.Add({});
}

void OperatorMetrics::reconciled(std::string_view result, std::chrono::duration<double> took) {
  std::lock_guard lock(mu_);
  reconciles_.Add({{"result", std::string(result)}}).Increment();
  static const prometheus::Histogram::BucketBoundaries buckets{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
  reconcile_seconds_.Add({}, buckets).Observe(took.count());
}

void OperatorMetrics::api_request(std::string_view verb, int code) {
  std::lock_guard lock(mu_);
  api_requests_.Add({{"verb", std::string(verb)}, {"code", std::to_string(code)}}).Increment();
}

void OperatorMetrics::set_reflectors(std::string_view state, double count) {
  std::lock_guard lock(mu_);
  reflectors_.Add({{"state", std::string(state)}}).Set(count);
}

void OperatorMetrics::set_bgp_peers_owned(double count) {
  std::lock_guard lock(mu_);
  bgp_peers_.Add({}).Set(count);
}

void OperatorMetrics::set_uncovered_nodes(double count) {
  std::lock_guard lock(mu_);
  uncovered_nodes_.Add({}).Set(count);
}

void OperatorMetrics::set_leader(bool leader) {
  std::lock_guard lock(mu_);
  leader_.Add({}).Set(leader ? 1 : 0);
}

void OperatorMetrics::write(std::string_view verb) {
  std::lock_guard lock(mu_);
  writes_.Add({{"verb", std::string(verb)}}).Increment();
}

void OperatorMetrics::forged_lease(std::string_view field) {
  std::lock_guard lock(mu_);
  forged_leases_.Add({{"field", std::string(field)}}).Increment();
}

double OperatorMetrics::forged_leases(std::string_view field) const {
  std::lock_guard lock(mu_);
  return forged_leases_.Add({{"field", std::string(field)}}).Value();
}

double OperatorMetrics::reflectors(std::string_view state) const {
  std::lock_guard lock(mu_);
  return reflectors_.Add({{"state", std::string(state)}}).Value();
}

double OperatorMetrics::writes_total() const {
  std::lock_guard lock(mu_);
  double total = 0;
  for (const char* v : kWriteVerbs) total += writes_.Add({{"verb", v}}).Value();
  return total;
}

}  // namespace rr::controller
