#include "support/reflector_simulator.h"

#include <gtest/gtest.h>

#include "kube/clock.h"

namespace rr::testing {

using kube::Json;

std::string pod_env_value(const Json& pod, const std::string& name) {
  for (const auto& c : pod["spec"].value("containers", Json::array())) {
    for (const auto& e : c.value("env", Json::array())) {
      if (e.value("name", "") == name) return e.value("value", "");
    }
  }
  return "";
}

std::string pod_affinity_node(const Json& pod) {
  try {
    for (const auto& term : pod.at("spec").at("affinity").at("nodeAffinity")
                                .at("requiredDuringSchedulingIgnoredDuringExecution")
                                .at("nodeSelectorTerms")) {
      for (const auto& f : term.value("matchFields", Json::array())) {
        if (f.value("key", "") == "metadata.name" && !f["values"].empty()) return f["values"][0];
      }
    }
  } catch (const std::exception&) {
  }
  return "";
}


Json make_node(const std::string& name, const std::map<std::string, std::string>& labels, const std::string& ip) {
  Json l = Json::object();
  for (const auto& [k, v] : labels) l[k] = v;
  l["kubernetes.io/hostname"] = name;
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", l}, {"annotations", {{"projectcalico.org/IPv4Address", ip + "/24"}}}}},
          {"status",
           {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}}})},
            {"addresses", Json::array({{{"type", "InternalIP"}, {"address", ip}}, {{"type", "Hostname"}, {"address", name}}})}}}};
}

void create_ready_node(kube::KubeClient& client, const Json& node) {
  auto created = client.create(kube::resources::nodes(), "", node);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  Json with_status = *created;
  with_status["status"] = node["status"];
  auto st = client.update_status(kube::resources::nodes(), with_status);
  ASSERT_TRUE(st.ok()) << st.error().describe();
  // Admission taints a new node not-ready; with no node lifecycle controller here, the test
  // lifts the taint as that controller would for a Ready node.
  auto untainted = client.patch(kube::resources::nodes(), "", kube::name_of(node), kube::PatchType::Merge,
                                Json{{"spec", {{"taints", nullptr}}}}, {});
  ASSERT_TRUE(untainted.ok()) << untainted.error().describe();
}

ReflectorSimulator::ReflectorSimulator(kube::KubeClient& client, std::string ns) : client_(client), ns_(std::move(ns)) {}
ReflectorSimulator::~ReflectorSimulator() { stop(); }

void ReflectorSimulator::start() {
  thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void ReflectorSimulator::stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void ReflectorSimulator::kill_agent(const std::string& pod) {
  std::lock_guard lock(mu_);
  killed_.insert(pod);
  live_.erase(pod);
}

void ReflectorSimulator::set_sessions(int established, int total) {
  std::lock_guard lock(mu_);
  established_ = established;
  total_ = total;
}

std::set<std::string> ReflectorSimulator::live_agents() const {
  std::lock_guard lock(mu_);
  return live_;
}

void ReflectorSimulator::loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    tick();
    kube::RealClock::instance().sleep_for(std::chrono::milliseconds(250), stop);
  }
}

void ReflectorSimulator::tick() {
  kube::ListOptions lo;
  lo.label_selector = "app.kubernetes.io/name=rr-reflector";
  auto pods = client_.list(kube::resources::pods(), ns_, lo);
  if (!pods.ok()) return;  // the API may be restarting: try next tick
  std::set<std::string> present;
  for (const auto& pod : pods->items) {
    if (pod["metadata"].contains("deletionTimestamp")) {
      // The kubelet's part of a graceful delete: the containers stopped, remove the Pod for good.
      kube::DeleteOptions now;
      now.grace_period_seconds = 0;
      now.precondition_uid = kube::uid_of(pod);
      (void)client_.remove(kube::resources::pods(), ns_, kube::name_of(pod), now);
      continue;
    }
    present.insert(kube::name_of(pod));
    play_kubelet(pod);
    play_agent(pod);
  }
  std::lock_guard lock(mu_);
  for (auto it = live_.begin(); it != live_.end();) it = present.count(*it) ? std::next(it) : live_.erase(it);
}

