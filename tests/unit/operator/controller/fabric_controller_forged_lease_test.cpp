// Reflector Leases are written by agents, so the controller reads them as
// outside input: a Lease whose spec fields have the wrong type (found while
// writing fuzz/lease_fuzzer.cpp) used to throw nlohmann::json::type_error from
// Json::value() inside the Lease informer's handler, ending the operator with
// std::terminate. Now such a field reads as absent.
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "api/well_known.h"
#include "controller/fabric_controller.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using kube::Json;
using kube::testing::FakeClock;
using kube::testing::FakeKubeClient;

Json forged_lease(const std::string& name, Json spec) {
  return Json{{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata",
               {{"name", name},
                {"namespace", "rr-system"},
                {"labels", {{std::string(api::kNameLabel), std::string(api::kNameValue)}}}}},
              {"spec", std::move(spec)}};
}

TEST(FabricControllerForgedLease, LeaseFieldsOfTheWrongTypeReadAsAbsentInsteadOfEndingTheOperator) {
  FakeClock clock;
  FakeKubeClient api(clock);
  ASSERT_TRUE(api.create(kube::resources::leases(), "rr-system",
                         forged_lease("holder-number", Json{{"holderIdentity", 5}, {"leaseDurationSeconds", 15}}))
                  .ok());
  ASSERT_TRUE(api.create(kube::resources::leases(), "rr-system",
                         forged_lease("duration-text", Json{{"holderIdentity", "p"}, {"leaseDurationSeconds", "15"},
                                                            {"renewTime", Json::array()}}))
                  .ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> reconciled;
  auto record = [&](const std::string& fabric) {
    std::lock_guard lock(mu);
    reconciled.push_back(fabric);
    cv.notify_all();
  };
  ControllerOptions options;
  options.workers = 1;
  options.on_reconciled = [&](const std::string& fabric, const ReconcileOutcome&) { record(fabric); };
  options.on_error = [&](const std::string& fabric, const kube::Error&) { record(fabric); };
  FabricController controller(api, options, clock);
  controller.start_informers();
  // The initial list hands both Leases to the add handler before the informer reports synced.
  ASSERT_TRUE(controller.wait_for_sync(5000ms));
  std::jthread running([&](std::stop_token stop) { controller.run(stop); });

  // An update goes through the update handler, which compares the old and new holders; the
  // fabric label it adds makes the handler queue fabric "f", so its reconcile shows the
  // handler ran to the end.
  auto live = api.get(kube::resources::leases(), "rr-system", "holder-number");
  ASSERT_TRUE(live.ok());
  Json update = forged_lease("holder-number", Json{{"holderIdentity", Json::object()}, {"leaseDurationSeconds", 1.5}});
  update["metadata"]["labels"][std::string(api::kClusterLabel)] = "f";
  update["metadata"]["resourceVersion"] = kube::resource_version_of(*live);
  ASSERT_TRUE(api.update(kube::resources::leases(), update).ok());
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return !reconciled.empty(); })) << "the Lease update was never handled";
  if (!reconciled.empty()) {
    EXPECT_EQ(reconciled.front(), "f");
  }
  lock.unlock();
  running.request_stop();
}

TEST(LeaseRecord, ReadsTheSpecTypeChecked) {
  auto record = kube::lease_record_from(
      Json{{"spec", {{"holderIdentity", "pod-a"}, {"renewTime", "2026-11-27T10:31:28.123456Z"}, {"leaseDurationSeconds", 15}}}});
  EXPECT_EQ(record.holder, "pod-a");
  EXPECT_EQ(record.renew_time, "2026-11-27T10:31:28.123456Z");
  EXPECT_EQ(record.duration_seconds, 15);
  for (const Json& lease : {Json(), Json::array(), Json{{"spec", 5}},
                            Json{{"spec", {{"holderIdentity", 5}, {"renewTime", false}, {"leaseDurationSeconds", "15"}}}},
                            Json{{"spec", {{"leaseDurationSeconds", -1}}}},
                            Json{{"spec", {{"leaseDurationSeconds", 4294967296ll}}}},
                            Json{{"spec", {{"leaseDurationSeconds", 15.5}}}}}) {
    auto bad = kube::lease_record_from(lease);
    EXPECT_EQ(bad.holder, "") << lease;
    EXPECT_EQ(bad.renew_time, "") << lease;
    EXPECT_EQ(bad.duration_seconds, 0) << lease;
  }
}

}  // namespace
}  // namespace rr::controller
