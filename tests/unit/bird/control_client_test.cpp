#include "fakes/real_bird.h"
#include "bird/control_client.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "unit/bird/transcripts.h"

extern char** environ;

namespace rr::bird {
namespace {

using kube::testing::eventually;
using kube::testing::TempDir;
using kube::testing::find_bird;
using kube::testing::RealBird;

using namespace std::chrono_literals;
using kube::ErrorKind;
using testdata::transcript;

// A BIRD stand-in on a UNIX socket: greets, then answers each command line with
// what the handler scripts. It serves one connection at a time, as a client holds one.
class FakeBirdServer {
 public:
  struct Response {
    std::string bytes;
    bool close_after = false;  // close the connection after sending (BIRD restarted / died)
    bool stall = false;        // send nothing; hold the connection until the client leaves
    std::size_t chunk = 0;     // send in pieces of this size, 1 ms apart (0: all at once)
  };
  using Handler = std::function<Response(const std::string& command)>;

  explicit FakeBirdServer(Handler handler, std::string greeting = "0001 BIRD 2.0.12 ready.\n")
      : handler_(std::move(handler)), greeting_(std::move(greeting)), path_(dir_.file("bird.ctl")) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 4) != 0) {
      throw std::runtime_error("fake bird: bind/listen failed");
    }
    if (::pipe(stop_pipe_) != 0) throw std::runtime_error("pipe failed");
    thread_ = std::thread([this] { run(); });
  }

  ~FakeBirdServer() {
    (void)!::write(stop_pipe_[1], "x", 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }

  const std::string& path() const { return path_; }
  int connections() const { return connections_; }
  int closed_connections() const { return closed_; }
  std::vector<std::string> commands() const {
    std::lock_guard lock(mu_);
    return commands_;
  }

 private:
  // Waits for `fd` to become readable; false when the server is stopping.
  bool wait_readable(int fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return false;
      if (fds[0].revents != 0) return true;
    }
  }

  void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void run() {
    while (wait_readable(listen_fd_)) {
      const int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      ++connections_;
      serve(conn);
      ::close(conn);
      ++closed_;
    }
  }

  void serve(int conn) {
    send_all(conn, greeting_);
    std::string buffer;
    char chunk[4096];
    while (wait_readable(conn)) {
      const ssize_t n = ::recv(conn, chunk, sizeof chunk, 0);
      if (n <= 0) return;  // the client left
      buffer.append(chunk, static_cast<std::size_t>(n));
      for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
        const std::string command = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        {
          std::lock_guard lock(mu_);
          commands_.push_back(command);
        }
        const Response response = handler_(command);
        if (response.stall) {
          while (wait_readable(conn)) {
            if (::recv(conn, chunk, sizeof chunk, 0) <= 0) return;
          }
          return;
        }
        if (response.chunk == 0) {
          send_all(conn, response.bytes);
        } else {
          for (std::size_t i = 0; i < response.bytes.size(); i += response.chunk) {
            send_all(conn, std::string_view(response.bytes).substr(i, response.chunk));
            std::this_thread::sleep_for(1ms);
          }
        }
        if (response.close_after) return;
      }
    }
  }

  Handler handler_;
  std::string greeting_;
  TempDir dir_{"rr-bird-test"};
  std::string path_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<int> connections_{0};
  std::atomic<int> closed_{0};
  mutable std::mutex mu_;
  std::vector<std::string> commands_;
  std::thread thread_;
};

FakeBirdServer::Response transcript_for(const std::string& command) {
  if (command == "show status") return {transcript("show_status_iso_long.txt")};
  if (command == "show protocols all") return {transcript("show_protocols_all_rr_iso_long.txt")};
  if (command == "configure \"/etc/bird/good.conf\"") return {transcript("configure_reconfigured.txt")};
  if (command == "configure \"/etc/bird/removed-peer.conf\"") return {transcript("configure_in_progress.txt")};
  if (command == "configure \"/etc/bird/broken.conf\"") return {transcript("configure_syntax_error.txt")};
  if (command == "configure check \"/etc/bird/good.conf\"") return {transcript("configure_check_ok.txt")};
  if (command == "configure check \"/etc/bird/broken.conf\"") return {transcript("configure_check_syntax_error.txt")};
  return {transcript("unknown_command.txt")};
}

