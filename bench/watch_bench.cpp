// The kube client against a raw HTTP client on a real kube-apiserver, in the same run.
//
//  1. Watch event delivery latency. One Lease is patched N times (default 200), one
//     write at a time; each write's event is awaited on two watches of the same
//     namespace, opened on the same server:
//       ours: kube::Watcher (list, then RestWatchStream over cpprestsdk), event parsed to JSON
//       raw:  libcurl streaming the same watch URL, each line timestamped as it arrives
//     Latency = event arrival - the write's response (also reported: - the write's request).
//     Medians, p99 and the ratio ours/raw.
//  2. List throughput for M Nodes (default 10,000), pages of 500 as the informer lists:
//       ours: RestKubeClient::list_all + node_info_from on every item
//       raw:  libcurl GETs of the same pages, bytes only (the floor), following `continue`
//       raw+decode: the raw bytes + nlohmann::json::parse + node_info_from (where our time goes)
//     Median of R runs (default 5), runs interleaved.
//
// Needs a control plane: RR_KUBE_DIR (a scripts/kube-local.sh instance; skips without it).
// Creates the M Nodes only when RR_BENCH_OWN_CONTROL_PLANE=1 (scripts/bench.sh sets it for
// the control plane it started). Env: RR_BENCH_WATCH_WRITES, RR_BENCH_NODES, RR_BENCH_RUNS.

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "api/observed.h"
#include "kube/client_config.h"
#include "kube/kube_client.h"
#include "kube/resource_type.h"
#include "kube/rest_kube_client.h"
#include "kube/watcher.h"
#include "control_plane_env.h"
#include "node_fixture.h"

namespace {

using Clock = std::chrono::steady_clock;
using kube::Json;

const char* const kNamespace = "rr-bench";
const char* const kLease = "bench-probe";
const char* const kBenchLabel = "rr.bgp.dev/bench";

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "watch_bench: %s\n", message.c_str());
  std::exit(1);
}


double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  if (q == 0.5) {
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  size_t idx = static_cast<size_t>(q * static_cast<double>(v.size()) + 0.999999);
  return v[std::clamp<size_t>(idx, 1, v.size()) - 1];
}

// --- the raw client: libcurl, HTTP/1.1 like cpprestsdk, bearer token, the cluster CA ---

struct RawClient {
  std::string server, ca_file, auth_header;

  CURL* handle(curl_slist** headers) const {
    CURL* c = curl_easy_init();
    if (c == nullptr) die("curl_easy_init failed");
    *headers = curl_slist_append(nullptr, auth_header.c_str());
    *headers = curl_slist_append(*headers, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    return c;
  }
};

// Arrival time of each watch event, by the object's resourceVersion.
class Arrivals {
 public:
  void record(const std::string& rv, Clock::time_point at) {
    std::lock_guard lock(mu_);
    seen_.emplace(rv, at);
    cv_.notify_all();
  }
  std::optional<Clock::time_point> wait_for(const std::string& rv, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return seen_.count(rv) > 0; })) return std::nullopt;
    return seen_.at(rv);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> seen_;
};

// A raw watch: libcurl streams the body; every complete line is stamped on arrival
// and its first "resourceVersion" (a Lease's only one) is pulled out by hand.
class RawWatch {
 public:
  RawWatch(const RawClient& raw, const std::string& path, Arrivals& arrivals) : arrivals_(arrivals) {
    handle_ = raw.handle(&headers_);
    url_ = raw.server + path;
    curl_easy_setopt(handle_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &RawWatch::on_data);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(handle_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(handle_, CURLOPT_XFERINFOFUNCTION, &RawWatch::on_progress);
    curl_easy_setopt(handle_, CURLOPT_XFERINFODATA, this);
    thread_ = std::thread([this] { result_ = curl_easy_perform(handle_); });
  }
  ~RawWatch() {
    stop_ = true;
    thread_.join();
    curl_slist_free_all(headers_);
    curl_easy_cleanup(handle_);
  }
  long lines() const { return lines_; }

 private:
  static size_t on_data(char* data, size_t size, size_t n, void* self_ptr) {
    auto* self = static_cast<RawWatch*>(self_ptr);
    const Clock::time_point now = Clock::now();
    self->buffer_.append(data, size * n);
    size_t start = 0, nl;
    while ((nl = self->buffer_.find('\n', start)) != std::string::npos) {
      std::string_view line(self->buffer_.data() + start, nl - start);
      static constexpr std::string_view kKey = "\"resourceVersion\":\"";
      if (auto at = line.find(kKey); at != std::string_view::npos) {
        auto begin = at + kKey.size();
        auto end = line.find('"', begin);
        if (end != std::string_view::npos) self->arrivals_.record(std::string(line.substr(begin, end - begin)), now);
      }
      ++self->lines_;
      start = nl + 1;
    }
    self->buffer_.erase(0, start);
    return size * n;
  }
  static int on_progress(void* self_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<RawWatch*>(self_ptr)->stop_ ? 1 : 0;  // non-zero aborts the transfer
  }

  Arrivals& arrivals_;
  CURL* handle_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string url_;
  std::string buffer_;
  std::atomic<bool> stop_{false};
  std::atomic<long> lines_{0};
  CURLcode result_ = CURLE_OK;
  std::thread thread_;
};

// GET into a string, reusing the handle's connection.
size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// --- 1. watch latency ---

void watch_latency(kube::RestKubeClient& client, const RawClient& raw, int writes) {
  const auto& leases = kube::resources::leases();
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", kLease}, {"namespace", kNamespace}}},
                {"spec", {{"holderIdentity", "watch-bench"}, {"leaseDurationSeconds", 15}}}};
  auto created = client.create(leases, kNamespace, lease);
  if (!created.ok() && created.error().kind != kube::ErrorKind::AlreadyExists) {
    die("create Lease: " + created.error().describe());
  }
  auto current = client.get(leases, kNamespace, kLease);
  if (!current.ok()) die("get Lease: " + current.error().describe());

