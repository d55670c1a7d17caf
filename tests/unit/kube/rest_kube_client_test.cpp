#include "kube/rest_kube_client.h"

#include <future>
#include <mutex>

#include <thread>

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/scripted_transport.h"
#include "kube/token_source.h"

namespace kube {
namespace {

using testing::FakeClock;
using testing::ScriptedTransport;

std::string status_body(int code, const std::string& reason, const std::string& message) {
  return Json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
              {"code", code},     {"reason", reason},   {"message", message}}
      .dump();
}

class CountingTokenSource final : public TokenSource {
 public:
  Result<std::string> token() override { return "token-" + std::to_string(generation); }
  void invalidate() override { ++generation; }
  int generation = 1;
};

struct ClientFixture {
  FakeClock clock;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  std::shared_ptr<CountingTokenSource> token = std::make_shared<CountingTokenSource>();
  RestClientOptions options = [] {
    RestClientOptions o;
    o.qps = 0;  // unlimited unless a test says otherwise
    return o;
  }();
  std::unique_ptr<RestKubeClient> client() {
    return std::make_unique<RestKubeClient>(transport, token, options, clock, [] { return 0.0; });
  }
};

std::string header(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

TEST(RestKubeClient, BuildsPathsForCoreGroupAndClusterScopedTypes) {
  ClientFixture f;
  auto c = f.client();
  f.transport->respond("GET", "/apis/coordination.k8s.io/v1/namespaces/rr/leases/a", 200, R"({"metadata":{"name":"a"}})");
  f.transport->respond("GET", "/api/v1/nodes", 200, R"({"items":[{"metadata":{"name":"n1"}}],"metadata":{"resourceVersion":"7"}})");
  ASSERT_TRUE(c->get(resources::leases(), "rr", "a").ok());
  ListOptions lo;
  lo.label_selector = "rack in (r1,r2)";
  lo.limit = 2;
  auto list = c->list(resources::nodes(), "ignored", lo);
  ASSERT_TRUE(list.ok()) << list.error().describe();
  auto reqs = f.transport->requests();
  EXPECT_EQ(reqs[1].target, "/api/v1/nodes?labelSelector=rack%20in%20%28r1%2Cr2%29&limit=2");
  EXPECT_EQ(list->resource_version, "7");
  EXPECT_EQ(list->items.at(0)["kind"], "Node");
  EXPECT_EQ(header(reqs[0], "Authorization"), "Bearer token-1");
}

TEST(RestKubeClient, ClassifiesFailuresFromTheStatusObject) {
  struct Case {
    std::string name;
    int code;
    std::string body;
    ErrorKind kind;
    std::string message;
  };
  std::vector<Case> cases = {
      {"not found", 404, status_body(404, "NotFound", "leases \"x\" not found"), ErrorKind::NotFound, "not found"},
      {"already exists", 409, status_body(409, "AlreadyExists", "exists"), ErrorKind::AlreadyExists, "exists"},
      {"conflict", 409, status_body(409, "Conflict", "the object has been modified"), ErrorKind::Conflict, "modified"},
      {"expired", 410, status_body(410, "Expired", "too old resource version"), ErrorKind::Gone, "too old"},
      {"forbidden", 403, status_body(403, "Forbidden", "cannot create"), ErrorKind::Forbidden, "cannot create"},
      {"unauthorized", 401, status_body(401, "Unauthorized", "Unauthorized"), ErrorKind::Unauthorized, "Unauthorized"},
      {"invalid", 422, status_body(422, "Invalid", "spec.asNumber: Invalid value"), ErrorKind::Invalid, "spec.asNumber"},
      {"garbage 502", 502, "<html>bad gateway</html>", ErrorKind::Transient, "bad gateway"},
      {"garbage 400", 400, "nope", ErrorKind::Invalid, "nope"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Error e = error_from_response(c.code, c.body, "");
    EXPECT_EQ(e.kind, c.kind) << e.describe();
    EXPECT_EQ(e.http_status, c.code);
    EXPECT_NE(e.message.find(c.message), std::string::npos) << e.message;
  }
}

// An API server (or a proxy in front of it) that answers garbage gets a Protocol error naming
// what is wrong, never an object made of the garbage.
TEST(RestKubeClient, GarbageWithASuccessCodeIsAnErrorNamingIt) {
  struct Case {
    std::string name;
    std::string body;
    std::map<std::string, std::string> headers;
    ErrorKind kind;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases = {
      {"truncated JSON", R"({"metadata":{"name":"a"},"spec":{)", {{"content-type", "application/json"}},
       ErrorKind::Protocol, {"GET /apis/coordination.k8s.io/v1/namespaces/rr/leases/a", "not JSON"}},
      {"an HTML page", "<html><body>Please log in</body></html>", {{"content-type", "text/html; charset=utf-8"}},
       ErrorKind::Protocol, {"text/html", "Please log in"}},
      {"JSON under a content type that is not JSON", R"({"metadata":{"name":"a"}})", {{"content-type", "text/plain"}},
       ErrorKind::Protocol, {"text/plain"}},
      {"a 200 carrying a failure Status", status_body(500, "InternalError", "etcdserver: leader changed"),
       {{"content-type", "application/json"}}, ErrorKind::Transient, {"etcdserver: leader changed"}},
      {"a 200 carrying a forbidden Status", status_body(403, "Forbidden", "leases is forbidden"), {},
       ErrorKind::Forbidden, {"leases is forbidden"}},
      {"not an object", R"(["a","b"])", {{"content-type", "application/json"}}, ErrorKind::Protocol,
       {"not a JSON object"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ClientFixture f;
    auto client = f.client();
    f.transport->respond("GET", "/apis/coordination.k8s.io/v1/namespaces/rr/leases/a", 200, c.body, c.headers);
    auto got = client->get(resources::leases(), "rr", "a");
    ASSERT_FALSE(got.ok()) << got->dump();
    EXPECT_EQ(got.error().kind, c.kind) << got.error().describe();
    for (const auto& m : c.mentions) EXPECT_NE(got.error().message.find(m), std::string::npos) << got.error().message;
  }
  // A JSON content type with parameters, and none at all, are fine.
  for (std::map<std::string, std::string> headers :
       {std::map<std::string, std::string>{{"content-type", "application/json; charset=utf-8"}},
        std::map<std::string, std::string>{}}) {
    ClientFixture f;
    auto client = f.client();
    f.transport->respond("GET", "/apis/coordination.k8s.io/v1/namespaces/rr/leases/a", 200,
                         R"({"metadata":{"name":"a"}})", headers);
    EXPECT_TRUE(client->get(resources::leases(), "rr", "a").ok());
  }
  // A delete may answer 200 with a Status of success.
  ClientFixture f;
  auto client = f.client();
  f.transport->respond("DELETE", "/apis/coordination.k8s.io/v1/namespaces/rr/leases/a", 200,
                       R"({"kind":"Status","apiVersion":"v1","status":"Success"})");
  EXPECT_TRUE(client->remove(resources::leases(), "rr", "a", {}).ok());
}

// A request that got no answer within the transport's deadline is not sent again at once:
// that would keep the caller (and its log line) waiting attempts x deadline. The caller's
// own retry, with its log line, decides.
TEST(RestKubeClient, AnAttemptThatTimedOutIsReturnedNotRetried) {
  ClientFixture f;
  auto c = f.client();
  Error timeout = make_error(ErrorKind::Transient, "transport: no response within 30s");
  timeout.timed_out = true;
  f.transport->fail("GET", "/api/v1/nodes", timeout);
  auto got = c->list(resources::nodes(), "", {});
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.error().timed_out);
  EXPECT_NE(got.error().message.find("no response within 30s"), std::string::npos) << got.error().message;
  EXPECT_EQ(f.transport->requests().size(), 1u);
}

// close() is for shutdown: a request waiting to be retried returns Cancelled at once, the
// transport is told to abort what is in flight, and no request goes out after it.
TEST(RestKubeClient, CloseCancelsRetriesAndEveryLaterRequest) {
  ClientFixture f;
  auto c = f.client();
  f.transport->fail("GET", "/api/v1/nodes", make_error(ErrorKind::Transient, "transport: connection refused"));
  auto pending = std::async(std::launch::async, [&] { return c->list(resources::nodes(), "", {}); });
  ASSERT_TRUE(f.transport->wait_for_requests(1));
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));  // backing off before its second attempt
  c->close();
  auto got = pending.get();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::Cancelled) << got.error().describe();
  EXPECT_TRUE(f.transport->closed());
  EXPECT_TRUE(c->get(resources::leases(), "rr", "a").is(ErrorKind::Cancelled));
  EXPECT_EQ(f.transport->requests().size(), 1u);
}

TEST(RestKubeClient, ConflictOnUpdateIsReturnedWithoutRetry) {
  ClientFixture f;
  auto c = f.client();
  f.transport->respond("PUT", "/apis/coordination.k8s.io/v1/namespaces/rr/leases/a", 409,
                       status_body(409, "Conflict", "the object has been modified"));
  Json lease = {{"metadata", {{"name", "a"}, {"namespace", "rr"}, {"resourceVersion", "5"}}}};
  auto r = c->update(resources::leases(), lease);
  EXPECT_TRUE(r.is(ErrorKind::Conflict));
  EXPECT_EQ(f.transport->requests().size(), 1u);
}

TEST(RestKubeClient, TooManyRequestsWaitsForRetryAfterOnTheClock) {
  ClientFixture f;
  auto c = f.client();
  f.transport->respond("GET", "/api/v1/nodes/n1", 429, status_body(429, "TooManyRequests", "slow down"),
                       {{"retry-after", "3"}});
  f.transport->respond("GET", "/api/v1/nodes/n1", 200, R"({"metadata":{"name":"n1"}})");
  auto fut = std::async(std::launch::async, [&] { return c->get(resources::nodes(), "", "n1"); });
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));
  f.clock.advance(std::chrono::seconds(2));
  EXPECT_EQ(fut.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout) << "retried before Retry-After";
  f.clock.advance(std::chrono::seconds(1));
  auto r = fut.get();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(f.transport->requests().size(), 2u);
}

