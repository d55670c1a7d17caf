// An allowed namespace the operator may not watch (its Role missing: 403) must not
// stop the others: the controller syncs without it, fabrics elsewhere reconcile,
// a fabric whose spec.namespace is refused is held naming the namespace and the
// answer (NamespaceNotFound when the namespace does not exist), and granting the
// rights lets that fabric go on by itself.
#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "contract/well_known.h"
#include "controller/fabric_controller.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"
#include "integration/support/eventually.h"
#include "one_reflector_fixture.h"

namespace rr::controller {
namespace {

using namespace std::chrono_literals;
using kube::Json;
using kube::testing::FakeClock;
using kube::testing::FakeKubeClient;
using rr::testing::eventually;

// The API as RBAC shows it to an operator that has no Role in some namespaces: every
// request for Pods or Leases there answers 403 until grant(); Namespaces are readable
// (RBAC that lets the operator get Namespaces; the shipped RBAC does not: then a namespace
// that does not exist reads as NamespaceNotWatchable, its message saying so).
class RbacGate final : public kube::KubeClient {
 public:
  explicit RbacGate(kube::KubeClient& inner) : inner_(inner) {}

  void deny(const std::string& ns) {
    std::lock_guard lock(mu_);
    denied_.insert(ns);
  }
  void grant(const std::string& ns) {
    std::lock_guard lock(mu_);
    denied_.erase(ns);
  }

  kube::Result<Json> get(const kube::ResourceType& t, const std::string& ns, const std::string& name) override {
    if (auto e = refuse("get", t, ns)) return *e;
    return inner_.get(t, ns, name);
  }
  kube::Result<kube::ObjectList> list(const kube::ResourceType& t, const std::string& ns,
                                      const kube::ListOptions& o) override {
    if (auto e = refuse("list", t, ns)) return *e;
    return inner_.list(t, ns, o);
  }
  kube::Result<std::unique_ptr<kube::WatchStream>> watch(const kube::ResourceType& t, const std::string& ns,
                                                         const kube::WatchOptions& o) override {
    if (auto e = refuse("watch", t, ns)) return *e;
    return inner_.watch(t, ns, o);
  }
  kube::Result<Json> create(const kube::ResourceType& t, const std::string& ns, const Json& obj) override {
    if (auto e = refuse("create", t, ns)) return *e;
    return inner_.create(t, ns, obj);
  }
  kube::Result<Json> update(const kube::ResourceType& t, const Json& obj) override {
    if (auto e = refuse("update", t, kube::namespace_of(obj))) return *e;
    return inner_.update(t, obj);
  }
  kube::Result<Json> update_status(const kube::ResourceType& t, const Json& obj) override {
    return inner_.update_status(t, obj);
  }
  kube::Result<Json> patch(const kube::ResourceType& t, const std::string& ns, const std::string& name,
                           kube::PatchType pt, const Json& p, const kube::PatchOptions& o) override {
    if (auto e = refuse("patch", t, ns)) return *e;
    return inner_.patch(t, ns, name, pt, p, o);
  }
  kube::Status remove(const kube::ResourceType& t, const std::string& ns, const std::string& name,
                      const kube::DeleteOptions& o) override {
    if (auto e = refuse("delete", t, ns)) return *e;
    return inner_.remove(t, ns, name, o);
  }

 private:
  std::optional<kube::Error> refuse(const std::string& verb, const kube::ResourceType& t, const std::string& ns) {
    if (t.plural != "pods" && t.plural != "leases") return std::nullopt;
    std::lock_guard lock(mu_);
    if (!denied_.count(ns)) return std::nullopt;
    auto e = kube::make_error(kube::ErrorKind::Forbidden, t.plural + " is forbidden: User \"system:serviceaccount:rr-system:rr-operator\" cannot " +
                                                               verb + " resource \"" + t.plural + "\" in the namespace \"" +
                                                               ns + "\"");
    e.http_status = 403;
    return e;
  }