TEST(BirdControlClient, ReadsTheGreetingAndParsesReplies) {
  FakeBirdServer server(transcript_for);
  BirdControlClient client;
  ASSERT_TRUE(client.connect(server.path(), 2s).ok());
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.greeting(), "BIRD 2.0.12 ready.");

  auto status = client.show_status();
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->router_id, "127.0.2.1");

  auto protocols = client.show_protocols_all();
  ASSERT_TRUE(protocols.ok()) << protocols.error().describe();
  EXPECT_EQ(protocols->size(), 8u);

  auto unknown = client.command("frobnicate now");
  ASSERT_TRUE(unknown.ok()) << unknown.error().describe();  // an error reply is still a reply
  EXPECT_TRUE(unknown->is_error());
  EXPECT_EQ(unknown->final_code, 9001);

  EXPECT_EQ(server.commands(), (std::vector<std::string>{"show status", "show protocols all", "frobnicate now"}));
  EXPECT_EQ(server.connections(), 1);
}

TEST(BirdControlClient, ConfigureMapsBirdsAnswers) {
  FakeBirdServer server(transcript_for);
  BirdControlClient client;
  ASSERT_TRUE(client.connect(server.path(), 2s).ok());

  struct Case {
    std::string name;
    std::function<kube::Status()> call;
    std::optional<ErrorKind> error;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"reconfigured", [&] { return client.configure("/etc/bird/good.conf"); }, std::nullopt, ""},
      {"in progress", [&] { return client.configure("/etc/bird/removed-peer.conf"); }, std::nullopt, ""},
      {"syntax error", [&] { return client.configure("/etc/bird/broken.conf"); }, ErrorKind::Invalid,
       "broken.conf:5:3 syntax error"},
      {"check ok", [&] { return client.configure_check("/etc/bird/good.conf"); }, std::nullopt, ""},
      {"check syntax error", [&] { return client.configure_check("/etc/bird/broken.conf"); }, ErrorKind::Invalid,
       "syntax error"},
      {"quote in path, not sent", [&] { return client.configure("/etc/bird/\"x.conf"); }, ErrorKind::Invalid,
       "cannot be quoted"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    kube::Status status = c.call();
    if (!c.error) {
      EXPECT_TRUE(status.ok()) << status.error().describe();
      continue;
    }
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().kind, *c.error);
    EXPECT_NE(status.error().message.find(c.message_part), std::string::npos) << status.error().message;
  }
  EXPECT_EQ(server.commands().size(), 5u);
  EXPECT_EQ(server.commands()[0], "configure \"/etc/bird/good.conf\"");
  EXPECT_EQ(server.commands()[3], "configure check \"/etc/bird/good.conf\"");
  EXPECT_TRUE(client.connected());  // error replies keep the connection
}

TEST(BirdControlClient, RepliesArrivingInPiecesAreReassembled) {
  FakeBirdServer server([](const std::string& command) {
    FakeBirdServer::Response r = transcript_for(command);
    r.chunk = command == "show status" ? 1 : 97;
    return r;
  });
  BirdControlClient client;
  ASSERT_TRUE(client.connect(server.path(), 2s).ok());
  auto status = client.show_status();
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->last_reconfiguration, "2026-11-27 10:33:31.034");
  auto protocols = client.show_protocols_all(10s);
  ASSERT_TRUE(protocols.ok()) << protocols.error().describe();
  EXPECT_EQ(protocols->size(), 8u);
}

TEST(BirdControlClient, StalledReplyTimesOutThenTheNextCommandReconnects) {
  FakeBirdServer server([](const std::string& command) {
    if (command == "show status") return FakeBirdServer::Response{"", false, true};
    return transcript_for(command);
  });
  BirdControlClient client;
  ASSERT_TRUE(client.connect(server.path(), 2s).ok());

  const auto started = std::chrono::steady_clock::now();
  auto stalled = client.command("show status", 200ms);
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(stalled.ok());
  EXPECT_EQ(stalled.error().kind, ErrorKind::Transient);
  EXPECT_TRUE(stalled.error().maybe_applied);
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 3s);
  EXPECT_FALSE(client.connected());  // a half-read reply must not leak into the next one

  auto protocols = client.show_protocols_all();
  ASSERT_TRUE(protocols.ok()) << protocols.error().describe();
  EXPECT_EQ(server.connections(), 2);
}