TEST(RestKubeClient, RetriesServerErrorsOnlyWhenSafe) {
  struct Case {
    std::string name;
    std::string method;
    int first_status;
    std::optional<Error> first_error;
    size_t expected_requests;
  };
  Error maybe_sent = make_error(ErrorKind::Transient, "transport: read timeout");
  maybe_sent.maybe_applied = true;
  Error refused = make_error(ErrorKind::Transient, "transport: failed to connect");
  std::vector<Case> cases = {
      {"PUT 503 retried", "PUT", 503, std::nullopt, 2},
      {"POST 500 not retried (may be applied)", "POST", 500, std::nullopt, 1},
      {"POST 429 retried (never applied)", "POST", 429, std::nullopt, 2},
      {"POST timeout not retried", "POST", 0, maybe_sent, 1},
      {"POST connect refused retried", "POST", 0, refused, 2},
      {"PUT timeout retried (idempotent)", "PUT", 0, maybe_sent, 2},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    ClientFixture f;
    auto c = f.client();
    const std::string path = "/apis/coordination.k8s.io/v1/namespaces/rr/leases";
    if (k.first_error) {
      f.transport->fail(k.method, path, *k.first_error);
    } else {
      f.transport->respond(k.method, path, k.first_status, status_body(k.first_status, "InternalError", "boom"));
    }
    f.transport->respond(k.method, path, 200, R"({"metadata":{"name":"a"}})");
    Json lease = {{"metadata", {{"name", "a"}, {"namespace", "rr"}}}};
    auto fut = std::async(std::launch::async, [&] {
      return k.method == "POST" ? c->create(resources::leases(), "rr", lease) : c->update(resources::leases(), lease);
    });
    // Let any backoff sleep pass.
    while (fut.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
      f.clock.advance(std::chrono::seconds(1));
    }
    (void)fut.get();
    EXPECT_EQ(f.transport->requests().size(), k.expected_requests);
  }
}

