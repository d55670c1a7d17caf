// What one rr-agent rebuild costs for a big rack, and what BIRD then spends on it.
// No API server. The rack: N Ready client nodes (default sizes 100, 1,000 and 5,000;
// ~15 labels each, a Calico IPv4 address) plus 3 other reflectors in the mesh.
//
//   BM_CopyNodes/N        what rebuild() does first: copy the informer store's NodeInfos
//                         (shared_ptr<const NodeInfo>) into AgentInputs
//   BM_BuildConfig/N      build_reflector_config (filters, sorts, dedups, validates)
//   BM_ValidateConfig/N   bird::validate_config alone (BirdDriver::apply runs it again)
//   BM_RenderConfig/N     render_bird_config (the bird.conf text)
//   BM_AgentRebuildCpu/N  the whole CPU side of one rebuild, as ReflectorAgent::rebuild +
//                         BirdDriver::apply do it: copy + build + validate + render +
//                         compare with the text BIRD runs
//   BM_BirdParse/N        bird::check_with_bird: the `bird -p` the agent runs on every
//                         changed text before it swaps the file in (a process per call)
//   BM_BirdConfigure*     a real BIRD (spawned here, 127.M.255.1:11179, strict bind)
//                         loaded with the N-client config; `configure` over the control
//                         socket, as BirdDriver does:
//     .../AddOne/N        N -> N+1 -> N clients, alternately (one node event)
//     .../FromEmpty/N     0 -> N -> 0 clients, alternately (agent start-up; Iterations 2)
//   BM_BirdShowProtocolsAll/N  the agent's session poll: `show protocols all` + its parse
//   The peers' connect delay is 600 s in the BIRD runs, so that no session tries to
//   connect during the measurement (nobody answers on 127.M.x.y).
//
//   agent_render_bench [--no_bird] [google-benchmark flags]
//   (`--no_bird`, or no /usr/sbin/bird, skips the BM_Bird* benchmarks.)

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "agent/config_builder.h"
#include "bird/config_renderer.h"
#include "bird/config_validator.h"
#include "bird/control_client.h"

extern char** environ;

namespace {

using rr::agent::AgentInputs;
using rr::contract::NodeInfo;

constexpr const char* kBird = "/usr/sbin/bird";
constexpr int kPort = 11179;

// 127.M.x.y: M from the pid, so two runs on one host do not meet.
int octet() {
  static const int m = 100 + static_cast<int>(::getpid() % 150);
  return m;
}

std::string client_address(int i) {
  return "127." + std::to_string(octet()) + "." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
}
std::string reflector_address() { return "127." + std::to_string(octet()) + ".255.1"; }

std::string node_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "r0042-n%05d", i);
  return buf;
}

NodeInfo make_node(int i) {
  NodeInfo n;
  n.name = node_name(i);
  n.ready = true;
  n.labels = {{"beta.kubernetes.io/arch", "amd64"},
              {"beta.kubernetes.io/instance-type", "m5.2xlarge"},
              {"beta.kubernetes.io/os", "linux"},
              {"failure-domain.beta.kubernetes.io/region", "eu-west-1"},
              {"failure-domain.beta.kubernetes.io/zone", "eu-west-1a"},
              {"kubernetes.io/arch", "amd64"},
              {"kubernetes.io/hostname", n.name},
              {"kubernetes.io/os", "linux"},
              {"node.kubernetes.io/instance-type", "m5.2xlarge"},
              {"node-role.kubernetes.io/worker", ""},
              {"topology.kubernetes.io/rack", "r0042"},
              {"topology.kubernetes.io/region", "eu-west-1"},
              {"topology.kubernetes.io/zone", "eu-west-1a"},
              {"team", "platform"},
              {"pool", "general"}};
  n.internal_ip = "10.42." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
  n.bgp_ipv4 = client_address(i);
  return n;
}

AgentInputs make_inputs(int clients) {
  AgentInputs in;
  in.self.pod = "rr-r0042-a";
  in.self.ns = "rr-system";
  in.self.node = "r0042-reflector-a";
  in.self.fabric = "default";
  in.self.rack = "r0042";
  in.self.cluster_id = "10.255.0.42";
  in.self.address = reflector_address();
  in.self.port = kPort;
  in.spec.name = "default";
  in.spec.port = kPort;
  in.client_port = kPort;
  for (int i = 0; i < clients; ++i) in.nodes.push_back(std::make_shared<const NodeInfo>(make_node(i)));
  // The rack's other reflector and two of another rack (the fabric's mesh), plus self.
  const char* const names[] = {"rr-r0042-a", "rr-r0042-b", "rr-r0043-a", "rr-r0043-b"};
  for (int r = 0; r < 4; ++r) {
    rr::contract::ReflectorLease l;
    l.name = names[r];
    l.rack = r < 2 ? "r0042" : "r0043";
    l.cluster_id = r < 2 ? "10.255.0.42" : "10.255.0.43";
    l.address = r == 0 ? in.self.address : "127." + std::to_string(octet()) + ".254." + std::to_string(r);
    l.port = kPort;
    l.fresh = true;
    in.mesh.push_back(l);
  }
  return in;
}

