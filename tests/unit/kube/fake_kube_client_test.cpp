#include "fakes/fake_kube_client.h"

#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <map>
#include <stdexcept>
#include <thread>

#include "fakes/fake_clock.h"

namespace kube::testing {
namespace {

using namespace std::chrono_literals;

const ResourceType& routers() {
  static const ResourceType t{"rr.bgp.dev", "v1alpha1", "routereflectors", "RouteReflector", true};
  return t;
}

Json named(const std::string& name, const std::string& ns = "default", Json labels = Json::object()) {
  Json obj = {{"metadata", {{"name", name}}}};
  if (!ns.empty()) obj["metadata"]["namespace"] = ns;
  if (!labels.empty()) obj["metadata"]["labels"] = std::move(labels);
  return obj;
}

Json lease(const std::string& name, const std::string& holder = "a") {
  Json obj = named(name);
  obj["spec"] = {{"holderIdentity", holder}};
  return obj;
}

unsigned long rv_number(const Json& obj) { return std::stoul(resource_version_of(obj)); }

std::string type_name(WatchEvent::Type t) {
  switch (t) {
    case WatchEvent::Type::Added: return "ADDED";
    case WatchEvent::Type::Modified: return "MODIFIED";
    case WatchEvent::Type::Deleted: return "DELETED";
    case WatchEvent::Type::Bookmark: return "BOOKMARK";
  }
  return "?";
}

std::string describe(const WatchEvent& e) {
  return type_name(e.type) + " " +
         (e.type == WatchEvent::Type::Bookmark ? resource_version_of(e.object) : key_of(e.object));
}

// next() with a bound: on timeout the stream is cancelled so the test fails instead of hanging.
Result<std::optional<WatchEvent>> next_within(WatchStream& stream, std::chrono::milliseconds limit = 5s) {
  auto pending = std::async(std::launch::async, [&] { return stream.next(); });
  if (pending.wait_for(limit) != std::future_status::ready) {
    ADD_FAILURE() << "watch produced nothing within " << limit.count() << "ms";
    stream.cancel();
  }
  return pending.get();
}

WatchEvent expect_event(WatchStream& stream) {
  auto next = next_within(stream);
  if (!next.ok()) {
    ADD_FAILURE() << "watch error: " << next.error().describe();
    return {};
  }
  if (!next->has_value()) {
    ADD_FAILURE() << "watch ended";
    return {};
  }
  return **next;
}

// Every event before the one for `marker_key`: a write the test makes last
// proves nothing else was pending, without waiting for silence.
std::vector<std::string> events_until(WatchStream& stream, const std::string& marker_key) {
  std::vector<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto next = next_within(stream);
    if (!next.ok() || !next->has_value()) {
      ADD_FAILURE() << "watch ended before the marker " << marker_key;
      return seen;
    }
    if (key_of((*next)->object) == marker_key && (*next)->type != WatchEvent::Type::Bookmark) return seen;
    seen.push_back(describe(**next));
  }
  ADD_FAILURE() << "no marker " << marker_key;
  return seen;
}

std::unique_ptr<WatchStream> must_watch(FakeKubeClient& api, const ResourceType& type, const std::string& ns,
                                        WatchOptions options) {
  auto w = api.watch(type, ns, options);
  if (!w.ok()) {
    ADD_FAILURE() << "watch: " << w.error().describe();
    return nullptr;
  }
  return std::move(w.value());
}

std::vector<std::string> names(const ObjectList& list) {
  std::vector<std::string> out;
  for (const auto& item : list.items) out.push_back(name_of(item));
  return out;
}

// Option builders: designated initializers that skip fields trip -Wmissing-field-initializers.
ListOptions by_labels(std::string selector) {
  ListOptions o;
  o.label_selector = std::move(selector);
  return o;
}
ListOptions by_fields(std::string selector) {
  ListOptions o;
  o.field_selector = std::move(selector);
  return o;
}
ListOptions page(int limit, std::string token = "") {
  ListOptions o;
  o.limit = limit;
  o.continue_token = std::move(token);
  return o;
}
ListOptions list_at(std::string rv) {
  ListOptions o;
  o.resource_version = std::move(rv);
  return o;
}
WatchOptions watch_from(std::string rv, std::string label_selector = "") {
  WatchOptions o;
  o.resource_version = std::move(rv);
  o.label_selector = std::move(label_selector);
  return o;
}
WatchOptions bookmarks(bool allow) {
  WatchOptions o;
  o.allow_bookmarks = allow;
  return o;
}
PatchOptions status_patch() {
  PatchOptions o;
  o.status = true;
  return o;
}
PatchOptions applied_by(std::string manager) {
  PatchOptions o;
  o.field_manager = std::move(manager);
  return o;
}
DeleteOptions preconditions(std::optional<std::string> uid, std::optional<std::string> rv) {
  DeleteOptions o;
  o.precondition_uid = std::move(uid);
  o.precondition_resource_version = std::move(rv);
  return o;
}
DeleteOptions propagation(std::string policy) {
  DeleteOptions o;
  o.propagation_policy = std::move(policy);
  return o;
}

class FakeKubeClientTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FakeKubeClient api_{clock_};
};

// --- CRUD --------------------------------------------------------------

TEST_F(FakeKubeClientTest, CreateStampsWhatTheServerOwns) {
  auto created = api_.create(resources::leases(), "default", lease("lock"));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  const Json& obj = created.value();
  EXPECT_EQ(obj["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(obj["kind"], "Lease");
  EXPECT_EQ(namespace_of(obj), "default");
  EXPECT_FALSE(uid_of(obj).empty());
  EXPECT_EQ(generation_of(obj), 1);
  EXPECT_EQ(obj["metadata"]["creationTimestamp"], format_time(clock_.wall_now()));
  EXPECT_EQ(resource_version_of(obj), api_.resource_version());

  auto got = api_.get(resources::leases(), "default", "lock");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value(), obj);
  EXPECT_TRUE(api_.get(resources::leases(), "other", "lock").is(ErrorKind::NotFound));
}

TEST_F(FakeKubeClientTest, CreateRejectsWhatTheServerRejects) {
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("taken")).ok());
  struct Case {
    std::string name;
    std::string ns;
    Json object;
    ErrorKind kind;
    int http_status;
  };
  Json with_rv = lease("fresh");
  with_rv["metadata"]["resourceVersion"] = "5";
  Json other_ns = lease("fresh");
  other_ns["metadata"]["namespace"] = "elsewhere";
  const Case cases[] = {
      {"duplicate", "default", lease("taken"), ErrorKind::AlreadyExists, 409},
      {"no name", "default", Json{{"metadata", Json::object()}}, ErrorKind::Invalid, 422},
      {"no metadata", "default", Json::object(), ErrorKind::Invalid, 422},
      {"upper-case name", "default", lease("Lock"), ErrorKind::Invalid, 422},
      {"resourceVersion set", "default", with_rv, ErrorKind::Invalid, 400},
      {"namespace mismatch", "default", other_ns, ErrorKind::Invalid, 400},
      {"bad label value", "default", named("fresh", "default", {{"a", "has space"}}), ErrorKind::Invalid, 422},
      {"label value too long", "default", named("fresh", "default", {{"a", std::string(64, 'x')}}), ErrorKind::Invalid,
       422},
      {"not an object", "default", Json::array(), ErrorKind::Invalid, 400},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = api_.create(resources::leases(), c.ns, c.object);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, c.kind) << r.error().describe();
    EXPECT_EQ(r.error().http_status, c.http_status);
  }
  EXPECT_EQ(api_.writes(), 1);
}

