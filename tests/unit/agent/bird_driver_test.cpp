#include "fakes/real_bird.h"
#include "agent/bird_driver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bird/config_renderer.h"

extern char** environ;

namespace rr::agent {
namespace {

using kube::testing::eventually;
using kube::testing::TempDir;
using kube::testing::read_file;
using kube::testing::find_bird;
using kube::testing::RealBird;

using namespace std::chrono_literals;
using bird::Peer;
using bird::PeerRole;
using bird::ReflectorConfig;

struct FileId {
  ino_t inode = 0;
  mode_t mode = 0;
};

FileId file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino, static_cast<mode_t>(st.st_mode & 07777)};
}

Peer local_peer(PeerRole role, std::string name, std::string address, std::uint32_t as = 0) {
  Peer p;
  p.role = role;
  p.name = std::move(name);
  p.address = std::move(address);
  p.port = 11179;
  p.as_number = as;
  return p;
}

// A reflector on 127.0.3.1:11179 whose peers on 127.0.3.x do not exist: BIRD just tries to connect.
ReflectorConfig reflector(std::vector<Peer> peers = {}) {
  ReflectorConfig c;
  c.router_id = "127.0.3.1";
  c.as_number = 64512;
  c.cluster_id = "244.0.3.1";
  c.listen_address = "127.0.3.1";
  c.listen_port = 11179;
  c.timers.connect_retry_seconds = 2;
  c.timers.connect_delay_seconds = 1;
  c.timers.error_wait_min_seconds = 1;
  c.timers.error_wait_max_seconds = 10;
  c.peers = std::move(peers);
  return c;
}

// `bird -p` accepts it (the neighbor is a literal), BIRD's configure does not:
// "::" is an unspecified neighbor ("Neighbor must be configured").
ReflectorConfig refused_by_bird(std::vector<Peer> peers) {
  ReflectorConfig c = reflector(std::move(peers));
  c.ipv6 = true;
  c.listen_address_v6 = "::1";
  c.peers.push_back(local_peer(PeerRole::External, "nowhere", "::", 65000));
  return c;
}

std::vector<std::string> protocol_names(bird::BirdControlClient& control) {
  std::vector<std::string> names;
  auto protocols = control.show_protocols_all(2s);
  if (!protocols.ok()) return names;
  for (const auto& p : *protocols) names.push_back(p.name);
  return names;
}

