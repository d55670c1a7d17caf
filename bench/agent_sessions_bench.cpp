// The measuring half of scripts/bench-agent.sh (which starts the control plane, the
// fabric, one rr-agent with its BIRD, and one client BIRD playing every Calico node).
// This program only writes Nodes and watches the reflector's BIRD; it starts nothing.
//
//  a. Sequential: N nodes (default 100) appear one at a time. Per node: create + status
//     update (Ready), then the reflector's BIRD is polled (control socket, `show protocols
//     client_<node>`, every --poll-ms) until the node's session is Established. Reported
//     from the Ready update's response: "configured" (the protocol exists in the
//     reflector's BIRD: the agent's part) and "established" (the session is up), median,
//     p90, p99 and max; and the BGP part (established - configured).
//  b. Bulk: the sequential nodes are deleted, then M nodes (default 500) are created by
//     --threads writers at once; the time until all M sessions are Established, the
//     per-node latency from each node's Ready, the agent's reconfigurations, then the
//     agent's and BIRD's RSS and CPU at steady state (with M sessions up).
//  c. Down (with --client-socket and --down-samples K > 0, after b): K of the M sessions, one
//     at a time, are disabled on the client BIRD (`disable simI`: a Cease to the reflector);
//     reported: the time from BIRD's reply until the agent logs "BGP session down" for it (the
//     moment it updates the session's series) and until a scrape of its /metrics shows
//     rr_bgp_session_up at 0 (plus the scrape's own cost, large at thousands of sessions);
//     then the same for `enable simI` ("BGP session up", 1; includes BGP's connect delay),
//     and the agent's BIRD queries during the phase (rr_bird_session_queries_total).
//
// Nodes are named na0000.. (a) and nb0000.. (b): [a-z0-9] only, so the reflector's
// protocol is "client_<name>". Node i's BGP address is 127.<octet>.<i/250>.<i%250+1>,
// where the client BIRD has a passive session for it.
//
//   agent_sessions_bench --kubeconfig K --socket REFLECTOR_BIRD_CTL --octet N
//       [--agent-pid P] [--agent-log FILE] [--sequential 100] [--bulk 500]
//       [--threads 8] [--poll-ms 20] [--label rr-bench=1] [--rack-label-value rack-a]
//       [--steady-seconds 10] [--client-socket CLIENT_BIRD_CTL] [--down-samples 10]
// Exit status: 0 when the figures were measured (however slow), 1 when the setup fails.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bird/control_client.h"
#include "kube/client_config.h"
#include "kube/object.h"
#include "kube/rest_kube_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using kube::Json;

struct Options {
  std::string kubeconfig;
  std::string socket;
  int octet = 0;
  long agent_pid = 0;
  std::string agent_log;
  int sequential = 100;
  int bulk = 500;
  int threads = 8;
  int poll_ms = 20;
  std::string label_key = "rr-bench";
  std::string label_value = "1";
  std::string rack_value = "rack-a";
  int steady_seconds = 10;
  std::string client_socket;
  int down_samples = 10;
};

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string node_name(char phase, int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "n%c%04d", phase, i);
  return buf;
}

std::string address(const Options& o, int i) {
  return "127." + std::to_string(o.octet) + "." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
}

Json make_node(const Options& o, const std::string& name, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"labels",
             {{o.label_key, o.label_value},
              {"topology.kubernetes.io/rack", o.rack_value},
              {"kubernetes.io/hostname", name}}},
            {"annotations", {{"projectcalico.org/IPv4Address", ip + "/32"}}}}}};
}

Json ready_status(const std::string& ip, const std::string& name) {
  return {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}}})},
          {"addresses",
           Json::array({{{"type", "InternalIP"}, {"address", ip}}, {{"type", "Hostname"}, {"address", name}}})}};
}

