// RestKubeClient against the real kube-apiserver v1.20.2 of the cp_kube fixture.
#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "kube/cpprest_transport.h"
#include "kube/rest_kube_client.h"
#include "support/control_plane.h"
#include "support/eventually.h"

namespace {

using kube::ErrorKind;
using kube::Json;
namespace res = kube::resources;

const kube::ResourceType kWidgets{"it.rr.bgp.dev", "v1", "widgets", "Widget", true};

Json lease(const std::string& ns, const std::string& name, const std::string& holder) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"suite", "kube-it"}}}}},
          {"spec", {{"holderIdentity", holder}, {"leaseDurationSeconds", 15}}}};
}

class RestClientIT : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    ASSERT_TRUE(client_);
    ns_ = cp_->create_namespace(*client_, "kube-it");
  }
  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::string ns_;
};

TEST_F(RestClientIT, TalksToTheRealServer) {
  auto version = client_->get_path("/version");
  ASSERT_TRUE(version.ok()) << version.error().describe();
  std::cout << "kube-apiserver at " << cp_->server() << " reports " << version->value("gitVersion", "") << "\n";
  EXPECT_EQ(version->value("gitVersion", ""), "v1.20.2");
}

// close() is how a process stops its client on the way out: a watch it ends is Cancelled, as
// a request is, not a broken stream to retry (the informers' error sinks ignore Cancelled; a
// Transient error was logged as "cannot list or watch; retrying" after every clean stop).
TEST_F(RestClientIT, CloseEndsAnOpenWatchAsCancelled) {
  kube::WatchOptions options;
  options.timeout_seconds = 60;
  auto watch = client_->watch(res::leases(), ns_, options);
  ASSERT_TRUE(watch.ok()) << watch.error().describe();
  kube::Result<std::optional<kube::WatchEvent>> next = std::optional<kube::WatchEvent>();
  std::atomic<bool> first_read{false};
  std::atomic<bool> returned{false};
  std::thread reader([&] {
    auto first = (*watch)->next();  // the Lease created below
    first_read = first.ok() && first->has_value();
    next = (*watch)->next();  // nothing more happens in the namespace: it waits
    returned = true;
  });
  // EXPECT, not ASSERT, from here to the join: close() is what ends the reader.
  EXPECT_TRUE(client_->create(res::leases(), ns_, lease(ns_, "watched", "me")).ok());
  // The reader has had its event and reads again: close() comes while it waits.
  EXPECT_TRUE(rr::testing::eventually([&] { return first_read.load(); }, std::chrono::seconds(30)))
      << "the watch never delivered the Lease";
  EXPECT_FALSE(returned) << "next() returned before close()";
  client_->close();
  reader.join();
  ASSERT_FALSE(next.ok()) << "the closed watch gave an event or an end";
  EXPECT_TRUE(next.is(ErrorKind::Cancelled)) << next.error().describe();
}