TEST_F(FakeKubeClientTest, GenerateNameAppendsADeterministicSuffix) {
  Json obj = {{"metadata", {{"generateName", "rr-"}}}};
  auto a = api_.create(resources::leases(), "default", obj);
  auto b = api_.create(resources::leases(), "default", obj);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(name_of(a.value()).size(), 8u);
  EXPECT_TRUE(name_of(a.value()).starts_with("rr-"));
  EXPECT_NE(name_of(a.value()), name_of(b.value()));

  FakeKubeClient again(clock_);
  EXPECT_EQ(name_of(again.create(resources::leases(), "default", obj).value()), name_of(a.value()));
}

TEST_F(FakeKubeClientTest, ResourceVersionIsOneCounterForEveryType) {
  auto a = api_.create(resources::leases(), "default", lease("a"));
  auto n = api_.create(resources::nodes(), "", named("node-1", ""));
  auto b = api_.create(resources::leases(), "default", lease("b"));
  ASSERT_TRUE(a.ok() && n.ok() && b.ok());
  EXPECT_LT(rv_number(a.value()), rv_number(n.value()));
  EXPECT_LT(rv_number(n.value()), rv_number(b.value()));
  EXPECT_EQ(namespace_of(n.value()), "");
  auto list = api_.list(resources::leases(), "default", {});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->resource_version, resource_version_of(b.value()));
}

TEST_F(FakeKubeClientTest, UpdateIsACompareAndSwap) {
  const Json stored = api_.create(resources::leases(), "default", lease("lock", "a")).value();
  struct Case {
    std::string name;
    std::function<Json(Json)> change;
    std::optional<ErrorKind> error;
  };
  const Case cases[] = {
      {"current resourceVersion", [](Json o) { return o; }, std::nullopt},
      {"stale resourceVersion",
       [](Json o) {
         o["metadata"]["resourceVersion"] = "1";
         return o;
       },
       ErrorKind::Conflict},
      {"no resourceVersion is unconditional",
       [](Json o) {
         o["metadata"].erase("resourceVersion");
         return o;
       },
       std::nullopt},
      {"another object's uid",
       [](Json o) {
         o["metadata"]["uid"] = "someone-else";
         return o;
       },
       ErrorKind::Conflict},
      {"absent object",
       [](Json o) {
         o["metadata"]["name"] = "missing";
         o["metadata"].erase("resourceVersion");
         return o;
       },
       ErrorKind::NotFound},
      {"no name",
       [](Json o) {
         o["metadata"].erase("name");
         return o;
       },
       ErrorKind::Invalid},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json current = api_.get(resources::leases(), "default", "lock").value();
    Json next = c.change(current);
    next["spec"]["holderIdentity"] = "holder-" + std::to_string(rv_number(current));
    auto r = api_.update(resources::leases(), next);
    if (c.error) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().kind, *c.error) << r.error().describe();
      if (*c.error == ErrorKind::Conflict) {
        EXPECT_EQ(r.error().http_status, 409);
      }
      EXPECT_EQ(api_.get(resources::leases(), "default", "lock").value(), current);
    } else {
      ASSERT_TRUE(r.ok()) << r.error().describe();
      EXPECT_GT(rv_number(r.value()), rv_number(current));
      EXPECT_EQ(r->at("spec"), next["spec"]);
    }
  }
}

TEST_F(FakeKubeClientTest, UpdateCannotChangeServerOwnedFields) {
  const Json stored = api_.create(resources::leases(), "default", lease("lock")).value();
  Json next = stored;
  next["metadata"]["creationTimestamp"] = "1999-01-01T00:00:00Z";
  next["metadata"]["generation"] = 42;
  next["metadata"]["deletionTimestamp"] = "1999-01-01T00:00:00Z";
  next["metadata"]["labels"] = {{"touched", "yes"}};
  auto updated = api_.update(resources::leases(), next);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->at("metadata").at("creationTimestamp"), stored["metadata"]["creationTimestamp"]);
  EXPECT_EQ(generation_of(updated.value()), 1);
  EXPECT_FALSE(updated->at("metadata").contains("deletionTimestamp"));
  EXPECT_EQ(labels_of(updated.value()).at("touched"), "yes");
}

TEST_F(FakeKubeClientTest, NoOpUpdateWritesNothing) {
  const Json stored = api_.create(resources::leases(), "default", lease("lock")).value();
  auto w = must_watch(api_, resources::leases(), "default", watch_from(resource_version_of(stored)));
  ASSERT_TRUE(w);
  auto same = api_.update(resources::leases(), stored);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(resource_version_of(same.value()), resource_version_of(stored));
  EXPECT_EQ(api_.writes(), 2);  // the call still counts: the client did send it
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("marker")).ok());
  EXPECT_TRUE(events_until(*w, "default/marker").empty());
}

TEST_F(FakeKubeClientTest, GenerationCountsNonMetadataChangesWithoutStatusSubresource) {
  Json stored = api_.create(resources::leases(), "default", lease("lock", "a")).value();
  stored["metadata"]["labels"] = {{"x", "y"}};
  stored = api_.update(resources::leases(), stored).value();
  EXPECT_EQ(generation_of(stored), 1);
  stored["spec"]["holderIdentity"] = "b";
  stored = api_.update(resources::leases(), stored).value();
  EXPECT_EQ(generation_of(stored), 2);
  EXPECT_TRUE(api_.update_status(resources::leases(), stored).is(ErrorKind::NotFound));
}

// --- status subresource --------------------------------------------------