// Creates the node and marks it Ready; the time of the Ready update's response, or nullopt.
std::optional<Clock::time_point> create_ready_node(kube::KubeClient& client, const Options& o, const std::string& name,
                                                   const std::string& ip, std::string& error) {
  auto created = client.create(kube::resources::nodes(), "", make_node(o, name, ip));
  if (!created.ok()) {
    error = "create node " + name + ": " + created.error().describe();
    return std::nullopt;
  }
  Json with_status = *created;
  with_status["status"] = ready_status(ip, name);
  auto st = client.update_status(kube::resources::nodes(), with_status);
  if (!st.ok()) {
    error = "status of node " + name + ": " + st.error().describe();
    return std::nullopt;
  }
  return Clock::now();
}

// Session state of every protocol matching `pattern` on the reflector's BIRD.
struct Sessions {
  std::map<std::string, bool> established;  // protocol -> Established
};

std::optional<Sessions> show(rr::bird::BirdControlClient& control, const std::string& pattern) {
  auto reply = control.command("show protocols \"" + pattern + "\"", std::chrono::seconds(10));
  if (!reply.ok()) return std::nullopt;
  Sessions s;
  if (reply->final_code == rr::bird::reply_code::kNoProtocolsMatch) return s;
  if (reply->is_error()) return std::nullopt;
  for (const auto& line : reply->lines) {
    if (line.code != rr::bird::reply_code::kProtocolRow) continue;
    std::istringstream words(line.text);
    std::string name;
    words >> name;
    if (name.empty()) continue;
    s.established[name] = line.text.find("Established") != std::string::npos;
  }
  return s;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank.
  auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(p / 100.0 * static_cast<double>(v.size()))));
  return v[std::min(rank, v.size()) - 1];
}

void print_distribution(const char* what, const std::vector<double>& v) {
  if (v.empty()) {
    std::printf("  %-44s no samples\n", what);
    return;
  }
  std::printf("  %-44s median %7.0f ms  p90 %7.0f ms  p99 %7.0f ms  max %7.0f ms  (n=%zu)\n", what,
              percentile(v, 50), percentile(v, 90), percentile(v, 99), percentile(v, 100), v.size());
}

long status_kb(long pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::strtol(line.c_str() + key.size(), nullptr, 10);
  }
  return -1;
}

// utime + stime in seconds.
double cpu_seconds(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The agent's children (its BIRD): every task's children file.
std::vector<long> children_of(long pid) {
  std::vector<long> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    long child = 0;
    while (in >> child) out.push_back(child);
  }
  return out;
}

// The agent's metrics address, from its log line "... url=http://127.0.0.1:PORT".
std::optional<std::pair<std::string, int>> agent_address(const std::string& log) {
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    auto at = line.find("url=http://");
    if (at == std::string::npos) continue;
    std::string rest = line.substr(at + 11);
    rest = rest.substr(0, rest.find_first_of(" \"/"));
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) continue;
    return std::make_pair(rest.substr(0, colon), std::stoi(rest.substr(colon + 1)));
  }
  return std::nullopt;
}

// GET /metrics over a plain loopback socket (HTTP/1.0: the body ends with the connection).
std::string scrape(const std::pair<std::string, int>& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(address.second));
  ::inet_pton(AF_INET, address.first.c_str(), &sa.sin_addr);
  std::string body;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + address.first + "\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[65536];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) body.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return body;
}

// The value of the first sample of `name` whose labels contain `fragment`.
std::optional<double> sample(const std::string& exposition, const std::string& name, const std::string& fragment) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0 || line.find(fragment) == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

