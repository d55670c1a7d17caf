// The real rr-operator binary over N Nodes (default 100,000) held by a real kube-apiserver.
//
//  1. Creates the N fixture Nodes (bench/node_fixture.h: racks of 100, the first 3 of each rack
//     labelled rr.bgp.dev/reflector=true) with concurrent libcurl writers: a POST each (the
//     status is kept on create), then a merge patch lifting the not-ready taint admission puts
//     on every new Node, as the node lifecycle controller would for a Ready node. Installs the
//     CRDs (crds/ and tests/crds/calico/, read with kube::parse_manifests and POSTed), the
//     namespace rr-system and one RouteReflectorCluster over all racks (2 reflectors per rack).
//  2. The raw floor: libcurl reads every page of /api/v1/nodes?limit=500 following `continue`,
//     bytes only, on one kept-alive connection; a warm-up, then R runs (default 3), median.
//  3. Starts build/operator/rr-operator as a child (admin token kubeconfig, --leader-elect=false,
//     --metrics-address 127.0.0.1:0, --log-level debug) and polls its /metrics every 50 ms
//     until rr_operator_reconciles_total (all results) >= 1: the first plan. VmRSS is sampled
//     from /proc/PID/status every 100 ms throughout; VmHWM is read with each sample.
//  4. Steady: waits until no reconcile for 5 s (at most RR_BENCH_SETTLE_MAX s, default 60);
//     steady RSS = median VmRSS of the last 5 s.
//  5. Relist: patches spec.reflectors.nodeSelector to add kubernetes.io/os=linux (every fixture
//     Node has it, so placement does not change; a label key the operator did not read before).
//     Samples until a reconcile after the patch has completed and neither reconciles nor list
//     requests happened for 5 s (at most RR_BENCH_RELIST_MAX s, default 180). Reports the list
//     requests the operator made (rr_operator_api_requests_total{verb="list"}), its log lines
//     that mention "relist", and the RSS peak through that window.
//  6. A summary table; the operator's log tail on failure.
//
// Needs a control plane: RR_KUBE_DIR (a scripts/kube-local.sh instance; skips without it), and
// creates Nodes only when RR_BENCH_OWN_CONTROL_PLANE=1 (scripts/bench.sh scale sets it for the
// control plane it started). Env: RR_BENCH_NODES (100000), RR_BENCH_WRITERS (16),
// RR_BENCH_RUNS (3), RR_OPERATOR_BIN (default: the build's rr-operator), RR_BENCH_OPERATOR_ARGS
// (extra flags, split on spaces), RR_BENCH_FIRST_PLAN_TIMEOUT (s, 1200), RR_BENCH_SETTLE_MAX,
// RR_BENCH_RELIST_MAX. The operator's whole log goes to $RR_KUBE_DIR/logs/rr-operator-scale.log.
// The operator is stopped whatever happens: SIGTERM then SIGKILL on the way out or on
// SIGINT/SIGTERM/SIGHUP, and PR_SET_PDEATHSIG kills it if this process dies anyway.

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "contract/observed.h"
#include "kube/client_config.h"
#include "kube/informer.h"
#include "kube/manifest.h"
#include "kube/rest_kube_client.h"
#include "control_plane_env.h"
#include "node_fixture.h"

#ifndef RR_OPERATOR_BIN
#define RR_OPERATOR_BIN "build/operator/rr-operator"
#endif
#ifndef RR_SOURCE_DIR
#define RR_SOURCE_DIR "."
#endif

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

const char* const kFabric = "scale";
const char* const kReflectorNamespace = "rr-system";
const int kRackSize = 100;
const int kEligiblePerRack = 3;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}
std::string env_str(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}
double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --- the operator child, and stopping it whatever happens ---

std::atomic<pid_t> g_operator{-1};
std::mutex g_tail_mu;
std::deque<std::string> g_tail;  // the operator's last lines
const size_t kTailLines = 60;

void print_operator_tail(const char* why) {
  std::lock_guard lock(g_tail_mu);
  std::fprintf(stderr, "\n== rr-operator's last %zu lines (%s)\n", g_tail.size(), why);
  for (const auto& line : g_tail) std::fprintf(stderr, "  | %s\n", line.c_str());
  std::fflush(stderr);
}

// SIGTERM, up to `grace` for it to exit, then SIGKILL; reaps it. Returns its wait status or -1.
int stop_operator(std::chrono::milliseconds grace) {
  pid_t pid = g_operator.exchange(-1);
  if (pid <= 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == pid) return status;
  kill(pid, SIGTERM);
  const auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "operator_scale_bench: rr-operator (pid %d) did not exit on SIGTERM; SIGKILL\n", pid);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "operator_scale_bench: %s\n", message.c_str());
  if (g_operator.load() > 0) {
    print_operator_tail("failure");
    stop_operator(std::chrono::seconds(10));
  }
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(1);
}

// SIGINT/SIGTERM/SIGHUP are blocked in every thread and taken here: the operator is stopped,
// then this process exits 128+signal.
void start_signal_thread(const sigset_t& set) {
  std::thread([set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    std::fprintf(stderr, "operator_scale_bench: signal %d: stopping rr-operator\n", sig);
    stop_operator(std::chrono::seconds(5));
    std::fflush(stdout);
    std::_Exit(128 + sig);
  }).detach();
}

// --- raw HTTP: libcurl, HTTP/1.1, bearer token, the cluster CA ---

struct Api {
  std::string server, ca_file, auth_header;
};