  Arrivals ours, theirs;
  kube::WatcherOptions wopts;
  wopts.ns = kNamespace;
  kube::Watcher watcher(client, leases, wopts);
  std::jthread ours_thread([&](std::stop_token stop) {
    watcher.run(
        [&](kube::WatcherEvent&& e) {
          const auto now = Clock::now();
          if (e.type == kube::WatcherEvent::Type::Applied) ours.record(kube::resource_version_of(e.object), now);
          if (e.type == kube::WatcherEvent::Type::ListPage) {
            for (const auto& o : e.objects) ours.record(kube::resource_version_of(o), now);
          }
        },
        stop);
  });
  RawWatch raw_watch(raw,
                     std::string("/apis/coordination.k8s.io/v1/namespaces/") + kNamespace +
                         "/leases?watch=true&allowWatchBookmarks=true&timeoutSeconds=290&resourceVersion=" +
                         kube::resource_version_of(*current),
                     theirs);

  std::vector<double> ours_resp, theirs_resp, ours_req, theirs_req;
  const int warmup = 10;
  int timeouts = 0;
  for (int i = 0; i < warmup + writes; ++i) {
    Json patch = {{"metadata", {{"annotations", {{"rr.bgp.dev/bench-seq", std::to_string(i)}}}}}};
    const auto sent = Clock::now();
    auto result = client.patch(leases, kNamespace, kLease, kube::PatchType::Merge, patch, {});
    const auto answered = Clock::now();
    if (!result.ok()) die("patch Lease: " + result.error().describe());
    const std::string rv = kube::resource_version_of(*result);
    auto a = ours.wait_for(rv, std::chrono::seconds(i < warmup ? 30 : 10));
    auto b = theirs.wait_for(rv, std::chrono::seconds(i < warmup ? 30 : 10));
    if (!a || !b) {
      std::fprintf(stderr, "write %d (rv %s): no event from %s within the timeout\n", i, rv.c_str(),
                   !a ? "the kube Watcher" : "the raw watch");
      if (++timeouts > 3) die("watches are not delivering events");
      continue;
    }
    if (i < warmup) continue;
    ours_resp.push_back(ms_between(answered, *a));
    theirs_resp.push_back(ms_between(answered, *b));
    ours_req.push_back(ms_between(sent, *a));
    theirs_req.push_back(ms_between(sent, *b));
  }
  ours_thread.request_stop();
  ours_thread.join();

  std::printf("\n== watch event delivery: %zu Lease patches, one at a time, both watches open together (ms)\n",
              ours_resp.size());
  std::printf("%-34s %10s %10s %16s %14s\n", "", "median", "p99", "median from req", "p99 from req");
  auto row = [](const char* name, const std::vector<double>& resp, const std::vector<double>& req) {
    std::printf("%-34s %10.3f %10.3f %16.3f %14.3f\n", name, quantile(resp, 0.5), quantile(resp, 0.99),
                quantile(req, 0.5), quantile(req, 0.99));
  };
  row("ours: kube::Watcher (cpprestsdk)", ours_resp, ours_req);
  row("raw: libcurl line reader", theirs_resp, theirs_req);
  std::vector<double> diff;
  for (size_t i = 0; i < ours_resp.size(); ++i) diff.push_back(ours_resp[i] - theirs_resp[i]);
  std::printf("ours - raw, per event: median %.3f ms, p99 %.3f ms; ratio ours/raw (from request): median %.2f, "
              "p99 %.2f\n",
              quantile(diff, 0.5), quantile(diff, 0.99), quantile(ours_req, 0.5) / quantile(theirs_req, 0.5),
              quantile(ours_req, 0.99) / quantile(theirs_req, 0.99));
  std::printf("(latency from the response can be negative: the event may arrive before the PATCH response is read)\n");
}