int count_lines(const std::string& path, const std::string& needle) {
  if (path.empty()) return -1;
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--kubeconfig") o.kubeconfig = value();
    else if (a == "--socket") o.socket = value();
    else if (a == "--octet") o.octet = std::stoi(value());
    else if (a == "--agent-pid") o.agent_pid = std::stol(value());
    else if (a == "--agent-log") o.agent_log = value();
    else if (a == "--sequential") o.sequential = std::stoi(value());
    else if (a == "--bulk") o.bulk = std::stoi(value());
    else if (a == "--threads") o.threads = std::max(1, std::stoi(value()));
    else if (a == "--poll-ms") o.poll_ms = std::max(1, std::stoi(value()));
    else if (a == "--steady-seconds") o.steady_seconds = std::max(1, std::stoi(value()));
    else if (a == "--rack-label-value") o.rack_value = value();
    else if (a == "--client-socket") o.client_socket = value();
    else if (a == "--down-samples") o.down_samples = std::max(0, std::stoi(value()));
    else if (a == "--label") {
      std::string kv = value();
      auto eq = kv.find('=');
      if (eq == std::string::npos) return false;
      o.label_key = kv.substr(0, eq);
      o.label_value = kv.substr(eq + 1);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return false;
    }
  }
  return !o.kubeconfig.empty() && !o.socket.empty() && o.octet > 0 && o.octet < 255 && o.sequential >= 0 &&
         o.bulk >= 0 && o.bulk <= 250 * 250;
}

std::unique_ptr<kube::RestKubeClient> connect_client(const Options& o) {
  auto config = kube::load_client_config(std::filesystem::path(o.kubeconfig));
  if (!config.ok()) {
    std::fprintf(stderr, "kubeconfig: %s\n", config.error().message.c_str());
    return nullptr;
  }
  kube::RestClientOptions copts;
  copts.qps = 100000;  // the bench is the only writer: no client-side throttle
  copts.burst = 100000;
  auto client = kube::RestKubeClient::connect(*config, copts);
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.error().describe().c_str());
    return nullptr;
  }
  return std::move(*client);
}

// a. One node at a time. False when the setup fails.
bool sequential_phase(const Options& o, kube::KubeClient& client, rr::bird::BirdControlClient& control) {
  std::vector<double> configured, established, from_create, bgp_part;
  int timeouts = 0;
  const auto poll = std::chrono::milliseconds(o.poll_ms);
  for (int i = 0; i < o.sequential; ++i) {
    const std::string name = node_name('a', i);
    const std::string protocol = "client_" + name;
    auto created = client.create(kube::resources::nodes(), "", make_node(o, name, address(o, i)));
    if (!created.ok()) {
      std::fprintf(stderr, "create node %s: %s\n", name.c_str(), created.error().describe().c_str());
      return false;
    }
    const auto created_at = Clock::now();
    Json with_status = *created;
    with_status["status"] = ready_status(address(o, i), name);
    if (auto st = client.update_status(kube::resources::nodes(), with_status); !st.ok()) {
      std::fprintf(stderr, "status of node %s: %s\n", name.c_str(), st.error().describe().c_str());
      return false;
    }
    const auto ready_at = Clock::now();
    std::optional<Clock::time_point> conf_at, est_at;
    const auto deadline = ready_at + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      auto s = show(control, protocol);
      const auto now = Clock::now();
      if (s && s->established.count(protocol)) {
        if (!conf_at) conf_at = now;
        if (s->established[protocol]) {
          est_at = now;
          break;
        }
      }
      std::this_thread::sleep_for(poll);
    }
    if (!est_at) {
      ++timeouts;
      std::fprintf(stderr, "node %s: not Established within 30 s\n", name.c_str());
      continue;
    }
    configured.push_back(ms_between(ready_at, *conf_at));
    established.push_back(ms_between(ready_at, *est_at));
    from_create.push_back(ms_between(created_at, *est_at));
    bgp_part.push_back(ms_between(*conf_at, *est_at));
  }
  std::printf("\n== a. %d nodes added one at a time (poll every %d ms; times from the API response)\n", o.sequential,
              o.poll_ms);
  print_distribution("Ready -> protocol in reflector BIRD (agent)", configured);
  print_distribution("Ready -> session Established", established);
  print_distribution("create -> session Established", from_create);
  print_distribution("protocol configured -> Established (BGP)", bgp_part);
  if (timeouts) std::printf("  %d node(s) not Established within 30 s\n", timeouts);
  std::fflush(stdout);
  return true;
}

