// rr-operator against the real kube-apiserver, run as the real binary under
// the least-privilege RBAC that deploy/ ships (a service-account token), with
// the test playing scheduler, kubelet and agents (ReflectorSimulator).
// The tests share one control plane and run one at a time. Each test's fabrics
// run reflectors in the test's own namespace, which the operator is allowed
// (--allowed-namespaces) and granted (a copy of deploy/'s rr-operator Role), as
// an administrator adds a namespace.
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/api_types.h"
#include "support/control_plane.h"
#include "support/eventually.h"
#include "support/process.h"
#include "support/reflector_simulator.h"

namespace {

using rr::testing::eventually;
using rr::testing::repo_root;

using kube::ErrorKind;
using kube::Json;
using rr::testing::ChildProcess;

using rr::testing::kBgpConfigs;
using rr::testing::kFabrics;
using rr::testing::kPeers;

class OperatorIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cp = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp);
    cp->install_crds(/*with_calico=*/true);
    const std::string root = repo_root();
    rr::testing::run_command(cp->kubectl() + " apply -f " + root + "/deploy/namespace.yaml -f " + root + "/deploy/rbac.yaml");
    // The operator runs with exactly deploy/'s ClusterRole, through a service-account token.
    const std::string token = cp->service_account_token("rr-system", "rr-operator");
    ASSERT_FALSE(token.empty());
    kubeconfig_ = cp->write_token_kubeconfig(cp->dir() + "/operator-sa.kubeconfig", token);
  }

  void SetUp() override {
    cp_ = rr::testing::ControlPlane::from_environment();
    ASSERT_TRUE(cp_);
    client_ = cp_->admin_client();
    ASSERT_TRUE(client_);
    ns_ = cp_->create_namespace(*client_, "rrtest");
    allowed_namespaces_ = ns_;
    // Calico's mesh setting is global: each test starts from "no BGPConfiguration".
    (void)client_->remove(kBgpConfigs, "", "default", {});
    ++sequence_;
    tag_ = "t" + std::to_string(sequence_) + "-" + ns_.substr(ns_.rfind('-') + 1);
    sim_ = std::make_unique<rr::testing::ReflectorSimulator>(*client_, ns_);
    sim_->start();
  }

  void TearDown() override {
    for (auto& op : operators_) op->stop();
    operators_.clear();
    for (auto& cleanup : cleanups_) cleanup();
    cleanups_.clear();
    if (sim_) sim_->stop();
    // Leave nothing behind for the next test: fabrics (finalizers included), nodes, peers.
    ListAndDelete(kFabrics, "rr-test=" + tag_, true);
    ListAndDelete(kube::resources::nodes(), "rr-test=" + tag_, false);
    ListAndDelete(kPeers, "rr.bgp.dev/cluster", false);
  }

  void ListAndDelete(const kube::ResourceType& type, const std::string& selector, bool strip_finalizers) {
    kube::ListOptions lo;
    lo.label_selector = selector;
    auto items = client_->list(type, "", lo);
    if (!items.ok()) return;
    for (const auto& item : items->items) {
      if (strip_finalizers) {
        (void)client_->patch(type, "", kube::name_of(item), kube::PatchType::Merge,
                             Json{{"metadata", {{"finalizers", nullptr}}}}, {});
      }
      (void)client_->remove(type, kube::namespace_of(item), kube::name_of(item), {});
    }
  }

  // deploy/'s Role of rr-operator (Pods, Leases), as shipped in rr-system, copied with its
  // binding into `ns`: what an administrator does to let fabrics run reflectors there.
  void GrantOperatorNamespace(const std::string& ns) {
    const kube::ResourceType roles{"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
    const kube::ResourceType bindings{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true};
    auto role = client_->get(roles, "rr-system", "rr-operator");
    auto binding = client_->get(bindings, "rr-system", "rr-operator");
    ASSERT_TRUE(role.ok() && binding.ok()) << "deploy/rbac.yaml ships Role and RoleBinding rr-system/rr-operator";
    for (auto* object : {&*role, &*binding}) {
      (*object)["metadata"] = {{"name", "rr-operator"}, {"namespace", ns}};
    }
    ASSERT_TRUE(client_->create(roles, ns, *role).ok());
    ASSERT_TRUE(client_->create(bindings, ns, *binding).ok());
  }

  // The operator as deploy/ runs it, allowed the test's namespace (granted on first use) and
  // the test image, unless the test clears allowed_namespaces_ (then: the defaults).
  ChildProcess& StartOperator(const std::vector<std::string>& extra = {"--leader-elect=false"}) {
    std::vector<std::string> argv = {RR_OPERATOR_BIN, "--kubeconfig", kubeconfig_, "--metrics-address",
                                     "127.0.0.1:0", "--reflector-startup-grace", "20s", "--log-level", "debug"};
    if (!allowed_namespaces_.empty()) {
      if (!granted_) GrantOperatorNamespace(ns_);
      granted_ = true;
      argv.insert(argv.end(), {"--allowed-namespaces", allowed_namespaces_, "--allowed-reflector-images",
                               "rr-agent:test"});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string log = cp_->dir() + "/logs/operator-" + tag_ + "-" + std::to_string(operators_.size()) + ".log";
    operators_.push_back(std::make_unique<ChildProcess>(argv, log));
    return *operators_.back();
  }

  // A client authenticated as ServiceAccount ns/name, through a token as its Pod mounts one.
  std::unique_ptr<kube::RestKubeClient> ServiceAccountClient(const std::string& ns, const std::string& name) {
    const std::string token = cp_->service_account_token(ns, name, 3600);
    return token.empty() ? nullptr : cp_->client_with_token(token);
  }

  // Two nodes of one rack, and a fabric with reflectors in `ns` whose bgp.passwordSecretRef names
  // key "password" of Secret `secret`.
  kube::Result<Json> CreateFabricWithPassword(const std::string& fabric, const std::string& pool, const std::string& ns,
                                              const std::string& secret) {
    AddNodes(1, 2);
    Json spec = Fabric(fabric, pool);
    spec["spec"]["namespace"] = ns;
    spec["spec"]["bgp"] = {{"passwordSecretRef", {{"name", secret}, {"key", "password"}}}};
    return client_->create(kFabrics, "", spec);
  }

  // The operator as deploy/ ships it (allowed `ns` only, its Roles there), plus `extra` flags.
  ChildProcess& StartOperatorAsShipped(const std::string& ns, const std::vector<std::string>& extra = {}) {
    allowed_namespaces_.clear();
    std::vector<std::string> argv = {"--leader-elect=false", "--allowed-namespaces", ns, "--allowed-reflector-images",
                                     "rr-agent:test"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return StartOperator(argv);
  }

  std::string MetricsUrl(ChildProcess& op) {
    auto line = op.wait_for_log("serving /metrics", std::chrono::seconds(20));
    if (!line) return "";
    auto at = line->find("url=");
    return at == std::string::npos ? "" : line->substr(at + 4);
  }

  std::string Rack(int i) const { return tag_ + "-r" + std::to_string(i); }

  void AddNodes(int rack, int count, int first = 0) {
    for (int i = first; i < first + count; ++i) {
      std::string name = tag_ + "-r" + std::to_string(rack) + "-n" + std::to_string(i);
      std::string ip = "10.77." + std::to_string(rack) + "." + std::to_string(10 + i);
      rr::testing::create_ready_node(*client_, rr::testing::make_node(name,
                                                                      {{"rr-test", tag_},
                                                                       {"topology.kubernetes.io/rack", Rack(rack)},
                                                                       {"rr.bgp.dev/reflector", "true"}},
                                                                      ip));
    }
  }

  Json Fabric(const std::string& name, const std::string& pool) {
    return {{"apiVersion", "rr.bgp.dev/v1alpha1"},
            {"kind", "RouteReflectorCluster"},
            {"metadata", {{"name", name}, {"labels", {{"rr-test", tag_}}}}},
            {"spec",
             {{"asNumber", 64512},
              {"namespace", ns_},
              {"nodeSelector", {{"rr-test", tag_}}},
              {"clusterIDPool", pool},
              {"reflectors", {{"perRack", 2}, {"image", "rr-agent:test"}}},
              {"lease", {{"durationSeconds", 5}}}}}};
  }

  std::vector<Json> Pods(const std::string& fabric) {
    kube::ListOptions lo;
    lo.label_selector = "rr.bgp.dev/cluster=" + fabric;
    auto r = client_->list(kube::resources::pods(), ns_, lo);
    std::vector<Json> out;
    if (!r.ok()) return out;
    for (auto& p : r->items) {
      if (!p["metadata"].contains("deletionTimestamp")) out.push_back(p);
    }
    return out;
  }

  std::vector<Json> Peers(const std::string& fabric) {
    kube::ListOptions lo;
    lo.label_selector = "rr.bgp.dev/cluster=" + fabric;
    auto r = client_->list(kPeers, "", lo);
    return r.ok() ? r->items : std::vector<Json>{};
  }

  Json FabricObject(const std::string& name) {
    auto r = client_->get(kFabrics, "", name);
    return r.ok() ? *r : Json::object();
  }

  std::string ConditionOf(const std::string& fabric, const std::string& type, std::string* message = nullptr) {
    Json f = FabricObject(fabric);
    const Json conditions = f.value("status", Json::object()).value("conditions", Json::array());
  for (const auto& c : conditions) {
      if (c.value("type", "") == type) {
        if (message) *message = c.value("message", "");
        return c.value("status", "") + "/" + c.value("reason", "");
      }
    }
    return "";
  }

  double Writes(const std::string& url) {
    return rr::testing::metric_sum(rr::testing::http_get(url + "/metrics"), "rr_operator_api_writes_total");
  }

  static inline std::string kubeconfig_;
  static inline int sequence_ = 0;
  std::unique_ptr<rr::testing::ControlPlane> cp_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::string ns_;
  std::string allowed_namespaces_;  // --allowed-namespaces; "" = the operator's default
  bool granted_ = false;
  std::string tag_;
  std::vector<std::function<void()>> cleanups_;  // after the operators stop
  std::unique_ptr<rr::testing::ReflectorSimulator> sim_;
  std::vector<std::unique_ptr<ChildProcess>> operators_;
};

TEST_F(OperatorIT, FabricReachesReadyThenMakesNoWrites) {
  for (int r = 1; r <= 3; ++r) AddNodes(r, 3);
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric("f-" + tag_, "10.201.0.0/16")).ok());
  const std::string fabric = "f-" + tag_;
  auto& op = StartOperator();
  std::string url = MetricsUrl(op);
  ASSERT_FALSE(url.empty()) << op.log();

  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready") == "True/FabricReady"; }, std::chrono::seconds(60)))
      << ConditionOf(fabric, "Ready") << "\n" << FabricObject(fabric).dump(2) << "\n" << op.log();
  EXPECT_EQ(Pods(fabric).size(), 6u);
  auto peers = Peers(fabric);
  ASSERT_EQ(peers.size(), 6u) << "one BGPPeer per live reflector";
  std::set<std::string> selectors;
  for (const auto& p : peers) {
    selectors.insert(p["spec"].value("nodeSelector", ""));
    EXPECT_EQ(p["spec"].value("asNumber", 0), 64512);
    EXPECT_EQ(p["spec"].value("peerIP", "").rfind("10.77.", 0), 0u) << p.dump();
  }
  EXPECT_EQ(selectors.size(), 3u) << "the two reflectors of a rack select the same clients";
  EXPECT_TRUE(selectors.count("topology.kubernetes.io/rack == '" + Rack(1) + "' && rr-test == '" + tag_ + "'"))
      << *selectors.begin();
  Json status = FabricObject(fabric)["status"];
  EXPECT_EQ(status.value("rackCount", 0), 3);
  EXPECT_EQ(status.value("reflectors", ""), "6/6");
  std::set<std::string> ids;
  for (const auto& rack : status["racks"]) ids.insert(rack.value("clusterID", ""));
  EXPECT_EQ(ids, (std::set<std::string>{"10.201.0.1", "10.201.0.2", "10.201.0.3"}));
  EXPECT_EQ(status.value("observedGeneration", 0), 1);
  // Every rack's sessions are Established: Calico's full mesh goes off.
  ASSERT_TRUE(eventually([&] {
    auto c = client_->get(kBgpConfigs, "", "default");
    return c.ok() && (*c)["spec"].value("nodeToNodeMeshEnabled", true) == false;
  }));

  // Steady state: leases keep renewing, nothing changes, the operator writes nothing.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  double before = Writes(url);
  std::this_thread::sleep_for(std::chrono::seconds(7));
  EXPECT_EQ(Writes(url), before) << "writes in steady state";

  // A node joining a rack needs no BGPPeer write: Calico's selector picks it up.
  std::map<std::string, std::string> versions;
  for (const auto& p : Peers(fabric)) versions[kube::name_of(p)] = kube::resource_version_of(p);
  AddNodes(1, 1, 3);
  ASSERT_TRUE(eventually([&] {
    const Json object = FabricObject(fabric);  // the range below must not outlive it
    for (const auto& rack : object["status"]["racks"]) {
      if (rack.value("name", "") == Rack(1)) return rack.value("nodes", 0) == 4;
    }
    return false;
  })) << FabricObject(fabric)["status"].dump(2) << op.log().substr(op.log().size() > 3000 ? op.log().size() - 3000 : 0);
  for (const auto& p : Peers(fabric)) EXPECT_EQ(versions[kube::name_of(p)], kube::resource_version_of(p));

  // A restarted operator finds everything in place and makes zero writes.
  op.stop();
  auto& again = StartOperator();
  std::string url2 = MetricsUrl(again);
  ASSERT_FALSE(url2.empty());
  ASSERT_TRUE(again.wait_for_log("caches synced", std::chrono::seconds(20)).has_value()) << again.log();
  std::this_thread::sleep_for(std::chrono::seconds(8));
  EXPECT_EQ(Writes(url2), 0) << again.log();
  EXPECT_GT(rr::testing::metric_value(rr::testing::http_get(url2 + "/metrics"), "rr_operator_reconciles_total",
                                      "result=\"success\"")
                .value_or(0),
            0);
}

