#pragma once
// The API side of the stand-in: informers on Nodes, BGPPeers,
// BGPConfigurations (cluster-wide) and Secrets (calico-node's namespace
// only), and a loop that renders the node's bird.cfg whenever any of them
// changes and hands it to the driver. BIRD starts after the first config is
// on disk, as calico-node's bird waits for confd.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "confd/calico_objects.h"
#include "confd/node_bird_config.h"
#include "kube/informer.h"
#include "kube/kube_client.h"
#include "kube/logger.h"
#include "kube/probe_server.h"
#include "node/bird16_driver.h"

namespace rr::calico {

using SecretData = std::map<std::string, std::string>;

struct StandinOptions {
  std::string node_name;
  std::string secret_namespace;
  bool program_kernel = false;
  std::string calico_node_selector = NodeInputs{}.calico_node_selector;
  std::chrono::milliseconds resync{5000};  // how often an unchanged world is re-rendered (retries a failed reload)
};

class CalicoNodeStandin {
 public:
  CalicoNodeStandin(kube::KubeClient& client, StandinOptions options, Bird16Driver& driver, kube::Logger& log);
  ~CalicoNodeStandin();

  void start_informers();
  // Renders and applies until `stop`. `bird_running` says whether BIRD is up; `start_bird` is called once,
  // after the first config is on disk.
  void run(std::stop_token stop, const std::function<bool()>& bird_running, const std::function<void()>& start_bird);

  // The inputs as the caches hold them now.
  NodeInputs inputs() const;
  bool synced() const;
  // For the probe thread: whether BIRD runs the current config, and why not.
  kube::ProbeResult readiness(bool bird_running) const;

 private:
  void changed();
  bool wait_for_change(std::stop_token stop);
  void render_and_apply(bool bird_running);

  StandinOptions options_;
  Bird16Driver& driver_;
  kube::Logger& log_;
  std::unique_ptr<kube::Informer<CalicoNode>> nodes_;
  std::unique_ptr<kube::Informer<BgpPeer>> peers_;
  std::unique_ptr<kube::Informer<BgpConfiguration>> configurations_;
  std::unique_ptr<kube::Informer<SecretData>> secrets_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool dirty_ = true;
  std::string last_skipped_;
  std::string last_problem_;
  bool applied_once_ = false;
  // Written by run(), read by the probe server's threads.
  std::atomic<bool> has_config_{false};
  std::atomic<bool> current_loaded_{false};
};

// The Calico types the stand-in reads (crd.projectcalico.org/v1, cluster-scoped).
const kube::ResourceType& bgp_peers();
const kube::ResourceType& bgp_configurations();

}  // namespace rr::calico