// --- 2. list throughput ---

Json bench_node(int rack, int index) {
  Json node = rr::bench::make_node(rack, index, 3, 0);
  auto& meta = node["metadata"];
  meta.erase("uid");
  meta.erase("resourceVersion");
  meta.erase("creationTimestamp");
  meta["labels"][kBenchLabel] = "true";
  return node;
}

void ensure_nodes(kube::RestKubeClient& client, int count) {
  const auto& nodes = kube::resources::nodes();
  kube::ListOptions opts;
  opts.label_selector = std::string(kBenchLabel) + "=true";
  opts.limit = 500;
  auto existing = client.list_all(nodes, "", opts);
  if (!existing.ok()) die("list Nodes: " + existing.error().describe());
  std::set<std::string> have;
  for (const auto& n : existing->items) have.insert(kube::name_of(n));
  std::vector<std::pair<int, int>> missing;
  for (int k = 0; k < count; ++k) {
    int rack = k / 100, index = k % 100;
    if (!have.count(rr::bench::node_name(rack, index))) missing.emplace_back(rack, index);
  }
  if (missing.empty()) {
    std::fprintf(stderr, "%d bench Nodes already exist\n", count);
    return;
  }
  std::fprintf(stderr, "creating %zu Nodes (4 writers)...\n", missing.size());
  const auto t0 = Clock::now();
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (size_t i; (i = next++) < missing.size();) {
        auto r = client.create(nodes, "", bench_node(missing[i].first, missing[i].second));
        if (!r.ok() && r.error().kind != kube::ErrorKind::AlreadyExists) {
          if (failures++ < 3) std::fprintf(stderr, "create Node: %s\n", r.error().describe().c_str());
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  if (failures > 0) die(std::to_string(failures.load()) + " Node creations failed");
  std::fprintf(stderr, "created %zu Nodes in %.1f s\n", missing.size(), ms_between(t0, Clock::now()) / 1e3);
}

struct RawListResult {
  size_t bytes = 0;
  size_t objects = 0;
  double seconds = 0;
};

// Pages of `limit` through libcurl on one kept-alive connection; `decode` parses
// and trims each page as the kube path does.
RawListResult raw_list(CURL* c, const std::string& server, int limit, bool decode) {
  RawListResult out;
  std::string body, token;
  std::vector<rr::planner::NodeInfo> infos;
  const auto t0 = Clock::now();
  do {
    std::string url = server + "/api/v1/nodes?limit=" + std::to_string(limit);
    if (!token.empty()) url += "&continue=" + token;
    body.clear();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &append_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) die("raw list: " + std::string(curl_easy_strerror(rc)) + " HTTP " + std::to_string(status));
    out.bytes += body.size();
    // The list's metadata comes before its items: {"kind":..,"metadata":{..,"continue":"TOKEN"},"items":[
    token.clear();
    std::string_view head(body.data(), std::min<size_t>(body.size(), 4096));
    static constexpr std::string_view kKey = "\"continue\":\"";
    auto items_at = head.find("\"items\"");
    if (auto at = head.find(kKey); at != std::string_view::npos && at < items_at) {
      auto begin = at + kKey.size();
      token = std::string(head.substr(begin, head.find('"', begin) - begin));
    }
    if (decode) {
      Json list = Json::parse(body);
      for (const auto& item : list["items"]) {
        if (auto info = rr::api::node_info_from(item)) infos.push_back(std::move(*info));
      }
      out.objects = infos.size();
    }
  } while (!token.empty());
  out.seconds = ms_between(t0, Clock::now()) / 1e3;
  return out;
}

void list_throughput(kube::RestKubeClient& client, const RawClient& raw, int count, int runs) {
  ensure_nodes(client, count);
  curl_slist* headers = nullptr;
  CURL* c = raw.handle(&headers);
  const int limit = 500;

  std::vector<double> ours_s, raw_s, raw_decode_s;
  size_t ours_objects = 0, raw_bytes = 0;
  raw_list(c, raw.server, limit, false);  // warm the connection and the server
  for (int run = 0; run < runs; ++run) {
    {
      const auto t0 = Clock::now();
      kube::ListOptions opts;
      opts.limit = limit;
      auto listed = client.list_all(kube::resources::nodes(), "", opts);
      if (!listed.ok()) die("list_all: " + listed.error().describe());
      std::vector<rr::planner::NodeInfo> infos;
      infos.reserve(listed->items.size());
      for (const auto& item : listed->items) {
        if (auto info = rr::api::node_info_from(item)) infos.push_back(std::move(*info));
      }
      ours_s.push_back(ms_between(t0, Clock::now()) / 1e3);
      ours_objects = infos.size();
    }
    {
      auto r = raw_list(c, raw.server, limit, false);
      raw_s.push_back(r.seconds);
      raw_bytes = r.bytes;
    }
    {
      auto r = raw_list(c, raw.server, limit, true);
      raw_decode_s.push_back(r.seconds);
      if (r.objects != ours_objects) die("raw+decode saw " + std::to_string(r.objects) + " Nodes, ours " +
                                         std::to_string(ours_objects));
    }
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);

  const double n = static_cast<double>(ours_objects);
  const double ours = quantile(ours_s, 0.5), bare = quantile(raw_s, 0.5), bare_decode = quantile(raw_decode_s, 0.5);
  std::printf("\n== list %zu Nodes in pages of %d (%.1f MB, %.0f bytes/node on the wire), median of %d runs\n",
              ours_objects, limit, raw_bytes / 1e6, raw_bytes / n, runs);
  std::printf("%-46s %10.0f objects/s  (%7.1f ms)\n", "ours: list_all + decode + trim (cpprestsdk)", n / ours, ours * 1e3);
  std::printf("%-46s %10.0f objects/s  (%7.1f ms, %.0f MB/s)\n", "raw: libcurl, bytes only (the floor)", n / bare,
              bare * 1e3, raw_bytes / bare / 1e6);
  std::printf("%-46s %10.0f objects/s  (%7.1f ms)\n", "raw + nlohmann parse + trim", n / bare_decode,
              bare_decode * 1e3);
  std::printf("ratio ours/raw bytes-only: %.2f (throughput %.2f of the floor); ours/(raw+decode): %.2f\n", ours / bare,
              bare / ours, ours / bare_decode);
  auto runs_of = [](const char* name, const std::vector<double>& v) {
    std::printf("  %-12s", name);
    for (double s : v) std::printf(" %7.1f", s * 1e3);
    std::printf(" ms\n");
  };
  std::printf("every run, in order:\n");
  runs_of("ours", ours_s);
  runs_of("raw", raw_s);
  runs_of("raw+decode", raw_decode_s);
}

}  // namespace

