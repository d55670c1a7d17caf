#pragma once
// Plays the parts a test cluster lacks for reflector Pods: the scheduler
// (binds each Pod to the node its required affinity names), the kubelet
// (Running, Ready, hostIP) and, unless told otherwise, the agent (creates and
// renews the reflector's Lease with the annotations rr-agent publishes).
// It polls, so it needs no watch; every loop is bounded by stop().

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "kube/kube_client.h"

namespace rr::testing {

class ReflectorSimulator {
 public:
  ReflectorSimulator(kube::KubeClient& client, std::string ns);
  ~ReflectorSimulator();

  void start();
  void stop();
  // The agent of `pod` dies: its Lease is no longer renewed (the Pod stays).
  void kill_agent(const std::string& pod);
  // What agents report on their Leases.
  void set_sessions(int established, int total);
  // Agents whose Lease is renewed.
  std::set<std::string> live_agents() const;
  int lease_duration_seconds_seen() const { return lease_seconds_; }

 private:
  void loop(std::stop_token stop);
  void tick();
  void play_kubelet(const kube::Json& pod);
  void play_agent(const kube::Json& pod);

  kube::KubeClient& client_;
  std::string ns_;
  std::jthread thread_;
  mutable std::mutex mu_;
  std::set<std::string> killed_;
  std::set<std::string> live_;
  std::map<std::string, std::string> node_ips_;
  int established_ = 3;
  int total_ = 3;
  std::atomic<int> lease_seconds_{0};
};

// The literal value of a container env var of a Pod ("" when absent or from a reference).
std::string pod_env_value(const kube::Json& pod, const std::string& name);
// The node a Pod's required affinity pins it to (the DaemonSet way), "" if none.
std::string pod_affinity_node(const kube::Json& pod);

// A Node with a rack label, Ready, with an InternalIP and Calico's address annotation.
kube::Json make_node(const std::string& name, const std::map<std::string, std::string>& labels,
                     const std::string& ip);
// Creates the node and sets its status (nodes need their status set through /status).
void create_ready_node(kube::KubeClient& client, const kube::Json& node);

}  // namespace rr::testing