// `kubectl rr status` as a user allowed only to read RouteReflectorClusters: it shows what the
// operator wrote into the status (the JSON output is that status, verbatim), each rack's
// reflectors, the unhealthy fabric first, and exit codes a script can use.
TEST_F(OperatorIT, KubectlRrStatusShowsTheStatusToAReadOnlyUser) {
  for (int r = 1; r <= 2; ++r) AddNodes(r, 2);
  const std::string fabric = "f-" + tag_;
  const std::string empty = "g-" + tag_;  // selects no node: never Ready
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.211.0.0/16")).ok());
  Json none = Fabric(empty, "10.212.0.0/16");
  none["spec"]["nodeSelector"] = {{"rr-test", "nobody-" + tag_}};
  ASSERT_TRUE(client_->create(kFabrics, "", none).ok());
  auto& op = StartOperator();
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready") == "True/FabricReady"; }, std::chrono::seconds(60)))
      << ConditionOf(fabric, "Ready") << "\n" << op.log();
  ASSERT_TRUE(eventually([&] { return ConditionOf(empty, "Ready").rfind("False/", 0) == 0; })) << op.log();

  // A viewer: get and list RouteReflectorClusters, nothing else.
  const kube::ResourceType cluster_roles{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false};
  const kube::ResourceType cluster_bindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                                            "ClusterRoleBinding", false};
  const std::string viewer = "rr-viewer-" + tag_;
  ASSERT_TRUE(client_->create(kube::resources::service_accounts(), ns_,
                              Json{{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", viewer}}}})
                  .ok());
  ASSERT_TRUE(client_->create(cluster_roles, "",
                              Json{{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "ClusterRole"},
                                   {"metadata", {{"name", viewer}}},
                                   {"rules", Json::array({{{"apiGroups", {"rr.bgp.dev"}},
                                                           {"resources", {"routereflectorclusters"}},
                                                           {"verbs", {"get", "list"}}}})}})
                  .ok());
  ASSERT_TRUE(client_->create(cluster_bindings, "",
                              Json{{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "ClusterRoleBinding"},
                                   {"metadata", {{"name", viewer}}},
                                   {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"},
                                                {"name", viewer}}},
                                   {"subjects", Json::array({{{"kind", "ServiceAccount"}, {"name", viewer},
                                                              {"namespace", ns_}}})}})
                  .ok());
  cleanups_.push_back([this, viewer, cluster_roles, cluster_bindings] {
    (void)client_->remove(cluster_bindings, "", viewer, {});
    (void)client_->remove(cluster_roles, "", viewer, {});
  });
  const std::string token = cp_->service_account_token(ns_, viewer, 3600);
  ASSERT_FALSE(token.empty());
  const std::string kubeconfig = cp_->write_token_kubeconfig(cp_->dir() + "/viewer-" + tag_ + ".kubeconfig", token);
  auto kubectl_rr = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {KUBECTL_RR_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--kubeconfig", kubeconfig});
    return rr::testing::run_argv(argv);
  };
  // The viewer really is read-only: listing Pods is refused.
  auto viewer_client = cp_->client_with_token(token);
  ASSERT_TRUE(viewer_client);
  EXPECT_FALSE(viewer_client->list(kube::resources::pods(), ns_, {}).ok());

  auto ready = kubectl_rr({"status", fabric});
  EXPECT_EQ(ready.status, 0) << ready.output;
  EXPECT_NE(ready.output.find("FABRIC " + fabric + ": Ready=True (FabricReady, for "), std::string::npos)
      << ready.output;
  const Json status = FabricObject(fabric)["status"];
  ASSERT_EQ(status["racks"].size(), 2u) << status.dump(2);
  for (const auto& rack : status["racks"]) {
    EXPECT_NE(ready.output.find(rack.value("name", "") + "  " + rack.value("clusterID", "")), std::string::npos)
        << ready.output;
    for (const auto& r : rack["reflectors"]) {
      EXPECT_NE(ready.output.find(r.value("pod", "") + "  " + r.value("node", "")), std::string::npos)
          << ready.output;
    }
  }

  // -o json is the status as the API holds it (no second account of it).
  auto json = kubectl_rr({"status", fabric, "-o", "json"});
  ASSERT_EQ(json.status, 0) << json.output;
  Json shown = Json::parse(json.output, nullptr, false);
  ASSERT_TRUE(shown.is_array() && shown.size() == 1u) << json.output;
  Json now = FabricObject(fabric)["status"];
  for (Json* s : {&now, &shown[0]["status"]}) {
    for (auto& rack : (*s)["racks"]) {
      for (auto& r : rack["reflectors"]) r.erase("sessionsEstablished");  // counts move as leases renew
    }
    s->erase("sessionsEstablished");
  }
  EXPECT_EQ(shown[0]["status"]["racks"], now["racks"]);
  EXPECT_EQ(shown[0]["status"]["conditions"], now["conditions"]);

  // Every fabric: the one that is not Ready first, and exit code 1.
  auto all = kubectl_rr({"status"});
  EXPECT_EQ(all.status, 1) << all.output;
  const auto at_empty = all.output.find("FABRIC " + empty + ": Ready=False");
  ASSERT_NE(at_empty, std::string::npos) << all.output;
  EXPECT_LT(at_empty, all.output.find("FABRIC " + fabric + ":")) << all.output;

  // Errors a script can tell apart: an unknown fabric, a bad flag.
  auto missing = kubectl_rr({"status", "no-such-" + tag_});
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("no-such-" + tag_), std::string::npos) << missing.output;
  auto bad = kubectl_rr({"status", "-o", "yaml-ish"});
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("-o: 'yaml-ish' is not table or json"), std::string::npos) << bad.output;
}

TEST_F(OperatorIT, LapsedReflectorLosesItsPeerAndIsReplaced) {
  for (int r = 1; r <= 2; ++r) AddNodes(r, 3);
  const std::string fabric = "f-" + tag_;
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.202.0.0/16")).ok());
  auto& op = StartOperator();
  ASSERT_TRUE(eventually([&] { return Peers(fabric).size() == 4; }, std::chrono::seconds(60))) << op.log();
  auto pods = Pods(fabric);
  ASSERT_EQ(pods.size(), 4u);
  const std::string victim = kube::name_of(pods[0]);
  const std::string victim_node = pods[0]["spec"].value("nodeName", "");
  sim_->kill_agent(victim);
  auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] {
    for (const auto& p : Peers(fabric)) {
      if (kube::name_of(p) == victim) return false;
    }
    return true;
  }));
  auto lost_after = std::chrono::steady_clock::now() - killed_at;
  std::cout << "BGPPeer of the dead reflector removed after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(lost_after).count() << " ms (lease 5 s)\n";
  ASSERT_TRUE(eventually([&] {
    auto now = Pods(fabric);
    bool gone = std::none_of(now.begin(), now.end(), [&](const Json& p) { return kube::name_of(p) == victim; });
    return gone && now.size() == 4 && Peers(fabric).size() == 4;
  }, std::chrono::seconds(60))) << op.log();
  for (const auto& p : Pods(fabric)) {
    if (kube::labels_of(p)["rr.bgp.dev/rack"] == kube::labels_of(pods[0])["rr.bgp.dev/rack"] &&
        kube::name_of(p) != kube::name_of(pods[1])) {
      EXPECT_NE(p["spec"].value("nodeName", ""), "") << "the replacement is scheduled";
    }
  }
  (void)victim_node;
}