TEST_F(FakeKubeClientTest, StatusSubresourceIsolatesSpecAndStatus) {
  Json rr = named("rr-1", "default", {{"app", "rr"}});
  rr["spec"] = {{"asn", 64512}};
  rr["status"] = {{"phase", "Ready"}};
  Json stored = api_.create(routers(), "", rr).value();
  EXPECT_FALSE(stored.contains("status")) << "custom resources ignore status on create";

  struct Case {
    std::string name;
    bool status_write;
    std::function<void(Json&)> change;
    Json want_spec;
    Json want_status;
    long want_generation;
  };
  const Case cases[] = {
      {"update ignores status",
       false,
       [](Json& o) {
         o["status"] = {{"phase", "Hacked"}};
       },
       {{"asn", 64512}},
       Json(),
       1},
      {"update of spec bumps generation",
       false,
       [](Json& o) { o["spec"]["asn"] = 64513; },
       {{"asn", 64513}},
       Json(),
       2},
      {"update_status changes only status",
       true,
       [](Json& o) {
         o["status"] = {{"phase", "Ready"}};
         o["spec"]["asn"] = 1;
         o["metadata"]["labels"]["app"] = "changed";
       },
       {{"asn", 64513}},
       {{"phase", "Ready"}},
       2},
      {"update keeps status written through the subresource",
       false,
       [](Json& o) {
         o.erase("status");
         o["metadata"]["labels"]["extra"] = "1";
       },
       {{"asn", 64513}},
       {{"phase", "Ready"}},
       2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json next = api_.get(routers(), "default", "rr-1").value();
    c.change(next);
    auto r = c.status_write ? api_.update_status(routers(), next) : api_.update(routers(), next);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->value("spec", Json()), c.want_spec);
    EXPECT_EQ(r->value("status", Json()), c.want_status);
    EXPECT_EQ(generation_of(r.value()), c.want_generation);
    EXPECT_EQ(labels_of(r.value()).at("app"), "rr");
  }
}

TEST_F(FakeKubeClientTest, StatusPatchTouchesOnlyStatus) {
  Json rr = named("rr-1");
  rr["spec"] = {{"asn", 64512}};
  ASSERT_TRUE(api_.create(routers(), "default", rr).ok());
  auto patched = api_.patch(routers(), "default", "rr-1", PatchType::Merge,
                            {{"spec", {{"asn", 1}}}, {"status", {{"phase", "Ready"}}}}, status_patch());
  ASSERT_TRUE(patched.ok()) << patched.error().describe();
  EXPECT_EQ(patched->at("spec").at("asn"), 64512);
  EXPECT_EQ(patched->at("status").at("phase"), "Ready");

  auto main = api_.patch(routers(), "default", "rr-1", PatchType::Merge, {{"status", {{"phase", "Lost"}}}}, {});
  ASSERT_TRUE(main.ok());
  EXPECT_EQ(main->at("status").at("phase"), "Ready");
  EXPECT_EQ(api_.write_log().back(), "patch routereflectors default/rr-1");
  EXPECT_EQ(api_.write_log().front(), "create routereflectors default/rr-1");
}

TEST_F(FakeKubeClientTest, StatusSubresourceRegistration) {
  const ResourceType peers{"example.com", "v1", "peers", "Peer", true};
  Json p = named("p");
  p["status"] = {{"up", true}};
  p = api_.create(peers, "default", p).value();
  EXPECT_TRUE(api_.update_status(peers, p).is(ErrorKind::NotFound)) << "no status subresource yet";

  Json crd = named("peers.example.com", "");
  crd["spec"] = {{"group", "example.com"},
                 {"names", {{"plural", "peers"}, {"kind", "Peer"}}},
                 {"versions", {{{"name", "v1"}, {"subresources", {{"status", Json::object()}}}}}}};
  ASSERT_TRUE(api_.create(resources::custom_resource_definitions(), "", crd).ok());
  p["status"] = {{"up", false}};
  auto via_status = api_.update_status(peers, p);
  ASSERT_TRUE(via_status.ok()) << via_status.error().describe();
  EXPECT_EQ(via_status->at("status").at("up"), false);

  api_.unregister_status_subresource(routers());
  Json rr = named("rr-1");
  rr["status"] = {{"phase", "Ready"}};
  rr = api_.create(routers(), "default", rr).value();
  EXPECT_TRUE(rr.contains("status"));
  api_.register_status_subresource(routers());
  rr["status"] = {{"phase", "Changed"}};
  EXPECT_EQ(api_.update(routers(), rr)->at("status").at("phase"), "Ready");
}

TEST_F(FakeKubeClientTest, CustomResourcesRefuseUnconditionalUpdates) {
  Json rr = api_.create(routers(), "default", named("rr-1")).value();
  rr["status"] = {{"phase", "Ready"}};
  Json unconditional = rr;
  unconditional["metadata"].erase("resourceVersion");
  for (bool status : {false, true}) {
    SCOPED_TRACE(status ? "update_status" : "update");
    auto put = [&](const Json& o) { return status ? api_.update_status(routers(), o) : api_.update(routers(), o); };
    auto refused = put(unconditional);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, ErrorKind::Invalid);
    EXPECT_EQ(refused.error().http_status, 422);
    Json absent = unconditional;
    absent["metadata"]["name"] = "absent";
    EXPECT_TRUE(put(absent).is(ErrorKind::NotFound));
    auto accepted = put(rr);
    ASSERT_TRUE(accepted.ok()) << accepted.error().describe();
    rr = accepted.value();
    rr["status"] = {{"phase", "Again"}};
  }
}

// --- patches -------------------------------------------------------------