TEST(BirdControlClient, BrokenRepliesAreTransientOrProtocolErrors) {
  const std::string half = transcript("show_protocols_all_rr_iso_long.txt").substr(0, 3000);
  struct Case {
    std::string name;
    FakeBirdServer::Response response;
    ErrorKind kind;
  };
  const std::vector<Case> cases = {
      {"closed in the middle of a reply", {half, true}, ErrorKind::Transient},
      {"closed inside the final line", {"1002-p1 BGP --- up 10:00:00.000\n0000", true}, ErrorKind::Transient},
      {"closed before answering", {"", true}, ErrorKind::Transient},
      {"garbage", {"HTTP/1.1 400 Bad Request\r\n\r\n"}, ErrorKind::Protocol},
      {"continuation first", {" orphan\n0000 \n"}, ErrorKind::Protocol},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeBirdServer server([&](const std::string&) { return c.response; });
    BirdControlClient client;
    ASSERT_TRUE(client.connect(server.path(), 2s).ok());
    auto reply = client.command("show protocols all", 2s);
    ASSERT_FALSE(reply.ok());
    EXPECT_EQ(reply.error().kind, c.kind) << reply.error().describe();
    EXPECT_FALSE(client.connected());
  }
}

TEST(BirdControlClient, ReconnectsLazilyAfterBirdClosedTheConnection) {
  // BIRD answering and then going away models a restart between two commands.
  FakeBirdServer server([](const std::string& command) {
    FakeBirdServer::Response r = transcript_for(command);
    r.close_after = true;
    return r;
  });
  BirdControlClient client;
  ASSERT_TRUE(client.connect(server.path(), 2s).ok());
  for (int i = 1; i <= 3; ++i) {
    SCOPED_TRACE(i);
    auto status = client.show_status();
    ASSERT_TRUE(status.ok()) << status.error().describe();
    ASSERT_TRUE(eventually([&] { return server.closed_connections() == i; }));
  }
  EXPECT_EQ(server.connections(), 3);
}

TEST(BirdControlClient, ConnectFailures) {
  TempDir dir("rr-bird-test");
  // A socket file nobody listens on: what a crashed BIRD leaves behind.
  const std::string stale = dir.file("stale.ctl");
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, stale.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  FakeBirdServer not_bird([](const std::string&) { return FakeBirdServer::Response{}; }, "hello\n");
  FakeBirdServer wrong_code([](const std::string&) { return FakeBirdServer::Response{}; }, "0000 \n");

  struct Case {
    std::string name;
    std::string path;
    ErrorKind kind;
  };
  const std::vector<Case> cases = {
      {"no such socket", dir.file("missing.ctl"), ErrorKind::Transient},
      {"connection refused", stale, ErrorKind::Transient},
      {"path too long", "/" + std::string(200, 'x'), ErrorKind::BadConfig},
      {"not BIRD", not_bird.path(), ErrorKind::Protocol},
      {"not a greeting", wrong_code.path(), ErrorKind::Protocol},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    BirdControlClient client;
    auto connected = client.connect(c.path, 1s);
    ASSERT_FALSE(connected.ok());
    EXPECT_EQ(connected.error().kind, c.kind) << connected.error().describe();
    EXPECT_FALSE(client.connected());
    // command() retries the connection itself, with the same outcome.
    auto reply = client.command("show status", 1s);
    ASSERT_FALSE(reply.ok());
    EXPECT_EQ(reply.error().kind, c.kind);
  }

  BirdControlClient never_connected;
  auto reply = never_connected.command("show status", 1s);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, ErrorKind::BadConfig);
}

TEST(BirdControlClient, RejectsCommandsThatAreNotOneLine) {
  FakeBirdServer server(transcript_for);
  BirdControlClient client;
  ASSERT_TRUE(client.connect(server.path(), 2s).ok());
  for (const std::string cmd : {"", "show status\nconfigure"}) {
    SCOPED_TRACE(cmd);
    auto reply = client.command(cmd);
    ASSERT_FALSE(reply.ok());
    EXPECT_EQ(reply.error().kind, ErrorKind::Invalid);
  }
  EXPECT_TRUE(server.commands().empty());
}