int main() {
  const char* dir = std::getenv("RR_KUBE_DIR");
  if (dir == nullptr || *dir == '\0') {
    std::printf("watch_bench: skipped: RR_KUBE_DIR is not set. It needs a control plane: run scripts/bench.sh, "
                "or point RR_KUBE_DIR at a scripts/kube-local.sh instance.\n");
    return 0;
  }
  auto env_file = rr::bench::read_env_file(std::string(dir) + "/env");
  if (!env_file) die("cannot read " + std::string(dir) + "/env");
  auto& env = *env_file;
  for (const char* key : {"RR_KUBE_SERVER", "RR_KUBE_CA", "RR_KUBE_ADMIN_TOKEN"}) {
    if (env[key].empty()) die(std::string(dir) + "/env has no " + key);
  }
  // Our client on the same credentials as the raw one: the admin bearer token.
  auto config = kube::load_kubeconfig(std::string(dir) + "/kubeconfig-token");
  if (!config.ok()) die(config.error().describe());
  kube::RestClientOptions options;
  options.qps = 0;  // no client-side rate limit: the benchmark measures the wire and the decode
  auto client = kube::RestKubeClient::connect(*config, options);
  if (!client.ok()) die(client.error().describe());
  curl_global_init(CURL_GLOBAL_DEFAULT);
  RawClient raw{env["RR_KUBE_SERVER"], env["RR_KUBE_CA"], "Authorization: Bearer " + env["RR_KUBE_ADMIN_TOKEN"]};

  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNamespace}}}};
  auto created = (*client)->create(kube::resources::namespaces(), "", ns);
  if (!created.ok() && created.error().kind != kube::ErrorKind::AlreadyExists) {
    die("create namespace: " + created.error().describe());
  }

  watch_latency(**client, raw, env_int("RR_BENCH_WATCH_WRITES", 200));

  const char* own = std::getenv("RR_BENCH_OWN_CONTROL_PLANE");
  if (own == nullptr || std::string(own) != "1") {
    std::printf("\nlist throughput: skipped: it creates %d Nodes, which it does only in a control plane of its own "
                "(RR_BENCH_OWN_CONTROL_PLANE=1, as scripts/bench.sh sets).\n",
                env_int("RR_BENCH_NODES", 10000));
  } else {
    list_throughput(**client, raw, env_int("RR_BENCH_NODES", 10000), env_int("RR_BENCH_RUNS", 5));
  }
  curl_global_cleanup();
  return 0;
}
