// What one reconcile of a 100,000-Node fabric allocates on top of what the operator holds.
//
// FabricController on the stateful fake API (tests/fakes), with the operator's own informers
// and transforms: 100,000 Nodes in 1,000 racks (three reflector-eligible hosts each), one
// fabric of two reflectors per rack. Every C++ allocation of this process is counted (global
// operator new/delete): bytes live now, and the most live at once since a reset. Reported:
//   cold       the first reconcile (plans 2,000 reflectors, creates their Pods and BGPPeers,
//              writes the status) and the reconciles the events of those writes bring, until
//              one writes nothing with every Pod cached: the peak above what is live then (the
//              fake API's copies of the new objects count as live here; in the operator they
//              live in the API server)
//   steady     a reconcile's peak above what was live before it, once the caches hold every
//              reflector Pod and BGPPeer (the usual reconcile: nothing to write); median of N
//   relist     the fabric starts reading a Node label not kept so far (spec.nodeSelector +=
//              kubernetes.io/os, which every Node has): the Node informer lists every Node
//              again and keeps the label; the peak above what was live before the change, until
//              the reconciles after the list write nothing more, and what is live after it
// A transient is what the operator's VmHWM carries above its steady RSS: glibc hands freed
// memory back only at malloc_trim. Live bytes include the fake API's own store, so only the
// differences are the operator's. Counts are exact and do not depend on load.
//
//   reconcile_memory_bench [--racks N] [--repeat N]      (scripts/bench.sh memory)

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "contract/well_known.h"
#include "controller/fabric_controller.h"
#include "fakes/fake_kube_client.h"
#include "node_fixture.h"

// --- counting every allocation --------------------------------------------------------------

namespace {
std::atomic<long long> g_live{0};
std::atomic<long long> g_peak{0};

void* counted(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (!p) throw std::bad_alloc();
  const long long now = g_live.fetch_add(static_cast<long long>(malloc_usable_size(p))) +
                        static_cast<long long>(malloc_usable_size(p));
  long long peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  return p;
}
void uncounted(void* p) {
  if (!p) return;
  g_live.fetch_sub(static_cast<long long>(malloc_usable_size(p)));
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { uncounted(p); }
void operator delete[](void* p) noexcept { uncounted(p); }
void operator delete(void* p, std::size_t) noexcept { uncounted(p); }
void operator delete[](void* p, std::size_t) noexcept { uncounted(p); }

// --- the fabric --------------------------------------------------------------------------------

namespace {

using kube::Json;
using namespace std::chrono_literals;

constexpr int kNodesPerRack = 100;
constexpr int kEligiblePerRack = 3;

double mib(long long bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// A Node as the Node cache reads it (name, the labels a fabric reads, Calico's address).
Json node(int rack, int index) {
  const std::string name = rr::bench::node_name(rack, index);
  const std::string ip = rr::bench::node_ip(rack, index);
  Json labels = {{"kubernetes.io/hostname", name},
                 {"kubernetes.io/os", "linux"},
                 {"topology.kubernetes.io/rack", rr::bench::rack_name(rack)}};
  if (index < kEligiblePerRack) labels["rr.bgp.dev/reflector"] = "true";
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"labels", std::move(labels)},
            {"annotations", {{std::string(rr::contract::kCalicoIPv4Annotation), ip + "/24"}}}}},
          {"status",
           {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
            {"addresses", {{{"type", "InternalIP"}, {"address", ip}}}}}}};
}

Json fabric() {
  return {{"apiVersion", std::string(rr::contract::kApiVersion)},
          {"kind", std::string(rr::contract::kKind)},
          {"metadata", {{"name", "fab"}}},
          {"spec", {{"namespace", "rr-system"}}}};
}

// The most live at once while `f` runs, above what was live before it.
template <class F>
long long peak_above(F&& f) {
  const long long before = g_live.load();
  g_peak.store(before);
  f();
  return g_peak.load() - before;
}

}  // namespace

