// Planner vs decode, and what the Node cache costs per node. No server.
//
// 100,000 realistic Nodes (bench/node_fixture.h, ~3.3 KB of JSON each) in 1,000
// racks of 100, three reflector-eligible hosts per rack, one fabric with two
// reflectors per rack. Benchmarks:
//   BM_DecodeNodeList    nlohmann::json::parse of the NodeList bodies (200 pages of
//                        500, as the informer lists them) + node_info_from on every item
//   BM_ParseNodeList     the parse alone (how much of the decode is JSON)
//   BM_GatherNodes       what the reconciler does before planning: list the 100k
//                        cached NodeInfos (shared pointers) out of a Store into PlanInput.nodes
//   BM_GatherNodesByValue the same copying every NodeInfo (how it was done before)
//   BM_PlanSteadyState   plan() when every Pod runs and every Lease is fresh (the usual reconcile)
//   BM_PlanOneRackRepair plan() when one rack lost both reflectors (places 2 Pods)
//   BM_PlanFromScratch/racks:N  plan() of a new fabric over N racks of 100 nodes: allocates N
//                        cluster IDs, places 2N Pods (N = 100 and 1,000; the 1,000 run once: ~40 s)
// Then the design's check: plan time / decode time (medians), and the memory of
// a Store of 100k trimmed NodeInfos vs a Store of 100k whole JSON objects
// (mallinfo2 heap bytes in use and RSS from /proc/self/statm, before/after).
//
//   planner_bench [--skip_memory] [google-benchmark flags]

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "api/observed.h"
#include "kube/informer.h"
#include "kube/object.h"
#include "node_fixture.h"
#include "planner/names.h"
#include "planner/planner.h"