TEST_F(FakeKubeClientTest, MergePatchFollowsRfc7386) {
  Json obj = named("lock", "default", {{"a", "1"}, {"b", "2"}});
  obj["spec"] = {{"holderIdentity", "x"}, {"leaseDurationSeconds", 15}};
  const Json stored = api_.create(resources::leases(), "default", obj).value();
  auto patched = api_.patch(resources::leases(), "default", "lock", PatchType::Merge,
                            {{"metadata", {{"labels", {{"a", nullptr}, {"c", "3"}}}}},
                             {"spec", {{"leaseDurationSeconds", nullptr}, {"holderIdentity", "y"}}}},
                            {});
  ASSERT_TRUE(patched.ok()) << patched.error().describe();
  EXPECT_EQ(labels_of(patched.value()), (std::map<std::string, std::string>{{"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(patched->at("spec"), Json({{"holderIdentity", "y"}}));
  EXPECT_EQ(generation_of(patched.value()), 2);

  auto stale = api_.patch(resources::leases(), "default", "lock", PatchType::Merge,
                          {{"metadata", {{"resourceVersion", resource_version_of(stored)}}}}, {});
  EXPECT_TRUE(stale.is(ErrorKind::Conflict));
  auto current = api_.patch(
      resources::leases(), "default", "lock", PatchType::Merge,
      {{"metadata", {{"resourceVersion", resource_version_of(patched.value())}}}, {"spec", {{"holderIdentity", "z"}}}},
      {});
  EXPECT_TRUE(current.ok());
  EXPECT_TRUE(api_.patch(resources::leases(), "default", "absent", PatchType::Merge, Json::object(), {})
                  .is(ErrorKind::NotFound));
  EXPECT_TRUE(api_.patch(resources::leases(), "default", "lock", PatchType::Merge, {{"metadata", {{"name", "x"}}}}, {})
                  .is(ErrorKind::Invalid));
}

TEST_F(FakeKubeClientTest, JsonPatch) {
  const Json stored = api_.create(resources::leases(), "default", lease("lock", "a")).value();
  struct Case {
    std::string name;
    Json ops;
    std::optional<std::string> want_holder;  // nullopt: rejected with 422
  };
  const Case cases[] = {
      {"test then replace",
       Json::array({{{"op", "test"}, {"path", "/spec/holderIdentity"}, {"value", "a"}},
                    {{"op", "replace"}, {"path", "/spec/holderIdentity"}, {"value", "b"}}}),
       "b"},
      {"failing test", Json::array({{{"op", "test"}, {"path", "/spec/holderIdentity"}, {"value", "a"}}}), std::nullopt},
      {"remove of a missing path", Json::array({{{"op", "remove"}, {"path", "/spec/nothing"}}}), std::nullopt},
      {"unknown op", Json::array({{{"op", "frobnicate"}, {"path", "/spec"}}}), std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Json before = api_.get(resources::leases(), "default", "lock").value();
    auto r = api_.patch(resources::leases(), "default", "lock", PatchType::JsonPatch, c.ops, {});
    if (c.want_holder) {
      ASSERT_TRUE(r.ok()) << r.error().describe();
      EXPECT_EQ(r->at("spec").at("holderIdentity"), *c.want_holder);
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().kind, ErrorKind::Invalid);
      EXPECT_EQ(r.error().http_status, 422);
      EXPECT_EQ(api_.get(resources::leases(), "default", "lock").value(), before);
    }
  }
  EXPECT_TRUE(api_.patch(resources::leases(), "default", "lock", PatchType::JsonPatch, Json::object(), {})
                  .is(ErrorKind::Invalid));
}

TEST_F(FakeKubeClientTest, ApplyAndStrategicPatches) {
  Json body = named("rr-1");
  body["apiVersion"] = "rr.bgp.dev/v1alpha1";
  body["kind"] = "RouteReflector";
  body["spec"] = {{"asn", 64512}};
  EXPECT_TRUE(api_.patch(routers(), "default", "rr-1", PatchType::Apply, body, {}).is(ErrorKind::Invalid))
      << "apply needs a field manager";
  auto created = api_.patch(routers(), "default", "rr-1", PatchType::Apply, body, applied_by("rr"));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  EXPECT_EQ(generation_of(created.value()), 1);
  body["spec"] = {{"clusterID", "1.2.3.4"}};
  auto merged = api_.patch(routers(), "default", "rr-1", PatchType::Apply, body, applied_by("rr"));
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->at("spec"), Json({{"asn", 64512}, {"clusterID", "1.2.3.4"}}));
  Json wrong_kind = body;
  wrong_kind["kind"] = "Lease";
  EXPECT_TRUE(
      api_.patch(routers(), "default", "rr-1", PatchType::Apply, wrong_kind, applied_by("rr")).is(ErrorKind::Invalid));

  auto strategic_cr = api_.patch(routers(), "default", "rr-1", PatchType::Strategic, {{"spec", {{"asn", 1}}}}, {});
  ASSERT_FALSE(strategic_cr.ok());
  EXPECT_EQ(strategic_cr.error().http_status, 415);
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("lock", "a")).ok());
  auto strategic = api_.patch(resources::leases(), "default", "lock", PatchType::Strategic,
                              {{"spec", {{"holderIdentity", "b"}}}}, {});
  ASSERT_TRUE(strategic.ok());
  EXPECT_EQ(strategic->at("spec").at("holderIdentity"), "b");
}

// --- lists ---------------------------------------------------------------

TEST_F(FakeKubeClientTest, LabelSelectors) {
  api_.seed(resources::leases(), named("a", "default", {{"app", "rr"}, {"tier", "edge"}, {"rank", "3"}}));
  api_.seed(resources::leases(), named("b", "default", {{"app", "rr"}, {"tier", "core"}, {"rank", "10"}}));
  api_.seed(resources::leases(), named("c", "default", {{"app", "web"}}));
  api_.seed(resources::leases(), named("d"));
  struct Case {
    std::string selector;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"", {"a", "b", "c", "d"}},
      {"app=rr", {"a", "b"}},
      {"app==rr", {"a", "b"}},
      {"app!=rr", {"c", "d"}},
      {"tier in (edge, core)", {"a", "b"}},
      {"tier notin (edge)", {"b", "c", "d"}},
      {"tier", {"a", "b"}},
      {"!tier", {"c", "d"}},
      {"app=rr,tier=core", {"b"}},
      {" app in (rr,web) , !tier ", {"c"}},
      {"rank>5", {"b"}},
      {"rank<5", {"a"}},
      {"app=", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.selector);
    auto r = api_.list(resources::leases(), "default", by_labels(c.selector));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(names(r.value()), c.want);
  }
  for (const std::string bad :
       {"app in (rr", "app in ()", "Bad Key=x", "app=in valid", "=x", "app=rr,", "a b", "rank>x", "tier notin edge"}) {
    SCOPED_TRACE(bad);
    auto r = api_.list(resources::leases(), "default", by_labels(bad));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Invalid);
    EXPECT_EQ(r.error().http_status, 400);
  }
}