bool delete_sequential_nodes(const Options& o, kube::KubeClient& client, rr::bird::BirdControlClient& control) {
  for (int i = 0; i < o.sequential; ++i) {
    if (auto s = client.remove(kube::resources::nodes(), "", node_name('a', i), {}); !s.ok()) {
      std::fprintf(stderr, "delete node %s: %s\n", node_name('a', i).c_str(), s.error().describe().c_str());
      return false;
    }
  }
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    auto s = show(control, "client_na*");
    if (s && s->established.empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr, "the reflector still has client_na* protocols 60 s after their Nodes were deleted\n");
  return false;
}

// b. All at once. False when the setup fails.
bool bulk_phase(const Options& o, rr::bird::BirdControlClient& control) {
  const int m = o.bulk;
  std::vector<std::unique_ptr<kube::RestKubeClient>> clients;
  for (int t = 0; t < o.threads; ++t) {
    auto c = connect_client(o);
    if (!c) return false;
    clients.push_back(std::move(c));
  }
  const int reconf_before = count_lines(o.agent_log, "BIRD reconfigured");
  const double agent_cpu_before = o.agent_pid ? cpu_seconds(o.agent_pid) : -1;

  std::vector<Clock::time_point> ready_at(static_cast<std::size_t>(m));
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::string first_error;

  // The poller runs from before the first write, so each session's time is its own.
  std::map<std::string, Clock::time_point> conf_at, est_at;
  std::optional<Clock::time_point> all_conf, all_est;
  std::atomic<bool> writers_failed_stop{false};
  const auto t0 = Clock::now();
  std::jthread poller([&](std::stop_token stop) {
    const auto deadline = t0 + std::chrono::seconds(300);
    const auto poll = std::chrono::milliseconds(o.poll_ms);
    while (!stop.stop_requested() && !writers_failed_stop && Clock::now() < deadline) {
      auto s = show(control, "client_nb*");
      const auto now = Clock::now();
      if (s) {
        for (const auto& [name, up] : s->established) {
          conf_at.emplace(name, now);
          if (up) est_at.emplace(name, now);
        }
        if (!all_conf && static_cast<int>(conf_at.size()) >= m) all_conf = now;
        if (static_cast<int>(est_at.size()) >= m) {
          all_est = now;
          return;
        }
      }
      std::this_thread::sleep_for(poll);
    }
  });
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < o.threads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = t; i < m && !failed; i += o.threads) {
          std::string error;
          auto at = create_ready_node(*clients[static_cast<std::size_t>(t)], o, node_name('b', i), address(o, i), error);
          if (!at) {
            failed = true;
            std::lock_guard lock(error_mu);
            if (first_error.empty()) first_error = error;
            return;
          }
          ready_at[static_cast<std::size_t>(i)] = *at;
        }
      });
    }
  }  // writers joined
  const auto api_done = Clock::now();
  if (failed) {
    writers_failed_stop = true;
    poller.join();
    std::fprintf(stderr, "%s\n", first_error.c_str());
    return false;
  }
  poller.join();  // all Established, or 300 s after the first write

  std::vector<double> per_node;
  for (int i = 0; i < m; ++i) {
    auto it = est_at.find("client_" + node_name('b', i));
    if (it != est_at.end()) per_node.push_back(ms_between(ready_at[static_cast<std::size_t>(i)], it->second));
  }
  const int reconf_after = count_lines(o.agent_log, "BIRD reconfigured");
  const double agent_cpu_after = o.agent_pid ? cpu_seconds(o.agent_pid) : -1;

  std::printf("\n== b. %d nodes created at once by %d writers\n", m, o.threads);
  std::printf("  all %d created and Ready in the API after      %8.0f ms\n", m, ms_between(t0, api_done));
  if (all_conf) {
    std::printf("  all %d protocols in the reflector's BIRD after %8.0f ms\n", m, ms_between(t0, *all_conf));
  }
  if (all_est) {
    std::printf("  all %d sessions Established after             %8.0f ms  (%.0f ms after the last Ready)\n", m,
                ms_between(t0, *all_est), ms_between(api_done, *all_est));
  } else {
    std::printf("  only %zu of %d sessions Established within 300 s\n", est_at.size(), m);
  }
  print_distribution("per node: its Ready -> Established", per_node);
  if (reconf_before >= 0) {
    std::printf("  agent reconfigured BIRD %d times for the %d nodes\n", reconf_after - reconf_before, m);
  }
  if (agent_cpu_before >= 0) {
    std::printf("  agent CPU during the phase                     %8.2f s\n", agent_cpu_after - agent_cpu_before);
  }

  // Steady state: every session up, nothing changing.
  if (o.agent_pid) {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    std::vector<long> birds = children_of(o.agent_pid);
    const double a0 = cpu_seconds(o.agent_pid);
    const double b0 = birds.empty() ? -1 : cpu_seconds(birds[0]);
    std::this_thread::sleep_for(std::chrono::seconds(o.steady_seconds));
    const double a1 = cpu_seconds(o.agent_pid);
    const double b1 = birds.empty() ? -1 : cpu_seconds(birds[0]);
    // What the agent's session poll costs with these sessions up: `show protocols all` + parse.
    std::vector<double> poll_ms;
    std::size_t parsed_protocols = 0, reply_bytes = 0;
    for (int i = 0; i < 10; ++i) {
      const auto p0 = Clock::now();
      auto reply = control.command("show protocols all", std::chrono::seconds(30));
      if (!reply.ok()) continue;
      auto all = rr::bird::parse_show_protocols_all(*reply);
      if (!all.ok()) continue;
      poll_ms.push_back(ms_between(p0, Clock::now()));
      parsed_protocols = all->size();
      reply_bytes = 0;
      for (const auto& line : reply->lines) reply_bytes += line.text.size() + 6;  // + "NNNN-" and '\n'
    }
    std::printf("\n== steady state, %d sessions up (%d s window)\n", m, o.steady_seconds);
    std::printf("  session poll (show protocols all + parse, %zu protocols, %zu reply bytes): median %.1f ms, max %.1f ms\n",
                parsed_protocols, reply_bytes, percentile(poll_ms, 50), percentile(poll_ms, 100));
    std::printf("  rr-agent  VmRSS %6ld KiB  VmHWM %6ld KiB  CPU %5.1f%% of a core\n",
                status_kb(o.agent_pid, "VmRSS"), status_kb(o.agent_pid, "VmHWM"),
                100.0 * (a1 - a0) / o.steady_seconds);
    if (!birds.empty()) {
      std::printf("  BIRD      VmRSS %6ld KiB  VmHWM %6ld KiB  CPU %5.1f%% of a core\n", status_kb(birds[0], "VmRSS"),
                  status_kb(birds[0], "VmHWM"), 100.0 * (b1 - b0) / o.steady_seconds);
    } else {
      std::printf("  (no BIRD child of the agent found)\n");
    }
  }
  std::fflush(stdout);
  return true;
}