namespace {

using rr::planner::NodeInfo;
using rr::planner::PlanInput;

constexpr int kRacks = 1000;
constexpr int kNodesPerRack = 100;
constexpr int kNodes = kRacks * kNodesPerRack;
constexpr int kEligiblePerRack = 3;
constexpr int kPageSize = 500;

// Shaped like kube::Store<T>'s map (key -> resourceVersion + shared immutable value).
template <class T>
struct StoreEntry {
  std::string resource_version;
  std::shared_ptr<const T> value;
};
template <class T>
using StoreMap = std::map<std::string, StoreEntry<T>>;

struct Dataset {
  std::vector<std::string> pages;  // NodeList bodies of kPageSize items
  size_t text_bytes = 0;
  StoreMap<NodeInfo> store;        // the trimmed cache, as the informer keeps it
  PlanInput cold;                  // nodes only: nothing exists yet
  PlanInput steady;                // every reflector Pod running, every Lease fresh
};

rr::planner::FabricSpec fabric() {
  rr::planner::FabricSpec spec;
  spec.name = "fab";
  spec.uid = "uid-fab";
  spec.generation = 1;
  spec.creation_timestamp = "2024-01-01T00:00:00Z";
  return spec;  // defaults: 2 per rack, rr.bgp.dev/reflector=true hosts, pool 10.255.0.0/16
}

std::string steady_problem(const PlanInput& in, const rr::planner::Plan& p) {
  if (p.hold) return "plan holds";
  if (!p.pods_to_delete.empty()) return "plan deletes Pods";
  if (p.pods.size() != in.pods.size()) return "plan wants new Pods";
  if (p.peers.size() != static_cast<size_t>(2 * kRacks)) return "plan has " + std::to_string(p.peers.size()) + " peers";
  if (p.node_to_node_mesh) return "plan changes the mesh";
  if (p.conditions.empty() || !p.conditions[0].status) return "fabric not Ready: " + p.conditions[0].message;
  return "";
}

const Dataset& dataset() {
  static const Dataset* data = [] {
    auto* d = new Dataset;
    std::fprintf(stderr, "generating %d Nodes in %d racks...\n", kNodes, kRacks);
    std::vector<std::shared_ptr<const NodeInfo>> nodes;
    nodes.reserve(kNodes);
    std::uint64_t rv = 1000;
    nlohmann::json items = nlohmann::json::array();
    auto flush = [&](bool last) {
      nlohmann::json list = {{"apiVersion", "v1"},
                             {"kind", "NodeList"},
                             {"metadata", {{"resourceVersion", std::to_string(rv)}}},
                             {"items", std::move(items)}};
      if (!last) list["metadata"]["continue"] = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzNDUsInN0YXJ0IjoicjAwMDEifQ";
      d->pages.push_back(list.dump());
      d->text_bytes += d->pages.back().size();
      items = nlohmann::json::array();
    };
    for (int r = 0; r < kRacks; ++r) {
      for (int i = 0; i < kNodesPerRack; ++i) {
        nlohmann::json node = rr::bench::make_node(r, i, kEligiblePerRack, ++rv);
        auto info = rr::api::node_info_from(node);
        auto shared = std::make_shared<const NodeInfo>(std::move(*info));
        d->store[shared->name] = {kube::resource_version_of(node), shared};
        nodes.push_back(std::move(shared));
        node.erase("apiVersion");  // items of a list carry neither
        node.erase("kind");
        items.push_back(std::move(node));
        if (items.size() == kPageSize) flush(nodes.size() == kNodes);
      }
    }
    d->cold.spec = fabric();
    d->cold.nodes = std::move(nodes);
    d->cold.node_to_node_mesh_enabled = true;

    // Steady state: two reflectors per rack on its first two eligible hosts (where
    // the planner puts them), cluster IDs as it allocates them (10.255.0.1, ...
    // in rack order), all running and renewing. plan() below checks it is steady.
    d->steady = d->cold;
    d->steady.node_to_node_mesh_enabled = false;
    for (int r = 0; r < kRacks; ++r) {
      const std::string rack = rr::bench::rack_name(r);
      const std::string cluster_id = "10.255." + std::to_string((r + 1) / 256) + "." + std::to_string((r + 1) % 256);
      for (int i = 0; i < 2; ++i) {
        const NodeInfo& host = *d->steady.nodes[static_cast<size_t>(r * kNodesPerRack + i)];
        rr::planner::ReflectorPod pod;
        pod.name = rr::planner::reflector_pod_name(d->steady.spec.name, rack, host.name);
        pod.rack = rack;
        pod.node = host.name;
        pod.cluster_id = cluster_id;
        pod.host_ip = host.internal_ip;
        pod.phase = rr::planner::PodPhase::Running;
        pod.ready = true;
        d->steady.pods.push_back(pod);
        rr::planner::ReflectorLease lease;
        lease.name = pod.name;
        lease.rack = rack;
        lease.cluster_id = cluster_id;
        lease.address = host.bgp_ipv4;
        lease.sessions_established = lease.sessions_total = kNodesPerRack;  // about the rack's clients + the mesh
        lease.fresh = true;
        d->steady.leases.push_back(lease);
      }
      d->steady.recorded.push_back({rack, cluster_id, {}});
    }
    if (auto problem = steady_problem(d->steady, rr::planner::plan(d->steady)); !problem.empty()) {
      std::fprintf(stderr, "steady-state input is not steady: %s\n", problem.c_str());
      std::exit(1);
    }
    std::fprintf(stderr, "%zu pages, %.1f MB of JSON, %.0f bytes/node\n", d->pages.size(), d->text_bytes / 1e6,
                 static_cast<double>(d->text_bytes) / kNodes);
    return d;
  }();
  return *data;
}

void BM_DecodeNodeList(benchmark::State& state) {
  const Dataset& d = dataset();
  for (auto _ : state) {
    std::vector<NodeInfo> out;
    out.reserve(kNodes);
    for (const auto& page : d.pages) {
      nlohmann::json list = nlohmann::json::parse(page);
      for (const auto& item : list["items"]) {
        if (auto info = rr::api::node_info_from(item)) out.push_back(std::move(*info));
      }
    }
    if (out.size() != static_cast<size_t>(kNodes)) state.SkipWithError("lost nodes");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kNodes);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(d.text_bytes));
}
BENCHMARK(BM_DecodeNodeList)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1)->Repetitions(5);

void BM_ParseNodeList(benchmark::State& state) {
  const Dataset& d = dataset();
  for (auto _ : state) {
    size_t n = 0;
    for (const auto& page : d.pages) {
      nlohmann::json list = nlohmann::json::parse(page);
      n += list["items"].size();
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * kNodes);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(d.text_bytes));
}
BENCHMARK(BM_ParseNodeList)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1)->Repetitions(5);