TEST_F(FakeKubeClientTest, FieldSelectors) {
  auto pod = [](const std::string& name, const std::string& ns, const std::string& node) {
    Json p = named(name, ns);
    if (!node.empty()) p["spec"] = {{"nodeName", node}};
    return p;
  };
  api_.seed(resources::pods(), pod("p1", "default", "n1"));
  api_.seed(resources::pods(), pod("p2", "default", "n1"));
  api_.seed(resources::pods(), pod("p3", "other", "n2"));
  api_.seed(resources::pods(), pod("p4", "other", ""));
  struct Case {
    std::string selector;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"metadata.name=p1", {"p1"}},
      {"metadata.namespace=other", {"p3", "p4"}},
      {"spec.nodeName=n1", {"p1", "p2"}},
      {"spec.nodeName==n1", {"p1", "p2"}},
      {"spec.nodeName!=n1", {"p3", "p4"}},
      {"spec.nodeName=", {"p4"}},
      {"spec.nodeName=n1,metadata.name!=p1", {"p2"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.selector);
    auto r = api_.list(resources::pods(), "", by_fields(c.selector));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(names(r.value()), c.want);
  }
  for (const std::string bad : {"spec.foo=x", "metadata.name", "=x"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(api_.list(resources::pods(), "", by_fields(bad)).is(ErrorKind::Invalid));
  }
  EXPECT_TRUE(api_.list(resources::leases(), "", by_fields("spec.nodeName=x")).is(ErrorKind::Invalid))
      << "only pods register spec.nodeName";
}

TEST_F(FakeKubeClientTest, NamespacesScopeLists) {
  api_.seed(resources::leases(), named("a", "ns1"));
  api_.seed(resources::leases(), named("b", "ns2"));
  api_.seed(resources::nodes(), named("n1", ""));
  EXPECT_EQ(names(api_.list(resources::leases(), "", {}).value()), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(names(api_.list(resources::leases(), "ns2", {}).value()), (std::vector<std::string>{"b"}));
  EXPECT_EQ(names(api_.list(resources::nodes(), "ignored", {}).value()), (std::vector<std::string>{"n1"}));
  EXPECT_TRUE(api_.get(resources::nodes(), "", "n1").ok());
}

TEST_F(FakeKubeClientTest, PagesReadOneSnapshotUntilCompacted) {
  for (const char* n : {"l0", "l1", "l2", "l3", "l4"})
    ASSERT_TRUE(api_.create(resources::leases(), "default", lease(n)).ok());
  auto first = api_.list(resources::leases(), "default", page(2));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(names(first.value()), (std::vector<std::string>{"l0", "l1"}));
  ASSERT_FALSE(first->continue_token.empty());

  // Changes after the first page do not show in later pages.
  Json l2 = api_.get(resources::leases(), "default", "l2").value();
  l2["spec"]["holderIdentity"] = "changed";
  ASSERT_TRUE(api_.update(resources::leases(), l2).ok());
  ASSERT_TRUE(api_.remove(resources::leases(), "default", "l3", {}).ok());
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("l5")).ok());

  auto second = api_.list(resources::leases(), "default", page(2, first->continue_token));
  ASSERT_TRUE(second.ok()) << second.error().describe();
  EXPECT_EQ(names(second.value()), (std::vector<std::string>{"l2", "l3"}));
  EXPECT_EQ(second->items[0]["spec"]["holderIdentity"], "a");
  EXPECT_EQ(second->resource_version, first->resource_version);
  auto third = api_.list(resources::leases(), "default", page(2, second->continue_token));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(names(third.value()), (std::vector<std::string>{"l4"}));
  EXPECT_TRUE(third->continue_token.empty());

  auto all = api_.list_all(resources::leases(), "default", page(2));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(names(all.value()), (std::vector<std::string>{"l0", "l1", "l2", "l4", "l5"}));

  auto one = api_.list(resources::leases(), "default", page(1));
  api_.compact();
  auto expired = api_.list(resources::leases(), "default", page(1, one->continue_token));
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().kind, ErrorKind::Gone);
  EXPECT_EQ(expired.error().http_status, 410);
  EXPECT_TRUE(api_.list(resources::leases(), "default", page(0, "garbage")).is(ErrorKind::Invalid));
  EXPECT_TRUE(api_.list(resources::leases(), "default", list_at("999999")).is(ErrorKind::Transient));
}

// --- watches -------------------------------------------------------------

TEST_F(FakeKubeClientTest, WatchSeesCreateUpdateDeleteInOrder) {
  const std::string from = api_.resource_version();
  auto w = must_watch(api_, resources::leases(), "default", watch_from(from));
  ASSERT_TRUE(w);
  Json a = api_.create(resources::leases(), "default", lease("a", "x")).value();
  a["spec"]["holderIdentity"] = "y";
  a = api_.update(resources::leases(), a).value();
  ASSERT_TRUE(api_.remove(resources::leases(), "default", "a", {}).ok());

  WatchEvent added = expect_event(*w);
  WatchEvent modified = expect_event(*w);
  WatchEvent deleted = expect_event(*w);
  EXPECT_EQ(describe(added), "ADDED default/a");
  EXPECT_EQ(describe(modified), "MODIFIED default/a");
  EXPECT_EQ(describe(deleted), "DELETED default/a");
  EXPECT_LT(rv_number(added.object), rv_number(modified.object));
  EXPECT_LT(rv_number(modified.object), rv_number(deleted.object));
  EXPECT_EQ(deleted.object["spec"]["holderIdentity"], "y") << "DELETED carries the last state";
  EXPECT_EQ(resource_version_of(deleted.object), api_.resource_version());
  EXPECT_EQ(api_.open_watch_count(), 1);
}

TEST_F(FakeKubeClientTest, WatchResumesExactlyAfterTheRequestedVersion) {
  const std::string rv0 = api_.resource_version();
  const std::string rv1 = resource_version_of(api_.create(resources::leases(), "default", lease("a")).value());
  const std::string rv2 = resource_version_of(api_.create(resources::leases(), "default", lease("b")).value());
  Json a = api_.get(resources::leases(), "default", "a").value();
  a["spec"]["holderIdentity"] = "other";
  const std::string rv3 = resource_version_of(api_.update(resources::leases(), a).value());
  ASSERT_TRUE(api_.remove(resources::leases(), "default", "b", {}).ok());
  const std::string rv4 = api_.resource_version();
  api_.seed(resources::nodes(), named("unrelated-type", ""));

  struct Case {
    std::string from;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {rv0, {"ADDED default/a", "ADDED default/b", "MODIFIED default/a", "DELETED default/b"}},
      {rv1, {"ADDED default/b", "MODIFIED default/a", "DELETED default/b"}},
      {rv2, {"MODIFIED default/a", "DELETED default/b"}},
      {rv3, {"DELETED default/b"}},
      {rv4, {}},
  };
  int marker = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE("from " + c.from);
    auto w = must_watch(api_, resources::leases(), "default", watch_from(c.from));
    ASSERT_TRUE(w);
    const std::string name = "marker-" + std::to_string(marker++);
    ASSERT_TRUE(api_.create(resources::leases(), "default", lease(name)).ok());
    auto seen = events_until(*w, "default/" + name);
    // Markers of earlier cases are later than every case's start; drop them.
    std::erase_if(seen, [](const std::string& e) { return e.find("marker-") != std::string::npos; });
    EXPECT_EQ(seen, c.want);
  }
}

TEST_F(FakeKubeClientTest, WatchFromNowOrWithInitialEvents) {
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("existing")).ok());
  for (const std::string from : {"", "0"}) {
    SCOPED_TRACE("resourceVersion \"" + from + "\"");
    auto w = must_watch(api_, resources::leases(), "", watch_from(from));
    ASSERT_TRUE(w);
    const std::string name = "new" + std::to_string(from.size());
    ASSERT_TRUE(api_.create(resources::leases(), "default", lease(name)).ok());
    EXPECT_TRUE(events_until(*w, "default/" + name).empty());
  }
  api_.set_synthetic_initial_events(true);
  auto w = must_watch(api_, resources::leases(), "", {});
  ASSERT_TRUE(w);
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("last")).ok());
  EXPECT_EQ(events_until(*w, "default/last"),
            (std::vector<std::string>{"ADDED default/existing", "ADDED default/new0", "ADDED default/new1"}));
}