TEST_F(OperatorIT, RacksAreAddedAndDrained) {
  AddNodes(1, 2);
  const std::string fabric = "f-" + tag_;
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.203.0.0/16")).ok());
  auto& op = StartOperator();
  ASSERT_TRUE(eventually([&] { return Peers(fabric).size() == 2; }, std::chrono::seconds(60))) << op.log();
  AddNodes(4, 2);
  ASSERT_TRUE(eventually([&] { return Peers(fabric).size() == 4; }, std::chrono::seconds(60))) << op.log();
  bool found = false;
  const Json object = FabricObject(fabric);
  for (const auto& rack : object["status"]["racks"]) {
    if (rack.value("name", "") == Rack(4)) {
      found = true;
      EXPECT_EQ(rack.value("clusterID", ""), "10.203.0.2");
    }
  }
  EXPECT_TRUE(found);
  // Drain rack 4: its reflectors and peers go; rack 1 is untouched.
  auto before = Peers(fabric);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(client_->remove(kube::resources::nodes(), "", tag_ + "-r4-n" + std::to_string(i), {}).ok());
  }
  ASSERT_TRUE(eventually([&] { return Peers(fabric).size() == 2 && Pods(fabric).size() == 2; }, std::chrono::seconds(60)))
      << op.log();
  for (const auto& p : Peers(fabric)) EXPECT_EQ(kube::labels_of(p)["rr.bgp.dev/rack"], Rack(1));
}

TEST_F(OperatorIT, InvalidAndConflictingSpecsChangeNothing) {
  AddNodes(1, 2);
  const std::string fabric = "f-" + tag_;
  Json spec = Fabric(fabric, "10.204.0.0/16");
  spec["spec"]["bgp"] = {{"passwordSecretRef", {{"name", "bgp-auth"}, {"key", "password"}}}};
  ASSERT_TRUE(client_->create(kFabrics, "", spec).ok());
  auto& op = StartOperator();
  std::string message;
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready", &message) == "False/InvalidSpec"; }))
      << FabricObject(fabric).dump(2) << op.log();
  EXPECT_NE(message.find("spec.bgp.passwordSecretRef"), std::string::npos) << message;
  // rr-operator may read Secrets only in rr-system (deploy/rbac.yaml): here it cannot, and says so.
  EXPECT_NE(message.find("may not get Secrets in namespace " + ns_), std::string::npos) << message;
  EXPECT_NE(message.find("rr-operator-secrets"), std::string::npos) << message;
  EXPECT_EQ(Pods(fabric).size(), 0u);
  // The Event is recorded beside the status write, not before it: wait for it.
  EXPECT_TRUE(eventually([&] {
    auto events = client_->list(kube::resources::events(), "default", {});
    if (!events.ok()) return false;
    for (const auto& e : events->items) {
      if (e["involvedObject"].value("name", "") == fabric && e.value("reason", "") == "InvalidSpec") return true;
    }
    return false;
  })) << "an Event tells the user what is wrong";

  // Put the fabric's namespace under the same Role: now the Secret is simply absent, and it says that.
  Json role = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "Role"},
               {"metadata", {{"name", "rr-operator-secrets"}, {"namespace", ns_}}},
               {"rules", Json::array({{{"apiGroups", {""}}, {"resources", {"secrets"}}, {"verbs", {"get"}}}})}};
  Json binding = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                  {"kind", "RoleBinding"},
                  {"metadata", {{"name", "rr-operator-secrets"}, {"namespace", ns_}}},
                  {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "rr-operator-secrets"}}},
                  {"subjects", Json::array({{{"kind", "ServiceAccount"}, {"name", "rr-operator"}, {"namespace", "rr-system"}}})}};
  ASSERT_TRUE(client_->create({"rbac.authorization.k8s.io", "v1", "roles", "Role", true}, ns_, role).ok());
  ASSERT_TRUE(client_->create({"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true}, ns_, binding).ok());
  // Nudge a reconcile (a spec edit) rather than wait for the resync.
  auto nudge = [&](const std::string& value) {
    return client_->patch(kFabrics, "", fabric, kube::PatchType::Merge,
                          Json{{"metadata", {{"annotations", {{"nudge", value}}}}}}, {})
        .ok();
  };
  ASSERT_TRUE(nudge("1"));
  ASSERT_TRUE(eventually([&] {
    return ConditionOf(fabric, "Ready", &message) == "False/InvalidSpec" &&
           message.find("bgp-auth does not exist") != std::string::npos;
  })) << message << op.log();
  EXPECT_EQ(Pods(fabric).size(), 0u);

  // The Secret appears: the fabric proceeds.
  ASSERT_TRUE(client_->create(kube::resources::secrets(), ns_,
                              Json{{"apiVersion", "v1"},
                                   {"kind", "Secret"},
                                   {"metadata", {{"name", "bgp-auth"}}},
                                   {"stringData", {{"password", "s3cret"}}}})
                  .ok());
  ASSERT_TRUE(nudge("2"));
  ASSERT_TRUE(eventually([&] { return Pods(fabric).size() == 2; }, std::chrono::seconds(30))) << op.log();

  // A younger fabric claiming the same nodes and an overlapping pool: Conflict, and nothing of its own.
  const std::string younger = "g-" + tag_;
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(younger, "10.204.128.0/17")).ok());
  ASSERT_TRUE(eventually([&] { return ConditionOf(younger, "Ready", &message) == "False/Conflict"; }))
      << FabricObject(younger).dump(2);
  EXPECT_NE(message.find(fabric), std::string::npos) << message;
  EXPECT_EQ(Pods(younger).size(), 0u);
  EXPECT_EQ(Pods(fabric).size(), 2u) << "the older fabric is untouched";
}

TEST_F(OperatorIT, DeletingTheFabricRestoresTheMeshAndRemovesEverything) {
  AddNodes(1, 2);
  const std::string fabric = "f-" + tag_;
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.205.0.0/16")).ok());
  auto& op = StartOperator();
  ASSERT_TRUE(eventually([&] {
    auto c = client_->get(kBgpConfigs, "", "default");
    return c.ok() && (*c)["spec"].value("nodeToNodeMeshEnabled", true) == false;
  }, std::chrono::seconds(60))) << op.log();
  ASSERT_TRUE(client_->remove(kFabrics, "", fabric, {}).ok());
  ASSERT_TRUE(eventually([&] { return client_->get(kFabrics, "", fabric).is(ErrorKind::NotFound); },
                         std::chrono::seconds(60)))  // past --mesh-settle (15 s)
      << FabricObject(fabric).dump(2) << op.log();
  auto c = client_->get(kBgpConfigs, "", "default");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)["spec"].value("nodeToNodeMeshEnabled", false)) << "the full mesh is back before reflectors go";
  EXPECT_EQ(Pods(fabric).size(), 0u);
  EXPECT_EQ(Peers(fabric).size(), 0u);
  kube::ListOptions lo;
  lo.label_selector = "rr.bgp.dev/cluster=" + fabric;
  auto leases = client_->list(kube::resources::leases(), ns_, lo);
  ASSERT_TRUE(leases.ok());
  // The simulator may renew a lease once more before it sees its pod gone; the operator removes what it finds.
  EXPECT_LE(leases->items.size(), 2u);
}

// Issue 11 G2: deletion never depends on the spec being valid. A fabric edited into a spec
// the schema admits but the operator rejects (keepalive >= hold) is still deleted, with
// everything it owns, and Calico's mesh comes back.
TEST_F(OperatorIT, AFabricEditedIntoAnInvalidSpecIsStillDeletedAndRestoresTheMesh) {
  AddNodes(1, 3);
  const std::string fabric = "f-" + tag_;
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.207.0.0/16")).ok());
  auto& op = StartOperator();
  ASSERT_TRUE(eventually([&] {
    auto c = client_->get(kBgpConfigs, "", "default");
    return c.ok() && (*c)["spec"].value("nodeToNodeMeshEnabled", true) == false;
  }, std::chrono::seconds(60))) << op.log();
  ASSERT_EQ(Peers(fabric).size(), 2u);
  ASSERT_TRUE(client_->patch(kFabrics, "", fabric, kube::PatchType::Merge,
                             Json{{"spec", {{"bgp", {{"holdTimeSeconds", 10}, {"keepaliveSeconds", 20}}}}}}, {})
                  .ok());
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready") == "False/InvalidSpec"; }))
      << FabricObject(fabric).dump(2) << op.log();
  // The agents stop renewing (as they would once their Pods go): no Lease can come back behind the operator.
  for (const auto& p : Pods(fabric)) sim_->kill_agent(kube::name_of(p));

  ASSERT_TRUE(client_->remove(kFabrics, "", fabric, {}).ok());
  ASSERT_TRUE(eventually([&] { return client_->get(kFabrics, "", fabric).is(ErrorKind::NotFound); },
                         std::chrono::seconds(60)))  // past --mesh-settle (15 s)
      << "the finalizer must go whatever the spec says\n" << FabricObject(fabric).dump(2) << op.log();
  auto c = client_->get(kBgpConfigs, "", "default");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)["spec"].value("nodeToNodeMeshEnabled", false)) << "the full mesh is back";
  EXPECT_EQ(Peers(fabric).size(), 0u);
  kube::ListOptions lo;
  lo.label_selector = "rr.bgp.dev/cluster=" + fabric;
  auto pods = client_->list(kube::resources::pods(), ns_, lo);
  ASSERT_TRUE(pods.ok());
  EXPECT_EQ(pods->items.size(), 0u);
  auto leases = client_->list(kube::resources::leases(), ns_, lo);
  ASSERT_TRUE(leases.ok());
  EXPECT_EQ(leases->items.size(), 0u);
}