rr::bird::ReflectorConfig must_build(const AgentInputs& in) {
  auto built = rr::agent::build_reflector_config(in);
  if (!built.ok()) {
    std::fprintf(stderr, "build_reflector_config: %s\n", built.error().message.c_str());
    std::abort();
  }
  return std::move(built->config);
}

void set_counters(benchmark::State& state, int clients) {
  state.counters["clients"] = clients;
  state.counters["per_client"] =
      benchmark::Counter(static_cast<double>(clients), benchmark::Counter::kIsIterationInvariantRate |
                                                           benchmark::Counter::kInvert);
}

void BM_CopyNodes(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<std::shared_ptr<const NodeInfo>> store;
  for (int i = 0; i < n; ++i) store.push_back(std::make_shared<const NodeInfo>(make_node(i)));
  for (auto _ : state) {
    AgentInputs in;
    in.nodes = store;  // what the agent does: Store::list() hands out shared values
    benchmark::DoNotOptimize(in.nodes.data());
  }
  set_counters(state, n);
}

void BM_BuildConfig(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const AgentInputs in = make_inputs(n);
  std::size_t peers = 0;
  for (auto _ : state) {
    auto built = rr::agent::build_reflector_config(in);
    peers = built->config.peers.size();
    benchmark::DoNotOptimize(peers);
  }
  state.counters["peers"] = static_cast<double>(peers);
  set_counters(state, n);
}

void BM_ValidateConfig(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto config = must_build(make_inputs(n));
  for (auto _ : state) {
    auto ok = rr::bird::validate_config(config);
    benchmark::DoNotOptimize(ok);
  }
  set_counters(state, n);
}

void BM_RenderConfig(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto config = must_build(make_inputs(n));
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = rr::bird::render_bird_config(config);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["conf_bytes"] = static_cast<double>(bytes);
  set_counters(state, n);
}

void BM_AgentRebuildCpu(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const AgentInputs base = make_inputs(n);
  const std::vector<std::shared_ptr<const NodeInfo>> store = base.nodes;
  // BIRD runs the config without the last node; this rebuild adds it.
  AgentInputs without = base;
  without.nodes.pop_back();
  const std::string applied = rr::bird::render_bird_config(must_build(without));
  for (auto _ : state) {
    AgentInputs in;
    in.self = base.self;
    in.spec = base.spec;
    in.client_port = base.client_port;
    in.mesh = base.mesh;
    in.nodes = store;
    auto built = rr::agent::build_reflector_config(in);
    auto valid = rr::bird::validate_config(built->config);
    std::string text = rr::bird::render_bird_config(built->config);
    bool changed = valid.ok() && text != applied;
    benchmark::DoNotOptimize(changed);
  }
  set_counters(state, n);
}

// ---- real BIRD ----------------------------------------------------------------

std::string bird_text(int clients) {
  auto config = must_build(make_inputs(clients));
  // No session should try to connect while we measure (nobody answers on 127.M.x.y).
  config.timers.connect_delay_seconds = 600;
  config.timers.connect_retry_seconds = 600;
  return rr::bird::render_bird_config(config);
}