TEST_F(FakeKubeClientTest, WatchFromACompactedVersionIsGone) {
  const std::string older = api_.resource_version();
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("a")).ok());
  const std::string latest = api_.resource_version();
  api_.compact();
  for (const std::string& from : {older, latest}) {
    SCOPED_TRACE("from " + from);
    auto w = api_.watch(resources::leases(), "default", watch_from(from));
    ASSERT_TRUE(w.ok()) << "the server answers 200, then an ERROR event";
    auto first = next_within(*w.value());
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.error().kind, ErrorKind::Gone);
    EXPECT_EQ(first.error().http_status, 410);
    EXPECT_EQ(api_.open_watch_count(), 0);
  }

  auto fresh = must_watch(api_, resources::leases(), "default", watch_from(api_.resource_version()));
  ASSERT_TRUE(fresh);
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("b")).ok());
  EXPECT_EQ(describe(expect_event(*fresh)), "ADDED default/b");

  EXPECT_TRUE(api_.watch(resources::leases(), "", watch_from("99999999")).is(ErrorKind::Transient));
  EXPECT_TRUE(api_.watch(resources::leases(), "", watch_from("abc")).is(ErrorKind::Invalid));
}

TEST_F(FakeKubeClientTest, WatchSelectorTransitionsLookLikeAddsAndDeletes) {
  auto w = must_watch(api_, resources::leases(), "default", watch_from(api_.resource_version(), "role=rr"));
  ASSERT_TRUE(w);
  auto set_labels = [&](Json labels) {
    Json x = api_.get(resources::leases(), "default", "x").value();
    x["metadata"]["labels"] = std::move(labels);
    return api_.update(resources::leases(), x).value();
  };
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("x")).ok());  // not matching: nothing
  set_labels({{"role", "rr"}});                                               // starts matching: ADDED
  set_labels({{"role", "rr"}, {"zone", "a"}});                                // still matching: MODIFIED
  const Json left = set_labels({{"zone", "a"}});                              // stops matching: DELETED
  ASSERT_TRUE(api_.remove(resources::leases(), "default", "x", {}).ok());     // not matching: nothing
  ASSERT_TRUE(api_.create(resources::leases(), "other", named("y", "other", {{"role", "rr"}})).ok());  // other ns
  ASSERT_TRUE(api_.create(resources::leases(), "default", named("marker", "default", {{"role", "rr"}})).ok());

  std::vector<WatchEvent> seen;
  for (int i = 0; i < 3; ++i) seen.push_back(expect_event(*w));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(describe(seen[0]), "ADDED default/x");
  EXPECT_EQ(describe(seen[1]), "MODIFIED default/x");
  EXPECT_EQ(describe(seen[2]), "DELETED default/x");
  EXPECT_EQ(labels_of(seen[2].object).at("role"), "rr") << "the last state that matched";
  EXPECT_EQ(resource_version_of(seen[2].object), resource_version_of(left)) << "at the new resourceVersion";
  EXPECT_EQ(describe(expect_event(*w)), "ADDED default/marker");
}

TEST_F(FakeKubeClientTest, BookmarksGoOnlyToWatchesThatAskedForThem) {
  auto with = must_watch(api_, resources::leases(), "", bookmarks(true));
  auto without = must_watch(api_, resources::leases(), "", bookmarks(false));
  ASSERT_TRUE(with && without);
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("a")).ok());
  const std::string at = api_.resource_version();
  api_.send_bookmarks();
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("marker")).ok());
  EXPECT_EQ(events_until(*with, "default/marker"), (std::vector<std::string>{"ADDED default/a", "BOOKMARK " + at}));
  EXPECT_EQ(events_until(*without, "default/marker"), (std::vector<std::string>{"ADDED default/a"}));
}

TEST_F(FakeKubeClientTest, ClosedWatchDrainsThenEnds) {
  auto w = must_watch(api_, resources::leases(), "", {});
  ASSERT_TRUE(w);
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("a")).ok());
  EXPECT_EQ(api_.open_watch_count(), 1);
  api_.close_watches();
  EXPECT_EQ(api_.open_watch_count(), 0);
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("after-close")).ok());
  EXPECT_EQ(describe(expect_event(*w)), "ADDED default/a");
  for (int i = 0; i < 2; ++i) {
    auto end = next_within(*w);
    ASSERT_TRUE(end.ok());
    EXPECT_FALSE(end->has_value());
  }
}

TEST_F(FakeKubeClientTest, FailedWatchReturnsTheError) {
  auto w = must_watch(api_, resources::leases(), "", {});
  ASSERT_TRUE(w);
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("lost")).ok());
  api_.fail_watches(make_error(ErrorKind::Transient, "connection reset"));
  auto next = next_within(*w);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().kind, ErrorKind::Transient);
  EXPECT_EQ(api_.open_watch_count(), 0);
}

TEST_F(FakeKubeClientTest, CancelUnblocksAWaitingNext) {
  auto w = must_watch(api_, resources::leases(), "", {});
  ASSERT_TRUE(w);
  auto pending = std::async(std::launch::async, [&] { return w->next(); });
  EXPECT_EQ(pending.wait_for(20ms), std::future_status::timeout) << "next() blocks while nothing happens";
  w->cancel();
  ASSERT_EQ(pending.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(pending.get().is(ErrorKind::Cancelled));
}

TEST_F(FakeKubeClientTest, WaitingNextWakesOnAWriteFromAnotherThread) {
  auto w = must_watch(api_, resources::leases(), "", {});
  ASSERT_TRUE(w);
  EXPECT_TRUE(api_.wait_for_open_watches(1, 1s));
  auto pending = std::async(std::launch::async, [&] { return next_within(*w); });
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("a")).ok());
  auto got = pending.get();
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(describe(**got), "ADDED default/a");
  w.reset();
  EXPECT_EQ(api_.open_watch_count(), 0);
  EXPECT_FALSE(api_.wait_for_open_watches(1, 10ms));
}