TEST(RestKubeClient, UnauthorizedReReadsTheTokenOnce) {
  ClientFixture f;
  auto c = f.client();
  f.transport->respond("GET", "/api/v1/nodes/n1", 401, status_body(401, "Unauthorized", "Unauthorized"));
  f.transport->respond("GET", "/api/v1/nodes/n1", 200, R"({"metadata":{"name":"n1"}})");
  ASSERT_TRUE(c->get(resources::nodes(), "", "n1").ok());
  auto reqs = f.transport->requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(header(reqs[0], "Authorization"), "Bearer token-1");
  EXPECT_EQ(header(reqs[1], "Authorization"), "Bearer token-2");
}

TEST(RestKubeClient, ClientSideRateLimitSpacesRequests) {
  ClientFixture f;
  f.options.qps = 2;
  f.options.burst = 1;
  auto c = f.client();
  for (int i = 0; i < 2; ++i) f.transport->respond("GET", "/api/v1/nodes/n1", 200, R"({"metadata":{"name":"n1"}})");
  ASSERT_TRUE(c->get(resources::nodes(), "", "n1").ok());
  auto fut = std::async(std::launch::async, [&] { return c->get(resources::nodes(), "", "n1"); });
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));
  EXPECT_EQ(f.transport->requests().size(), 1u) << "second request went out before its token";
  f.clock.advance(std::chrono::milliseconds(500));
  ASSERT_TRUE(fut.get().ok());
  EXPECT_EQ(f.transport->requests().size(), 2u);
}