TEST_F(RestClientIT, LeaseCrudAndEveryPatchKind) {
  auto created = client_->create(res::leases(), ns_, lease(ns_, "a", "me"));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  EXPECT_TRUE(client_->create(res::leases(), ns_, lease(ns_, "a", "me")).is(ErrorKind::AlreadyExists));

  Json stale = *created;
  Json updated = *created;
  updated["spec"]["holderIdentity"] = "you";
  auto u = client_->update(res::leases(), updated);
  ASSERT_TRUE(u.ok()) << u.error().describe();
  stale["spec"]["holderIdentity"] = "late";
  EXPECT_TRUE(client_->update(res::leases(), stale).is(ErrorKind::Conflict)) << "stale resourceVersion must be 409";

  auto merged = client_->patch(res::leases(), ns_, "a", kube::PatchType::Merge,
                               Json{{"spec", {{"leaseDurationSeconds", 30}}}}, {});
  ASSERT_TRUE(merged.ok()) << merged.error().describe();
  EXPECT_EQ((*merged)["spec"]["leaseDurationSeconds"], 30);

  auto jp = client_->patch(res::leases(), ns_, "a", kube::PatchType::JsonPatch,
                           Json::array({{{"op", "test"}, {"path", "/spec/holderIdentity"}, {"value", "you"}},
                                        {{"op", "replace"}, {"path", "/spec/holderIdentity"}, {"value", "jp"}}}),
                           {});
  ASSERT_TRUE(jp.ok()) << jp.error().describe();
  EXPECT_EQ((*jp)["spec"]["holderIdentity"], "jp");
  auto failed_test = client_->patch(res::leases(), ns_, "a", kube::PatchType::JsonPatch,
                                    Json::array({{{"op", "test"}, {"path", "/spec/holderIdentity"}, {"value", "x"}}}), {});
  EXPECT_TRUE(failed_test.is(ErrorKind::Invalid)) << (failed_test.ok() ? "ok" : failed_test.error().describe());

  kube::PatchOptions apply{"kube-it", true, false};
  auto applied = client_->patch(res::leases(), ns_, "a", kube::PatchType::Apply,
                                Json{{"apiVersion", "coordination.k8s.io/v1"},
                                     {"kind", "Lease"},
                                     {"metadata", {{"name", "a"}, {"namespace", ns_}}},
                                     {"spec", {{"holderIdentity", "applied"}}}},
                                apply);
  ASSERT_TRUE(applied.ok()) << applied.error().describe();
  EXPECT_EQ((*applied)["spec"]["holderIdentity"], "applied");
  bool managed = false;
  for (const auto& m : (*applied)["metadata"]["managedFields"]) managed |= m.value("manager", "") == "kube-it";
  EXPECT_TRUE(managed) << "server-side apply records the field manager";

  kube::DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  EXPECT_TRUE(client_->remove(res::leases(), ns_, "a", wrong_uid).is(ErrorKind::Conflict));
  kube::DeleteOptions right_uid;
  right_uid.precondition_uid = kube::uid_of(*applied);
  ASSERT_TRUE(client_->remove(res::leases(), ns_, "a", right_uid).ok());
  EXPECT_TRUE(client_->get(res::leases(), ns_, "a").is(ErrorKind::NotFound));
  EXPECT_TRUE(client_->remove(res::leases(), ns_, "a", {}).is(ErrorKind::NotFound));
}