  kube::KubeClient& inner_;
  std::mutex mu_;
  std::set<std::string> denied_;
};

// Each fabric its own rack and cluster ID pool: fabrics that claim the same nodes or pool
// conflict (a held one too).
Json fabric(const std::string& name, const std::string& ns, const std::string& rack, const std::string& pool) {
  return {{"apiVersion", "rr.bgp.dev/v1alpha1"},
          {"kind", "RouteReflectorCluster"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"asNumber", 64512},
            {"namespace", ns},
            {"nodeSelector", {{"topology.kubernetes.io/rack", rack}}},
            {"clusterIDPool", pool},
            {"reflectors", {{"perRack", 1}}}}}};
}

Json node(const std::string& name, const std::string& rack, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"labels",
             {{"topology.kubernetes.io/rack", rack}, {"kubernetes.io/hostname", name}, {"rr.bgp.dev/reflector", "true"}}}}},
          {"status",
           {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})},
            {"addresses", Json::array({{{"type", "InternalIP"}, {"address", ip}}})}}}};
}

Json namespace_object(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

class NamespaceAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.seed(kube::resources::nodes(), node("n1", "r1", "192.0.2.1"));
    api_.seed(kube::resources::nodes(), node("n2", "r2", "192.0.2.2"));
    api_.seed(kube::resources::nodes(), node("n3", "r3", "192.0.2.3"));
    api_.seed(kube::resources::namespaces(), namespace_object("good"));
    api_.seed(kube::resources::namespaces(), namespace_object("locked"));
    gate_.deny("locked");
    gate_.deny("ghost");  // no such namespace: no Role can exist there either
    options_.workers = 1;
    options_.reconciler.policy.namespaces = {"good", "locked", "ghost"};
    options_.on_namespace_access = [this](const std::string& ns, const std::optional<kube::Error>& refusal) {
      std::lock_guard lock(mu_);
      access_log_.push_back(ns + (refusal ? " refused " + std::to_string(refusal->http_status) : " watchable"));
    };
  }

  void TearDown() override {
    running_.request_stop();
    if (running_.joinable()) running_.join();
    controller_.reset();
  }

  void start() {
    controller_ = std::make_unique<FabricController>(gate_, options_, clock_);
    controller_->start_informers();
  }

  // wait_for_sync as rr-operator's main calls it: in short waits, a bounded number of them.
  bool synced() {
    for (int i = 0; i < 100; ++i) {
      if (controller_->wait_for_sync(50ms)) return true;
    }
    return false;
  }

  std::string ready(const std::string& name, std::string* message = nullptr) {
    return testing::fabric_condition(api_, name, "Ready", message);
  }

  bool has_pod(const std::string& ns) {
    auto pods = api_.list(kube::resources::pods(), ns, {});
    return pods.ok() && !pods->items.empty();
  }

  FakeClock clock_;
  FakeKubeClient api_{clock_};
  RbacGate gate_{api_};
  ControllerOptions options_;
  std::mutex mu_;
  std::vector<std::string> access_log_;  // on_namespace_access, once per change
  std::unique_ptr<FabricController> controller_;
  std::jthread running_;
};

TEST_F(NamespaceAccessTest, TheControllerSyncsWithoutANamespaceItMayNotWatch) {
  start();
  ASSERT_TRUE(synced()) << "a namespace without the operator's Role kept the controller from syncing";
  // Each refusal is reported once, however often the informers retry.
  for (int i = 0; i < 30; ++i) clock_.advance(1s);
  std::lock_guard lock(mu_);
  std::vector<std::string> sorted = access_log_;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::string>{"ghost refused 403", "locked refused 403"}));
}