// A request queued for the rate limit is a request like any other to close(): it returns at
// once, unsent, and what each attempt waited for the limit is reported to observe.
TEST(RestKubeClient, CloseCancelsARequestWaitingForTheRateLimit) {
  ClientFixture f;
  f.options.qps = 1;
  f.options.burst = 1;
  struct Seen {
    std::string verb, target;
    int code;
    Clock::Duration throttled;
  };
  std::mutex mu;
  std::vector<Seen> seen;  // ApiAttempt's views last only as long as the call
  f.options.observe = [&](const ApiAttempt& a) {
    std::lock_guard lock(mu);
    seen.push_back({std::string(a.verb), std::string(a.target), a.code, a.throttled});
  };
  auto c = f.client();
  for (int i = 0; i < 3; ++i) f.transport->respond("GET", "/api/v1/nodes/n1", 200, R"({"metadata":{"name":"n1"}})");
  ASSERT_TRUE(c->get(resources::nodes(), "", "n1").ok());
  auto throttled = std::async(std::launch::async, [&] { return c->get(resources::nodes(), "", "n1"); });
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));
  f.clock.advance(std::chrono::milliseconds(1000));
  ASSERT_TRUE(throttled.get().ok());
  auto queued = std::async(std::launch::async, [&] { return c->get(resources::nodes(), "", "n1"); });
  ASSERT_TRUE(f.clock.wait_for_sleepers(1));
  c->close();
  auto got = queued.get();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::Cancelled) << got.error().describe();
  EXPECT_EQ(f.transport->requests().size(), 2u) << "the queued request went out after close()";
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].throttled, Clock::Duration::zero());
  EXPECT_EQ(seen[1].throttled, std::chrono::milliseconds(1000));
  EXPECT_EQ(seen[1].verb, "get");
  EXPECT_EQ(seen[1].target, "/api/v1/nodes/n1");
  EXPECT_EQ(seen[1].code, 200);
}

TEST(RestKubeClient, PatchKindsSetContentTypeAndQuery) {
  ClientFixture f;
  auto c = f.client();
  for (int i = 0; i < 3; ++i) f.transport->respond("PATCH", "/apis/rr.bgp.dev", 200, "{}");
  ResourceType rrc{"rr.bgp.dev", "v1alpha1", "routereflectorclusters", "RouteReflectorCluster", false};
  ASSERT_TRUE(c->patch(rrc, "", "f", PatchType::Merge, Json{{"spec", {{"asNumber", 1}}}}, {}).ok());
  ASSERT_TRUE(c->patch(rrc, "", "f", PatchType::JsonPatch, Json::array(), {"", false, true}).ok());
  ASSERT_TRUE(c->patch(rrc, "", "f", PatchType::Apply, Json::object(), {"rr-operator", true, false}).ok());
  EXPECT_TRUE(c->patch(rrc, "", "f", PatchType::Apply, Json::object(), {}).is(ErrorKind::Invalid));
  auto reqs = f.transport->requests();
  EXPECT_EQ(reqs[0].content_type, "application/merge-patch+json");
  EXPECT_EQ(reqs[1].content_type, "application/json-patch+json");
  EXPECT_EQ(reqs[1].target, "/apis/rr.bgp.dev/v1alpha1/routereflectorclusters/f/status");
  EXPECT_EQ(reqs[2].content_type, "application/apply-patch+yaml");
  EXPECT_EQ(reqs[2].target, "/apis/rr.bgp.dev/v1alpha1/routereflectorclusters/f?fieldManager=rr-operator&force=true");
}