struct Response {
  long status = 0;
  std::string body;
  CURLcode rc = CURLE_OK;
  bool ok() const { return rc == CURLE_OK && status >= 200 && status < 300; }
  std::string describe() const {
    if (rc != CURLE_OK) return curl_easy_strerror(rc);
    return "HTTP " + std::to_string(status) + ": " + body.substr(0, 300);
  }
};

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One connection, kept alive across requests.
class Http {
 public:
  explicit Http(const Api* api = nullptr) : api_(api) {
    c_ = curl_easy_init();
    if (c_ == nullptr) die("curl_easy_init failed");
    curl_easy_setopt(c_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c_, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c_, CURLOPT_WRITEFUNCTION, &append_body);
    if (api_ != nullptr) curl_easy_setopt(c_, CURLOPT_CAINFO, api_->ca_file.c_str());
  }
  ~Http() { curl_easy_cleanup(c_); }
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // `path` is appended to the API server's URL (or is a whole URL without an Api).
  Response request(const std::string& method, const std::string& path, const std::string& body = "",
                   const char* content_type = "application/json", long timeout_ms = 120000) {
    Response r;
    const std::string url = api_ != nullptr ? api_->server + path : path;
    curl_slist* headers = nullptr;
    if (api_ != nullptr) headers = curl_slist_append(headers, api_->auth_header.c_str());
    headers = curl_slist_append(headers, "Accept: application/json");
    if (!body.empty()) headers = curl_slist_append(headers, (std::string("Content-Type: ") + content_type).c_str());
    curl_easy_setopt(c_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c_, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (method == "GET") {
      curl_easy_setopt(c_, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(c_, CURLOPT_CUSTOMREQUEST, nullptr);
    } else {
      curl_easy_setopt(c_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(c_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
      curl_easy_setopt(c_, CURLOPT_CUSTOMREQUEST, method == "POST" ? nullptr : method.c_str());
    }
    r.rc = curl_easy_perform(c_);
    curl_easy_getinfo(c_, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    return r;
  }
  CURL* handle() { return c_; }

 private:
  const Api* api_;
  CURL* c_ = nullptr;
};


// --- 1. the cluster: Nodes, CRDs, namespace, fabric ---

std::string bench_node_body(int k) {
  Json node = rr::bench::make_node(k / kRackSize, k % kRackSize, kEligiblePerRack, 0);
  auto& meta = node["metadata"];
  meta.erase("uid");
  meta.erase("resourceVersion");
  meta.erase("creationTimestamp");
  return node.dump();
}

struct Creation {
  int nodes = 0;
  long requests = 0;
  double seconds = 0;
};

Creation create_nodes(const Api& api, int count, int writers) {
  std::fprintf(stderr, "creating %d Nodes (%d writers, a POST and a taint-lifting PATCH each)...\n", count, writers);
  std::atomic<int> next{0}, done{0}, failures{0};
  std::atomic<long> requests{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      Http http(&api);
      for (int k; (k = next++) < count && failures < 20;) {
        const std::string name = rr::bench::node_name(k / kRackSize, k % kRackSize);
        Response r = http.request("POST", "/api/v1/nodes", bench_node_body(k));
        ++requests;
        if (r.status == 409) {
          ++done;
          continue;
        }
        if (!r.ok()) {
          if (failures++ < 3) std::fprintf(stderr, "create Node %s: %s\n", name.c_str(), r.describe().c_str());
          continue;
        }
        // Admission taints every new Node not-ready; the node lifecycle controller (not running
        // here) would lift it for a Ready one. A reflector host must not keep it.
        if (r.body.find("\"taints\"") != std::string::npos) {
          Response p = http.request("PATCH", "/api/v1/nodes/" + name, R"({"spec":{"taints":null}})",
                                    "application/merge-patch+json");
          ++requests;
          if (!p.ok() && failures++ < 3) std::fprintf(stderr, "untaint Node %s: %s\n", name.c_str(), p.describe().c_str());
        }
        int d = ++done;
        if (count >= 10000 && d % (count / 10) == 0) {
          double s = seconds_between(t0, Clock::now());
          std::fprintf(stderr, "  %d Nodes in %.1f s (%.0f Nodes/s)\n", d, s, d / s);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failures > 0) die(std::to_string(failures.load()) + " Node writes failed");
  Creation c{done.load(), requests.load(), seconds_between(t0, Clock::now())};
  std::fprintf(stderr, "created %d Nodes in %.1f s: %.0f Nodes/s, %.0f requests/s\n", c.nodes, c.seconds,
               c.nodes / c.seconds, c.requests / c.seconds);
  return c;
}

void create_or_exists(Http& http, const std::string& path, const Json& object, const std::string& what) {
  Response r = http.request("POST", path, object.dump());
  if (!r.ok() && r.status != 409) die("create " + what + ": " + r.describe());
}

void install_crds(Http& http) {
  const std::string root = RR_SOURCE_DIR;
  std::vector<std::string> files = {root + "/crds/rr.bgp.dev_routereflectorclusters.yaml"};
  for (const auto& entry : std::filesystem::directory_iterator(root + "/tests/crds/calico")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  std::vector<std::string> names;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) die("cannot read " + file);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto docs = kube::parse_manifests(text);
    if (!docs.ok()) die(file + ": " + docs.error().message);
    for (const auto& doc : *docs) {
      if (doc.value("kind", "") != "CustomResourceDefinition") continue;
      const std::string name = doc["metadata"]["name"].get<std::string>();
      create_or_exists(http, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", doc, "CRD " + name);
      names.push_back(name);
    }
  }
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  for (const auto& name : names) {
    for (;;) {
      Response r = http.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name);
      bool established = false;
      if (r.ok()) {
        Json crd = Json::parse(r.body, nullptr, false);
        if (!crd.is_discarded() && crd.contains("status")) {
          for (const auto& c : crd["status"].value("conditions", Json::array())) {
            established |= c.value("type", "") == "Established" && c.value("status", "") == "True";
          }
        }
      }
      if (established) break;
      if (Clock::now() > deadline) die("CRD " + name + " not established within 120 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  // Established is the CRD's; the discovery and the handler follow shortly after.
  for (const char* path : {"/apis/rr.bgp.dev/v1alpha1/routereflectorclusters", "/apis/crd.projectcalico.org/v1/bgppeers",
                           "/apis/crd.projectcalico.org/v1/bgpconfigurations"}) {
    while (!http.request("GET", path).ok()) {
      if (Clock::now() > deadline) die(std::string("not served within 120 s: ") + path);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  std::fprintf(stderr, "installed %zu CRDs\n", names.size());
}

const std::string kFabricPath = std::string("/apis/rr.bgp.dev/v1alpha1/routereflectorclusters/") + kFabric;

void create_fabric(Http& http) {
  create_or_exists(http, "/api/v1/namespaces",
                   Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kReflectorNamespace}}}},
                   "namespace");
  Json fabric = {{"apiVersion", "rr.bgp.dev/v1alpha1"},
                 {"kind", "RouteReflectorCluster"},
                 {"metadata", {{"name", kFabric}}},
                 {"spec",
                  {{"asNumber", 64512},
                   {"namespace", kReflectorNamespace},
                   {"rackLabel", "topology.kubernetes.io/rack"},
                   {"reflectors", {{"perRack", 2}, {"nodeSelector", {{"rr.bgp.dev/reflector", "true"}}}}}}}};
  create_or_exists(http, "/apis/rr.bgp.dev/v1alpha1/routereflectorclusters", fabric, "RouteReflectorCluster");
}

// --- 2. the raw floor ---

struct RawList {
  size_t bytes = 0, pages = 0;
  double seconds = 0;
};

RawList raw_list(Http& http, int limit, const std::string& selector = "", bool from_cache = false) {
  RawList out;
  std::string token;
  const auto t0 = Clock::now();
  do {
    std::string path = "/api/v1/nodes?limit=" + std::to_string(limit);
    if (!selector.empty()) {
      char* escaped = curl_easy_escape(http.handle(), selector.c_str(), static_cast<int>(selector.size()));
      path += std::string("&labelSelector=") + escaped;
      curl_free(escaped);
    }
    if (from_cache) path += "&resourceVersion=0";
    if (!token.empty()) {
      char* escaped = curl_easy_escape(http.handle(), token.c_str(), static_cast<int>(token.size()));
      path += std::string("&continue=") + escaped;
      curl_free(escaped);
    }
    Response r = http.request("GET", path);
    if (r.status == 410 && !token.empty()) {
      // The continue token's revision was compacted meanwhile (the API server compacts etcd
      // every 5 minutes): an informer relists from scratch, and so does this run.
      std::fprintf(stderr, "raw list: continue token expired (410) after %zu pages; listing again\n", out.pages);
      return raw_list(http, limit, selector, from_cache);
    }
    if (!r.ok()) die("raw list: " + r.describe());
    out.bytes += r.body.size();
    ++out.pages;
    // The list's metadata comes before its items: {"kind":..,"metadata":{..,"continue":"TOKEN"},"items":[
    token.clear();
    std::string_view head(r.body.data(), std::min<size_t>(r.body.size(), 4096));
    static constexpr std::string_view kKey = "\"continue\":\"";
    auto items_at = head.find("\"items\"");
    if (auto at = head.find(kKey); at != std::string_view::npos && at < items_at) {
      auto begin = at + kKey.size();
      token = std::string(head.substr(begin, head.find('"', begin) - begin));
    }
  } while (!token.empty());
  out.seconds = seconds_between(t0, Clock::now());
  return out;
}


// The agent's Node informer as rr-agent runs it (kube::Informer over RestKubeClient, scoped to
// its rack by a label selector, trimmed by contract::node_info_from): seconds to its first sync.
double agent_node_informer_sync(const std::string& dir, const std::string& selector) {
  auto config = kube::load_kubeconfig(dir + "/kubeconfig-token");
  if (!config.ok()) die("kubeconfig-token: " + config.error().describe());
  kube::RestClientOptions options;
  options.qps = 0;
  const auto t0 = Clock::now();
  auto client = kube::RestKubeClient::connect(*config, options);
  if (!client.ok()) die("connect: " + client.error().describe());
  kube::InformerOptions io;
  io.watch.label_selector = selector;
  io.watch.list_from_cache = true;  // as rr-agent lists its rack
  kube::Informer<rr::contract::NodeInfo> nodes(**client, kube::resources::nodes(), io, rr::contract::node_info_from);
  nodes.start();
  if (!nodes.wait_for_sync(std::chrono::seconds(60))) die("the agent's Node informer did not sync within 60 s");
  const double took = seconds_between(t0, Clock::now());
  if (nodes.store().size() != static_cast<size_t>(kRackSize)) die("the agent's Node informer holds the wrong Nodes");
  (*client)->close();
  return took;
}

// --- 3-5. the operator: its log, its /metrics, its memory ---

struct LogEvent {
  Clock::time_point at;
  std::string line;
};

class OperatorLog {
 public:
  void start(int fd, const std::string& path) {
    file_.open(path);
    thread_ = std::thread([this, fd] { read(fd); });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::optional<LogEvent> first(const std::string& needle, Clock::time_point since = {}) const {
    std::lock_guard lock(mu_);
    for (const auto& e : events_) {
      if (e.at >= since && e.line.find(needle) != std::string::npos) return e;
    }
    return std::nullopt;
  }
  std::vector<LogEvent> all(const std::string& needle, Clock::time_point since = {}) const {
    std::lock_guard lock(mu_);
    std::vector<LogEvent> out;
    for (const auto& e : events_) {
      if (e.at >= since && e.line.find(needle) != std::string::npos) out.push_back(e);
    }
    return out;
  }

 private:
  void read(int fd) {
    std::string buffer;
    char chunk[65536];
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      const auto now = Clock::now();
      buffer.append(chunk, static_cast<size_t>(n));
      size_t start = 0, nl;
      while ((nl = buffer.find('\n', start)) != std::string::npos) {
        take(buffer.substr(start, nl - start), now);
        start = nl + 1;
      }
      buffer.erase(0, start);
    }
    if (!buffer.empty()) take(buffer, Clock::now());
    ::close(fd);
  }
  void take(std::string line, Clock::time_point at) {
    file_ << line << '\n';
    file_.flush();
    {
      std::lock_guard lock(g_tail_mu);
      g_tail.push_back(line);
      if (g_tail.size() > kTailLines) g_tail.pop_front();
    }
    // Every line is kept with its arrival time.
    std::lock_guard lock(mu_);
    events_.push_back({at, std::move(line)});
  }

  mutable std::mutex mu_;
  std::vector<LogEvent> events_;
  std::ofstream file_;
  std::thread thread_;
};

struct Metrics {
  bool ok = false;
  double reconciles = 0;          // rr_operator_reconciles_total, all results
  double reconcile_seconds = 0;   // rr_operator_reconcile_duration_seconds_sum
  double list_requests = 0;       // rr_operator_api_requests_total{verb="list"}, all codes
  double writes = 0;              // rr_operator_api_writes_total
};

Metrics parse_metrics(const std::string& text) {
  Metrics m;
  m.ok = true;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const std::string series = line.substr(0, space);
    const double value = std::strtod(line.c_str() + space + 1, nullptr);
    const std::string name = series.substr(0, series.find('{'));
    if (name == "rr_operator_reconciles_total") m.reconciles += value;
    if (name == "rr_operator_reconcile_duration_seconds_sum") m.reconcile_seconds += value;
    if (name == "rr_operator_api_writes_total") m.writes += value;
    if (name == "rr_operator_api_requests_total" && series.find("verb=\"list\"") != std::string::npos) {
      m.list_requests += value;
    }
  }
  return m;
}

struct MemSample {
  Clock::time_point at;
  long rss_kb = 0, hwm_kb = 0;
};

bool read_status(pid_t pid, long& rss_kb, long& hwm_kb) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return false;
  std::string line;
  bool got = false;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss_kb = std::atol(line.c_str() + 6), got = true;
    if (line.rfind("VmHWM:", 0) == 0) hwm_kb = std::atol(line.c_str() + 6);
  }
  return got;
}

class MemSampler {
 public:
  void start(pid_t pid) {
    thread_ = std::thread([this, pid] {
      while (!stop_) {
        MemSample s;
        s.at = Clock::now();
        if (read_status(pid, s.rss_kb, s.hwm_kb)) {
          std::lock_guard lock(mu_);
          samples_.push_back(s);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<MemSample> between(Clock::time_point a, Clock::time_point b) const {
    std::lock_guard lock(mu_);
    std::vector<MemSample> out;
    for (const auto& s : samples_) {
      if (s.at >= a && s.at <= b) out.push_back(s);
    }
    return out;
  }
  MemSample last() const {
    std::lock_guard lock(mu_);
    return samples_.empty() ? MemSample{} : samples_.back();
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return samples_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<MemSample> samples_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

double mb(long kb) { return static_cast<double>(kb) / 1024.0; }

double median_rss_mb(const std::vector<MemSample>& samples) {
  std::vector<double> v;
  for (const auto& s : samples) v.push_back(mb(s.rss_kb));
  return median(v);
}
double max_rss_mb(const std::vector<MemSample>& samples) {
  long top = 0;
  for (const auto& s : samples) top = std::max(top, s.rss_kb);
  return mb(top);
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Forks and execs the operator; its stdout and stderr go to the returned pipe.
pid_t spawn(const std::vector<std::string>& argv, int& out_fd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) die("pipe2 failed");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    // Dies with this process, however it dies (this is the main thread, which lives until exit).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  out_fd = fds[0];
  return pid;
}

bool operator_exited(std::string& how) {
  pid_t pid = g_operator.load();
  if (pid <= 0) return true;
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) return false;
  g_operator = -1;
  how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                          : "killed by signal " + std::to_string(WTERMSIG(status));
  return true;
}

// The first completed reconcile of an operator run, and what led to it.
struct FirstPlan {
  Clock::time_point at;
  double metrics_s = 0, synced_s = 0, synced_rss_mb = 0, first_plan_s = 0;
  long rss_kb = 0, hwm_kb = 0;
  Metrics metrics;
  void print() const {
    std::printf("/metrics served %.3f s, caches synced %.3f s (VmRSS then %.1f MB), first reconcile done %.3f s after "
                "exec (polled every 50 ms)\n",
                metrics_s, synced_s, synced_rss_mb, first_plan_s);
    std::printf("at that moment: %.0f reconcile(s) taking %.3f s in all, %.0f list requests, %.0f writes; VmRSS %.1f MB, "
                "VmHWM %.1f MB\n",
                metrics.reconciles, metrics.reconcile_seconds, metrics.list_requests, metrics.writes, mb(rss_kb),
                mb(hwm_kb));
  }
};

// Quiet again: no reconcile for `quiet` (or the bound reached).
struct Steady {
  Clock::time_point at;
  bool settled = false;
  double after_s = 0, rss_mb = 0;
  size_t samples = 0;
  long hwm_kb = 0;
  Metrics metrics;
  void print(const char* since) const {
    std::printf("\n== steady: %s %.1f s %s; %.0f reconciles (%.3f s in all), %.0f writes so far\n",
                settled ? "no reconcile for 5 s" : "still reconciling (bound reached)", after_s, since,
                metrics.reconciles, metrics.reconcile_seconds, metrics.writes);
    std::printf("VmRSS median of the last 5 s: %.1f MB (%zu samples); VmHWM %.1f MB\n", rss_mb, samples, mb(hwm_kb));
    std::fflush(stdout);
  }
};

// rr-operator as a child process: its log, its memory sampled, its /metrics scraped.
class OperatorRun {
 public:
  OperatorRun(const std::string& dir, const std::string& bin, const std::string& log_path) {
    std::vector<std::string> argv = {bin,
                                     "--kubeconfig",
                                     dir + "/kubeconfig-token",
                                     "--metrics-address",
                                     "127.0.0.1:0",
                                     "--leader-elect=false",
                                     "--log-level",
                                     "debug"};
    for (auto& w : split_words(env_str("RR_BENCH_OPERATOR_ARGS", ""))) argv.push_back(w);
    std::string shown;
    for (const auto& a : argv) shown += " " + a;
    std::fprintf(stderr, "starting:%s (log: %s)\n", shown.c_str(), log_path.c_str());
    int out_fd = -1;
    t_exec = Clock::now();
    pid = spawn(argv, out_fd);
    g_operator = pid;
    log.start(out_fd, log_path);
    mem.start(pid);
  }
  ~OperatorRun() {
    mem.stop();
    log.join();
  }

  void check_alive(const char* phase) {
    std::string how;
    if (operator_exited(how)) {
      log.join();  // it exited: its output ends, and the reader has taken every line
      print_operator_tail("it exited");
      die(std::string("rr-operator ") + how + " during " + phase);
    }
  }

  Metrics scrape() {
    if (metrics_url_.empty()) find_metrics_url();
    Response r = scraper_.request("GET", metrics_url_, "", "", 5000);
    return r.ok() ? parse_metrics(r.body) : Metrics{};
  }

  FirstPlan first_plan(const char* phase, int timeout_s) {
    FirstPlan f;
    for (;;) {
      check_alive(phase);
      f.metrics = scrape();
      if (f.metrics.ok && f.metrics.reconciles >= 1) break;
      if (seconds_between(t_exec, Clock::now()) > timeout_s) {
        die("no reconcile within " + std::to_string(timeout_s) + " s of the " + phase);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    f.at = Clock::now();
    read_status(pid, f.rss_kb, f.hwm_kb);
    f.first_plan_s = seconds_between(t_exec, f.at);
    auto since_exec = [&](const std::optional<LogEvent>& e) { return e ? seconds_between(t_exec, e->at) : -1.0; };
    const auto synced = log.first("caches synced");
    f.synced_s = since_exec(synced);
    if (synced) {
      auto around = mem.between(synced->at - std::chrono::milliseconds(150), synced->at + std::chrono::milliseconds(150));
      if (!around.empty()) f.synced_rss_mb = mb(around.back().rss_kb);
    }
    f.metrics_s = since_exec(log.first("serving /metrics"));
    return f;
  }

  Steady settle(Clock::time_point from, std::chrono::seconds quiet, int max_s) {
    Steady st;
    Clock::time_point last_change = from;
    double seen = -1;
    for (;;) {
      check_alive("settling");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      st.metrics = scrape();
      const auto now = Clock::now();
      if (st.metrics.ok && st.metrics.reconciles != seen) seen = st.metrics.reconciles, last_change = now;
      if (now - last_change >= quiet || seconds_between(from, now) >= max_s) {
        st.at = now;
        break;
      }
    }
    st.settled = st.at - last_change >= quiet;
    st.after_s = seconds_between(from, st.at);
    const auto samples = mem.between(st.at - quiet, st.at);
    st.samples = samples.size();
    st.rss_mb = median_rss_mb(samples);
    long rss = 0;
    read_status(pid, rss, st.hwm_kb);
    return st;
  }

  pid_t pid = -1;
  Clock::time_point t_exec;
  OperatorLog log;
  MemSampler mem;

 private:
  void find_metrics_url() {
    for (;;) {
      check_alive("start-up");
      if (auto e = log.first("serving /metrics")) {
        auto at = e->line.find("url=");
        if (at == std::string::npos) die("no url= in: " + e->line);
        metrics_url_ = e->line.substr(at + 4);
        if (auto sp = metrics_url_.find(' '); sp != std::string::npos) metrics_url_.resize(sp);
        metrics_url_ += "/metrics";
        return;
      }
      if (seconds_between(t_exec, Clock::now()) > 60) die("rr-operator did not serve /metrics within 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  Http scraper_;
  std::string metrics_url_;
};

}  // namespace

int main() {
  const char* dir = std::getenv("RR_KUBE_DIR");
  if (dir == nullptr || *dir == '\0') {
    std::printf("operator_scale_bench: skipped: RR_KUBE_DIR is not set. It needs a control plane of its own: run "
                "scripts/bench.sh scale.\n");
    return 0;
  }
  const int count = env_int("RR_BENCH_NODES", 100000);
  const char* own = std::getenv("RR_BENCH_OWN_CONTROL_PLANE");
  if (own == nullptr || std::string(own) != "1") {
    std::printf("operator_scale_bench: skipped: it creates %d Nodes, which it does only in a control plane of its own "
                "(RR_BENCH_OWN_CONTROL_PLANE=1, as scripts/bench.sh scale sets).\n",
                count);
    return 0;
  }
  if (count < kRackSize || count % kRackSize != 0) die("RR_BENCH_NODES must be a multiple of 100 (racks of 100)");
  const int writers = std::max(1, env_int("RR_BENCH_WRITERS", 16));
  const int runs = std::max(1, env_int("RR_BENCH_RUNS", 3));
  const int first_plan_timeout = env_int("RR_BENCH_FIRST_PLAN_TIMEOUT", 1200);
  const int settle_max = env_int("RR_BENCH_SETTLE_MAX", 60);
  const int relist_max = env_int("RR_BENCH_RELIST_MAX", 180);
  const std::string operator_bin = env_str("RR_OPERATOR_BIN", RR_OPERATOR_BIN);
  const auto quiet = std::chrono::seconds(5);

  // Signals are taken by one thread (and the operator stopped) from here on.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  start_signal_thread(set);

  auto env_file = rr::bench::read_env_file(std::string(dir) + "/env");
  if (!env_file) die("cannot read " + std::string(dir) + "/env");
  auto& env = *env_file;
  for (const char* key : {"RR_KUBE_SERVER", "RR_KUBE_CA", "RR_KUBE_ADMIN_TOKEN"}) {
    if (env[key].empty()) die(std::string(dir) + "/env has no " + key);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const Api api{env["RR_KUBE_SERVER"], env["RR_KUBE_CA"], "Authorization: Bearer " + env["RR_KUBE_ADMIN_TOKEN"]};
  Http http(&api);
  std::printf("== operator_scale_bench: %d Nodes in %d racks of %d (%d reflector hosts each), fabric with 2 "
              "reflectors per rack; %s\n",
              count, count / kRackSize, kRackSize, kEligiblePerRack, api.server.c_str());
  std::fflush(stdout);

  // 1. the cluster
  const Creation creation = create_nodes(api, count, writers);
  install_crds(http);
  create_fabric(http);

  // 2. the raw floor
  const int limit = 500;
  raw_list(http, limit);  // warm the connection and the server
  std::vector<double> floor_s;
  RawList last;
  for (int i = 0; i < runs; ++i) {
    last = raw_list(http, limit);
    floor_s.push_back(last.seconds);
    std::fprintf(stderr, "raw list %d: %.3f s, %zu pages, %.1f MB\n", i + 1, last.seconds, last.pages,
                 static_cast<double>(last.bytes) / 1e6);
  }
  const double floor_median = median(floor_s);
  const double floor_mbps = static_cast<double>(last.bytes) / floor_median / 1e6;
  std::printf("\n== raw floor: libcurl, bytes only, pages of %d on one connection, %d runs\n", limit, runs);
  std::printf("median %.3f s (runs:", floor_median);
  for (double s : floor_s) std::printf(" %.3f", s);
  std::printf("), %zu pages, %.1f MB (%.0f bytes/Node), %.1f MB/s\n", last.pages, static_cast<double>(last.bytes) / 1e6,
              static_cast<double>(last.bytes) / count, floor_mbps);
  std::fflush(stdout);

  // 2b. the agent's Node informer: one rack's Nodes, from the API server's watch cache
  const std::string rack_selector = "topology.kubernetes.io/rack=" + rr::bench::rack_name(0);
  std::vector<double> agent_floor_s, agent_sync_s, agent_etcd_s;
  raw_list(http, limit, rack_selector, true);
  for (int i = 0; i < runs; ++i) {
    // New connections, as the agent's first sync makes one: for 100 Nodes the TLS handshake counts.
    auto fresh_list = [&](bool from_cache) {
      const auto t0 = Clock::now();
      Http fresh(&api);
      raw_list(fresh, limit, rack_selector, from_cache);
      return seconds_between(t0, Clock::now());
    };
    agent_floor_s.push_back(fresh_list(true));
    agent_etcd_s.push_back(fresh_list(false));
    agent_sync_s.push_back(agent_node_informer_sync(dir, rack_selector));
  }
  const double agent_floor = median(agent_floor_s), agent_sync = median(agent_sync_s);
  std::printf("\n== the agent's Node informer (%s): first sync %.3f s, raw list of the same (resourceVersion=0, a new "
              "connection) %.3f s (medians of %d); ratio %.2f. The same list paged from etcd (no resourceVersion): "
              "%.3f s\n",
              rack_selector.c_str(), agent_sync, agent_floor, runs, agent_sync / agent_floor, median(agent_etcd_s));
  std::fflush(stdout);

  // 3. the operator, from its start on a cluster with no reflector Pod yet
  const std::string log_path = std::string(dir) + "/logs/rr-operator-scale.log";
  OperatorRun run(dir, operator_bin, log_path);
  const FirstPlan cold = run.first_plan("cold start", first_plan_timeout);
  std::printf("\n== rr-operator: exec -> first completed reconcile (cold: it creates every reflector Pod)\n");
  cold.print();
  std::fflush(stdout);

  // 4. steady
  const Steady steady = run.settle(cold.at, quiet, settle_max);
  steady.print("after the first plan");
  const double steady_mb = steady.rss_mb;
  const long hwm_steady = steady.hwm_kb;
  const pid_t pid = run.pid;
  OperatorLog& oplog = run.log;
  MemSampler& mem = run.mem;
  const auto t_exec = run.t_exec;
  const double first_plan_s = cold.first_plan_s;
  const double synced_s = cold.synced_s;
  const double synced_rss_mb = cold.synced_rss_mb;
  const long hwm_first = cold.hwm_kb;
  Metrics m = steady.metrics;
  const bool settled = steady.settled;
  Clock::time_point last_change;
  auto check_alive = [&](const char* phase) { run.check_alive(phase); };
  auto scrape = [&] { return run.scrape(); };

  // 5. relist: a label key the fabric did not read before
  const Metrics before = m;
  const auto t_patch = Clock::now();
  {
    Json patch = {{"spec",
                   {{"reflectors",
                     {{"nodeSelector", {{"rr.bgp.dev/reflector", "true"}, {"kubernetes.io/os", "linux"}}}}}}}};
    Response r = http.request("PATCH", kFabricPath, patch.dump(), "application/merge-patch+json");
    if (!r.ok()) die("patch the fabric: " + r.describe());
  }
  Clock::time_point t_reconciled{}, t_relist_end;
  last_change = t_patch;
  double seen_reconciles = before.reconciles, seen_lists = before.list_requests;
  for (;;) {
    check_alive("the relist");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    m = scrape();
    const auto now = Clock::now();
    if (m.ok) {
      if (m.reconciles != seen_reconciles || m.list_requests != seen_lists) last_change = now;
      seen_reconciles = m.reconciles;
      seen_lists = m.list_requests;
      if (t_reconciled == Clock::time_point{} && m.reconciles > before.reconciles) t_reconciled = now;
    }
    bool rss_settled = false;
    if (t_reconciled != Clock::time_point{} && now - last_change >= quiet) {
      // and VmRSS stayed within 2 % over the last 5 s
      auto recent = mem.between(now - quiet, now);
      long lo = LONG_MAX, hi = 0;
      for (const auto& s : recent) lo = std::min(lo, s.rss_kb), hi = std::max(hi, s.rss_kb);
      rss_settled = !recent.empty() && static_cast<double>(hi - lo) <= 0.02 * static_cast<double>(hi);
    }
    if (rss_settled || seconds_between(t_patch, now) >= relist_max) {
      t_relist_end = now;
      break;
    }
  }
  const Metrics after = m;
  const auto relist_samples = mem.between(t_patch, t_relist_end);
  long rss_end = 0, hwm_end = 0;
  read_status(pid, rss_end, hwm_end);
  double relist_peak_mb = max_rss_mb(relist_samples);
  const bool hwm_rose = hwm_end > hwm_steady;
  if (hwm_rose) relist_peak_mb = std::max(relist_peak_mb, mb(hwm_end));  // VmHWM sees between the samples
  const double after_mb = median_rss_mb(mem.between(t_relist_end - quiet, t_relist_end));
  const auto relist_lines = oplog.all("relist", t_patch);
  const double lists = after.list_requests - before.list_requests;
  std::printf("\n== relist: spec.reflectors.nodeSelector += kubernetes.io/os=linux\n");
  if (t_reconciled == Clock::time_point{}) {
    std::printf("no reconcile completed within %d s of the patch\n", relist_max);
  } else {
    std::printf("first reconcile after the patch done %.3f s after it; the last reconcile or list request %.3f s "
                "after it; sampled until %.3f s after it\n",
                seconds_between(t_patch, t_reconciled), seconds_between(t_patch, last_change),
                seconds_between(t_patch, t_relist_end));
  }
  std::printf("%.0f list requests (all resources; %d pages of %d make a Node list), %.0f reconciles (%.3f s), "
              "%.0f writes since the patch\n",
              lists, (count + limit - 1) / limit, limit, after.reconciles - before.reconciles,
              after.reconcile_seconds - before.reconcile_seconds, after.writes - before.writes);
  std::printf("log lines mentioning \"relist\" since the patch: %zu\n", relist_lines.size());
  for (size_t i = 0; i < relist_lines.size() && i < 5; ++i) {
    std::printf("  +%.3f s  %s\n", seconds_between(t_patch, relist_lines[i].at), relist_lines[i].line.c_str());
  }
  const bool relisted = lists >= 1 || !relist_lines.empty();
  std::printf("%s\n", relisted ? "the operator relisted" : "the operator did NOT relist (no list request, no relist line)");
  std::printf("VmRSS peak %.1f MB (max of %zu samples%s), after %.1f MB (median of the last 5 s); VmHWM %.1f -> %.1f MB\n",
              relist_peak_mb, relist_samples.size(), hwm_rose ? ", or VmHWM, which rose" : "", after_mb, mb(hwm_steady),
              mb(hwm_end));
  std::fflush(stdout);

  mem.stop();
  const auto t_stop = Clock::now();
  const int status = stop_operator(std::chrono::seconds(20));
  oplog.join();

  // 6. a restart: the same cluster, every reflector Pod and BGPPeer in place. Its first plan
  // writes (almost) nothing: this is the first sync and plan alone.
  // The floor again, just before: etcd now holds the reflector Pods too, and the API server's
  // state differs from the start's (measured figures on this machine drift by 1.5x).
  const double floor_before_restart = raw_list(http, limit).seconds;
  std::printf("\n== raw floor again before the restart: %.3f s\n", floor_before_restart);
  std::optional<OperatorRun> again;
  again.emplace(dir, operator_bin, std::string(dir) + "/logs/rr-operator-scale-restart.log");
  const FirstPlan warm = again->first_plan("restart", first_plan_timeout);
  std::printf("\n== rr-operator restarted: exec -> first completed reconcile (its Pods exist)\n");
  warm.print();
  const Steady warm_steady = again->settle(warm.at, quiet, settle_max);
  warm_steady.print("after the restart's first plan");
  again->mem.stop();
  stop_operator(std::chrono::seconds(20));
  again->log.join();
  std::string how = status < 0 ? "already gone"
                    : WIFEXITED(status) ? "exited " + std::to_string(WEXITSTATUS(status))
                                        : "killed by signal " + std::to_string(WTERMSIG(status));
  auto before_stop = [&](std::vector<LogEvent> v) {
    v.erase(std::remove_if(v.begin(), v.end(), [&](const LogEvent& e) { return e.at >= t_stop; }), v.end());
    return v;
  };
  const auto warnings = before_stop(oplog.all(" warn "));
  const auto errors = before_stop(oplog.all(" error "));

  // VmRSS over the operator's life, one figure a second (the patch at +patch).
  {
    auto all = mem.between(t_exec, t_stop);
    std::fprintf(stderr, "VmRSS timeline, MB at seconds after exec (fabric patched at %.1f s):",
                 seconds_between(t_exec, t_patch));
    double next = 0;
    int on_line = 0;
    for (const auto& s : all) {
      const double at = seconds_between(t_exec, s.at);
      if (at < next) continue;
      if (on_line++ % 10 == 0) std::fprintf(stderr, "\n ");
      std::fprintf(stderr, " %6.1f:%-6.1f", at, mb(s.rss_kb));
      next = at + 1.0;
    }
    std::fprintf(stderr, "\n");
  }

  // 6. summary
  const double ratio = first_plan_s / floor_median;
  std::printf("\n== summary (rr-operator %s on SIGTERM; %zu warn and %zu error lines in its log before that)\n",
              how.c_str(),
              warnings.size(), errors.size());
  auto row = [](const char* name, const std::string& value) { std::printf("%-44s %s\n", name, value.c_str()); };
  auto fmt = [](const char* f, auto... v) {
    char buf[256];
    std::snprintf(buf, sizeof buf, f, v...);
    return std::string(buf);
  };
  row("nodes", fmt("%d (%d racks)", count, count / kRackSize));
  row("creation rate", fmt("%.0f Nodes/s (%.0f requests/s, %d writers, %.1f s)", creation.nodes / creation.seconds,
                           creation.requests / creation.seconds, writers, creation.seconds));
  row("raw floor: list all Nodes, median", fmt("%.3f s, %.1f MB/s (%.1f MB)", floor_median, floor_mbps,
                                              static_cast<double>(last.bytes) / 1e6));
  row("operator: exec -> caches synced", fmt("%.3f s (ratio to floor %.2f; VmRSS then %.1f MB)", synced_s,
                                              synced_s / floor_median, synced_rss_mb));
  row("operator: exec -> first plan (reconcile done)", fmt("%.3f s", first_plan_s));
  row("ratio first plan / raw floor", fmt("%.2f", ratio));
  row("steady RSS", fmt("%.1f MB%s", steady_mb, settled ? "" : " (not settled)"));
  row("peak RSS at first sync (VmHWM then)", fmt("%.1f MB", mb(hwm_first)));
  row("peak RSS through relist", fmt("%.1f MB%s", relist_peak_mb, relisted ? "" : " (no relist happened)"));
  row("ratio peak through relist / steady", fmt("%.2f", relist_peak_mb / steady_mb));
  row("agent's Node informer: first sync (1 rack)", fmt("%.3f s (raw %.3f s, ratio %.2f)", agent_sync, agent_floor,
                                                        agent_sync / agent_floor));
  row("restart: raw floor just before", fmt("%.3f s", floor_before_restart));
  row("restart: exec -> caches synced", fmt("%.3f s (ratio to the floor before it %.2f)", warm.synced_s,
                                            warm.synced_s / floor_before_restart));
  row("restart: exec -> first plan (reconcile done)", fmt("%.3f s (ratio to the floor before it %.2f; %.0f writes)",
                                                          warm.first_plan_s, warm.first_plan_s / floor_before_restart,
                                                          warm.metrics.writes));
  row("restart: steady RSS / peak (VmHWM)", fmt("%.1f MB / %.1f MB (ratio %.2f)", warm_steady.rss_mb,
                                               mb(warm_steady.hwm_kb), mb(warm_steady.hwm_kb) / warm_steady.rss_mb));
  if (!errors.empty() || !warnings.empty()) {
    std::printf("\nfirst warn/error lines of rr-operator:\n");
    size_t shown_lines = 0;
    for (const auto* list : {&errors, &warnings}) {
      for (const auto& e : *list) {
        if (shown_lines++ >= 6) break;
        std::printf("  %s\n", e.line.substr(0, 400).c_str());
      }
    }
  }
  std::printf("(rr-operator's log: %s)\n", log_path.c_str());
  std::fflush(stdout);
  curl_global_cleanup();
  return 0;
}
