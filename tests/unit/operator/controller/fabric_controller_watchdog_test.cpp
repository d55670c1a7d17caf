// The controller's workers on the watchdog behind /healthz: a worker waiting
// on an empty queue is idle however long that lasts; a worker stuck in one
// reconcile (here an API write that never returns) fails the check.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "contract/well_known.h"
#include "controller/fabric_controller.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"
#include "kube/forwarding_client.h"
#include "kube/watchdog.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using kube::Json;
using kube::testing::FakeClock;
using kube::testing::FakeKubeClient;

// Reads pass; writes block while the gate is closed (bounded in real time), then fail.
class WriteGate final : public kube::ForwardingClient {
 public:
  using ForwardingClient::ForwardingClient;

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void open() {
    std::lock_guard lock(mu_);
    closed_ = false;
    cv_.notify_all();
  }
  bool wait_for_blocked_writer() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return blocked_ > 0; });
  }

  kube::Result<Json> create(const kube::ResourceType& t, const std::string& ns, const Json& obj) override {
    if (auto e = gate()) return *e;
    return ForwardingClient::create(t, ns, obj);
  }
  kube::Result<Json> update(const kube::ResourceType& t, const Json& obj) override {
    if (auto e = gate()) return *e;
    return ForwardingClient::update(t, obj);
  }
  kube::Result<Json> update_status(const kube::ResourceType& t, const Json& obj) override {
    if (auto e = gate()) return *e;
    return ForwardingClient::update_status(t, obj);
  }
  kube::Result<Json> patch(const kube::ResourceType& t, const std::string& ns, const std::string& name,
                           kube::PatchType pt, const Json& p, const kube::PatchOptions& o) override {
    if (auto e = gate()) return *e;
    return ForwardingClient::patch(t, ns, name, pt, p, o);
  }
  kube::Status remove(const kube::ResourceType& t, const std::string& ns, const std::string& name,
                      const kube::DeleteOptions& o) override {
    if (auto e = gate()) return *e;
    return ForwardingClient::remove(t, ns, name, o);
  }

 private:
  std::optional<kube::Error> gate() {
    std::unique_lock lock(mu_);
    if (!closed_) return std::nullopt;
    ++blocked_;
    cv_.notify_all();
    cv_.wait_for(lock, 20s, [&] { return !closed_; });
    --blocked_;
    return kube::make_error(kube::ErrorKind::Transient, "request timed out");
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int blocked_ = 0;
};

// Bounded in real time: a worker goes idle, or finishes an iteration it began, on its own schedule.
bool eventually(const std::function<bool()>& condition) {
  for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
    if (condition()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

TEST(FabricControllerWatchdog, IdleWorkersAreHealthyAndAWorkerStuckInAReconcileIsNot) {
  FakeClock clock;
  FakeKubeClient api(clock);
  WriteGate client(api);
  kube::Watchdog watchdog(clock, 60s);
  ControllerOptions options;
  options.workers = 2;
  options.watchdog = &watchdog;
  FabricController controller(client, options, clock);
  controller.start_informers();
  ASSERT_TRUE(controller.wait_for_sync(5000ms));
  std::jthread running([&](std::stop_token stop) { controller.run(stop); });

  // No fabric: both workers wait on the empty queue, for an hour of fake time.
  clock.advance(1h);
  EXPECT_TRUE(eventually([&] { return watchdog.check().ok; })) << watchdog.check().reason;

  // A fabric to reconcile, and every write it makes hangs.
  client.close();
  ASSERT_TRUE(api.create(contract::route_reflector_clusters(), "",
                         Json{{"apiVersion", "rr.bgp.dev/v1alpha1"},
                              {"kind", "RouteReflectorCluster"},
                              {"metadata", {{"name", "fabric"}}},
                              {"spec", {{"asNumber", 64512}}}})
                  .ok());
  ASSERT_TRUE(client.wait_for_blocked_writer()) << "the reconcile never wrote";
  clock.advance(60s);
  EXPECT_TRUE(watchdog.check().ok) << "exactly the threshold is still in time: " << watchdog.check().reason;
  clock.advance(1s);
  // The stuck worker, alone once the other has finished any iteration it was in.
  const std::string stuck = "reconcile worker made no progress for 61 s (threshold 60 s)";
  EXPECT_TRUE(eventually([&] { return watchdog.check().reason == stuck; })) << watchdog.check().reason;
  EXPECT_FALSE(watchdog.check().ok);

  // The write returns (failed): the worker requeues the key and waits again.
  client.open();
  EXPECT_TRUE(eventually([&] { return watchdog.check().ok; })) << watchdog.check().reason;
  running.request_stop();
}

}  // namespace
}  // namespace rr::controller