TEST(RestKubeClient, DeleteSendsPreconditionsAndPropagation) {
  ClientFixture f;
  auto c = f.client();
  f.transport->respond("DELETE", "/api/v1/namespaces/rr/pods/p", 200, "{}");
  DeleteOptions d;
  d.precondition_uid = "u-1";
  d.precondition_resource_version = "9";
  d.propagation_policy = "Foreground";
  ASSERT_TRUE(c->remove(resources::pods(), "rr", "p", d).ok());
  Json body = Json::parse(f.transport->requests()[0].body);
  EXPECT_EQ(body["preconditions"]["uid"], "u-1");
  EXPECT_EQ(body["preconditions"]["resourceVersion"], "9");
  EXPECT_EQ(body["propagationPolicy"], "Foreground");
}

TEST(RestKubeClient, ListAllFollowsContinueTokensAndRestartsOnceWhenExpired) {
  ClientFixture f;
  auto c = f.client();
  f.transport->respond("GET", "/api/v1/nodes?limit=2", 200,
                       R"({"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}],"metadata":{"continue":"t1","resourceVersion":"10"}})");
  f.transport->respond("GET", "/api/v1/nodes?limit=2&continue=t1", 410, status_body(410, "Expired", "continue expired"));
  f.transport->respond("GET", "/api/v1/nodes?limit=2", 200,
                       R"({"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}],"metadata":{"continue":"t2","resourceVersion":"12"}})");
  f.transport->respond("GET", "/api/v1/nodes?limit=2&continue=t2", 200,
                       R"({"items":[{"metadata":{"name":"c"}}],"metadata":{"resourceVersion":"12"}})");
  ListOptions lo;
  lo.limit = 2;
  auto all = c->list_all(resources::nodes(), "", lo);
  ASSERT_TRUE(all.ok()) << all.error().describe();
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(name_of(all->items[2]), "c");
  EXPECT_EQ(all->resource_version, "12");
}

TEST(RestKubeClient, ListPagesFetchesTheNextPageWhileThisOneIsHandedOn) {
  ClientFixture f;
  auto c = f.client();
  // metadata first, as the API server writes it: the token is read before the items are decoded.
  f.transport->respond("GET", "/api/v1/nodes?limit=1", 200,
                       R"({"kind":"NodeList","metadata":{"resourceVersion":"10","continue":"t1"},"items":[{"metadata":{"name":"a"}}]})");
  f.transport->respond("GET", "/api/v1/nodes?limit=1&continue=t1", 200,
                       R"({"kind":"NodeList","metadata":{"resourceVersion":"10","continue":"t2"},"items":[{"metadata":{"name":"b"}}]})");
  // Items first: nothing to read ahead, the next page is asked for after this one.
  f.transport->respond("GET", "/api/v1/nodes?limit=1&continue=t2", 200,
                       R"({"items":[{"metadata":{"name":"c"}}],"metadata":{"resourceVersion":"10","continue":"t3"}})");
  f.transport->respond("GET", "/api/v1/nodes?limit=1&continue=t3", 200,
                       R"({"metadata":{"resourceVersion":"10"},"items":[{"metadata":{"name":"d"}}]})");
  ListOptions lo;
  lo.limit = 1;
  std::vector<std::string> names;
  std::vector<size_t> requests_during;  // requests made by the time each page was handed on
  const auto caller = std::this_thread::get_id();
  auto rv = c->list_pages(resources::nodes(), "", lo, [&](std::vector<Json>&& items, bool) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    if (names.size() < 2) f.transport->wait_for_requests(names.size() + 2);  // the read-ahead comes
    requests_during.push_back(f.transport->requests().size());
    for (const auto& i : items) names.push_back(name_of(i));
  });
  ASSERT_TRUE(rv.ok()) << rv.error().describe();
  EXPECT_EQ(*rv, "10");
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(requests_during, (std::vector<size_t>{2, 3, 3, 4}))
      << "pages 1 and 2 are handed on while the next is fetched; page 3 named its token after its items";
}