// Records every event of one watch until stopped (for order assertions by resourceVersion).
class WatchRecorder {
 public:
  WatchRecorder(kube::KubeClient& client, const kube::ResourceType& type, const std::string& selector) {
    kube::ListOptions lo;
    lo.label_selector = selector;
    auto listed = client.list(type, "", lo);
    if (!listed.ok()) return;
    kube::WatchOptions wo;
    wo.label_selector = selector;
    wo.resource_version = listed->resource_version;
    auto stream = client.watch(type, "", wo);
    if (!stream.ok()) return;
    stream_ = std::move(*stream);
    thread_ = std::jthread([this] {
      for (;;) {
        auto e = stream_->next();
        if (!e.ok() || !e->has_value()) return;
        std::lock_guard lock(mu_);
        events_.push_back(**e);
      }
    });
  }
  ~WatchRecorder() { stop(); }
  bool watching() const { return stream_ != nullptr; }
  void stop() {
    if (stream_) stream_->cancel();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<kube::WatchEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::unique_ptr<kube::WatchStream> stream_;
  std::mutex mu_;
  std::vector<kube::WatchEvent> events_;
  std::jthread thread_;
};

// etcd's revision: one counter for every object of the cluster, so it orders writes across types.
long long Revision(const Json& object) { return std::stoll(kube::resource_version_of(object)); }

// Issue 11 G5: Calico's mesh goes off only when every Calico node is served by a Ready fabric;
// a node no fabric serves holds it on and is named; the last fabric's deletion turns the mesh
// on before its BGPPeers go.
TEST_F(OperatorIT, AnUncoveredNodeKeepsTheMeshOnAndTheLastFabricRestoresItBeforeItsPeersGo) {
  AddNodes(1, 3);
  AddNodes(2, 3);
  const std::string lone = tag_ + "-lone";
  rr::testing::create_ready_node(*client_, rr::testing::make_node(lone, {{"rr-test", tag_}}, "10.77.9.10"));
  const std::string fabric = "f-" + tag_;
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.208.0.0/16")).ok());
  // --mesh-settle through its environment variable (the child inherits it at fork).
  ::setenv("RR_MESH_SETTLE", "2s", 1);
  auto& op = StartOperator();
  ::unsetenv("RR_MESH_SETTLE");
  std::string url = MetricsUrl(op);
  ASSERT_FALSE(url.empty()) << op.log();
  auto mesh = [&]() -> std::optional<bool> {  // nullopt: no BGPConfiguration (Calico's default, on)
    auto c = client_->get(kBgpConfigs, "", "default");
    if (!c.ok() || !(*c)["spec"].contains("nodeToNodeMeshEnabled")) return std::nullopt;
    return (*c)["spec"]["nodeToNodeMeshEnabled"].get<bool>();
  };
  auto uncovered = [&] {
    return rr::testing::metric_value(rr::testing::http_get(url + "/metrics"), "rr_operator_uncovered_nodes", "");
  };

  // Both racks are served, the fabric is Ready, yet the node with no rack label holds the mesh on.
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready") == "True/FabricReady"; }, std::chrono::seconds(60)))
      << FabricObject(fabric).dump(2) << op.log();
  std::string message;
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "MeshDisabled", &message) == "False/UncoveredNodes"; }))
      << FabricObject(fabric).dump(2) << op.log();
  EXPECT_NE(message.find(lone), std::string::npos) << message;
  EXPECT_TRUE(eventually([&] { return uncovered() == 1.0; })) << rr::testing::http_get(url + "/metrics");
  EXPECT_NE(mesh(), std::optional<bool>(false)) << "the mesh stays on while a node has no reflector";

  // The node joins rack 1: every node is served, the mesh goes off.
  ASSERT_TRUE(client_->patch(kube::resources::nodes(), "", lone, kube::PatchType::Merge,
                             Json{{"metadata", {{"labels", {{"topology.kubernetes.io/rack", Rack(1)}}}}}}, {})
                  .ok());
  ASSERT_TRUE(eventually([&] { return mesh() == std::optional<bool>(false); }, std::chrono::seconds(60)))
      << FabricObject(fabric).dump(2) << op.log();
  EXPECT_TRUE(eventually([&] { return ConditionOf(fabric, "MeshDisabled") == "True/AllNodesCovered"; }))
      << FabricObject(fabric).dump(2);
  EXPECT_TRUE(eventually([&] { return uncovered() == 0.0; }));

  // Once the mesh is off, a node that joins with no rack label would have no BGP at all: the
  // mesh comes back on, and the fabric says why (condition, metric, Event).
  const std::string late = tag_ + "-late";
  rr::testing::create_ready_node(*client_, rr::testing::make_node(late, {{"rr-test", tag_}}, "10.77.9.11"));
  ASSERT_TRUE(eventually([&] { return mesh() == std::optional<bool>(true); })) << op.log();
  EXPECT_TRUE(eventually([&] {
    return ConditionOf(fabric, "MeshDisabled", &message) == "False/UncoveredNodes" &&
           message.find(late) != std::string::npos;
  })) << message;
  EXPECT_TRUE(eventually([&] { return uncovered() == 1.0; }));
  EXPECT_TRUE(eventually([&] {
    auto events = client_->list(kube::resources::events(), "default", {});
    if (!events.ok()) return false;
    for (const auto& e : events->items) {
      if (e["involvedObject"].value("name", "") == fabric && e.value("reason", "") == "UncoveredNodes" &&
          e.value("message", "").find(late) != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << "an Event names the node";
  ASSERT_TRUE(client_->remove(kube::resources::nodes(), "", late, {}).ok());
  ASSERT_TRUE(eventually([&] { return mesh() == std::optional<bool>(false); }, std::chrono::seconds(60))) << op.log();

  // The last fabric goes: the mesh is on before the first of its BGPPeers is deleted.
  ASSERT_EQ(Peers(fabric).size(), 4u);
  WatchRecorder configs(*client_, kBgpConfigs, "");
  WatchRecorder peers(*client_, kPeers, "rr.bgp.dev/cluster=" + fabric);
  ASSERT_TRUE(configs.watching() && peers.watching());
  ASSERT_TRUE(client_->remove(kFabrics, "", fabric, {}).ok());
  ASSERT_TRUE(eventually([&] { return client_->get(kFabrics, "", fabric).is(ErrorKind::NotFound); },
                         std::chrono::seconds(60)))
      << FabricObject(fabric).dump(2) << op.log();
  ASSERT_TRUE(eventually([&] {
    int deleted = 0;
    for (const auto& e : peers.events()) deleted += e.type == kube::WatchEvent::Type::Deleted;
    return deleted == 4;
  }));
  configs.stop();
  peers.stop();
  std::optional<long long> mesh_on;
  for (const auto& e : configs.events()) {
    if (kube::name_of(e.object) == "default" && e.type != kube::WatchEvent::Type::Bookmark &&
        e.object["spec"].value("nodeToNodeMeshEnabled", true) && !mesh_on) {
      mesh_on = Revision(e.object);
    }
  }
  ASSERT_TRUE(mesh_on.has_value()) << "the mesh was turned on";
  for (const auto& e : peers.events()) {
    if (e.type != kube::WatchEvent::Type::Deleted) continue;
    EXPECT_LT(*mesh_on, Revision(e.object)) << "BGPPeer " << kube::name_of(e.object)
                                            << " was deleted before the mesh was on";
  }
}

// Issue H1: a RouteReflectorCluster is cluster-scoped, and what it says runs with host
// networking. A user allowed only to create fabrics chooses neither the image nor the
// namespace: rr-operator, with exactly deploy/'s RBAC and its defaults (its own namespace
// rr-system, its configured image), holds both fabrics and says why, and runs an allowed one.
TEST_F(OperatorIT, AFabricCreatorChoosesNeitherTheImageNorTheNamespace) {
  const kube::ResourceType cluster_roles{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false};
  const kube::ResourceType cluster_bindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                                            "ClusterRoleBinding", false};
  const std::string creator = "rr-test-fabric-creator-" + tag_;
  ASSERT_TRUE(client_->create(cluster_roles, "",
                              Json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
                                   {"kind", "ClusterRole"},
                                   {"metadata", {{"name", creator}}},
                                   {"rules", Json::array({{{"apiGroups", {"rr.bgp.dev"}},
                                                           {"resources", {"routereflectorclusters"}},
                                                           {"verbs", {"create"}}}})}})
                  .ok());
  ASSERT_TRUE(client_->create(cluster_bindings, "",
                              Json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
                                   {"kind", "ClusterRoleBinding"},
                                   {"metadata", {{"name", creator}}},
                                   {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"},
                                                {"kind", "ClusterRole"},
                                                {"name", creator}}},
                                   {"subjects", Json::array({{{"kind", "User"},
                                                              {"apiGroup", "rbac.authorization.k8s.io"},
                                                              {"name", cp_->var("RR_KUBE_USER_NAME")}}})}})
                  .ok());
  const std::string ok = "ok-" + tag_;
  const std::string image = "img-" + tag_;
  const std::string elsewhere = "ns-" + tag_;
  cleanups_.push_back([this, creator, ok, cluster_roles, cluster_bindings] {
    (void)client_->remove(cluster_bindings, "", creator, {});
    (void)client_->remove(cluster_roles, "", creator, {});
    // The allowed fabric ran in rr-system, which outlives the test.
    ListAndDelete(kube::resources::pods(), "rr.bgp.dev/cluster=" + ok, false);
    ListAndDelete(kube::resources::leases(), "rr.bgp.dev/cluster=" + ok, false);
  });
  auto user = cp_->client_with_token(cp_->var("RR_KUBE_USER_TOKEN"));
  ASSERT_TRUE(user);
  EXPECT_TRUE(user->list(kube::resources::pods(), "rr-system", {}).is(ErrorKind::Forbidden)) << "the user may do no more";

  AddNodes(1, 2);
  auto system_sim = std::make_shared<rr::testing::ReflectorSimulator>(*client_, "rr-system");
  system_sim->start();
  cleanups_.insert(cleanups_.begin(), [system_sim] { system_sim->stop(); });  // before its Leases go
  auto as_user = [&](const std::string& name, const std::string& pool, const std::string& ns, const std::string& img) {
    Json f = Fabric(name, pool);
    f["spec"]["namespace"] = ns;
    if (img.empty()) {
      f["spec"]["reflectors"].erase("image");  // the operator's configured image
    } else {
      f["spec"]["reflectors"]["image"] = img;
    }
    // The user's binding reaches the authorizer's cache shortly after it is written.
    return eventually([&] { return user->create(kFabrics, "", f).ok(); });
  };
  ASSERT_TRUE(as_user(ok, "10.209.0.0/16", "rr-system", ""));
  ASSERT_TRUE(as_user(image, "10.210.0.0/16", "rr-system", "evil.example/miner:latest"));
  ASSERT_TRUE(as_user(elsewhere, "10.211.0.0/16", "kube-system", ""));

  allowed_namespaces_.clear();  // deploy/'s flags and RBAC, nothing added
  auto& op = StartOperator();
  std::string message;
  ASSERT_TRUE(eventually([&] { return ConditionOf(image, "Ready", &message) == "False/ImageNotAllowed"; }))
      << FabricObject(image).dump(2) << op.log();
  EXPECT_EQ(ConditionOf(image, "Degraded"), "True/ImageNotAllowed");
  for (const char* says : {"spec.reflectors.image", "evil.example/miner:latest", "allowed: rr-agent:0.1.0"}) {
    EXPECT_NE(message.find(says), std::string::npos) << says << " not in: " << message;
  }
  ASSERT_TRUE(eventually([&] { return ConditionOf(elsewhere, "Ready", &message) == "False/NamespaceNotAllowed"; }))
      << FabricObject(elsewhere).dump(2) << op.log();
  EXPECT_EQ(ConditionOf(elsewhere, "Degraded"), "True/NamespaceNotAllowed");
  for (const char* says : {"spec.namespace", "\"kube-system\"", "allowed: rr-system"}) {
    EXPECT_NE(message.find(says), std::string::npos) << says << " not in: " << message;
  }
  for (const auto& [fabric, reason] : {std::pair{image, "ImageNotAllowed"}, std::pair{elsewhere, "NamespaceNotAllowed"}}) {
    EXPECT_TRUE(eventually([&] {
      auto events = client_->list(kube::resources::events(), "default", {});
      if (!events.ok()) return false;
      for (const auto& e : events->items) {
        if (e["involvedObject"].value("name", "") == fabric && e.value("reason", "") == reason) return true;
      }
      return false;
    })) << "an Event " << reason << " about " << fabric;
  }

  // The allowed fabric runs, under exactly the shipped RBAC: Pods and Leases are watched in
  // rr-system only, where deploy/'s Role grants them (a cluster-wide watch would be forbidden).
  ASSERT_TRUE(eventually([&] { return ConditionOf(ok, "Ready") == "True/FabricReady"; }, std::chrono::seconds(60)))
      << FabricObject(ok).dump(2) << op.log();
  kube::ListOptions lo;
  lo.label_selector = "rr.bgp.dev/cluster=" + ok;
  auto pods = client_->list(kube::resources::pods(), "rr-system", lo);
  ASSERT_TRUE(pods.ok());
  ASSERT_EQ(pods->items.size(), 2u);
  EXPECT_EQ(pods->items[0]["spec"]["containers"][0].value("image", ""), "rr-agent:0.1.0");
  EXPECT_EQ(Peers(ok).size(), 2u);

  // Nothing ran for the held fabrics, anywhere.
  for (const auto& fabric : {image, elsewhere}) {
    lo.label_selector = "rr.bgp.dev/cluster=" + fabric;
    auto anywhere = client_->list(kube::resources::pods(), "", lo);
    ASSERT_TRUE(anywhere.ok());
    EXPECT_TRUE(anywhere->items.empty()) << fabric;
    EXPECT_TRUE(Peers(fabric).empty()) << fabric;
  }
  EXPECT_EQ(op.log().find("forbidden"), std::string::npos) << "the operator needed a right deploy/ does not grant:\n"
                                                            << op.log();
}

