#include "kube/probe_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace kube {
namespace {

struct Response {
  int status = 0;
  std::string headers;  // lower-cased
  std::string body;
};

// A plain HTTP/1.1 GET over a socket to 127.0.0.1: the server closes the connection after each reply.
Response get(int port, const std::string& path) {
  Response r;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    ADD_FAILURE() << "socket: " << std::strerror(errno);
    return r;
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "connect to 127.0.0.1:" << port << ": " << std::strerror(errno);
    ::close(fd);
    return r;
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ADD_FAILURE() << "send: " << std::strerror(errno);
  }
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);

  auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) {
    ADD_FAILURE() << "not an HTTP response: " << raw;
    return r;
  }
  r.status = std::stoi(raw.substr(9, 3));
  r.headers = raw.substr(0, head_end);
  for (auto& c : r.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  r.body = raw.substr(head_end + 4);
  return r;
}

// One server for the whole suite: stopping a civetweb server takes a while.
class ProbeServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = std::make_shared<prometheus::Registry>();
    auto& family = prometheus::BuildCounter()
                       .Name("rr_test_reconciles_total")
                       .Help("Reconciles by result.")
                       .Register(*registry_);
    family.Add({{"result", "ok"}}).Increment(3);
    family.Add({{"result", "error"}});
    ProbeServerOptions options;
    options.listen = "127.0.0.1:0";
    options.registry = registry_;
    options.healthz = [] { return ProbeResult{}; };
    options.readyz = [] {
      std::lock_guard lock(mu_);
      return ready_;
    };
    auto started = ProbeServer::start(std::move(options));
    ASSERT_TRUE(started.ok()) << started.error().describe();
    server_ = std::move(*started);
  }
  static void TearDownTestSuite() {
    server_.reset();
    registry_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(server_) << "the server did not start";
    set_ready({true, ""});
  }
  static void set_ready(ProbeResult r) {
    std::lock_guard lock(mu_);
    ready_ = std::move(r);
  }
  static int port() { return server_->ports().front(); }

  static inline std::shared_ptr<prometheus::Registry> registry_;
  static inline std::unique_ptr<ProbeServer> server_;
  static inline std::mutex mu_;
  static inline ProbeResult ready_;
};

TEST_F(ProbeServerTest, ListensOnAPickedLoopbackPort) {
  ASSERT_EQ(server_->ports().size(), 1u);
  EXPECT_GT(port(), 0);
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(port()));
}

TEST(ProbeServerAddress, TheUrlNamesTheAddressItListensOn) {
  auto server = ProbeServer::start({"127.0.0.2:0", nullptr, nullptr, nullptr});
  ASSERT_TRUE(server.ok()) << server.error().message;
  ASSERT_EQ((*server)->ports().size(), 1u);
  EXPECT_EQ((*server)->url(), "http://127.0.0.2:" + std::to_string((*server)->ports().front()));
}

TEST_F(ProbeServerTest, MetricsServesTheRegistryInTextFormat) {
  auto r = get(port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.headers.find("content-type: text/plain; version=0.0.4"), std::string::npos) << r.headers;
  EXPECT_NE(r.body.find("# HELP rr_test_reconciles_total Reconciles by result.\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("# TYPE rr_test_reconciles_total counter\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("rr_test_reconciles_total{result=\"ok\"} 3\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("rr_test_reconciles_total{result=\"error\"} 0\n"), std::string::npos) << r.body;
}

TEST_F(ProbeServerTest, MetricsReflectChangesBetweenScrapes) {
  auto& family = prometheus::BuildCounter().Name("rr_test_scrapes_total").Help("Scrapes.").Register(*registry_);
  auto& counter = family.Add({});
  counter.Increment();
  EXPECT_NE(get(port(), "/metrics").body.find("rr_test_scrapes_total 1\n"), std::string::npos);
  counter.Increment(4);
  EXPECT_NE(get(port(), "/metrics").body.find("rr_test_scrapes_total 5\n"), std::string::npos);
}

TEST_F(ProbeServerTest, HealthzAnswersOk) {
  auto r = get(port(), "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_NE(r.headers.find("cache-control: no-store"), std::string::npos) << r.headers;
}

TEST_F(ProbeServerTest, ReadyzAnswers503WithTheReasonUntilReady) {
  set_ready({false, "informers not synced: leases"});
  auto r = get(port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "informers not synced: leases\n");

  set_ready({true, ""});
  r = get(port(), "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(ProbeServerTest, UnknownPathsAre404) {
  for (const char* path : {"/", "/nope", "/healthzz", "/healthz/extra", "/metrics.json", "/readyz/"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(get(port(), path).status, 404);
  }
  EXPECT_EQ(get(port(), "/healthz?verbose=1").status, 200) << "a query string is not part of the path";
}

TEST_F(ProbeServerTest, AnswersConcurrentScrapes) {
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&ok, i] {
      if (get(port(), i % 2 ? "/metrics" : "/healthz").status == 200) ++ok;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 8);
}

TEST(ProbeServer, ABusyPortIsAnErrorNamingTheAddress) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  ProbeServerOptions options;
  options.listen = listen;
  auto started = ProbeServer::start(std::move(options));
  ::close(fd);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().kind, ErrorKind::BadConfig);
  EXPECT_NE(started.error().message.find(listen), std::string::npos) << started.error().message;
}

}  // namespace
}  // namespace kube
