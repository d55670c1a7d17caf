#pragma once
// Realistic Node objects for the benchmarks: what a kubelet on a cloud or
// bare-metal host registers (about 20 labels, Calico's and the kubelet's
// annotations, five conditions with messages, addresses, capacity and node
// info), about 3 KB of JSON each; no images list, no managedFields.
//
// Node i of rack r is named "r0042-n017"; the rack label is
// topology.kubernetes.io/rack=r0042; the first `eligible` nodes of each rack
// carry rr.bgp.dev/reflector=true.

#include <cstdint>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace rr::bench {

inline std::string rack_name(int rack) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "r%04d", rack);
  return buf;
}

inline std::string node_name(int rack, int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "r%04d-n%03d", rack, index);
  return buf;
}

// 10.<rack / 256>.<rack % 256>.<index + 10>
inline std::string node_ip(int rack, int index) {
  return "10." + std::to_string(rack / 256) + "." + std::to_string(rack % 256) + "." + std::to_string(index + 10);
}

inline std::string hex_id(std::uint64_t seed, int digits) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  for (int i = 0; i < digits; ++i) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    out.push_back(kHex[x & 15]);
  }
  return out;
}

inline nlohmann::json make_node(int rack, int index, int eligible, std::uint64_t resource_version) {
  using nlohmann::json;
  const std::string name = node_name(rack, index);
  const std::string ip = node_ip(rack, index);
  const std::uint64_t seed = static_cast<std::uint64_t>(rack) * 1000 + static_cast<std::uint64_t>(index);
  const std::string zone = "eu-west-1" + std::string(1, static_cast<char>('a' + rack % 3));
  const std::string uid = hex_id(seed, 8) + "-" + hex_id(seed + 1, 4) + "-" + hex_id(seed + 2, 4) + "-" +
                          hex_id(seed + 3, 4) + "-" + hex_id(seed + 4, 12);

  json labels = {
      {"beta.kubernetes.io/arch", "amd64"},
      {"beta.kubernetes.io/os", "linux"},
      {"beta.kubernetes.io/instance-type", "m5.2xlarge"},
      {"kubernetes.io/arch", "amd64"},
      {"kubernetes.io/os", "linux"},
      {"kubernetes.io/hostname", name},
      {"node.kubernetes.io/instance-type", "m5.2xlarge"},
      {"node-role.kubernetes.io/worker", ""},
      {"failure-domain.beta.kubernetes.io/region", "eu-west-1"},
      {"failure-domain.beta.kubernetes.io/zone", zone},
      {"topology.kubernetes.io/region", "eu-west-1"},
      {"topology.kubernetes.io/zone", zone},
      {"topology.kubernetes.io/rack", rack_name(rack)},
      {"topology.example.com/row", "row-" + std::to_string(rack / 40)},
      {"topology.example.com/room", "room-" + std::to_string(rack / 200)},
      {"node.example.com/pool", "general-purpose"},
      {"node.example.com/team", "platform"},
      {"hardware.example.com/nic", "mlx5-25g"},
      {"feature.node.kubernetes.io/cpu-cpuid.AVX2", "true"},
      {"feature.node.kubernetes.io/kernel-version.full", "6.1.0-18-amd64"},
  };
  if (index < eligible) labels["rr.bgp.dev/reflector"] = "true";

  json annotations = {
      {"node.alpha.kubernetes.io/ttl", "0"},
      {"volumes.kubernetes.io/controller-managed-attach-detach", "true"},
      {"kubeadm.alpha.kubernetes.io/cri-socket", "unix:///run/containerd/containerd.sock"},
      {"projectcalico.org/IPv4Address", ip + "/24"},
      {"projectcalico.org/IPv4IPIPTunnelAddr",
       "192.168." + std::to_string((rack * 100 + index) / 256 % 256) + "." + std::to_string(index % 256)},
      {"csi.volume.kubernetes.io/nodeid", "{\"ebs.csi.aws.com\":\"i-0" + hex_id(seed, 16) + "\"}"},
  };

  auto condition = [](const char* type, const char* status, const char* reason, const char* message) {
    return json{{"type", type},
                {"status", status},
                {"lastHeartbeatTime", "2024-05-02T10:41:07Z"},
                {"lastTransitionTime", "2024-04-11T08:02:19Z"},
                {"reason", reason},
                {"message", message}};
  };
  json conditions = json::array({
      condition("NetworkUnavailable", "False", "CalicoIsUp", "Calico is running on this node"),
      condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
      condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      condition("Ready", "True", "KubeletReady", "kubelet is posting ready status. AppArmor enabled"),
  });
  json resources = {{"cpu", "8"},
                    {"ephemeral-storage", "101430960Ki"},
                    {"hugepages-1Gi", "0"},
                    {"hugepages-2Mi", "0"},
                    {"memory", "32408368Ki"},
                    {"pods", "110"}};
  json allocatable = resources;
  allocatable["cpu"] = "7910m";
  allocatable["ephemeral-storage"] = "93478772582";
  allocatable["memory"] = "31391536Ki";

  return json{
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata",
       {{"name", name},
        {"uid", uid},
        {"resourceVersion", std::to_string(resource_version)},
        {"creationTimestamp", "2024-04-11T08:01:55Z"},
        {"labels", std::move(labels)},
        {"annotations", std::move(annotations)}}},
      {"spec",
       {{"podCIDR", "10.244." + std::to_string((rack * 100 + index) % 256) + ".0/24"},
        {"podCIDRs", json::array({"10.244." + std::to_string((rack * 100 + index) % 256) + ".0/24"})},
        {"providerID", "aws:///" + zone + "/i-0" + hex_id(seed, 16)}}},
      {"status",
       {{"capacity", std::move(resources)},
        {"allocatable", std::move(allocatable)},
        {"conditions", std::move(conditions)},
        {"addresses", json::array({json{{"type", "InternalIP"}, {"address", ip}},
                                   json{{"type", "Hostname"}, {"address", name}}})},
        {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
        {"nodeInfo",
         {{"machineID", hex_id(seed + 5, 32)},
          {"kernelVersion", "6.1.0-18-amd64"},
          {"osImage", "Debian GNU/Linux 12 (bookworm)"},
          {"containerRuntimeVersion", "containerd://1.6.20"},
          {"kubeletVersion", "v1.20.2"},
          {"kubeProxyVersion", "v1.20.2"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"}}}}},
  };
}

}  // namespace rr::bench