// c. Sessions going down and up on the client side, seen in the agent's metrics.
bool down_phase(const Options& o) {
  auto metrics_at = agent_address(o.agent_log);
  if (!metrics_at) {
    std::fprintf(stderr, "no url= line in %s\n", o.agent_log.c_str());
    return false;
  }
  rr::bird::BirdControlClient client_bird;
  if (auto c = client_bird.connect(o.client_socket, std::chrono::seconds(10)); !c.ok()) {
    std::fprintf(stderr, "client BIRD socket %s: %s\n", o.client_socket.c_str(), c.error().message.c_str());
    return false;
  }
  auto queries = [&](const std::string& exposition) {
    std::array<double, 3> q{};
    const char* kinds[] = {"all", "one", "status"};
    for (int i = 0; i < 3; ++i) {
      q[static_cast<std::size_t>(i)] =
          sample(exposition, "rr_bird_session_queries_total", "query=\"" + std::string(kinds[i]) + "\"").value_or(-1);
    }
    return q;
  };
  // Waits until the session's series reads `want`; the time from `since`, or nullopt after 120 s.
  auto seen = [&](const std::string& peer_address, double want, Clock::time_point since) -> std::optional<double> {
    const std::string fragment = "peer_address=\"" + peer_address + "\"";
    while (Clock::now() - since < std::chrono::seconds(120)) {
      if (sample(scrape(*metrics_at), "rr_bgp_session_up", fragment) == want) return ms_between(since, Clock::now());
      std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
    }
    return std::nullopt;
  };
  const auto before = queries(scrape(*metrics_at));
  const double cpu_before = o.agent_pid ? cpu_seconds(o.agent_pid) : -1;
  // The agent's log line for the session's change ("BGP session down ... neighbor=ADDR"), from
  // the log's size before the change; the time from `since`, or nullopt after 120 s.
  auto logged = [&](const std::string& what, const std::string& peer, std::uintmax_t from,
                    Clock::time_point since) -> std::optional<double> {
    while (Clock::now() - since < std::chrono::seconds(120)) {
      std::ifstream in(o.agent_log);
      in.seekg(static_cast<std::streamoff>(from));
      for (std::string line; std::getline(in, line);) {
        const auto at = line.find(peer);
        const bool whole = at != std::string::npos &&
                           (at + peer.size() == line.size() || !std::isdigit(static_cast<unsigned char>(line[at + peer.size()])));
        if (line.find(what) != std::string::npos && whole) return ms_between(since, Clock::now());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  };
  // The agent's part: from the reflector BIRD's own log line for the protocol's state change
  // ("2026-12-04 19:56:44.072 <TRACE> client_nb0000: State changed to stop", which the agent
  // passes into its log) to the agent's line about the session ("2026-12-04T19:56:44.073Z info
  // rr-agent: BGP session down protocol=client_nb0000 ..."); both clocks are this machine's UTC.
  auto agent_part = [&](const std::string& what, const std::string& protocol, std::uintmax_t from)
      -> std::optional<double> {
    auto seconds_of = [](const std::string& line, const char* format) -> std::optional<double> {
      int y = 0, mo = 0, d = 0, h = 0, mi = 0;
      double sec = 0;
      if (std::sscanf(line.c_str(), format, &y, &mo, &d, &h, &mi, &sec) != 6) return std::nullopt;
      std::tm tm{};
      tm.tm_year = y - 1900;
      tm.tm_mon = mo - 1;
      tm.tm_mday = d;
      tm.tm_hour = h;
      tm.tm_min = mi;
      return static_cast<double>(::timegm(&tm)) + sec;
    };
    std::optional<double> bird_at, agent_at;
    std::ifstream in(o.agent_log);
    in.seekg(static_cast<std::streamoff>(from));
    for (std::string line; std::getline(in, line) && !agent_at;) {
      if (!bird_at && line.find("<TRACE> " + protocol + ": State changed to") != std::string::npos) {
        bird_at = seconds_of(line, "%d-%d-%d %d:%d:%lf");
      } else if (line.find(what) != std::string::npos && line.find("protocol=" + protocol) != std::string::npos) {
        agent_at = seconds_of(line, "%d-%d-%dT%d:%d:%lfZ");
      }
    }
    if (!bird_at || !agent_at) return std::nullopt;
    return (*agent_at - *bird_at) * 1000.0;
  };
  // `disable`/`enable` the client's protocol; then the time until the agent logs the change and
  // until its /metrics shows the session at `want`.
  struct Latencies {
    std::vector<double> logged, scraped, agent;
  };
  auto toggle = [&](const std::string& command, const std::string& what, const std::string& protocol,
                    const std::string& peer, double want, Latencies& out) {
    std::error_code ec;
    const auto from = std::filesystem::file_size(o.agent_log, ec);
    auto reply = client_bird.command(command, std::chrono::seconds(10));
    const auto since = Clock::now();
    auto log_ms = reply.ok() ? logged(what, peer, ec ? 0 : from, since) : std::nullopt;
    auto metric_ms = log_ms ? seen(peer, want, since) : std::nullopt;
    if (!metric_ms) {
      std::fprintf(stderr, "after `%s` the agent never showed %s at %.0f\n", command.c_str(), peer.c_str(), want);
      return false;
    }
    out.logged.push_back(*log_ms);
    out.scraped.push_back(*metric_ms);
    if (auto part = agent_part(what, protocol, ec ? 0 : from)) out.agent.push_back(*part);
    return true;
  };
  Latencies down, up;
  for (int k = 0; k < o.down_samples; ++k) {
    const int i = k * std::max(1, o.bulk / o.down_samples);
    const std::string sim = "sim" + std::to_string(i);
    const std::string protocol = "client_" + node_name('b', i);  // the reflector's protocol for node i
    if (!toggle("disable " + sim, "BGP session down", protocol, address(o, i), 0.0, down)) return false;
    if (!toggle("enable " + sim, "BGP session up", protocol, address(o, i), 1.0, up)) return false;
  }
  const auto after = queries(scrape(*metrics_at));
  const double cpu_after = o.agent_pid ? cpu_seconds(o.agent_pid) : -1;
  std::printf("\n== c. %d sessions of %d taken down and up on the client side, one at a time\n", o.down_samples, o.bulk);
  print_distribution("reflector BIRD logs it -> agent logs it down", down.agent);
  print_distribution("session down -> agent logs it", down.logged);
  print_distribution("session down -> /metrics shows 0", down.scraped);
  print_distribution("reflector BIRD logs it -> agent logs it up", up.agent);
  print_distribution("session enabled -> agent logs it up", up.logged);
  print_distribution("session enabled -> /metrics shows 1", up.scraped);
  std::printf("  agent's BIRD queries during the phase: all %.0f, one %.0f, status %.0f; agent CPU %.2f s\n",
              after[0] - before[0], after[1] - before[1], after[2] - before[2], cpu_after - cpu_before);
  std::fflush(stdout);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_args(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: agent_sessions_bench --kubeconfig K --socket REFLECTOR_BIRD_CTL --octet N [--agent-pid P]\n"
                 "       [--agent-log FILE] [--sequential 100] [--bulk 500] [--threads 8] [--poll-ms 20]\n"
                 "       [--label key=value] [--rack-label-value rack-a] [--steady-seconds 10]\n"
                 "       [--client-socket CLIENT_BIRD_CTL] [--down-samples 10]\n");
    return 1;
  }
  auto client = connect_client(o);
  if (!client) return 1;
  rr::bird::BirdControlClient control;
  if (auto c = control.connect(o.socket, std::chrono::seconds(10)); !c.ok()) {
    std::fprintf(stderr, "reflector BIRD socket %s: %s\n", o.socket.c_str(), c.error().message.c_str());
    return 1;
  }
  if (o.sequential > 0) {
    if (!sequential_phase(o, *client, control)) return 1;
    if (o.bulk > 0 && !delete_sequential_nodes(o, *client, control)) return 1;
  }
  if (o.bulk > 0 && !bulk_phase(o, control)) return 1;
  if (o.bulk > 0 && o.down_samples > 0 && !o.client_socket.empty() && !down_phase(o)) return 1;
  return 0;
}