TEST(FakeKubeClientLifetime, StreamsOutliveTheFake) {
  FakeClock clock;
  std::unique_ptr<WatchStream> idle;
  std::future<Result<std::optional<WatchEvent>>> waiting;
  std::unique_ptr<WatchStream> blocked;
  {
    FakeKubeClient api(clock);
    idle = std::move(api.watch(resources::leases(), "", {}).value());
    blocked = std::move(api.watch(resources::leases(), "", {}).value());
    waiting = std::async(std::launch::async, [&] { return blocked->next(); });
    ASSERT_EQ(waiting.wait_for(10ms), std::future_status::timeout);
  }
  ASSERT_EQ(waiting.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(waiting.get().is(ErrorKind::Transient));
  EXPECT_TRUE(idle->next().is(ErrorKind::Transient));
  idle->cancel();
  idle.reset();
  blocked.reset();
}

// --- deletion ------------------------------------------------------------

TEST_F(FakeKubeClientTest, DeletePreconditions) {
  const Json stored = api_.create(resources::leases(), "default", lease("lock")).value();
  struct Case {
    std::string name;
    DeleteOptions options;
    std::optional<ErrorKind> error;
  };
  const Case cases[] = {
      {"uid mismatch", preconditions("other", std::nullopt), ErrorKind::Conflict},
      {"resourceVersion mismatch", preconditions(std::nullopt, "1"), ErrorKind::Conflict},
      {"unknown propagation policy", propagation("Eventually"), ErrorKind::Invalid},
      {"both match", preconditions(uid_of(stored), resource_version_of(stored)), std::nullopt},
      {"already gone", {}, ErrorKind::NotFound},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = api_.remove(resources::leases(), "default", "lock", c.options);
    if (c.error) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().kind, *c.error) << r.error().describe();
    } else {
      EXPECT_TRUE(r.ok()) << r.error().describe();
    }
  }
  EXPECT_FALSE(api_.peek(resources::leases(), "default", "lock"));
}

TEST_F(FakeKubeClientTest, FinalizersHoldDeletionUntilRemoved) {
  Json rr = named("rr-1");
  rr["metadata"]["finalizers"] = {"rr.bgp.dev/cleanup"};
  rr["spec"] = {{"asn", 1}};
  ASSERT_TRUE(api_.create(routers(), "default", rr).ok());
  auto w = must_watch(api_, routers(), "default", watch_from(api_.resource_version()));
  ASSERT_TRUE(w);

  ASSERT_TRUE(api_.remove(routers(), "default", "rr-1", {}).ok());
  Json terminating = api_.get(routers(), "default", "rr-1").value();
  EXPECT_EQ(terminating["metadata"]["deletionTimestamp"], format_time(clock_.wall_now()));
  EXPECT_EQ(generation_of(terminating), 2);
  EXPECT_EQ(describe(expect_event(*w)), "MODIFIED default/rr-1");
  ASSERT_TRUE(api_.remove(routers(), "default", "rr-1", {}).ok());
  EXPECT_EQ(api_.get(routers(), "default", "rr-1").value(), terminating) << "deleting twice changes nothing";

  Json more = terminating;
  more["metadata"]["finalizers"].push_back("rr.bgp.dev/another");
  EXPECT_TRUE(api_.update(routers(), more).is(ErrorKind::Invalid));

  Json done = terminating;
  done["metadata"]["finalizers"] = Json::array();
  ASSERT_TRUE(api_.update(routers(), done).ok());
  EXPECT_TRUE(api_.get(routers(), "default", "rr-1").is(ErrorKind::NotFound));
  WatchEvent deleted = expect_event(*w);
  EXPECT_EQ(describe(deleted), "DELETED default/rr-1");
  EXPECT_TRUE(deleted.object["metadata"].contains("deletionTimestamp"));
}

TEST_F(FakeKubeClientTest, GarbageCollectionIsExplicit) {
  auto owned_by = [](Json obj, std::vector<Json> owners) {
    for (const auto& o : owners) {
      obj["metadata"]["ownerReferences"].push_back(
          {{"apiVersion", o["apiVersion"]}, {"kind", o["kind"]}, {"name", name_of(o)}, {"uid", uid_of(o)}});
    }
    return obj;
  };
  const Json owner = api_.create(routers(), "default", named("owner")).value();
  const Json survivor = api_.create(routers(), "default", named("survivor")).value();
  const Json child = api_.create(resources::leases(), "default", owned_by(lease("child"), {owner})).value();
  ASSERT_TRUE(api_.create(resources::secrets(), "default", owned_by(named("grandchild"), {child})).ok());
  ASSERT_TRUE(api_.create(resources::leases(), "default", owned_by(lease("shared"), {owner, survivor})).ok());
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("unowned")).ok());

  ASSERT_TRUE(api_.remove(routers(), "default", "owner", {}).ok());
  EXPECT_TRUE(api_.peek(resources::leases(), "default", "child")) << "no garbage collector runs by itself";
  api_.reset_counters();
  EXPECT_EQ(api_.collect_garbage(), 2);
  EXPECT_FALSE(api_.peek(resources::leases(), "default", "child"));
  EXPECT_FALSE(api_.peek(resources::secrets(), "default", "grandchild"));
  EXPECT_TRUE(api_.peek(resources::leases(), "default", "shared"));
  EXPECT_TRUE(api_.peek(resources::leases(), "default", "unowned"));
  EXPECT_EQ(api_.writes(), 0);
  EXPECT_EQ(api_.collect_garbage(), 0);
}

TEST_F(FakeKubeClientTest, ForegroundAndOrphanDeletionWaitForTheCollector) {
  const Json fg = api_.create(routers(), "default", named("fg")).value();
  const Json orphaner = api_.create(routers(), "default", named("orphaner")).value();
  Json dep = lease("dep");
  dep["metadata"]["ownerReferences"] = {
      {{"apiVersion", "rr.bgp.dev/v1alpha1"}, {"kind", "RouteReflector"}, {"name", "fg"}, {"uid", uid_of(fg)}}};
  ASSERT_TRUE(api_.create(resources::leases(), "default", dep).ok());
  Json kept = lease("kept");
  kept["metadata"]["ownerReferences"] = {{{"apiVersion", "rr.bgp.dev/v1alpha1"},
                                          {"kind", "RouteReflector"},
                                          {"name", "orphaner"},
                                          {"uid", uid_of(orphaner)}}};
  ASSERT_TRUE(api_.create(resources::leases(), "default", kept).ok());

  ASSERT_TRUE(api_.remove(routers(), "default", "fg", propagation("Foreground")).ok());
  ASSERT_TRUE(api_.remove(routers(), "default", "orphaner", propagation("Orphan")).ok());
  ASSERT_TRUE(api_.peek(routers(), "default", "fg"));
  EXPECT_EQ(api_.peek(routers(), "default", "fg")->at("metadata").at("finalizers"), Json({"foregroundDeletion"}));
  EXPECT_TRUE(api_.peek(routers(), "default", "orphaner"));

  api_.collect_garbage();
  EXPECT_FALSE(api_.peek(routers(), "default", "fg"));
  EXPECT_FALSE(api_.peek(resources::leases(), "default", "dep"));
  EXPECT_FALSE(api_.peek(routers(), "default", "orphaner"));
  auto orphan = api_.peek(resources::leases(), "default", "kept");
  ASSERT_TRUE(orphan);
  EXPECT_FALSE(orphan->at("metadata").contains("ownerReferences"));
}

// --- failure injection and counters --------------------------------------