// Store::list(): the shared pointers of every entry.
std::vector<std::shared_ptr<const NodeInfo>> list_store(const Dataset& d) {
  std::vector<std::shared_ptr<const NodeInfo>> listed;
  listed.reserve(d.store.size());
  for (const auto& [key, entry] : d.store) listed.push_back(entry.value);
  return listed;
}

void BM_GatherNodes(benchmark::State& state) {
  const Dataset& d = dataset();
  for (auto _ : state) {
    PlanInput in;
    in.nodes = list_store(d);  // FabricReconciler::gather
    benchmark::DoNotOptimize(in.nodes.data());
  }
  state.SetItemsProcessed(state.iterations() * kNodes);
}
BENCHMARK(BM_GatherNodes)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5);

void BM_GatherNodesByValue(benchmark::State& state) {
  const Dataset& d = dataset();
  for (auto _ : state) {
    auto listed = list_store(d);
    std::vector<NodeInfo> nodes;
    nodes.reserve(listed.size());
    for (const auto& n : listed) nodes.push_back(*n);
    benchmark::DoNotOptimize(nodes.data());
  }
  state.SetItemsProcessed(state.iterations() * kNodes);
}
BENCHMARK(BM_GatherNodesByValue)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5);

// Nodes of the first `racks` racks, nothing else: the first reconcile of a new fabric.
const PlanInput& cold_input(int racks) {
  static std::map<int, PlanInput> inputs;
  auto it = inputs.find(racks);
  if (it != inputs.end()) return it->second;
  const Dataset& d = dataset();
  PlanInput in = d.cold;
  in.nodes.resize(static_cast<size_t>(racks) * kNodesPerRack);
  return inputs.emplace(racks, std::move(in)).first->second;
}

// range(0) racks of 100 nodes; no reflector exists yet, so every rack needs two.
void BM_PlanFromScratch(benchmark::State& state) {
  const PlanInput& in = cold_input(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto p = rr::planner::plan(in);
    if (p.pods.size() != 2 * static_cast<size_t>(state.range(0))) state.SkipWithError("unexpected plan");
    benchmark::DoNotOptimize(p.pods.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(in.nodes.size()));
}
BENCHMARK(BM_PlanFromScratch)->ArgName("racks")->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(3);
BENCHMARK(BM_PlanFromScratch)
    ->ArgName("racks")
    ->Arg(kRacks)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(1);

void BM_PlanSteadyState(benchmark::State& state) {
  const Dataset& d = dataset();
  for (auto _ : state) {
    auto p = rr::planner::plan(d.steady);
    benchmark::DoNotOptimize(p.pods.data());
  }
  state.SetItemsProcessed(state.iterations() * kNodes);
}
BENCHMARK(BM_PlanSteadyState)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5);

// Steady state, except that one rack lost both reflectors (Pods and Leases gone):
// the reconcile that replaces them.
void BM_PlanOneRackRepair(benchmark::State& state) {
  static const PlanInput in = [] {
    PlanInput x = dataset().steady;
    const std::string rack = rr::bench::rack_name(kRacks / 2);
    std::erase_if(x.pods, [&](const auto& p) { return p.rack == rack; });
    std::erase_if(x.leases, [&](const auto& l) { return l.rack == rack; });
    return x;
  }();
  for (auto _ : state) {
    auto p = rr::planner::plan(in);
    if (p.pods.size() != static_cast<size_t>(2 * kRacks)) state.SkipWithError("the rack was not repaired");
    benchmark::DoNotOptimize(p.pods.data());
  }
  state.SetItemsProcessed(state.iterations() * kNodes);
}
BENCHMARK(BM_PlanOneRackRepair)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5);

// Keeps the median (or the single run) of each benchmark, in seconds, real and CPU.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter() : ConsoleReporter(OO_Tabular) {}  // no colour: the output usually goes to a file
  struct Figure {
    double real_s = 0;
    double cpu_s = 0;
  };
  std::map<std::string, Figure> figures;

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred) continue;
      bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (!single && !median) continue;
      double unit = benchmark::GetTimeUnitMultiplier(run.time_unit);
      std::string key = run.run_name.function_name + (run.run_name.args.empty() ? "" : "/" + run.run_name.args);
      figures[key] = {run.GetAdjustedRealTime() / unit, run.GetAdjustedCPUTime() / unit};
    }
  }
};