TEST_F(RestClientIT, CustomResourceWithSchemaAndStatusSubresource) {
  Json crd = {
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "widgets.it.rr.bgp.dev"}}},
      {"spec",
       {{"group", "it.rr.bgp.dev"},
        {"scope", "Namespaced"},
        {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}, {"listKind", "WidgetList"}}},
        {"versions",
         Json::array({{{"name", "v1"},
                       {"served", true},
                       {"storage", true},
                       {"subresources", {{"status", Json::object()}}},
                       {"schema",
                        {{"openAPIV3Schema",
                          {{"type", "object"},
                           {"properties",
                            {{"spec",
                              {{"type", "object"},
                               {"required", {"size"}},
                               {"properties", {{"size", {{"type", "integer"}, {"minimum", 1}}}}}}},
                             {"status",
                              {{"type", "object"}, {"properties", {{"ready", {{"type", "boolean"}}}}}}}}}}}}}}})}}}};
  auto made = client_->create(res::custom_resource_definitions(), "", crd);
  ASSERT_TRUE(made.ok() || made.is(ErrorKind::AlreadyExists)) << made.error().describe();
  // Wait (bounded) until the new type is served.
  kube::Result<kube::ObjectList> probe = kube::make_error(ErrorKind::NotFound, "not yet");
  for (int i = 0; i < 100 && !probe.ok(); ++i) {
    probe = client_->list(kWidgets, ns_, {});
    if (!probe.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(probe.ok()) << probe.error().describe();

  Json w = {{"apiVersion", "it.rr.bgp.dev/v1"}, {"kind", "Widget"}, {"metadata", {{"name", "w"}}}, {"spec", {{"size", 3}}}};
  auto created = client_->create(kWidgets, ns_, w);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  Json bad = w;
  bad["metadata"]["name"] = "bad";
  bad["spec"]["size"] = 0;
  auto refused = client_->create(kWidgets, ns_, bad);
  ASSERT_TRUE(refused.is(ErrorKind::Invalid));
  EXPECT_NE(refused.error().message.find("spec.size"), std::string::npos) << refused.error().message;

  Json with_status = *created;
  with_status["status"] = {{"ready", true}};
  with_status["spec"]["size"] = 99;  // ignored by the status subresource
  auto st = client_->update_status(kWidgets, with_status);
  ASSERT_TRUE(st.ok()) << st.error().describe();
  EXPECT_EQ((*st)["status"]["ready"], true);
  EXPECT_EQ((*st)["spec"]["size"], 3);
  auto status_patch = client_->patch(kWidgets, ns_, "w", kube::PatchType::Merge, Json{{"status", {{"ready", false}}}},
                                     {"", false, true});
  ASSERT_TRUE(status_patch.ok()) << status_patch.error().describe();
  EXPECT_EQ((*status_patch)["status"]["ready"], false);
}

TEST_F(RestClientIT, PaginatesOverMoreThanAThousandObjects) {
  constexpr int kCount = 1100;
  auto bulk = cp_->admin_client([] {
    kube::RestClientOptions o;
    o.qps = 0;  // the test's own writes are not what is measured
    return o;
  }());
  for (int i = 0; i < kCount; ++i) {
    auto r = bulk->create(res::leases(), ns_, lease(ns_, "l" + std::to_string(i), "x"));
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }
  kube::ListOptions page;
  page.limit = 250;
  page.label_selector = "suite=kube-it";
  auto first = client_->list(res::leases(), ns_, page);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->items.size(), 250u);
  EXPECT_FALSE(first->continue_token.empty());
  auto all = client_->list_all(res::leases(), ns_, page);
  ASSERT_TRUE(all.ok()) << all.error().describe();
  std::set<std::string> names;
  for (const auto& item : all->items) names.insert(kube::name_of(item));
  EXPECT_EQ(all->items.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(names.size(), static_cast<size_t>(kCount)) << "no duplicates across pages";

  // A continue token outlives its snapshot once etcd compacts: list_all starts over.
  auto again = client_->list(res::leases(), ns_, page);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(bulk->create(res::leases(), ns_, lease(ns_, "after", "x")).ok());
  cp_->compact_etcd();
  kube::ListOptions next = page;
  next.continue_token = again->continue_token;
  EXPECT_TRUE(client_->list(res::leases(), ns_, next).is(ErrorKind::Gone));
}

TEST_F(RestClientIT, NarrowIdentitiesAreForbiddenAndClassified) {
  // A user with no RBAC binding at all.
  auto nobody = cp_->client_with_token(cp_->var("RR_KUBE_USER_TOKEN"));
  ASSERT_TRUE(nobody);
  auto denied = nobody->list(res::leases(), ns_, {});
  ASSERT_TRUE(denied.is(ErrorKind::Forbidden));
  EXPECT_EQ(denied.error().http_status, 403);
  EXPECT_NE(denied.error().message.find("rr-test-user"), std::string::npos) << denied.error().message;

  // The same user bound to a Role that only reads leases: reads pass, writes are 403.
  Json role = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "Role"},
               {"metadata", {{"name", "lease-reader"}, {"namespace", ns_}}},
               {"rules", Json::array({{{"apiGroups", {"coordination.k8s.io"}},
                                       {"resources", {"leases"}},
                                       {"verbs", {"get", "list", "watch"}}}})}};
  Json binding = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                  {"kind", "RoleBinding"},
                  {"metadata", {{"name", "lease-reader"}, {"namespace", ns_}}},
                  {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "lease-reader"}}},
                  {"subjects", Json::array({{{"kind", "User"}, {"name", cp_->var("RR_KUBE_USER_NAME")},
                                             {"apiGroup", "rbac.authorization.k8s.io"}}})}};
  const kube::ResourceType roles{"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
  const kube::ResourceType bindings{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true};
  ASSERT_TRUE(client_->create(roles, ns_, role).ok());
  ASSERT_TRUE(client_->create(bindings, ns_, binding).ok());
  kube::Result<kube::ObjectList> allowed = kube::make_error(ErrorKind::Forbidden, "");
  for (int i = 0; i < 50 && !allowed.ok(); ++i) {  // RBAC caches update within moments
    allowed = nobody->list(res::leases(), ns_, {});
    if (!allowed.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(allowed.ok()) << allowed.error().describe();
  auto write = nobody->create(res::leases(), ns_, lease(ns_, "nope", "x"));
  ASSERT_TRUE(write.is(ErrorKind::Forbidden));
  EXPECT_NE(write.error().message.find("cannot create resource \"leases\""), std::string::npos) << write.error().message;
}

TEST_F(RestClientIT, TlsVerificationRejectsAForeignCa) {
  kube::ClientConfig config = cp_->admin_config();
  // The admin certificate is signed by the CA but is not a CA: as a trust root it must fail.
  std::ifstream in(cp_->var("RR_KUBE_ADMIN_CERT"));
  config.ca_pem.assign(std::istreambuf_iterator<char>(in), {});
  kube::RestClientOptions once;
  once.max_attempts = 1;
  auto client = kube::RestKubeClient::connect(config, once);
  ASSERT_TRUE(client.ok());
  auto r = (*client)->get_path("/version");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Transient);
  EXPECT_NE(r.error().message.find("handshake"), std::string::npos) << r.error().message;
}

}  // namespace
