// Informers against the real kube-apiserver: the cache follows the server, and
// survives the server's restart and etcd compaction without lost or duplicated
// notifications. Tests named *Restart* run on their own fixture, one at a time.
#include <thread>

#include <gtest/gtest.h>

#include "kube/informer.h"
#include "support/control_plane.h"
#include "support/eventually.h"

namespace {

using rr::testing::eventually;

using kube::Json;
namespace res = kube::resources;

// Records every notification as "add name", "update name", "delete name".
class Journal {
 public:
  kube::Informer<Json>::Handlers handlers() {
    return {[this](const std::string& k, const Json&) { log("add " + k); },
            [this](const std::string& k, const Json& a, const Json& b) {
              if (kube::resource_version_of(a) != kube::resource_version_of(b)) log("update " + k);
            },
            [this](const std::string& k, const Json&) { log("delete " + k); }};
  }
  int count(const std::string& entry) {
    std::lock_guard lock(mu_);
    return static_cast<int>(std::count(entries_.begin(), entries_.end(), entry));
  }
  std::string dump() {
    std::lock_guard lock(mu_);
    std::string s;
    for (const auto& e : entries_) s += e + "; ";
    return s;
  }

 private:
  void log(std::string e) {
    std::lock_guard lock(mu_);
    entries_.push_back(std::move(e));
  }
  std::mutex mu_;
  std::vector<std::string> entries_;
};

Json lease(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", "informer-it"}}}}},
          {"spec", {{"holderIdentity", "h"}}}};
}

class InformerIT : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    watch_client_ = cp_->admin_client();
    ASSERT_TRUE(client_ && watch_client_);
    ns_ = cp_->create_namespace(*client_, "informer-it");
    kube::InformerOptions options;
    options.watch.ns = ns_;
    options.watch.label_selector = "app=informer-it";
    options.watch.backoff = {std::chrono::milliseconds(100), std::chrono::seconds(1), 2.0, 0.2};
    informer_ = std::make_unique<kube::Informer<Json>>(*watch_client_, res::leases(), options, kube::keep_whole_object);
    informer_->add_handlers(journal_.handlers());
  }
  void TearDown() override {
    if (informer_) informer_->stop();
  }
  bool cached(const std::string& name, const std::string& holder = "") {
    auto obj = informer_->store().get(ns_ + "/" + name);
    return obj && (holder.empty() || (*obj)["spec"].value("holderIdentity", "") == holder);
  }

  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::unique_ptr<kube::RestKubeClient> watch_client_;
  std::string ns_;
  Journal journal_;
  std::unique_ptr<kube::Informer<Json>> informer_;
};

TEST_F(InformerIT, CacheFollowsAddsUpdatesDeletesAndSelectors) {
  ASSERT_TRUE(client_->create(res::leases(), ns_, lease(ns_, "pre")).ok());
  informer_->start();
  ASSERT_TRUE(informer_->wait_for_sync(std::chrono::seconds(10)));
  EXPECT_TRUE(cached("pre"));
  ASSERT_TRUE(client_->create(res::leases(), ns_, lease(ns_, "a")).ok());
  Json other = lease(ns_, "unlabelled");
  other["metadata"]["labels"]["app"] = "else";
  ASSERT_TRUE(client_->create(res::leases(), ns_, other).ok());
  ASSERT_TRUE(client_->patch(res::leases(), ns_, "a", kube::PatchType::Merge, Json{{"spec", {{"holderIdentity", "h2"}}}}, {})
                  .ok());
  ASSERT_TRUE(client_->remove(res::leases(), ns_, "pre", {}).ok());
  ASSERT_TRUE(eventually([&] { return cached("a", "h2") && !cached("pre"); })) << journal_.dump();
  EXPECT_FALSE(cached("unlabelled")) << "label-scoped informer cached an object outside its selector";
  EXPECT_EQ(journal_.count("add " + ns_ + "/a"), 1);
  EXPECT_EQ(journal_.count("update " + ns_ + "/a"), 1);
  EXPECT_EQ(journal_.count("delete " + ns_ + "/pre"), 1);
}

TEST_F(InformerIT, SurvivesApiserverRestartWithoutLostOrDuplicatedNotifications) {
  ASSERT_TRUE(client_->create(res::leases(), ns_, lease(ns_, "a")).ok());
  ASSERT_TRUE(client_->create(res::leases(), ns_, lease(ns_, "b")).ok());
  informer_->start();
  ASSERT_TRUE(informer_->wait_for_sync(std::chrono::seconds(10)));
  ASSERT_TRUE(eventually([&] { return cached("a") && cached("b"); }));

  cp_->stop_apiserver();
  cp_->start_apiserver();

  auto created_c = client_->create(res::leases(), ns_, lease(ns_, "c"));
  ASSERT_TRUE(created_c.ok()) << created_c.error().describe();
  ASSERT_TRUE(client_->patch(res::leases(), ns_, "a", kube::PatchType::Merge, Json{{"spec", {{"holderIdentity", "after"}}}}, {})
                  .ok());
  ASSERT_TRUE(client_->remove(res::leases(), ns_, "b", {}).ok());
  ASSERT_TRUE(eventually([&] { return cached("a", "after") && cached("c") && !cached("b"); }, std::chrono::seconds(40)))
      << journal_.dump();
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_EQ(journal_.count(std::string("add ") + ns_ + "/" + name), 1) << name << ": " << journal_.dump();
  }
  EXPECT_EQ(journal_.count("update " + ns_ + "/a"), 1) << journal_.dump();
  EXPECT_EQ(journal_.count("delete " + ns_ + "/b"), 1) << journal_.dump();
  std::cout << "watcher lists=" << informer_->watcher().lists() << " watches=" << informer_->watcher().watches() << "\n";
}

TEST_F(InformerIT, RestartAfterEtcdCompactionRelistsOnGone) {
  ASSERT_TRUE(client_->create(res::leases(), ns_, lease(ns_, "a")).ok());
  informer_->start();
  ASSERT_TRUE(informer_->wait_for_sync(std::chrono::seconds(10)));
  const int lists_before = informer_->watcher().lists();

  cp_->stop_apiserver();
  // Advance etcd past the informer's resourceVersion behind the API server's back, then compact.
  rr::testing::run_command("curl -sS -X POST " + cp_->var("RR_KUBE_ETCD_ENDPOINT") +
                           "/v3/kv/put -d '{\"key\":\"L3JyLXRlc3QvYnVtcA==\",\"value\":\"eA==\"}'");
  cp_->compact_etcd();
  cp_->start_apiserver();

  ASSERT_TRUE(client_->create(res::leases(), ns_, lease(ns_, "b")).ok());
  ASSERT_TRUE(eventually([&] { return cached("a") && cached("b"); }, std::chrono::seconds(40))) << journal_.dump();
  EXPECT_GT(informer_->watcher().lists(), lists_before) << "a 410 must lead to a relist";
  EXPECT_EQ(journal_.count("add " + ns_ + "/a"), 1) << "the relist must not re-announce unchanged objects";
  EXPECT_EQ(journal_.count("add " + ns_ + "/b"), 1);
}

}  // namespace