bool lists(bird::BirdControlClient& control, const std::string& name) {
  const auto names = protocol_names(control);
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(BirdDriverRealDaemon, AppliesChecksRefusesAndRecovers) {
  const std::string binary = find_bird();
  ASSERT_FALSE(binary.empty()) << "bird is missing: scripts/setup.sh installs Debian's bird2";
  TempDir dir("rr-bird-driver-test");
  const std::string conf = dir.file("bird.conf");
  const TempDir scratch("rr-bird-driver-scratch");
  bird::BirdControlClient control;
  BirdDriver driver({conf, binary, scratch.path()}, control);

  const ReflectorConfig one = reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2")});
  ASSERT_TRUE(driver.write_initial(one).ok());
  EXPECT_EQ(read_file(conf), bird::render_bird_config(one));
  EXPECT_EQ(driver.applied_text(), bird::render_bird_config(one));
  EXPECT_EQ(file_id(conf).mode, 0600u);

  RealBird daemon(binary, dir, conf);
  ASSERT_TRUE(daemon.start());
  ASSERT_TRUE(eventually([&] { return control.connect(daemon.socket(), 1s).ok(); })) << daemon.log();
  EXPECT_TRUE(lists(control, "client_worker1"));

  // The same config: no file write, no BIRD call.
  const FileId before = file_id(conf);
  EXPECT_EQ(driver.apply(one), ApplyOutcome::Unchanged);
  EXPECT_EQ(file_id(conf).inode, before.inode);

  // A new peer: checked, written, loaded.
  const ReflectorConfig two =
      reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2"), local_peer(PeerRole::Client, "worker2", "127.0.3.3")});
  EXPECT_EQ(driver.apply(two), ApplyOutcome::Reconfigured) << driver.last_error();
  EXPECT_TRUE(driver.last_error().empty());
  EXPECT_TRUE(eventually([&] { return lists(control, "client_worker2"); })) << daemon.log();
  EXPECT_TRUE(lists(control, "client_worker1"));
  EXPECT_EQ(read_file(conf), bird::render_bird_config(two));
  EXPECT_EQ(file_id(conf).mode, 0600u);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"bird.conf", "bird.ctl", "bird.log", "bird.pid"}))
      << "no temp file is left behind";
  EXPECT_TRUE(scratch.entries().empty()) << "the checked copy is removed";

  // `bird -p` refuses: the file is not touched and BIRD is not asked.
  const ReflectorConfig bad = refused_by_bird(two.peers);
  ASSERT_TRUE(bird::validate_config(bad).ok()) << "pick a config BIRD refuses but validate_config accepts";
  const FileId good = file_id(conf);
  EXPECT_EQ(driver.apply(bad), ApplyOutcome::Refused);
  EXPECT_NE(driver.last_error().find("bird refused the config"), std::string::npos) << driver.last_error();
  EXPECT_NE(driver.last_error().find("Neighbor must be configured"), std::string::npos) << driver.last_error();
  EXPECT_EQ(file_id(conf).inode, good.inode);
  EXPECT_EQ(read_file(conf), bird::render_bird_config(two));
  EXPECT_EQ(driver.applied_text(), bird::render_bird_config(two));
  EXPECT_FALSE(lists(control, bird::protocol_name(PeerRole::External, "nowhere")));

  // BIRD's own configure refuses (the check is skipped by a stand-in that accepts
  // everything): the last good text goes back on disk for BIRD's next start.
  BirdDriver unchecked({conf, dir.script("accepting-bird", "exit 0\n"), scratch.path()}, control);
  ASSERT_TRUE(unchecked.write_initial(two).ok());
  EXPECT_EQ(unchecked.apply(bad), ApplyOutcome::Refused);
  EXPECT_NE(unchecked.last_error().find("Neighbor must be configured"), std::string::npos) << unchecked.last_error();
  EXPECT_EQ(read_file(conf), bird::render_bird_config(two));
  EXPECT_EQ(file_id(conf).mode, 0600u);
  EXPECT_TRUE(lists(control, "client_worker2"));

  // BIRD down: Failed, the last good text stays on disk, and BIRD restarts on it.
  const ReflectorConfig three = reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2"),
                                           local_peer(PeerRole::Client, "worker2", "127.0.3.3"),
                                           local_peer(PeerRole::Mesh, "rr2", "127.0.3.4")});
  daemon.stop();
  EXPECT_EQ(driver.apply(three), ApplyOutcome::Failed);
  EXPECT_FALSE(driver.last_error().empty());
  EXPECT_EQ(read_file(conf), bird::render_bird_config(two));
  EXPECT_EQ(driver.applied_text(), bird::render_bird_config(two));

  ASSERT_TRUE(daemon.start());
  ASSERT_TRUE(eventually([&] { return lists(control, "client_worker2"); })) << daemon.log();
  EXPECT_FALSE(lists(control, "mesh_rr2"));
  EXPECT_EQ(driver.apply(three), ApplyOutcome::Reconfigured) << driver.last_error();
  EXPECT_TRUE(eventually([&] { return lists(control, "mesh_rr2"); })) << daemon.log();
  EXPECT_EQ(read_file(conf), bird::render_bird_config(three));
  EXPECT_EQ(driver.apply(three), ApplyOutcome::Unchanged);
  daemon.stop();
}

