#pragma once
// rr-operator's Prometheus series. Every series with a bounded label set is
// created at zero up front, so dashboards and alerts see it before it moves.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <mutex>
#include <string_view>

namespace rr::controller {

class OperatorMetrics {
 public:
  explicit OperatorMetrics(prometheus::Registry& registry);

  void reconciled(std::string_view result, std::chrono::duration<double> took);  // success|error|invalid|conflict
  void api_request(std::string_view verb, int code);
  void set_reflectors(std::string_view state, double count);  // summed over fabrics by the caller
  double reflectors(std::string_view state) const;
  void set_bgp_peers_owned(double count);
  void set_leader(bool leader);
  // Calico nodes that hold the node-to-node mesh on (or, with it off, have no reflector).
  void set_uncovered_nodes(double count);
  void write(std::string_view verb);  // create|update|patch|delete, for the zero-writes benchmark
  // A reflector Lease revision ignored because its Pod contradicts it (api::lease_contradiction);
  // `field` is one of api::kLeaseContradictionFields.
  void forged_lease(std::string_view field);
  double forged_leases(std::string_view field) const;

  double writes_total() const;

 private:
  prometheus::Family<prometheus::Counter>& reconciles_;
  prometheus::Family<prometheus::Histogram>& reconcile_seconds_;
  prometheus::Family<prometheus::Counter>& api_requests_;
  prometheus::Family<prometheus::Gauge>& reflectors_;
  prometheus::Family<prometheus::Gauge>& bgp_peers_;
  prometheus::Family<prometheus::Gauge>& leader_;
  prometheus::Family<prometheus::Gauge>& uncovered_nodes_;
  prometheus::Family<prometheus::Counter>& writes_;
  prometheus::Family<prometheus::Counter>& forged_leases_;
  mutable std::mutex mu_;
};

}  // namespace rr::controller