// Lines of the operator's log that contain every one of `words`.
int LogLinesWith(const std::string& log, const std::vector<std::string>& words) {
  int count = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    bool all = true;
    for (const auto& w : words) all = all && line.find(w) != std::string::npos;
    count += all;
  }
  return count;
}

bool HasEvent(kube::KubeClient& client, const std::string& fabric, const std::string& reason) {
  auto events = client.list(kube::resources::events(), "default", {});
  if (!events.ok()) return false;
  for (const auto& e : events->items) {
    if (e["involvedObject"].value("name", "") == fabric && e.value("reason", "") == reason) return true;
  }
  return false;
}

// Calico's CRDs are not installed (BGPPeer and BGPConfiguration lists answer 404): the
// operator names the 404 in its log once, every fabric says what is missing, and the
// fabric goes on by itself once the CRDs are installed.
TEST_F(OperatorIT, WithoutCalicosCrdsTheFabricSaysSoAndGoesOnOnceTheyAreInstalled) {
  // Installed again below; should this test stop first, the next test's SetUpTestSuite installs them.
  rr::testing::run_command(cp_->kubectl() + " delete --wait=true --ignore-not-found -f " + repo_root() +
                           "/tests/crds/calico/");
  AddNodes(1, 2);
  const std::string fabric = "f-" + tag_;
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.209.0.0/16")).ok());
  auto& op = StartOperator();
  std::string message;
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready", &message) == "False/CalicoAPIUnavailable"; },
                         std::chrono::seconds(60)))
      << ConditionOf(fabric, "Ready") << "\n" << FabricObject(fabric).dump(2) << "\n" << op.log();
  EXPECT_EQ(ConditionOf(fabric, "Degraded"), "True/CalicoAPIUnavailable");
  for (const char* words : {"spec.calicoAPI", "crd.projectcalico.org/v1", "bgppeers.crd.projectcalico.org", "404"}) {
    EXPECT_NE(message.find(words), std::string::npos) << words << " not in: " << message;
  }
  EXPECT_EQ(Pods(fabric).size(), 0u) << "no reflector is started that could not be peered";
  EXPECT_TRUE(eventually([&] { return HasEvent(*client_, fabric, "CalicoAPIUnavailable"); }))
      << "an Event tells the user what is missing";

  cp_->install_crds(/*with_calico=*/true);
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready") == "True/FabricReady"; }, std::chrono::seconds(90)))
      << ConditionOf(fabric, "Ready", &message) << " " << message << "\n" << op.log();
  EXPECT_EQ(Peers(fabric).size(), 2u);
  // However often the informers retried meanwhile, each missing resource was logged once, then its return.
  const std::string log = op.log();
  EXPECT_EQ(LogLinesWith(log, {"Calico API not served", "bgppeers.crd.projectcalico.org", "404"}), 1) << log;
  EXPECT_EQ(LogLinesWith(log, {"Calico API not served", "bgpconfigurations.crd.projectcalico.org", "404"}), 1) << log;
  EXPECT_EQ(LogLinesWith(log, {"Calico API served", "bgppeers.crd.projectcalico.org"}), 1) << log;
}

// spec.namespace names a namespace that does not exist: the status says so, naming the
// field, rather than "no eligible hosts"; once the namespace exists the fabric goes on.
// The namespace is one the operator is allowed; as a Role cannot be made in a namespace
// that does not exist, the operator's Pod and Lease rights come from a ClusterRole here
// (an administrator's own RBAC instead of the shipped Roles).
TEST_F(OperatorIT, AFabricWhoseNamespaceDoesNotExistSaysSo) {
  AddNodes(1, 2);
  const std::string fabric = "f-" + tag_;
  const std::string absent = "absent-" + tag_;
  Json spec = Fabric(fabric, "10.210.0.0/16");
  spec["spec"]["namespace"] = absent;
  ASSERT_TRUE(client_->create(kFabrics, "", spec).ok());
  const kube::ResourceType roles{"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
  const kube::ResourceType cluster_roles{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false};
  const kube::ResourceType cluster_bindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                                            "ClusterRoleBinding", false};
  auto shipped = client_->get(roles, "rr-system", "rr-operator");
  ASSERT_TRUE(shipped.ok()) << "deploy/rbac.yaml ships Role rr-system/rr-operator";
  const std::string wide = "rr-test-operator-pods-" + tag_;
  ASSERT_TRUE(client_->create(cluster_roles, "",
                              Json{{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "ClusterRole"},
                                   {"metadata", {{"name", wide}}}, {"rules", (*shipped)["rules"]}})
                  .ok());
  ASSERT_TRUE(client_->create(cluster_bindings, "",
                              Json{{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "ClusterRoleBinding"},
                                   {"metadata", {{"name", wide}}},
                                   {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"},
                                                {"name", wide}}},
                                   {"subjects", Json::array({{{"kind", "ServiceAccount"}, {"name", "rr-operator"},
                                                              {"namespace", "rr-system"}}})}})
                  .ok());
  cleanups_.push_back([this, wide, cluster_roles, cluster_bindings] {
    (void)client_->remove(cluster_bindings, "", wide, {});
    (void)client_->remove(cluster_roles, "", wide, {});
  });
  allowed_namespaces_ = ns_ + "," + absent;
  auto& op = StartOperator();
  std::string message;
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready", &message) == "False/NamespaceNotFound"; },
                         std::chrono::seconds(60)))
      << ConditionOf(fabric, "Ready") << " " << message << "\n" << op.log();
  EXPECT_EQ(ConditionOf(fabric, "Degraded"), "True/NamespaceNotFound");
  EXPECT_NE(message.find("spec.namespace"), std::string::npos) << message;
  EXPECT_NE(message.find("\"" + absent + "\""), std::string::npos) << message;
  EXPECT_TRUE(eventually([&] { return HasEvent(*client_, fabric, "NamespaceNotFound"); }));

  ASSERT_TRUE(client_->create(kube::resources::namespaces(), "",
                              Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", absent}}}})
                  .ok());
  auto pods_there = [&] {
    auto r = client_->list(kube::resources::pods(), absent, {});
    return r.ok() ? r->items.size() : 0u;
  };
  EXPECT_TRUE(eventually([&] { return pods_there() == 2u; }, std::chrono::seconds(60))) << op.log();
  EXPECT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready") != "False/NamespaceNotFound"; }))
      << ConditionOf(fabric, "Ready");
  (void)client_->remove(kube::resources::namespaces(), "", absent, {});
}

// Two allowed namespaces, the second without rr-operator's Role (an administrator forgot it):
// the operator does not wait for a namespace it may not watch. The fabric in the granted
// namespace reaches Ready, the other is held naming its namespace and the 403, /healthz and
// /readyz stay ok; binding the Role there is enough for that fabric to go on.
TEST_F(OperatorIT, ANamespaceWithoutTheOperatorsRoleHoldsOnlyItsOwnFabrics) {
  AddNodes(1, 2);
  AddNodes(2, 2);
  const std::string locked = cp_->create_namespace(*client_, "rrlocked");
  cleanups_.push_back([this, locked] { (void)client_->remove(kube::resources::namespaces(), "", locked, {}); });
  const std::string good = "f-" + tag_;
  const std::string held = "g-" + tag_;
  Json good_spec = Fabric(good, "10.211.0.0/16");
  good_spec["spec"]["nodeSelector"] = {{"topology.kubernetes.io/rack", Rack(1)}};
  Json held_spec = Fabric(held, "10.212.0.0/16");
  held_spec["spec"]["nodeSelector"] = {{"topology.kubernetes.io/rack", Rack(2)}};
  held_spec["spec"]["namespace"] = locked;
  ASSERT_TRUE(client_->create(kFabrics, "", good_spec).ok());
  ASSERT_TRUE(client_->create(kFabrics, "", held_spec).ok());
  allowed_namespaces_ = ns_ + "," + locked;
  auto& op = StartOperator();
  const std::string url = MetricsUrl(op);
  ASSERT_FALSE(url.empty()) << op.log();

  ASSERT_TRUE(eventually([&] { return ConditionOf(good, "Ready") == "True/FabricReady"; }, std::chrono::seconds(60)))
      << ConditionOf(good, "Ready") << "\n" << FabricObject(good).dump(2) << "\n" << op.log();
  std::string message;
  ASSERT_TRUE(eventually([&] { return ConditionOf(held, "Ready", &message) == "False/NamespaceNotWatchable"; }))
      << ConditionOf(held, "Ready") << " " << message << "\n" << op.log();
  EXPECT_EQ(ConditionOf(held, "Degraded"), "True/NamespaceNotWatchable");
  for (const std::string& words : {std::string("spec.namespace"), "\"" + locked + "\"", std::string("403"),
                                   std::string("Role")}) {
    EXPECT_NE(message.find(words), std::string::npos) << words << " not in: " << message;
  }
  EXPECT_TRUE(eventually([&] { return HasEvent(*client_, held, "NamespaceNotWatchable"); }));
  EXPECT_EQ(rr::testing::http_get(url + "/healthz"), "ok\n") << op.log();
  EXPECT_EQ(rr::testing::http_get(url + "/readyz"), "ok\n") << op.log();
  // Logged once, however often the informers retried meanwhile.
  EXPECT_EQ(LogLinesWith(op.log(), {"namespace not watchable", locked, "403"}), 1) << op.log();
  auto pods_in = [&](const std::string& ns) {
    auto r = client_->list(kube::resources::pods(), ns, {});
    return r.ok() ? r->items.size() : 0u;
  };
  EXPECT_EQ(pods_in(locked), 0u);

  GrantOperatorNamespace(locked);
  EXPECT_TRUE(eventually([&] { return pods_in(locked) == 2u; }, std::chrono::seconds(60))) << op.log();
  EXPECT_TRUE(eventually([&] { return ConditionOf(held, "Ready") != "False/NamespaceNotWatchable"; }))
      << ConditionOf(held, "Ready");
  EXPECT_EQ(ConditionOf(good, "Ready"), "True/FabricReady");
  EXPECT_EQ(LogLinesWith(op.log(), {"namespace watchable again", locked}), 1) << op.log();
}

