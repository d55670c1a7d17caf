#pragma once
// Since when each Node has been NotReady, as this process observed it, on its own clock (never
// the Ready condition's lastTransitionTime, written by another host's clock). A reflector on a
// NotReady host is replaced only once its host has stayed NotReady for a grace: right after a
// kube-apiserver outage the node-lifecycle controller marks NotReady every node whose kubelet
// could not renew its heartbeat meanwhile, and the kubelets set them Ready again within seconds.
#include <map>
#include <mutex>
#include <string>

#include "kube/clock.h"

namespace rr::controller {

class HostReadiness {
 public:
  HostReadiness(kube::Clock& clock, kube::Clock::Duration grace);

  // Every add and update of a Node, and its removal.
  void observe(const std::string& node, bool ready);
  void forget(const std::string& node);

  // The NotReady nodes whose grace has not run out, with the time left to each.
  std::map<std::string, kube::Clock::Duration> within_grace() const;

 private:
  kube::Clock& clock_;
  kube::Clock::Duration grace_;
  mutable std::mutex mu_;
  std::map<std::string, kube::Clock::TimePoint> not_ready_since_;
};

}  // namespace rr::controller