int main(int argc, char** argv) {
  int racks = 1000;
  int repeat = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--racks") racks = std::atoi(argv[i + 1]);
    else if (flag == "--repeat") repeat = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--racks N] [--repeat N]\n", argv[0]);
      return 2;
    }
  }

  kube::testing::FakeKubeClient api;
  for (int r = 0; r < racks; ++r) {
    for (int n = 0; n < kNodesPerRack; ++n) api.seed(kube::resources::nodes(), node(r, n));
  }
  api.seed(rr::contract::route_reflector_clusters(), fabric());
  api.compact();  // the seeds' event log: no watch needs it

  const auto reflectors = static_cast<size_t>(racks) * 2;
  rr::controller::ControllerOptions options;
  options.reconciler.startup_grace = std::chrono::hours(1);  // no Lease is ever published here
  // Settling after the first plan: the worker reconciles on the events of what was written,
  // until a reconcile writes nothing with every reflector Pod in the cache.
  options.workers = 1;
  std::mutex mu;
  std::condition_variable settled_cv;
  bool settled = false;
  int writes_seen = -1;
  bool relisting = false;  // the Node informer's next list is the one for the fabric's new label
  bool relisted = false;   // and it is in
  options.on_nodes_listed = [&] {
    std::lock_guard lock(mu);
    relisted = relisting;
    settled_cv.notify_all();
  };
  rr::controller::FabricController* self = nullptr;
  options.on_reconciled = [&](const std::string&, const rr::controller::ReconcileOutcome&) {
    std::lock_guard lock(mu);
    const int writes = self->writes();
    settled = settled || (writes == writes_seen && self->pods().size() == reflectors);
    writes_seen = writes;
    settled_cv.notify_all();
  };
  rr::controller::FabricController controller(api, options);
  self = &controller;
  controller.start_informers();
  // Synced: every informer's first list, the Nodes' among them, is in the cache.
  if (!controller.wait_for_sync(600s)) {
    std::fprintf(stderr, "the caches never synced\n");
    return 1;
  }
  const long long synced = g_live.load();

  const auto cold_started = std::chrono::steady_clock::now();
  g_peak.store(g_live.load());
  if (auto r = controller.reconcile_once("fab"); !r.ok()) {
    std::fprintf(stderr, "first reconcile: %s\n", r.error().describe().c_str());
  }
  const double cold_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - cold_started).count();
  auto pods = [&] {
    auto list = api.list(kube::resources::pods(), "rr-system", {});
    return list.ok() ? list->items.size() : 0;
  };
  if (pods() != reflectors) {
    std::fprintf(stderr, "the first reconcile made %zu reflector Pods, not %zu\n", pods(), reflectors);
    return 1;
  }
  {
    std::unique_lock lock(mu);
    writes_seen = controller.writes();
  }
  std::jthread worker([&](std::stop_token stop) { controller.run(stop); });
  {
    std::unique_lock lock(mu);
    if (!settled_cv.wait_for(lock, 600s, [&] { return settled; })) {
      std::fprintf(stderr, "reconciles never stopped writing (%d writes)\n", controller.writes());
      return 1;
    }
  }
  worker.request_stop();
  worker.join();  // after the reconcile in hand: from here on reconciles run only below (writing nothing)
  const long long cold_peak = g_peak.load();
  const long long held = g_live.load();

  std::vector<double> steady;
  for (int i = 0; i < repeat; ++i) {
    const int w = controller.writes();
    const long long above = peak_above([&] { (void)controller.reconcile_once("fab"); });
    if (controller.writes() != w) {
      std::fprintf(stderr, "a steady reconcile wrote\n");
      return 1;
    }
    steady.push_back(mib(above));
  }
  std::sort(steady.begin(), steady.end());

  // The relist: the fabric's change reaches the controller through its informer, which asks the
  // Node informer for a new list (the workers would wait for it); then the reconcile after it.
  const long long before_relist = g_live.load();
  g_peak.store(before_relist);
  const auto relist_started = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu);
    relisting = true;
  }
  auto changed = api.patch(rr::contract::route_reflector_clusters(), "", "fab", kube::PatchType::Merge,
                           Json{{"spec", {{"nodeSelector", {{"kubernetes.io/os", "linux"}}}}}}, {});
  if (!changed.ok()) {
    std::fprintf(stderr, "patching the fabric: %s\n", changed.error().describe().c_str());
    return 1;
  }
  {
    std::unique_lock lock(mu);
    if (!settled_cv.wait_for(lock, 600s, [&] { return relisted; })) {
      std::fprintf(stderr, "the Nodes were never listed again\n");
      return 1;
    }
  }
  (void)controller.reconcile_once("fab");
  const double relist_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - relist_started).count();
  const long long relist_peak = g_peak.load();
  const long long after_relist = g_live.load();

  std::printf("reconcile memory: %d Nodes, %d racks, %zu reflectors (heap bytes of every C++ allocation)\n",
              racks * kNodesPerRack, racks, reflectors);
  std::printf("  live, caches synced (fake API + Node cache)   %8.1f MiB\n", mib(synced));
  std::printf("  live, fabric placed (+ Pods, BGPPeers, both)   %8.1f MiB\n", mib(held));
  std::printf("  first reconcile and its sequels: peak above   %8.1f MiB   (first reconcile %.1f s)\n",
              mib(std::max(0LL, cold_peak - held)), cold_seconds);
  std::printf("  steady reconcile: peak above live              %8.1f MiB   median of %d (min %.1f, max %.1f)\n",
              steady[steady.size() / 2], repeat, steady.front(), steady.back());
  std::printf("  relist for a new label: peak above live       %8.1f MiB   (%.1f s to the reconcile after it)\n",
              mib(relist_peak - before_relist), relist_seconds);
  std::printf("  relist for a new label: live after - before    %8.1f MiB\n", mib(after_relist - before_relist));
  return 0;
}