void ReflectorSimulator::play_kubelet(const Json& pod) {
  const std::string name = kube::name_of(pod);
  std::string node = pod["spec"].value("nodeName", "");
  if (node.empty()) {
    node = pod_affinity_node(pod);
    if (node.empty()) return;
    Json binding = {{"apiVersion", "v1"},
                    {"kind", "Binding"},
                    {"metadata", {{"name", name}, {"namespace", ns_}}},
                    {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
    // The binding subresource: POST /api/v1/namespaces/NS/pods/NAME/binding.
    const kube::ResourceType pod_binding{"", "v1", "pods/" + name + "/binding", "Binding", true};
    auto r = client_.create(pod_binding, ns_, binding);
    if (!r.ok()) return;
  }
  if (pod.value("status", Json::object()).value("phase", "") == "Running") return;
  std::string ip;
  {
    std::lock_guard lock(mu_);
    ip = node_ips_[node];
  }
  if (ip.empty()) {
    auto n = client_.get(kube::resources::nodes(), "", node);
    if (!n.ok()) return;
    for (const auto& a : (*n)["status"].value("addresses", Json::array())) {
      if (a.value("type", "") == "InternalIP") ip = a.value("address", "");
    }
    std::lock_guard lock(mu_);
    node_ips_[node] = ip;
  }
  auto fresh = client_.get(kube::resources::pods(), ns_, name);
  if (!fresh.ok()) return;
  Json p = *fresh;
  p["status"]["phase"] = "Running";
  p["status"]["hostIP"] = ip;
  p["status"]["podIP"] = ip;
  p["status"]["conditions"] = Json::array({{{"type", "Ready"}, {"status", "True"}}});
  (void)client_.update_status(kube::resources::pods(), p);
}

void ReflectorSimulator::play_agent(const Json& pod) {
  const std::string name = kube::name_of(pod);
  int established, total;
  {
    std::lock_guard lock(mu_);
    if (killed_.count(name)) return;
    established = established_;
    total = total_;
  }
  auto current = client_.get(kube::resources::pods(), ns_, name);
  if (!current.ok()) return;
  std::string host_ip = (*current).value("status", Json::object()).value("hostIP", "");
  if (host_ip.empty()) return;  // not running yet
  int seconds = std::atoi(pod_env_value(pod, "RR_LEASE_DURATION_SECONDS").c_str());
  if (seconds <= 0) seconds = 15;
  lease_seconds_ = seconds;
  const std::string now = kube::format_micro_time(kube::RealClock::instance().wall_now());
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata",
                 {{"name", name},
                  {"namespace", ns_},
                  {"labels",
                   {{"app.kubernetes.io/name", "rr-reflector"},
                    {"app.kubernetes.io/managed-by", "rr-operator"},
                    {"rr.bgp.dev/cluster", pod_env_value(pod, "RR_FABRIC")},
                    {"rr.bgp.dev/rack", kube::labels_of(pod)["rr.bgp.dev/rack"]}}},
                  {"annotations",
                   {{"rr.bgp.dev/address", host_ip},
                    {"rr.bgp.dev/port", pod_env_value(pod, "RR_BGP_PORT")},
                    {"rr.bgp.dev/rack", pod_env_value(pod, "RR_RACK")},
                    {"rr.bgp.dev/cluster-id", pod_env_value(pod, "RR_CLUSTER_ID")},
                    {"rr.bgp.dev/sessions-established", std::to_string(established)},
                    {"rr.bgp.dev/sessions-total", std::to_string(total)}}}}},
                // As rr-agent: held under the Pod's UID (RR_POD_UID from the downward API).
                {"spec", {{"holderIdentity", kube::uid_of(*current)}, {"leaseDurationSeconds", seconds}, {"renewTime", now}}}};
  auto existing = client_.get(kube::resources::leases(), ns_, name);
  if (existing.is(kube::ErrorKind::NotFound)) {
    lease["spec"]["acquireTime"] = now;
    if (client_.create(kube::resources::leases(), ns_, lease).ok()) {
      std::lock_guard lock(mu_);
      live_.insert(name);
    }
    return;
  }
  if (!existing.ok()) return;
  lease["metadata"]["resourceVersion"] = kube::resource_version_of(*existing);
  lease["spec"]["acquireTime"] = (*existing)["spec"].value("acquireTime", now);
  if (client_.update(kube::resources::leases(), lease).ok()) {
    std::lock_guard lock(mu_);
    live_.insert(name);
  }
}

}  // namespace rr::testing