TEST_F(NamespaceAccessTest, OnlyTheFabricsOfARefusedNamespaceAreHeldUntilItIsGranted) {
  start();
  ASSERT_TRUE(synced());
  running_ = std::jthread([this](std::stop_token stop) { controller_->run(stop); });
  ASSERT_TRUE(api_.create(contract::route_reflector_clusters(), "", fabric("in-good", "good", "r1", "10.255.1.0/24")).ok());
  ASSERT_TRUE(api_.create(contract::route_reflector_clusters(), "", fabric("in-locked", "locked", "r2", "10.255.2.0/24")).ok());
  ASSERT_TRUE(api_.create(contract::route_reflector_clusters(), "", fabric("in-ghost", "ghost", "r3", "10.255.3.0/24")).ok());

  // The fabric in the namespace the operator may watch goes on as if the others were not there.
  EXPECT_TRUE(eventually([&] { return has_pod("good"); }, 10s)) << ready("in-good");
  std::string message;
  ASSERT_TRUE(eventually([&] { return ready("in-locked", &message) == "False/NamespaceNotWatchable"; }, 10s))
      << ready("in-locked") << " " << message;
  for (const char* words : {"spec.namespace", "\"locked\"", "403", "pods", "Role"}) {
    EXPECT_NE(message.find(words), std::string::npos) << words << " not in: " << message;
  }
  ASSERT_TRUE(eventually([&] { return ready("in-ghost", &message) == "False/NamespaceNotFound"; }, 10s))
      << ready("in-ghost") << " " << message;
  EXPECT_NE(message.find("\"ghost\""), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
  EXPECT_FALSE(has_pod("locked"));

  // An administrator binds the Role: the informers' next attempt lists, and the fabric goes on.
  gate_.grant("locked");
  bool went_on = false;
  for (int i = 0; i < 200 && !went_on; ++i) {
    clock_.advance(1s);  // the informers' backoff runs on the fake clock
    went_on = eventually([&] { return has_pod("locked"); }, 50ms, 5ms);
  }
  EXPECT_TRUE(went_on) << ready("in-locked", &message) << " " << message;
  EXPECT_TRUE(eventually([&] { return ready("in-locked") != "False/NamespaceNotWatchable"; }, 10s));
  EXPECT_EQ(ready("in-ghost"), "False/NamespaceNotFound");
  std::lock_guard lock(mu_);
  EXPECT_EQ(std::count(access_log_.begin(), access_log_.end(), "locked watchable"), 1);
}

// The one-reflector fabric of OneReflectorControllerTest in rr-system, and a second
// namespace the operator watches.
class SecondNamespaceTest : public testing::OneReflectorControllerTest {
 protected:
  kube::KubeClient& client() override { return gate_; }
  void configure(ControllerOptions& options, Json& /*spec*/) override {
    options.reconciler.policy.namespaces = {testing::kNs, "other"};
  }
  RbacGate gate_{api_};
};

// The API restarts (every watch fails), and meanwhile the operator's Role in "other" went:
// its Lease watch there is refused from then on. A refusal is an answer, not blindness: the
// Leases elsewhere are judged again once their watches are back, and a reflector whose agent
// stopped renewing is replaced.
TEST_F(SecondNamespaceTest, ANamespaceRefusedAfterItsWatchFailedLeavesTheOthersJudged) {
  std::string uid;
  ASSERT_NO_FATAL_FAILURE(ready_reflector(uid));
  const int watches = api_.open_watch_count();
  gate_.deny("other");
  api_.fail_watches(kube::make_error(kube::ErrorKind::Transient, "connection reset by peer"));
  const int back = watches - 2;  // all but the Pods and Leases of "other"
  for (int i = 0; i < 50 && api_.open_watch_count() < back; ++i) {
    clock_.advance(100ms);
    api_.wait_for_open_watches(back, 100ms);
  }
  ASSERT_TRUE(api_.wait_for_open_watches(back)) << "the watches did not open again";

  // The agent renews no more: past its lease (from when the watches came back), it is replaced.
  bool replaced = false;
  for (int i = 0; i < 200 && !replaced; ++i) {
    pass(1);
    replaced = eventually([&] { return !pod_uid().empty() && pod_uid() != uid; }, 20ms, 5ms);
  }
  EXPECT_TRUE(replaced) << "a namespace refused after a watch failure kept every Lease judged fresh";
}

}  // namespace
}  // namespace rr::controller