TEST_F(FakeKubeClientTest, InjectedErrorsHitOnlyTheirVerbAndType) {
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("a")).ok());
  api_.inject_error("get", resources::leases(), make_error(ErrorKind::Transient, "boom"), 2);
  EXPECT_TRUE(api_.get(resources::nodes(), "", "a").is(ErrorKind::NotFound));
  EXPECT_TRUE(api_.list(resources::leases(), "", {}).ok());
  EXPECT_TRUE(api_.get(resources::leases(), "default", "a").is(ErrorKind::Transient));
  EXPECT_TRUE(api_.get(resources::leases(), "default", "a").is(ErrorKind::Transient));
  EXPECT_TRUE(api_.get(resources::leases(), "default", "a").ok());

  struct Case {
    std::string verb;
    std::function<bool()> call_fails;
  };
  const Error forbidden = make_error(ErrorKind::Forbidden, "rbac");
  const Case cases[] = {
      {"list", [&] { return api_.list(resources::leases(), "", {}).is(ErrorKind::Forbidden); }},
      {"create", [&] { return api_.create(resources::leases(), "default", lease("b")).is(ErrorKind::Forbidden); }},
      {"update",
       [&] {
         return api_.update(resources::leases(), api_.get(resources::leases(), "default", "a").value())
             .is(ErrorKind::Forbidden);
       }},
      {"patch",
       [&] {
         return api_.patch(resources::leases(), "default", "a", PatchType::Merge, Json::object(), {})
             .is(ErrorKind::Forbidden);
       }},
      {"delete", [&] { return api_.remove(resources::leases(), "default", "a", {}).is(ErrorKind::Forbidden); }},
      {"watch", [&] { return api_.watch(resources::leases(), "", {}).is(ErrorKind::Forbidden); }},
  };
  api_.reset_counters();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.verb);
    api_.inject_error(c.verb, resources::leases(), forbidden);
    EXPECT_TRUE(c.call_fails());
    EXPECT_FALSE(c.call_fails()) << "count=1 hits one call";
  }
  EXPECT_THROW(api_.inject_error("frob", resources::leases(), forbidden), std::invalid_argument);
}

TEST_F(FakeKubeClientTest, MaybeAppliedErrorsStillWrite) {
  Error timeout = make_error(ErrorKind::Transient, "timeout after sending");
  timeout.maybe_applied = true;
  api_.inject_error("create", resources::leases(), timeout);
  EXPECT_TRUE(api_.create(resources::leases(), "default", lease("a")).is(ErrorKind::Transient));
  EXPECT_TRUE(api_.peek(resources::leases(), "default", "a"));
  EXPECT_TRUE(api_.create(resources::leases(), "default", lease("a")).is(ErrorKind::AlreadyExists));
}

TEST_F(FakeKubeClientTest, UnavailableServerFailsEverything) {
  ASSERT_TRUE(api_.create(resources::leases(), "default", lease("a")).ok());
  auto w = must_watch(api_, resources::leases(), "", {});
  ASSERT_TRUE(w);
  api_.set_unavailable(true);
  EXPECT_TRUE(api_.get(resources::leases(), "default", "a").is(ErrorKind::Transient));
  EXPECT_TRUE(api_.list(resources::leases(), "", {}).is(ErrorKind::Transient));
  EXPECT_TRUE(api_.create(resources::leases(), "default", lease("b")).is(ErrorKind::Transient));
  EXPECT_TRUE(api_.remove(resources::leases(), "default", "a", {}).is(ErrorKind::Transient));
  EXPECT_TRUE(api_.watch(resources::leases(), "", {}).is(ErrorKind::Transient));
  EXPECT_TRUE(next_within(*w).is(ErrorKind::Transient)) << "open watches drop";
  EXPECT_EQ(api_.open_watch_count(), 0);
  api_.set_unavailable(false);
  EXPECT_TRUE(api_.get(resources::leases(), "default", "a").ok());
  EXPECT_EQ(api_.writes(), 1);
}

TEST_F(FakeKubeClientTest, CountersSeeOnlyClientWrites) {
  auto w = must_watch(api_, routers(), "", {});
  ASSERT_TRUE(w);
  Json seeded = api_.seed(routers(), named("seeded"));
  EXPECT_EQ(describe(expect_event(*w)), "ADDED default/seeded");
  EXPECT_FALSE(uid_of(seeded).empty());
  EXPECT_EQ(api_.writes(), 0);

  Json rr = api_.create(routers(), "default", named("rr")).value();
  rr["spec"] = {{"asn", 1}};
  rr = api_.update(routers(), rr).value();
  rr["status"] = {{"phase", "Ready"}};
  rr = api_.update_status(routers(), rr).value();
  ASSERT_TRUE(api_.patch(routers(), "default", "rr", PatchType::Merge, {{"spec", {{"asn", 2}}}}, {}).ok());
  ASSERT_TRUE(
      api_.patch(routers(), "default", "rr", PatchType::Merge, {{"status", {{"phase", "x"}}}}, status_patch()).ok());
  ASSERT_TRUE(api_.remove(routers(), "default", "rr", {}).ok());
  EXPECT_TRUE(api_.remove(routers(), "default", "rr", {}).is(ErrorKind::NotFound));
  EXPECT_EQ(api_.writes(), 6);
  EXPECT_EQ(api_.write_log(),
            (std::vector<std::string>{"create routereflectors default/rr", "update routereflectors default/rr",
                                      "update_status routereflectors default/rr", "patch routereflectors default/rr",
                                      "patch_status routereflectors default/rr", "delete routereflectors default/rr"}));
  api_.reset_counters();
  EXPECT_EQ(api_.writes(), 0);
  EXPECT_TRUE(api_.write_log().empty());
  EXPECT_THROW(api_.seed(routers(), named("no-namespace", "")), std::invalid_argument);
}

TEST_F(FakeKubeClientTest, ConcurrentWritersAndWatchersAgreeOnOrder) {
  constexpr int kWriters = 3;
  constexpr int kEach = 40;
  auto w = must_watch(api_, resources::leases(), "", watch_from(api_.resource_version()));
  ASSERT_TRUE(w);
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string name = "w" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(api_.create(resources::leases(), "default", lease(name)).ok());
        EXPECT_TRUE(api_.patch(resources::leases(), "default", name, PatchType::Merge,
                               {{"spec", {{"holderIdentity", "b"}}}}, {})
                        .ok());
        (void)api_.list(resources::leases(), "default", page(5));
      }
    });
  }
  unsigned long last = 0;
  int events = 0;
  for (; events < 2 * kWriters * kEach; ++events) {
    WatchEvent e = expect_event(*w);
    if (e.object.is_null()) break;
    EXPECT_GT(rv_number(e.object), last);
    last = rv_number(e.object);
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(events, 2 * kWriters * kEach);
  EXPECT_EQ(api_.writes(), 2 * kWriters * kEach);
  EXPECT_EQ(std::to_string(last), api_.resource_version());
}

}  // namespace
}  // namespace kube::testing
