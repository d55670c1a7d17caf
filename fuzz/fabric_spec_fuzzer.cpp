// RouteReflectorCluster objects (JSON, as the API server or kubectl hands
// them over) through parse_fabric, and every spec it accepts on through the
// planner and the renderers, so that no accepted spec can crash what follows.

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "api/observed.h"
#include "api/render.h"
#include "contract/fabric_spec.h"
#include "fuzz_support.h"
#include "planner/planner.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const kube::Json rrc = kube::Json::parse(rr::fuzz::as_text(data, size), nullptr, /*allow_exceptions=*/false);
  if (rrc.is_discarded()) return 0;
  (void)rr::contract::parse_fabric(rrc, "registry.example/rr-agent:fuzz");
  auto parsed = rr::contract::parse_fabric(rrc);
  if (!parsed.ok()) {
    if (parsed.error().kind != kube::ErrorKind::Invalid || parsed.error().message.empty()) std::abort();
    return 0;
  }
  // One eligible node per rack the spec can name, so the plan places reflectors and peers.
  rr::planner::PlanInput in;
  in.spec = parsed.value();
  for (const char* rack : {"r1", "r2"}) {
    auto node = std::make_shared<rr::planner::NodeInfo>();
    node->name = std::string("node-") + rack;
    node->labels = in.spec.node_selector;
    for (const auto& [k, v] : in.spec.reflector_node_selector) node->labels[k] = v;
    node->labels[in.spec.rack_label] = rack;
    if (in.spec.top_tier && !in.spec.top_tier->zone_label.empty()) node->labels[in.spec.top_tier->zone_label] = "z1";
    node->ready = true;
    node->internal_ip = rack[1] == '1' ? "10.0.0.1" : "10.0.0.2";
    in.nodes.push_back(std::move(node));
  }
  // spec.topTier: a host for its top tier in the racks' zone, so that one is placed too.
  if (in.spec.top_tier) {
    auto node = std::make_shared<rr::planner::NodeInfo>();
    node->name = "node-top";
    node->labels = in.spec.node_selector;
    for (const auto& [k, v] : in.spec.top_tier->node_selector) node->labels[k] = v;
    if (!in.spec.top_tier->zone_label.empty()) node->labels[in.spec.top_tier->zone_label] = "z1";
    node->ready = true;
    node->internal_ip = "10.0.0.9";
    in.nodes.push_back(std::move(node));
  }
  in.recorded = rr::api::allocations_from_status(rrc);
  in.recorded_top_tier = rr::api::allocations_from_status(rrc, "topTier");
  const rr::planner::Plan plan = rr::planner::plan(in);
  for (const auto& pod : plan.pods) (void)rr::api::render_reflector_pod(in.spec, pod);
  for (const auto& peer : plan.peers) (void)rr::api::render_bgp_peer(in.spec, peer);
  const kube::Json* status = rrc.contains("status") ? &rrc["status"] : nullptr;
  (void)rr::api::render_status(plan, in.spec, status != nullptr ? *status : kube::Json(), "2026-01-01T00:00:00Z");
  return 0;
}