// managedFields are a third of a Node and nothing reads them from a list or a watch: they are
// dropped while the page or event is parsed, and nothing else is.
TEST(RestKubeClient, ListPagesAndWatchEventsComeWithoutManagedFields) {
  ClientFixture f;
  auto c = f.client();
  const std::string node =
      R"({"metadata":{"name":"a","labels":{"managedFields":"a label"},"managedFields":[{"manager":"kubelet"}]},)"
      R"("spec":{"managedFields":1}})";
  f.transport->respond("GET", "/api/v1/nodes", 200,
                       R"({"kind":"NodeList","metadata":{"resourceVersion":"10"},"items":[)" + node + "]}");
  std::vector<Json> listed;
  auto rv = c->list_pages(resources::nodes(), "", {}, [&](std::vector<Json>&& items, bool) {
    for (auto& i : items) listed.push_back(std::move(i));
  });
  ASSERT_TRUE(rv.ok()) << rv.error().describe();
  ASSERT_EQ(listed.size(), 1u);
  const Json expected = Json::parse(R"({"metadata":{"name":"a","labels":{"managedFields":"a label"}},)"
                                    R"("spec":{"managedFields":1}})");
  EXPECT_EQ(listed[0]["metadata"], expected["metadata"]);
  EXPECT_EQ(listed[0]["spec"], expected["spec"]);

  auto stream = f.transport->stream("/api/v1/nodes?watch=true");
  auto w = c->watch(resources::nodes(), "", {});
  ASSERT_TRUE(w.ok()) << w.error().describe();
  stream->push_line(R"({"type":"MODIFIED","object":)" + node + "}");
  auto e = (*w)->next();
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->object, expected);
}

TEST(RestKubeClient, WatchParsesEventsBookmarksAndErrors) {
  ClientFixture f;
  auto c = f.client();
  auto stream = f.transport->stream("/apis/coordination.k8s.io/v1/namespaces/rr/leases?watch=true");
  WatchOptions wo;
  wo.resource_version = "5";
  auto w = c->watch(resources::leases(), "rr", wo);
  ASSERT_TRUE(w.ok()) << w.error().describe();
  EXPECT_NE(f.transport->requests()[0].target.find("resourceVersion=5&allowWatchBookmarks=true&timeoutSeconds=290"),
            std::string::npos);
  stream->push_line(R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"6"}}})");
  stream->push_line("");
  stream->push_line(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"8"}}})");
  stream->push_line(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})");
  auto e1 = (*w)->next();
  ASSERT_TRUE(e1.ok() && e1->has_value());
  EXPECT_EQ((*e1)->type, WatchEvent::Type::Added);
  auto e2 = (*w)->next();
  ASSERT_TRUE(e2.ok() && e2->has_value());
  EXPECT_EQ((*e2)->type, WatchEvent::Type::Bookmark);
  auto e3 = (*w)->next();
  EXPECT_TRUE(e3.is(ErrorKind::Gone));
}

TEST(RestKubeClient, WatchRejectsMalformedLinesAndEndsCleanly) {
  ClientFixture f;
  auto c = f.client();
  auto s1 = f.transport->stream("/api/v1/nodes?watch=true");
  auto w1 = c->watch(resources::nodes(), "", {});
  ASSERT_TRUE(w1.ok());
  s1->push_line("this is not json");
  EXPECT_TRUE((*w1)->next().is(ErrorKind::Protocol));

  auto s2 = f.transport->stream("/api/v1/nodes?watch=true");
  auto w2 = c->watch(resources::nodes(), "", {});
  ASSERT_TRUE(w2.ok());
  s2->end();
  auto end = (*w2)->next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());

  f.transport->respond("GET", "/api/v1/nodes?watch=true", 410, status_body(410, "Gone", "gone"));
  EXPECT_TRUE(c->watch(resources::nodes(), "", {}).is(ErrorKind::Gone));
}