TEST_F(OperatorIT, StandbyTakesOverWhenTheLeaderDies) {
  AddNodes(1, 2);
  const std::string fabric = "f-" + tag_;
  // A renew deadline the new leader meets under TSan at -j3 (with 3 s it once missed it and exited).
  std::vector<std::string> le = {"--leader-elect=true", "--leader-election-namespace", "rr-system",
                                 "--leader-election-id", "rr-operator-" + tag_, "--lease-duration", "10s",
                                 "--renew-deadline", "8s", "--retry-period", "1s"};
  auto with_id = [&](const std::string& id) {
    auto v = le;
    v.push_back("--identity");
    v.push_back(id);
    return v;
  };
  auto& a = StartOperator(with_id("a"));
  ASSERT_TRUE(a.wait_for_log("became leader", std::chrono::seconds(20)).has_value()) << a.log();
  auto& b = StartOperator(with_id("b"));
  ASSERT_TRUE(b.wait_for_log("leader is", std::chrono::seconds(20)).has_value()) << b.log();
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.206.0.0/16")).ok());
  ASSERT_TRUE(eventually([&] { return Peers(fabric).size() == 2; }, std::chrono::seconds(60))) << a.log();
  // The standby leads only once the leader has given up: on a slow machine (TSan) the leader may
  // miss its renew deadline and step down, but never while the standby leads.
  if (b.log().find("became leader") != std::string::npos) {
    EXPECT_NE(a.log().find("lost leadership; exiting"), std::string::npos) << "two leaders at once:\n" << a.log();
  }

  a.kill_now();  // no release: the standby must wait out the lease
  AddNodes(2, 2);
  ASSERT_TRUE(b.wait_for_log("became leader", std::chrono::seconds(40)).has_value()) << b.log();
  ASSERT_TRUE(eventually([&] { return Peers(fabric).size() == 4; }, std::chrono::seconds(60))) << b.log();
}

// A leader whose controller is held to a low --kube-api-qps still renews in time: the renewals
// go through a client of their own, not behind the informers' lists and the reconciler's writes.
TEST_F(OperatorIT, ALeaderThrottledByItsQpsLimitKeepsItsLease) {
  AddNodes(1, 2);
  AddNodes(2, 2);
  const std::string fabric = "f-" + tag_;
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.211.0.0/16")).ok());
  // Starting, a leader lists about a dozen kinds at once, then writes Pods, BGPPeers, RBAC,
  // status and Events: at 2 requests a second that is more than a renew deadline of waiting.
  auto& op = StartOperator({"--leader-elect=true", "--leader-election-namespace", "rr-system",
                            "--leader-election-id", "rr-operator-" + tag_, "--lease-duration", "4s",
                            "--renew-deadline", "3s", "--retry-period", "500ms", "--kube-api-qps", "2",
                            "--kube-api-burst", "1"});
  ASSERT_TRUE(op.wait_for_log("became leader", std::chrono::seconds(20)).has_value()) << op.log();
  ASSERT_TRUE(eventually([&] { return !op.running() || Peers(fabric).size() == 4; }, std::chrono::seconds(120)))
      << op.log();
  EXPECT_TRUE(op.running()) << op.log();
  EXPECT_EQ(op.log().find("stopped leading"), std::string::npos) << op.log();
  EXPECT_EQ(Peers(fabric).size(), 4u);
}

