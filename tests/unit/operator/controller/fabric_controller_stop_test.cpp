// The controller's workers when they stop (a SIGTERM, or leadership lost): a reconcile in
// flight then gets Cancelled from its writes (the leading client sends nothing once the
// replica stops leading). That is the stop, not a failure: it is neither reported through
// on_error (logged "reconcile failed; retrying" on every clean stop of a leader seen on a
// real cluster) nor counted as an error.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "contract/well_known.h"
#include "controller/fabric_controller.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"
#include "kube/forwarding_client.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using kube::Json;
using kube::testing::FakeClock;
using kube::testing::FakeKubeClient;

// Reads pass; every write waits until it is let go (bounded in real time), then answers what
// the leading client answers once its replica stops leading.
class CancellingWrites final : public kube::ForwardingClient {
 public:
  using ForwardingClient::ForwardingClient;

  bool wait_for_blocked_writer() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return blocked_ > 0; });
  }
  void let_go() {
    std::lock_guard lock(mu_);
    let_go_ = true;
    cv_.notify_all();
  }

  kube::Result<Json> create(const kube::ResourceType& t, const std::string&, const Json&) override {
    return cancelled("create", t);
  }
  kube::Result<Json> update(const kube::ResourceType& t, const Json&) override { return cancelled("update", t); }
  kube::Result<Json> update_status(const kube::ResourceType& t, const Json&) override {
    return cancelled("update", t);
  }
  kube::Result<Json> patch(const kube::ResourceType& t, const std::string&, const std::string&, kube::PatchType,
                           const Json&, const kube::PatchOptions&) override {
    return cancelled("patch", t);
  }
  kube::Status remove(const kube::ResourceType& t, const std::string&, const std::string&,
                      const kube::DeleteOptions&) override {
    return cancelled("delete", t);
  }

 private:
  kube::Error cancelled(const std::string& verb, const kube::ResourceType& t) {
    std::unique_lock lock(mu_);
    ++blocked_;
    cv_.notify_all();
    cv_.wait_for(lock, 20s, [&] { return let_go_; });
    return kube::make_error(kube::ErrorKind::Cancelled, "not leading any more: " + verb + " of " + t.plural +
                                                            " not sent");
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool let_go_ = false;
  int blocked_ = 0;
};

TEST(FabricControllerStop, AReconcileCancelledByTheStopIsNoFailure) {
  FakeClock clock;
  FakeKubeClient api(clock);
  CancellingWrites client(api);
  std::atomic<int> errors{0};
  ControllerOptions options;
  options.workers = 1;
  options.on_error = [&](const std::string&, const kube::Error&) { ++errors; };
  FabricController controller(client, options, clock);
  controller.start_informers();
  ASSERT_TRUE(controller.wait_for_sync(5000ms));
  std::jthread running([&](std::stop_token stop) { controller.run(stop); });

  ASSERT_TRUE(api.create(contract::route_reflector_clusters(), "",
                         Json{{"apiVersion", "rr.bgp.dev/v1alpha1"},
                              {"kind", "RouteReflectorCluster"},
                              {"metadata", {{"name", "fabric"}}},
                              {"spec", {{"asNumber", 64512}}}})
                  .ok());
  ASSERT_TRUE(client.wait_for_blocked_writer()) << "the reconcile never wrote";
  // The stop comes while the write is in flight; the write then answers Cancelled.
  running.request_stop();
  client.let_go();
  running.join();
  EXPECT_EQ(errors.load(), 0) << "the stop's own cancellation was reported as a failed reconcile";
}

}  // namespace
}  // namespace rr::controller