// Below, a stand-in for `bird -p` and a control socket nobody listens on.
class BirdDriverTest : public ::testing::Test {
 protected:
  BirdDriverTest() {
    // Refuses any config naming "refuseme", the way BIRD words a refusal; counts its runs.
    checker_ = dir_.script("bird", "echo \"$3\" >> " + dir_.file("checks") + "\n" +
                                       "if grep -q refuseme \"$3\"; then\n"
                                       "  echo \"bird: $3:999:3 syntax error, unexpected CF_SYM_UNDEFINED\" >&2\n"
                                       "  exit 1\n"
                                       "fi\n");
    (void)control_.connect(dir_.file("nobody.ctl"), 100ms);  // keeps the path; BIRD is not there
  }
  int checks() const {
    std::ifstream in(dir_.file("checks"));
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }

  std::vector<std::string> checked_paths() const {
    std::ifstream in(dir_.file("checks"));
    std::vector<std::string> paths;
    for (std::string line; std::getline(in, line);) paths.push_back(line);
    return paths;
  }

  TempDir dir_{"rr-bird-driver-test"};
  TempDir scratch_{"rr-bird-driver-scratch"};
  std::string conf_ = dir_.file("bird.conf");
  std::string checker_;
  bird::BirdControlClient control_;
};

TEST_F(BirdDriverTest, RefusedByTheCheckLeavesTheFileAndBirdAlone) {
  BirdDriver driver({conf_, checker_, scratch_.path()}, control_);
  const ReflectorConfig one = reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2")});
  ASSERT_TRUE(driver.write_initial(one).ok());
  const FileId before = file_id(conf_);

  const ReflectorConfig refused = reflector({local_peer(PeerRole::Client, "refuseme", "127.0.3.9")});
  EXPECT_EQ(driver.apply(refused), ApplyOutcome::Refused);
  EXPECT_EQ(driver.last_error(), "bird refused the config: line 999:3: syntax error, unexpected CF_SYM_UNDEFINED");
  EXPECT_EQ(file_id(conf_).inode, before.inode);
  EXPECT_EQ(read_file(conf_), bird::render_bird_config(one));
  EXPECT_FALSE(control_.connected());
  EXPECT_EQ(checks(), 1);

  // The same text again: BIRD's verdict is remembered, not asked for again.
  EXPECT_EQ(driver.apply(refused), ApplyOutcome::Refused);
  EXPECT_NE(driver.last_error().find("syntax error"), std::string::npos);
  EXPECT_EQ(checks(), 1);

  // Back to what runs: nothing to do, and no refusal to report.
  EXPECT_EQ(driver.apply(one), ApplyOutcome::Unchanged);
  EXPECT_TRUE(driver.last_error().empty());
}