// A server (or a proxy in front of it) that hands back a continue token it already gave in this
// listing would page forever, growing the list without end: the listing fails instead.
TEST(RestKubeClient, ListAllRefusesAContinueTokenTheServerAlreadyGave) {
  ClientFixture f;
  auto c = f.client();
  f.transport->respond("GET", "/api/v1/nodes?limit=2", 200,
                       R"({"items":[{"metadata":{"name":"a"}}],"metadata":{"continue":"t1","resourceVersion":"10"}})");
  f.transport->respond("GET", "/api/v1/nodes?limit=2&continue=t1", 200,
                       R"({"items":[{"metadata":{"name":"b"}}],"metadata":{"continue":"t2","resourceVersion":"10"}})");
  f.transport->respond("GET", "/api/v1/nodes?limit=2&continue=t2", 200,
                       R"({"items":[{"metadata":{"name":"a"}}],"metadata":{"continue":"t1","resourceVersion":"10"}})");
  f.transport->respond("GET", "/api/v1/nodes?limit=2&continue=t1", 200,
                       R"({"items":[{"metadata":{"name":"c"}}],"metadata":{"resourceVersion":"10"}})");
  ListOptions lo;
  lo.limit = 2;
  auto all = c->list_all(resources::nodes(), "", lo);
  ASSERT_FALSE(all.ok()) << "listed " << all->items.size() << " items";
  EXPECT_TRUE(all.is(ErrorKind::Protocol)) << all.error().describe();
  EXPECT_NE(all.error().message.find("t1"), std::string::npos) << all.error().message;
  EXPECT_EQ(f.transport->requests().size(), 3u);
}

// Found by fuzz/status_list_fuzzer.cpp and fuzz/watch_stream_fuzzer.cpp: a Status, list or
// watch event whose fields have the wrong JSON type made Json::value() throw type_error out of
// the client (and out of the watcher's thread). Such a field now reads as absent.
TEST(RestKubeClient, StatusAndListFieldsOfTheWrongTypeReadAsAbsent) {
  ClientFixture f;
  auto c = f.client();
  f.transport->respond("GET", "/api/v1/nodes/a", 404,
                       R"({"kind":"Status","code":"404","reason":404,"message":{"text":"gone"}})");
  auto got = c->get(resources::nodes(), "", "a");
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.is(ErrorKind::NotFound)) << got.error().describe();
  EXPECT_EQ(got.error().message, "HTTP 404");

  f.transport->respond("GET", "/api/v1/nodes/b", 409, R"({"kind":5,"reason":"Conflict"})");
  auto conflict = c->get(resources::nodes(), "", "b");
  EXPECT_TRUE(conflict.is(ErrorKind::Conflict)) << conflict.error().describe();

  // The fuzzer's input (fuzz/corpus/status_list_fuzzer/crash-status-kind-number.bin): a later
  // duplicate "kind" wins, and it is a number.
  const std::string crash =
      R"({"kind":"Status","apiVerstadata":{},"status":"Failure","message":"Too many requests","reason":"TooMoo many requests","reason":"TooManyRequests","details":{"retryAfterSeconds":2},"kind":429})";
  Error from_crash = error_from_response(429, crash, "2");
  EXPECT_EQ(from_crash.kind, ErrorKind::TooManyRequests);
  ASSERT_TRUE(from_crash.retry_after.has_value());
  EXPECT_EQ(from_crash.retry_after->count(), 2);

  f.transport->respond("GET", "/api/v1/nodes", 200,
                       R"({"items":[{"metadata":{"name":"a"}}],"metadata":{"resourceVersion":7,"continue":false}})");
  auto list = c->list(resources::nodes(), "", {});
  ASSERT_TRUE(list.ok()) << list.error().describe();
  EXPECT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->resource_version, "");
  EXPECT_EQ(list->continue_token, "");

  auto stream = f.transport->stream("/api/v1/nodes?watch=true");
  auto w = c->watch(resources::nodes(), "", {});
  ASSERT_TRUE(w.ok());
  stream->push_line(R"({"type":"ERROR","object":{"kind":"Status","code":"410","reason":["Expired"],"message":7}})");
  auto e = (*w)->next();
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(e.is(ErrorKind::Protocol)) << e.error().describe();
  EXPECT_FALSE(e.error().message.empty());

  Error direct = error_from_status_object(Json{{"code", 4.1e9}, {"reason", "Expired"}});
  EXPECT_EQ(direct.kind, ErrorKind::Gone);
}

}  // namespace
}  // namespace kube