// --- memory of the Node cache ---

struct MemorySample {
  double heap = 0;  // bytes malloc reports in use (main arena + mmapped blocks)
  double rss = 0;   // resident bytes
};

MemorySample sample_memory() {
  malloc_trim(0);
  MemorySample s;
  struct mallinfo2 mi = mallinfo2();
  s.heap = static_cast<double>(mi.uordblks + mi.hblkhd);
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  s.rss = static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
  return s;
}

template <class T, class Trim>
StoreMap<T> fill_store(const Dataset& d, Trim trim) {
  StoreMap<T> store;
  for (const auto& page : d.pages) {
    nlohmann::json list = nlohmann::json::parse(page);
    for (const auto& item : list["items"]) {
      auto value = trim(item);
      store[kube::name_of(item)] = {kube::resource_version_of(item), std::make_shared<const T>(std::move(*value))};
    }
  }
  return store;
}

struct MemoryFigures {
  double trimmed_heap = 0, trimmed_rss = 0, whole_heap = 0, whole_rss = 0;
};

MemoryFigures measure_memory(const Dataset& d) {
  MemoryFigures f;
  {
    MemorySample before = sample_memory();
    auto store = fill_store<NodeInfo>(d, [](const nlohmann::json& o) { return rr::api::node_info_from(o); });
    MemorySample after = sample_memory();
    f.trimmed_heap = (after.heap - before.heap) / kNodes;
    f.trimmed_rss = (after.rss - before.rss) / kNodes;
    benchmark::DoNotOptimize(store.size());
  }
  {
    MemorySample before = sample_memory();
    auto store = fill_store<nlohmann::json>(d, [](const nlohmann::json& o) { return kube::keep_whole_object(o); });
    MemorySample after = sample_memory();
    f.whole_heap = (after.heap - before.heap) / kNodes;
    f.whole_rss = (after.rss - before.rss) / kNodes;
    benchmark::DoNotOptimize(store.size());
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  bool memory = true;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--skip_memory") {
      memory = false;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

  const Dataset& d = dataset();
  MemoryFigures mem;
  if (memory) mem = measure_memory(d);

  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  auto& f = reporter.figures;
  auto ms = [](double s) { return s * 1e3; };
  std::printf("\n== planner_bench summary: %d nodes, %d racks, 2 reflectors per rack (medians, real time; CPU in [])\n",
              kNodes, kRacks);
  std::printf("Node JSON: %.1f MB, %.0f bytes/node\n", d.text_bytes / 1e6, static_cast<double>(d.text_bytes) / kNodes);
  if (f.count("BM_DecodeNodeList")) {
    const auto& dec = f["BM_DecodeNodeList"];
    std::printf("decode (parse + trim): %9.1f ms [%9.1f]  %.0f nodes/s, %.0f MB/s\n", ms(dec.real_s), ms(dec.cpu_s),
                kNodes / dec.real_s, d.text_bytes / dec.real_s / 1e6);
    if (f.count("BM_ParseNodeList")) {
      const auto& p = f["BM_ParseNodeList"];
      std::printf("  of which parse:      %9.1f ms [%9.1f]\n", ms(p.real_s), ms(p.cpu_s));
    }
    for (const auto& [name, x] : f) {
      if (name.rfind("BM_Plan", 0) != 0 && name != "BM_GatherNodes") continue;
      std::printf("%-28s %10.1f ms [%10.1f]  ratio to decode: %.3f real, %.3f CPU\n", name.c_str() + 3, ms(x.real_s),
                  ms(x.cpu_s), x.real_s / dec.real_s, x.cpu_s / dec.cpu_s);
    }
  }
  if (memory) {
    std::printf("Node cache per node (Store of %d): trimmed NodeInfo %.0f B heap (%.0f B RSS); whole JSON %.0f B heap "
                "(%.0f B RSS); whole/trimmed %.1fx heap\n",
                kNodes, mem.trimmed_heap, mem.trimmed_rss, mem.whole_heap, mem.whole_rss,
                mem.whole_heap / mem.trimmed_heap);
  }
  return 0;
}