TEST(BirdControlClient, ConcurrentCommandsGetTheirOwnReplies) {
  FakeBirdServer server([](const std::string& command) {
    return FakeBirdServer::Response{"1007-" + command + "\n continued\n0000 \n", false, false, 5};
  });
  BirdControlClient client;
  ASSERT_TRUE(client.connect(server.path(), 2s).ok());
  std::atomic<int> mismatches{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string cmd = "show route for 10." + std::to_string(t) + ".0." + std::to_string(i);
        auto reply = client.command(cmd, 10s);
        if (!reply.ok()) {
          ++failures;
        } else if (reply->lines.size() != 3 || reply->lines[0].text != cmd || reply->lines[1].code != 1007) {
          ++mismatches;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(server.connections(), 1);
}

// --- a real BIRD ---------------------------------------------------------

TEST(BirdControlClientRealDaemon, StatusProtocolsConfigureAndRestart) {
  const std::string binary = find_bird();
  ASSERT_FALSE(binary.empty()) << "bird is missing: scripts/setup.sh installs Debian's bird2";
  TempDir dir("rr-bird-test");
  // Only a device protocol: BIRD binds nothing but its control socket.
  std::ofstream(dir.file("bird.conf")) << "log stderr all;\nrouter id 127.0.2.50;\nprotocol device {}\n";
  RealBird bird(binary, dir, dir.file("bird.conf"));
  ASSERT_TRUE(bird.start());

  BirdControlClient client;
  ASSERT_TRUE(eventually([&] { return client.connect(bird.socket(), 1s).ok(); }, 10s));
  EXPECT_EQ(client.greeting().substr(0, 7), "BIRD 2.");

  auto status = client.show_status();
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->router_id, "127.0.2.50");
  EXPECT_TRUE(status->up()) << status->message;

  auto protocols = client.show_protocols_all();
  ASSERT_TRUE(protocols.ok()) << protocols.error().describe();
  ASSERT_EQ(protocols->size(), 1u);
  EXPECT_EQ((*protocols)[0].proto, "Device");
  EXPECT_EQ((*protocols)[0].state, "up");

  // One protocol by name, as the session poll reads what BIRD's log named.
  const std::string device = (*protocols)[0].name;
  auto one = client.show_protocol_all(device);
  ASSERT_TRUE(one.ok()) << one.error().describe();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].name, device);
  EXPECT_EQ((*one)[0].state, "up");
  auto gone = client.show_protocol_all("client_gone");
  ASSERT_TRUE(gone.ok()) << gone.error().describe();
  EXPECT_TRUE(gone->empty()) << "8003 No protocols match: the session is not there";
  auto pattern = client.show_protocol_all("client_*");
  ASSERT_FALSE(pattern.ok());
  EXPECT_EQ(pattern.error().kind, ErrorKind::Invalid) << "a name is never a pattern";
  EXPECT_TRUE(client.show_status().ok()) << "the connection is still in step";

  EXPECT_TRUE(client.configure_check(bird.config()).ok());
  auto reconfigured = client.configure(bird.config());
  EXPECT_TRUE(reconfigured.ok()) << reconfigured.error().describe();

  const std::string broken = dir.file("broken.conf");
  std::ofstream(broken) << "router id 127.0.2.50;\nprotocol device {\n";
  auto refused = client.configure(broken);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::Invalid);
  EXPECT_NE(refused.error().message.find("broken.conf:"), std::string::npos) << refused.error().message;

  // BIRD restarts: the old connection is dead; the client notices and reconnects.
  bird.stop();
  auto while_down = client.show_status(1s);
  ASSERT_FALSE(while_down.ok());
  EXPECT_EQ(while_down.error().kind, ErrorKind::Transient);
  ASSERT_TRUE(bird.start());
  ASSERT_TRUE(eventually([&] { return client.show_status(1s).ok(); }, 10s));
  bird.stop();
}

}  // namespace
}  // namespace rr::bird