// Issue H3: a reflector's Lease is written by its agent, and any agent may write any Lease
// of its namespace (deploy/rbac.yaml). A compromised one that names another address there
// must not move the rack's BGPPeer: the operator peers with the kubelet's status.hostIP. A
// Lease revision its Pod contradicts (another holder, another address) counts for nothing
// and is reported: a log line naming the Lease, a Warning Event and a counter.
TEST_F(OperatorIT, AForgedLeaseNeverMovesABGPPeerAndIsReported) {
  AddNodes(1, 2);
  const std::string fabric = "f-" + tag_;
  ASSERT_TRUE(client_->create(kFabrics, "", Fabric(fabric, "10.207.0.0/16")).ok());
  auto& op = StartOperator();
  const std::string url = MetricsUrl(op);
  ASSERT_FALSE(url.empty()) << op.log();
  ASSERT_TRUE(eventually([&] { return Peers(fabric).size() == 2; }, std::chrono::seconds(60))) << op.log();
  std::map<std::string, std::string> host_ips;  // pod -> the kubelet's status.hostIP
  for (const auto& pod : Pods(fabric)) host_ips[kube::name_of(pod)] = pod["status"].value("hostIP", "");
  for (const auto& peer : Peers(fabric)) {
    ASSERT_EQ(peer["spec"].value("peerIP", ""), host_ips[kube::name_of(peer)]) << peer.dump();
  }
  const std::string victim = host_ips.begin()->first;
  WatchRecorder peers(*client_, kPeers, "rr.bgp.dev/cluster=" + fabric);
  ASSERT_TRUE(peers.watching());

  // The forger writes the victim's Lease between its agent's renewals: first under the Pod's
  // own UID with another address, then under a holder of its own.
  const std::string forged_address = "203.0.113.66";
  auto forge = [&](const std::optional<std::string>& holder) {
    for (int i = 0; i < 30; ++i) {
      auto lease = client_->get(kube::resources::leases(), ns_, victim);
      if (lease.ok()) {
        Json forged = *lease;
        forged["metadata"]["annotations"]["rr.bgp.dev/address"] = forged_address;
        if (holder) forged["spec"]["holderIdentity"] = *holder;
        forged["spec"]["renewTime"] = kube::format_micro_time(std::chrono::system_clock::now());
        (void)client_->update(kube::resources::leases(), forged);  // a conflict with the agent: next round
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  auto forged_count = [&](const std::string& field) {
    return rr::testing::metric_value(rr::testing::http_get(url + "/metrics"), "rr_operator_forged_leases_total",
                                     "field=\"" + field + "\"")
        .value_or(0);
  };
  forge(std::nullopt);
  EXPECT_TRUE(eventually([&] { return forged_count("address") > 0; })) << rr::testing::http_get(url + "/metrics");
  forge(std::string("someone-else"));
  EXPECT_TRUE(eventually([&] { return forged_count("holder") > 0; })) << rr::testing::http_get(url + "/metrics");

  // The honest agent keeps renewing: the fabric stays whole, on the kubelet's addresses.
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready") == "True/FabricReady"; }, std::chrono::seconds(30)))
      << ConditionOf(fabric, "Ready") << "\n" << op.log();
  auto now = Peers(fabric);
  ASSERT_EQ(now.size(), 2u);
  for (const auto& peer : now) EXPECT_EQ(peer["spec"].value("peerIP", ""), host_ips[kube::name_of(peer)]) << peer.dump();
  // Named: a range-for over a member of a temporary reads freed memory (ASan, heap-use-after-free).
  auto fabric_object = FabricObject(fabric);
  for (const auto& r : fabric_object["status"]["racks"][0]["reflectors"]) {
    EXPECT_EQ(r.value("address", ""), host_ips[r.value("pod", "")]) << r.dump();
  }
  peers.stop();
  int misdirected = 0;
  for (const auto& e : peers.events()) misdirected += e.object["spec"].value("peerIP", "") == forged_address;
  EXPECT_EQ(misdirected, 0) << "BGPPeer writes that pointed at the forged address";

  // Reported: a log line naming the Lease, a Warning Event on the fabric.
  const std::string key = ns_ + "/" + victim;
  EXPECT_TRUE(op.wait_for_log("reflector Lease ignored", std::chrono::seconds(5)).has_value()) << op.log();
  EXPECT_NE(op.log().find("lease=" + key), std::string::npos) << op.log();
  EXPECT_TRUE(eventually([&] {
    auto events = client_->list(kube::resources::events(), "default", {});
    if (!events.ok()) return false;
    for (const auto& e : events->items) {
      if (e["involvedObject"].value("name", "") == fabric && e.value("reason", "") == "ForgedLease" &&
          e.value("type", "") == "Warning" && e.value("message", "").find(key) != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << "no ForgedLease Event on the fabric";
}

}  // namespace

// rr-agent reads its fabric's password Secrets by name, through the Role rr-operator keeps per
// fabric (docs/security.md): with deploy/'s RBAC as shipped, in rr-system where deploy/ runs
// both, the agent's own token may get the Secret its fabric names and is refused any other
// Secret of the namespace (here one standing for a ServiceAccount token Secret), and loses the
// first once the fabric stops naming it. RBAC lets rr-operator write that Role only because it
// holds `get` on Secrets there itself (rr-operator-secrets): this runs it under that token.
TEST_F(OperatorIT, TheAgentMayGetOnlyTheSecretsItsFabricNames) {
  const std::string ns = "rr-system";
  const std::string named = "bgp-auth-" + tag_;
  const std::string other = "rr-operator-token-" + tag_;
  for (const auto& [name, key] : {std::pair{named, "password"}, std::pair{other, "token"}}) {
    ASSERT_TRUE(client_->create(kube::resources::secrets(), ns,
                                Json{{"apiVersion", "v1"},
                                     {"kind", "Secret"},
                                     {"metadata", {{"name", name}}},
                                     {"stringData", {{key, "s3cret-" + tag_}}}})
                    .ok());
    cleanups_.push_back([this, ns, name = name] { (void)client_->remove(kube::resources::secrets(), ns, name, {}); });
  }
  // The agent's identity: a token of ServiceAccount rr-system/rr-agent, as its Pod mounts one.
  auto agent = ServiceAccountClient(ns, "rr-agent");
  ASSERT_TRUE(agent);
  auto agent_get = [&](const std::string& name) { return agent->get(kube::resources::secrets(), ns, name); };
  ASSERT_TRUE(agent_get(named).is(ErrorKind::Forbidden)) << "before any fabric names it, the agent may not read it";

  const std::string fabric = "f-" + tag_;
  auto created = CreateFabricWithPassword(fabric, "10.211.0.0/16", ns, named);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  auto& op = StartOperatorAsShipped(ns);

  std::string message;
  ASSERT_TRUE(eventually([&] { return agent_get(named).ok(); }, std::chrono::seconds(60)))
      << agent_get(named).error().describe() << "\nReady: " << ConditionOf(fabric, "Ready", &message) << " " << message
      << "\n" << op.log();
  EXPECT_EQ(kube::decoded_secret_data(*agent_get(named)).at("password"), "s3cret-" + tag_);
  auto refused = agent_get(other);
  EXPECT_TRUE(refused.is(ErrorKind::Forbidden)) << (refused.ok() ? "the agent read " + other : refused.error().describe());
  EXPECT_TRUE(agent->list(kube::resources::secrets(), ns, {}).is(ErrorKind::Forbidden)) << "no list, no watch";

  const std::string role_name = "rr-agent-secrets-" + fabric;
  auto role = client_->get({"rbac.authorization.k8s.io", "v1", "roles", "Role", true}, ns, role_name);
  ASSERT_TRUE(role.ok()) << role.error().describe();
  EXPECT_EQ((*role)["rules"], Json::parse(R"([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                                               "resourceNames": [")" + named + R"("]}])"));
  EXPECT_FALSE((*role)["metadata"].contains("ownerReferences")) << "nothing for the garbage collector to act on";
  EXPECT_NE(ConditionOf(fabric, "Degraded", &message), "True/AgentSecretsNotGranted") << message;

  // The fabric stops naming the Secret: the agents lose it, and no Role is left granting anything.
  ASSERT_TRUE(client_->patch(kFabrics, "", fabric, kube::PatchType::Merge, Json{{"spec", {{"bgp", nullptr}}}}, {}).ok());
  EXPECT_TRUE(eventually([&] { return agent_get(named).is(ErrorKind::Forbidden); }, std::chrono::seconds(60)))
      << op.log();
  EXPECT_TRUE(eventually([&] {
    return client_->get({"rbac.authorization.k8s.io", "v1", "roles", "Role", true}, ns, role_name)
        .is(ErrorKind::NotFound);
  }));

  // Named again, then the fabric goes: its Role goes with it.
  ASSERT_TRUE(client_->patch(kFabrics, "", fabric, kube::PatchType::Merge,
                             Json{{"spec", {{"bgp", {{"passwordSecretRef", {{"name", named}, {"key", "password"}}}}}}}},
                             {})
                  .ok());
  ASSERT_TRUE(eventually([&] { return agent_get(named).ok(); }, std::chrono::seconds(60))) << op.log();
  ASSERT_TRUE(client_->remove(kFabrics, "", fabric, {}).ok());
  EXPECT_TRUE(eventually([&] { return client_->get(kFabrics, "", fabric).is(ErrorKind::NotFound); },
                         std::chrono::seconds(60)))
      << op.log();
  EXPECT_TRUE(agent_get(named).is(ErrorKind::Forbidden));
  EXPECT_TRUE(client_->get({"rbac.authorization.k8s.io", "v1", "roles", "Role", true}, ns, role_name)
                  .is(ErrorKind::NotFound));
}

// --calico-password-namespace (issue 12, item 2): under the RBAC the chart renders with
// calico.passwordCopies.namespace set (and deploy/'s for the rest), the operator keeps in
// calico-node's namespace the copy of the password its BGPPeers name, and a Role and binding
// with which calico-node's ServiceAccount may get that copy and nothing else there; deleting
// the fabric removes all three.
TEST_F(OperatorIT, CalicoNodeMayGetTheCopyOfItsFabricsPasswordAndNothingElse) {
  const std::string ns = "rr-system";
  const std::string calico_ns = cp_->create_namespace(*client_, "calico");
  cleanups_.push_back([this, calico_ns] { (void)client_->remove(kube::resources::namespaces(), "", calico_ns, {}); });
  // The chart's Role and RoleBinding for rr-operator there, as `helm template` renders them.
  const std::string root = repo_root();
  std::string helm = std::getenv("RR_HELM") ? std::getenv("RR_HELM") : rr::testing::run_command(root + "/scripts/fetch-helm.sh");
  helm.erase(helm.find_last_not_of(" \n") + 1);
  // run_command joins stderr, where a first fetch logs its progress: the path is the last line.
  helm.erase(0, helm.find_last_of('\n') + 1);
  const std::string rendered = cp_->dir() + "/calico-passwords-rbac-" + tag_ + ".yaml";
  // helm logs to stderr, which run_command joins to stdout: only the render goes to the file.
  rr::testing::run_command("(" + helm + " template rr-operator " + root +
                           "/helm/rr-operator -n rr-system --set calico.passwordCopies.namespace=" + calico_ns +
                           " --show-only templates/calico-passwords-rbac.yaml 2>/dev/null) > " + rendered);
  ASSERT_FALSE(::testing::Test::HasFailure()) << "helm template failed";
  rr::testing::run_command(cp_->kubectl() + " apply -f " + rendered);
  ASSERT_FALSE(::testing::Test::HasFailure()) << "the chart's Role for rr-operator in " << calico_ns << " not applied";
  const kube::ResourceType service_accounts{"", "v1", "serviceaccounts", "ServiceAccount", true};
  ASSERT_TRUE(client_->create(service_accounts, calico_ns,
                              Json{{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "calico-node"}}}})
                  .ok());
  const std::string source = "bgp-auth-" + tag_;
  const std::string other = "calico-other-" + tag_;
  for (const auto& [where, name] : {std::pair{ns, source}, std::pair{calico_ns, other}}) {
    ASSERT_TRUE(client_->create(kube::resources::secrets(), where,
                                Json{{"apiVersion", "v1"},
                                     {"kind", "Secret"},
                                     {"metadata", {{"name", name}}},
                                     {"stringData", {{"password", "s3cret-" + tag_}, {"other", "not-for-calico"}}}})
                    .ok());
    cleanups_.push_back([this, where = where, name = name] {
      (void)client_->remove(kube::resources::secrets(), where, name, {});
    });
  }
  // calico-node's identity: a token of its ServiceAccount, as its Pod mounts one.
  auto calico_node = ServiceAccountClient(calico_ns, "calico-node");
  ASSERT_TRUE(calico_node);
  const std::string copy = "rr-bgp-passwords-";
  auto calico_get = [&](const std::string& name) { return calico_node->get(kube::resources::secrets(), calico_ns, name); };

  const std::string fabric = "f-" + tag_;
  auto created = CreateFabricWithPassword(fabric, "10.212.0.0/16", ns, source);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  auto& op = StartOperatorAsShipped(ns, {"--calico-password-namespace", calico_ns});

  const std::string copy_name = copy + fabric;
  const std::string role_name = "rr-calico-node-passwords-" + fabric;
  std::string message;
  ASSERT_TRUE(eventually([&] { return calico_get(copy_name).ok(); }, std::chrono::seconds(60)))
      << calico_get(copy_name).error().describe() << "\nDegraded: " << ConditionOf(fabric, "Degraded", &message) << " "
      << message << "\n" << op.log();
  const auto data = kube::decoded_secret_data(*calico_get(copy_name));
  EXPECT_EQ(data, (std::map<std::string, std::string>{{source + ".password", "s3cret-" + tag_}}))
      << "exactly the key the BGPPeers name";
  auto refused = calico_get(other);
  EXPECT_TRUE(refused.is(ErrorKind::Forbidden)) << (refused.ok() ? "calico-node read " + other : refused.error().describe());
  EXPECT_TRUE(calico_node->list(kube::resources::secrets(), calico_ns, {}).is(ErrorKind::Forbidden)) << "no list";
  EXPECT_TRUE(calico_node->get(kube::resources::secrets(), ns, source).is(ErrorKind::Forbidden))
      << "nor the source in the fabric's namespace";
  const kube::ResourceType roles{"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
  const kube::ResourceType bindings{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true};
  auto copied = client_->get(kube::resources::secrets(), calico_ns, copy_name);
  ASSERT_TRUE(copied.ok());
  EXPECT_FALSE((*copied)["metadata"].contains("ownerReferences")) << "nothing for the garbage collector to act on";
  EXPECT_NE(ConditionOf(fabric, "Degraded", &message), "True/CalicoPasswordsNotCopied") << message;
  EXPECT_EQ(op.log().find("s3cret-" + tag_), std::string::npos) << "the operator logged the password";

  // The fabric goes: so do the copy, its Role and binding.
  ASSERT_TRUE(client_->remove(kFabrics, "", fabric, {}).ok());
  EXPECT_TRUE(eventually([&] { return client_->get(kFabrics, "", fabric).is(ErrorKind::NotFound); },
                         std::chrono::seconds(60)))
      << op.log();
  EXPECT_TRUE(client_->get(kube::resources::secrets(), calico_ns, copy_name).is(ErrorKind::NotFound));
  EXPECT_TRUE(client_->get(roles, calico_ns, role_name).is(ErrorKind::NotFound));
  EXPECT_TRUE(client_->get(bindings, calico_ns, role_name).is(ErrorKind::NotFound));
}

// Whether every field `want` sets is in `have` with the same value: what the API server adds
// (defaults, metadata) is not compared. `where` names the first difference.
bool Contains(const Json& have, const Json& want, std::string& where, const std::string& path = "") {
  if (want.is_object()) {
    if (!have.is_object()) {
      where = path + ": not an object in " + have.dump();
      return false;
    }
    for (const auto& [key, value] : want.items()) {
      if (!have.contains(key)) {
        where = path + "." + key + ": missing";
        return false;
      }
      if (!Contains(have[key], value, where, path + "." + key)) return false;
    }
    return true;
  }
  if (want.is_array()) {
    if (!have.is_array() || have.size() != want.size()) {
      where = path + ": " + have.dump() + " is not " + want.dump();
      return false;
    }
    for (size_t i = 0; i < want.size(); ++i) {
      if (!Contains(have[i], want[i], where, path + "[" + std::to_string(i) + "]")) return false;
    }
    return true;
  }
  if (have != want) where = path + ": " + have.dump() + " is not " + want.dump();
  return have == want;
}

// Issue J: kubectl rr plan, run by a user bound to deploy/plan-viewer.yaml (read-only, no
// Secrets), shows what applying a fabric would do; the operator then does exactly that.
TEST_F(OperatorIT, PlanShowsAReadOnlyUserWhatTheOperatorThenWritesObjectByObject) {
  AddNodes(1, 2);
  AddNodes(2, 2);
  const std::string fabric = "f-" + tag_;
  Json spec = Fabric(fabric, "10.213.0.0/16");
  spec["spec"]["reflectors"]["perRack"] = 1;
  ASSERT_TRUE(client_->create(kFabrics, "", spec).ok());
  auto& op = StartOperator();
  ASSERT_TRUE(eventually([&] { return ConditionOf(fabric, "Ready") == "True/FabricReady" && Peers(fabric).size() == 2; },
                         std::chrono::seconds(60)))
      << ConditionOf(fabric, "Ready") << "\n" << op.log();

  // The viewer: deploy/plan-viewer.yaml's ClusterRole, bound cluster-wide.
  const std::string root = repo_root();
  const std::string applied = rr::testing::run_command(cp_->kubectl() + " apply -f " + root + "/deploy/plan-viewer.yaml");
  const kube::ResourceType cluster_roles{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false};
  ASSERT_TRUE(client_->get(cluster_roles, "", "rr-plan-viewer").ok()) << applied;
  const std::string viewer = "rr-planner-" + tag_;
  ASSERT_TRUE(client_->create(kube::resources::service_accounts(), ns_,
                              Json{{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", viewer}}}})
                  .ok());
  const kube::ResourceType cluster_bindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                                            "ClusterRoleBinding", false};
  ASSERT_TRUE(client_->create(cluster_bindings, "",
                              Json{{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "ClusterRoleBinding"},
                                   {"metadata", {{"name", viewer}}},
                                   {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"},
                                                {"name", "rr-plan-viewer"}}},
                                   {"subjects", Json::array({{{"kind", "ServiceAccount"}, {"name", viewer},
                                                              {"namespace", ns_}}})}})
                  .ok());
  cleanups_.push_back([this, viewer, cluster_bindings] { (void)client_->remove(cluster_bindings, "", viewer, {}); });
  const std::string token = cp_->service_account_token(ns_, viewer, 3600);
  ASSERT_FALSE(token.empty());
  auto viewer_client = cp_->client_with_token(token);
  ASSERT_TRUE(viewer_client);
  // Read-only really: it may not create a Pod nor read a Secret.
  EXPECT_TRUE(viewer_client->create(kube::resources::pods(), ns_, Json{{"apiVersion", "v1"}, {"kind", "Pod"},
                                                                       {"metadata", {{"name", "x"}}}})
                  .is(ErrorKind::Forbidden));
  EXPECT_TRUE(viewer_client->list(kube::resources::secrets(), ns_, {}).is(ErrorKind::Forbidden));
  const std::string kubeconfig = cp_->write_token_kubeconfig(cp_->dir() + "/planner-" + tag_ + ".kubeconfig", token);
  int files = 0;
  auto plan = [&](const std::string& manifest, std::vector<std::string> args) {
    const std::string file = cp_->dir() + "/plan-" + tag_ + "-" + std::to_string(files++) + ".yaml";
    std::ofstream(file) << manifest;
    // The operator's flags, as StartOperator gives them.
    std::vector<std::string> argv = {KUBECTL_RR_BIN, "plan", "-f", file, "--kubeconfig", kubeconfig,
                                     "--allowed-namespaces", ns_, "--allowed-reflector-images", "rr-agent:test",
                                     "--reflector-startup-grace", "20s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return rr::testing::run_argv(argv, std::chrono::seconds(60));
  };
  auto as_applied = [&](const Json& with_spec) {
    Json f = {{"apiVersion", "rr.bgp.dev/v1alpha1"}, {"kind", "RouteReflectorCluster"},
              {"metadata", {{"name", fabric}, {"labels", {{"rr-test", tag_}}}}}, {"spec", with_spec}};
    return f;
  };

  // Usage errors say what is wrong before any cluster is read (exit code 2).
  auto no_file = rr::testing::run_argv({KUBECTL_RR_BIN, "plan", "--kubeconfig", "/nonexistent"});
  EXPECT_EQ(no_file.status, 2);
  EXPECT_NE(no_file.output.find("plan needs -f FILE"), std::string::npos) << no_file.output;
  auto broken = plan("spec: [\n", {});
  EXPECT_EQ(broken.status, 2);
  EXPECT_NE(broken.output.find("line 2"), std::string::npos) << broken.output;

  // The fabric as it is on the cluster: nothing to do.
  Json live_spec = FabricObject(fabric)["spec"];
  auto same = plan(as_applied(live_spec).dump(2), {});
  EXPECT_EQ(same.status, 0) << same.output;
  EXPECT_NE(same.output.find("Changes (0):"), std::string::npos) << same.output;

  // A bad selector: held, the field named, exit code 3, in YAML as users write it.
  auto bad = plan("apiVersion: rr.bgp.dev/v1alpha1\nkind: RouteReflectorCluster\nmetadata:\n  name: " + fabric +
                      "\nspec:\n  asNumber: 64512\n  namespace: " + ns_ +
                      "\n  clusterIDPool: 10.213.0.0/16\n  nodeSelector:\n    \"bad key!\": x\n"
                      "  reflectors:\n    perRack: 1\n    image: rr-agent:test\n",
                  {});
  EXPECT_EQ(bad.status, 3) << bad.output;
  EXPECT_NE(bad.output.find("Would be HELD"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("spec.nodeSelector"), std::string::npos) << bad.output;

  // The change: a rack joins (while the operator is down, so that it acts on the change only
  // once applied) and perRack goes to 2.
  op.stop();
  AddNodes(3, 2);
  Json changed_spec = live_spec;
  changed_spec["reflectors"]["perRack"] = 2;
  const std::string changed = as_applied(changed_spec).dump(2);
  auto shown = plan(changed, {"-o", "json"});
  ASSERT_EQ(shown.status, 1) << shown.output;
  Json preview = Json::parse(shown.output, nullptr, false);
  ASSERT_TRUE(preview.is_object()) << shown.output;
  std::map<std::string, Json> pods_created;
  Json mesh_write;
  for (const auto& c : preview["changes"]) {
    const std::string kind = c.value("kind", "");
    if (kind == "Pod") {
      ASSERT_EQ(c.value("verb", ""), "create") << c.dump(2);
      pods_created[c.value("name", "")] = c["object"];
    } else if (kind == "BGPConfiguration") {
      mesh_write = c["object"];
    } else {
      ADD_FAILURE() << "a change the preview should not show: " << c.dump(2);
    }
  }
  EXPECT_EQ(pods_created.size(), 4u) << "one more reflector in racks 1 and 2, two in rack 3\n" << shown.output;
  ASSERT_EQ(preview["racks"].size(), 3u) << shown.output;
  EXPECT_EQ(preview["racks"][2].value("name", ""), Rack(3));
  EXPECT_FALSE(preview["racks"][2].value("clusterID", "").empty()) << shown.output;
  auto table = plan(changed, {});
  EXPECT_EQ(table.status, 1) << table.output;
  EXPECT_NE(table.output.find(Rack(3)), std::string::npos) << table.output;
  auto dot = plan(changed, {"-o", "dot"});
  EXPECT_EQ(dot.status, 1) << dot.output;
  EXPECT_NE(dot.output.find("subgraph cluster_2"), std::string::npos) << dot.output;
  EXPECT_NE(dot.output.find("rack " + Rack(3)), std::string::npos) << dot.output;
  auto svg = plan(changed, {"-o", "svg"});
  EXPECT_EQ(svg.status, 1) << svg.output;
  EXPECT_NE(svg.output.find("<svg"), std::string::npos) << svg.output.substr(0, 500);

  // Apply it; the operator's writes, as the API saw them.
  WatchRecorder pods(*client_, kube::resources::pods(), "rr.bgp.dev/cluster=" + fabric);
  WatchRecorder peers(*client_, kPeers, "rr.bgp.dev/cluster=" + fabric);
  WatchRecorder configs(*client_, kBgpConfigs, "");
  ASSERT_TRUE(pods.watching() && peers.watching() && configs.watching());
  const auto before_peers = Peers(fabric);
  Json live = FabricObject(fabric);
  live["spec"] = changed_spec;
  ASSERT_TRUE(client_->update(kFabrics, live).ok());
  auto& again = StartOperator();
  ASSERT_TRUE(eventually([&] { return Pods(fabric).size() == 6 && Peers(fabric).size() == 6; },
                         std::chrono::seconds(90)))
      << again.log();
  // A list can be ahead of a watch: the recorders stop once they saw the four new ones each.
  auto added_count = [](WatchRecorder& r) {
    const auto events = r.events();
    return std::count_if(events.begin(), events.end(),
                         [](const kube::WatchEvent& e) { return e.type == kube::WatchEvent::Type::Added; });
  };
  ASSERT_TRUE(eventually([&] {
    return added_count(pods) >= 4 && added_count(peers) >= 4;
  })) << "the watches never saw the writes the lists show";
  pods.stop();
  peers.stop();
  configs.stop();

  // Pods: exactly the preview's creates, each as previewed (what the API server adds aside).
  std::set<std::string> added;
  for (const auto& e : pods.events()) {
    EXPECT_NE(e.type, kube::WatchEvent::Type::Deleted) << kube::name_of(e.object) << ": the preview deleted none";
    if (e.type != kube::WatchEvent::Type::Added) continue;
    const std::string name = kube::name_of(e.object);
    added.insert(name);
    auto it = pods_created.find(name);
    ASSERT_NE(it, pods_created.end()) << "the operator created Pod " << name << ", which the preview did not show";
    std::string where;
    EXPECT_TRUE(Contains(e.object, it->second, where)) << name << where;
  }
  std::set<std::string> previewed;
  for (const auto& [name, object] : pods_created) previewed.insert(name);
  EXPECT_EQ(added, previewed);
  // BGPPeers: the preview changed none of the two that exist, and the operator changed none of
  // them either. Those it created once the new reflectors ran are the ones the preview showed
  // for the reconcile after ("onceRunning"), each as shown.
  std::map<std::string, Json> peers_once_running;
  for (const auto& c : preview["onceRunning"]["changes"]) {
    if (c.value("kind", "") == "BGPPeer" && c.value("verb", "") == "create") {
      peers_once_running[c.value("name", "")] = c["object"];
    }
  }
  EXPECT_EQ(peers_once_running.size(), 4u) << preview["onceRunning"].dump(2);
  std::set<std::string> peers_added;
  for (const auto& e : peers.events()) {
    const std::string name = kube::name_of(e.object);
    const bool existed = std::any_of(before_peers.begin(), before_peers.end(),
                                     [&](const Json& p) { return kube::name_of(p) == name; });
    if (existed) {
      EXPECT_EQ(e.type, kube::WatchEvent::Type::Added) << name << " was changed";
      continue;
    }
    if (e.type != kube::WatchEvent::Type::Added) continue;
    peers_added.insert(name);
    auto it = peers_once_running.find(name);
    ASSERT_NE(it, peers_once_running.end()) << "the operator created BGPPeer " << name << ", not previewed";
    std::string where;
    EXPECT_TRUE(Contains(e.object, it->second, where)) << name << where;
  }
  EXPECT_EQ(peers_added.size(), peers_once_running.size());
  // And where the preview said the mesh ends up once they run, it does.
  const Json mesh_then = preview["onceRunning"]["mesh"]["set"];
  ASSERT_TRUE(mesh_then.is_boolean()) << preview["onceRunning"].dump(2);
  EXPECT_TRUE(eventually([&] {
    auto config = client_->get(kBgpConfigs, "", "default");
    return config.ok() && (*config)["spec"].value("nodeToNodeMeshEnabled", true) == mesh_then.get<bool>();
  })) << "the preview said nodeToNodeMeshEnabled=" << mesh_then.dump();
  // The mesh: when the preview set it (rack 3 had no reflector yet), the operator's first
  // write to the BGPConfiguration is that one.
  if (!mesh_write.is_null()) {
    auto events = configs.events();
    auto first = std::find_if(events.begin(), events.end(), [](const kube::WatchEvent& e) {
      return e.type == kube::WatchEvent::Type::Added || e.type == kube::WatchEvent::Type::Modified;
    });
    ASSERT_NE(first, events.end()) << "the preview set the mesh; the operator did not";
    std::string where;
    EXPECT_TRUE(Contains(first->object, mesh_write, where)) << where << "\n" << mesh_write.dump();
  }
}