// In the reflector Pod only mounted volumes are writable: `bird -p` reads a copy in the
// scratch directory, whatever $TMPDIR says, and nothing is left there.
TEST_F(BirdDriverTest, TheCheckedCopyLivesInTheScratchDirectoryOnly) {
  const char* old_tmpdir = std::getenv("TMPDIR");
  const std::string saved = old_tmpdir != nullptr ? old_tmpdir : "";
  ::setenv("TMPDIR", dir_.file("no-such-dir").c_str(), 1);
  BirdDriver driver({conf_, checker_, scratch_.path()}, control_);
  ASSERT_TRUE(driver.write_initial(reflector()).ok());
  const auto outcome = driver.apply(reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2")}));
  if (old_tmpdir != nullptr) {
    ::setenv("TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  EXPECT_EQ(outcome, ApplyOutcome::Failed) << "checked, then BIRD is unreachable: " << driver.last_error();
  const auto paths = checked_paths();
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(std::filesystem::path(paths[0]).parent_path(), scratch_.path()) << paths[0];
  EXPECT_TRUE(scratch_.entries().empty());

  BirdDriver without_scratch({conf_, checker_, ""}, control_);
  ASSERT_TRUE(without_scratch.write_initial(reflector()).ok());
  EXPECT_EQ(without_scratch.apply(reflector({local_peer(PeerRole::Client, "worker2", "127.0.3.3")})), ApplyOutcome::Failed);
  EXPECT_NE(without_scratch.last_error().find("scratch"), std::string::npos) << without_scratch.last_error();
  EXPECT_EQ(checked_paths().size(), 1u) << "BIRD is not run without a place for its copy";
}

TEST_F(BirdDriverTest, InvalidConfigIsRefusedBeforeBirdSeesIt) {
  BirdDriver driver({conf_, checker_, scratch_.path()}, control_);
  const ReflectorConfig one = reflector();
  ASSERT_TRUE(driver.write_initial(one).ok());
  ReflectorConfig invalid = reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2")});
  invalid.peers[0].password = "s3cret-pass";
  invalid.peers[0].address = "not-an-address";
  EXPECT_EQ(driver.apply(invalid), ApplyOutcome::Refused);
  EXPECT_NE(driver.last_error().find("not-an-address"), std::string::npos) << driver.last_error();
  EXPECT_EQ(driver.last_error().find("s3cret-pass"), std::string::npos);
  EXPECT_EQ(read_file(conf_), bird::render_bird_config(one));
  EXPECT_EQ(checks(), 0);

  EXPECT_FALSE(driver.write_initial(invalid).ok());
  EXPECT_EQ(read_file(conf_), bird::render_bird_config(one));
}

TEST_F(BirdDriverTest, BirdUnreachableFailsKeepsTheLastGoodFileAndRetries) {
  BirdDriver driver({conf_, checker_, scratch_.path()}, control_);
  const ReflectorConfig one = reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2")});
  ASSERT_TRUE(driver.write_initial(one).ok());
  const ReflectorConfig two =
      reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2"), local_peer(PeerRole::Client, "worker2", "127.0.3.3")});
  EXPECT_EQ(driver.apply(two), ApplyOutcome::Failed);
  EXPECT_FALSE(driver.last_error().empty());
  EXPECT_EQ(read_file(conf_), bird::render_bird_config(one));
  EXPECT_EQ(file_id(conf_).mode, 0600u);
  EXPECT_EQ(driver.applied_text(), bird::render_bird_config(one));
  // Not remembered as refused: the next apply tries again.
  EXPECT_EQ(driver.apply(two), ApplyOutcome::Failed);
  EXPECT_EQ(checks(), 2);
}

TEST_F(BirdDriverTest, ABinaryThatCannotRunIsAFailureNotARefusal) {
  BirdDriver driver({conf_, dir_.file("no-such-bird"), scratch_.path()}, control_);
  ASSERT_TRUE(driver.write_initial(reflector()).ok());
  EXPECT_EQ(driver.apply(reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2")})), ApplyOutcome::Failed);
  EXPECT_NE(driver.last_error().find("no-such-bird"), std::string::npos) << driver.last_error();
  EXPECT_EQ(read_file(conf_), bird::render_bird_config(reflector()));
}

TEST_F(BirdDriverTest, FileIsPrivateWhateverWasThereAndTheUmask) {
  std::ofstream(conf_) << "old\n";
  ::chmod(conf_.c_str(), 0644);
  const mode_t old_umask = ::umask(0);
  BirdDriver driver({conf_, checker_, scratch_.path()}, control_);
  ReflectorConfig config = reflector({local_peer(PeerRole::Client, "worker1", "127.0.3.2")});
  config.peers[0].password = "s3cret-pass";
  const auto written = driver.write_initial(config);
  ::umask(old_umask);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(file_id(conf_).mode, 0600u);
  EXPECT_EQ(read_file(conf_), bird::render_bird_config(config));
  EXPECT_EQ(dir_.entries(), (std::vector<std::string>{"bird", "bird.conf"}));
}

}  // namespace
}  // namespace rr::agent