void BM_BirdParse(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string text = bird_text(n);
  char scratch[] = "/tmp/rr-agent-bench-check.XXXXXX";  // the agent's --scratch-dir
  if (::mkdtemp(scratch) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  rr::bird::BirdValidatorOptions options;
  options.bird_binary = kBird;
  options.scratch_dir = scratch;
  options.timeout = std::chrono::seconds(60);
  for (auto _ : state) {
    auto checked = rr::bird::check_with_bird(text, options);
    if (!checked.ok()) {
      state.SkipWithError(checked.error().message.c_str());
      break;
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  set_counters(state, n);
}

// A BIRD of our own in a mktemp dir; stopped (SIGTERM, then SIGKILL) and cleaned up on exit.
class OwnBird {
 public:
  OwnBird() {
    char pattern[] = "/tmp/rr-agent-bench.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return;
    dir_ = pattern;
  }
  ~OwnBird() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  OwnBird(const OwnBird&) = delete;
  OwnBird& operator=(const OwnBird&) = delete;

  std::string config_path() const { return dir_ + "/bird.conf"; }
  std::string socket_path() const { return dir_ + "/bird.ctl"; }

  bool write(const std::string& text) const {
    const std::string tmp = config_path() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
      if (!out) return false;
    }
    return std::rename(tmp.c_str(), config_path().c_str()) == 0;
  }

  // Starts BIRD on `text` and connects the control client; false with a message when it cannot.
  bool start(const std::string& text, rr::bird::BirdControlClient& control, std::string& error) {
    if (dir_.empty()) {
      error = "mkdtemp failed";
      return false;
    }
    if (!write(text)) {
      error = "cannot write " + config_path();
      return false;
    }
    const std::string conf = config_path(), sock = socket_path(), log = dir_ + "/bird.log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> args = {kBird, "-f", "-c", conf, "-s", sock};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, kBird, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid_ = -1;
      error = std::string("posix_spawn bird: ") + std::strerror(rc);
      return false;
    }
    for (int i = 0; i < 300; ++i) {  // up to 30 s: BIRD parses the whole file before it listens
      if (std::filesystem::exists(sock) && control.connect(sock, std::chrono::seconds(2)).ok()) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error = "bird exited at start-up; see its log";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    error = "bird control socket did not come up within 30 s";
    return false;
  }

  long rss_kb() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {  // 10 s grace
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// Alternates BIRD between two texts, timing each `configure` (file write included, as the driver does).
void configure_alternating(benchmark::State& state, const std::string& start_text, const std::string& other_text,
                           int clients) {
  OwnBird bird;
  rr::bird::BirdControlClient control;
  std::string error;
  if (!bird.start(start_text, control, error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  bool at_start = true;
  for (auto _ : state) {
    const std::string& next = at_start ? other_text : start_text;
    if (!bird.write(next)) {
      state.SkipWithError("cannot write bird.conf");
      break;
    }
    auto configured = control.configure(bird.config_path(), std::chrono::seconds(120));
    if (!configured.ok()) {
      state.SkipWithError(configured.error().message.c_str());
      break;
    }
    at_start = !at_start;
  }
  state.counters["bird_rss_kb"] = static_cast<double>(bird.rss_kb());
  state.counters["clients"] = clients;
}

void BM_BirdConfigureAddOne(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  configure_alternating(state, bird_text(n), bird_text(n + 1), n);
}

// The agent's session poll (every --session-poll, 2 s by default): `show protocols all`
// over the control socket and parse_show_protocols_all, with N client protocols (Active:
// an Established session's block is about twice as long).
void BM_BirdShowProtocolsAll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  OwnBird bird;
  rr::bird::BirdControlClient control;
  std::string error;
  if (!bird.start(bird_text(n), control, error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::size_t protocols = 0, bytes = 0;
  for (auto _ : state) {
    auto reply = control.command("show protocols all", std::chrono::seconds(60));
    if (!reply.ok()) {
      state.SkipWithError(reply.error().message.c_str());
      break;
    }
    auto parsed = rr::bird::parse_show_protocols_all(*reply);
    if (!parsed.ok()) {
      state.SkipWithError(parsed.error().message.c_str());
      break;
    }
    protocols = parsed->size();
    bytes = 0;
    for (const auto& line : reply->lines) bytes += line.text.size() + 6;
  }
  state.counters["protocols"] = static_cast<double>(protocols);
  state.counters["reply_bytes"] = static_cast<double>(bytes);
  state.counters["clients"] = n;
}

void BM_BirdConfigureFromEmpty(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  configure_alternating(state, bird_text(0), bird_text(n), n);
}

void sizes(benchmark::internal::Benchmark* b) { b->Arg(100)->Arg(1000)->Arg(5000); }

BENCHMARK(BM_CopyNodes)->Apply(sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BuildConfig)->Apply(sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ValidateConfig)->Apply(sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RenderConfig)->Apply(sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AgentRebuildCpu)->Apply(sizes)->Unit(benchmark::kMicrosecond);

void register_bird_benchmarks() {
  benchmark::RegisterBenchmark("BM_BirdParse", BM_BirdParse)
      ->Arg(1000)
      ->Arg(5000)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(5);
  benchmark::RegisterBenchmark("BM_BirdConfigureAddOne", BM_BirdConfigureAddOne)
      ->Arg(1000)
      ->Arg(5000)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(10);
  benchmark::RegisterBenchmark("BM_BirdShowProtocolsAll", BM_BirdShowProtocolsAll)
      ->Arg(5000)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(5);
  benchmark::RegisterBenchmark("BM_BirdConfigureFromEmpty", BM_BirdConfigureFromEmpty)
      ->Arg(5000)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(2);
}

}  // namespace

int main(int argc, char** argv) {
  bool bird = true;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no_bird") == 0) {
      bird = false;
      continue;
    }
    args.push_back(argv[i]);
  }
  if (bird && ::access(kBird, X_OK) != 0) {
    std::fprintf(stderr, "agent_render_bench: %s not found; skipping the BM_Bird* benchmarks\n", kBird);
    bird = false;
  }
  if (bird) register_bird_benchmarks();
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
