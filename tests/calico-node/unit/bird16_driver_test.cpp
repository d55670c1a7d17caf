// The driver against a real BIRD 1.6 child: write before start, reload only on
// change, keep the last good config when BIRD refuses one. birdc is wrapped by
// a script that counts its calls, so "no reload" is observed, not assumed.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <atomic>
#include <thread>

#include "confd/bird16_renderer.h"
#include "fakes/real_bird.h"
#include "integration/support/eventually.h"
#include "node/bird16_driver.h"
#include "node/bird16_process.h"
#include "node/command.h"
#include "unit/bird1.h"
#include "unit/fixtures.h"

namespace rr::calico {
namespace {

namespace fs = std::filesystem;
using ::kube::testing::read_file;
using ::rr::testing::eventually;

class Bird16DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/rr-b16.XXXXXX";  // short: BIRD's control socket lives here
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    birdc_ = dir_ / "birdc";
    std::ofstream(birdc_) << "#!/bin/sh\necho call >> " << (dir_ / "birdc.calls").string() << "\nexec "
                          << testing::birdc1_binary() << " \"$@\"\n";
    fs::permissions(birdc_, fs::perms::owner_all);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Bird16DriverOptions options() const {
    return {(dir_ / "bird.cfg").string(), (dir_ / "bird.ctl").string(), testing::bird1_binary(), birdc_.string()};
  }
  int birdc_calls() const {
    std::istringstream in(read_file(dir_ / "birdc.calls"));
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
  // A thread supervising `bird` until the returned jthread goes, which stops BIRD and joins. Keep
  // it in a local declared after `bird` (and after whatever bird's on_exit refers to), so it goes
  // first: the thread used to live in the fixture and was joined in TearDown, after the test body
  // had destroyed `bird` under it (a data race TSan reported, a use after scope).
  [[nodiscard]] std::jthread supervise(Bird16Process& bird) {
    return std::jthread([&bird](std::stop_token stop) { bird.run(stop); });
  }
  bool bird_started() const { return eventually([&] { return fs::exists(dir_ / "bird.ctl"); }); }
  std::string birdc(const std::string& command) const {
    return run_command({testing::birdc1_binary(), "-s", (dir_ / "bird.ctl").string(), command}).output;
  }

  // A node with no BGP sessions: BIRD binds nothing but its control socket.
  static std::string config_announcing(const std::string& pod_cidr) {
    NodeInputs in;
    in.node_name = "n1";
    in.nodes = {testing::node("n1", "10.0.0.1", "r1", pod_cidr)};
    in.configurations = {testing::mesh(false)};
    return render_bird16(*build_node_bird_config(in));
  }

  fs::path dir_;
  fs::path birdc_;
};

TEST_F(Bird16DriverTest, WritesBeforeStartThenReloadsOnlyOnChange) {
  Bird16Driver driver(options());
  const std::string first = config_announcing("10.1.1.0/24");
  EXPECT_EQ(driver.apply(first, /*bird_running=*/false), ApplyOutcome::Written);
  EXPECT_EQ(read_file(dir_ / "bird.cfg"), first);
  EXPECT_EQ(fs::status(dir_ / "bird.cfg").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(birdc_calls(), 0);

  Bird16Process bird({testing::bird1_binary(), (dir_ / "bird.cfg").string(), (dir_ / "bird.ctl").string()});
  const std::jthread supervisor = supervise(bird);
  ASSERT_TRUE(bird_started()) << "BIRD 1.6 did not start";
  ASSERT_TRUE(eventually([&] { return birdc("show route").find("10.1.1.0/24") != std::string::npos; }));

  EXPECT_EQ(driver.apply(first, true), ApplyOutcome::Unchanged);
  EXPECT_EQ(birdc_calls(), 0);

  const std::string second = config_announcing("10.1.2.0/24");
  EXPECT_EQ(driver.apply(second, true), ApplyOutcome::Reconfigured) << driver.last_error();
  EXPECT_EQ(birdc_calls(), 1);
  EXPECT_EQ(read_file(dir_ / "bird.cfg"), second);
  EXPECT_TRUE(eventually([&] {
    const std::string routes = birdc("show route");
    return routes.find("10.1.2.0/24") != std::string::npos && routes.find("10.1.1.0/24") == std::string::npos;
  }));
  EXPECT_EQ(driver.apply(second, true), ApplyOutcome::Unchanged);
  EXPECT_EQ(birdc_calls(), 1);
}

TEST_F(Bird16DriverTest, RefusedConfigLeavesTheLastGoodOne) {
  Bird16Driver driver(options());
  const std::string good = config_announcing("10.1.1.0/24");
  ASSERT_EQ(driver.apply(good, false), ApplyOutcome::Written);
  Bird16Process bird({testing::bird1_binary(), (dir_ / "bird.cfg").string(), (dir_ / "bird.ctl").string()});
  const std::jthread supervisor = supervise(bird);
  ASSERT_TRUE(bird_started()) << "BIRD 1.6 did not start";

  const std::string bad = good + "protocol bgp Broken from bgp_template { neighbor 10.0.0.2 as 64512; no such option; }\n";
  EXPECT_EQ(driver.apply(bad, true), ApplyOutcome::Refused);
  EXPECT_FALSE(driver.last_error().empty());
  EXPECT_EQ(read_file(dir_ / "bird.cfg"), good);
  EXPECT_EQ(driver.applied_text(), good);
  EXPECT_EQ(birdc_calls(), 0);
  EXPECT_EQ(driver.apply(bad, true), ApplyOutcome::Refused);  // remembered, not re-checked into a reload
  EXPECT_EQ(birdc_calls(), 0);
  EXPECT_FALSE(fs::exists(dir_ / "bird.cfg.check"));

  // BIRD restarted meanwhile would read the last good file.
  EXPECT_NE(birdc("show route").find("10.1.1.0/24"), std::string::npos);
  EXPECT_EQ(driver.apply(config_announcing("10.1.3.0/24"), true), ApplyOutcome::Reconfigured);
}

TEST_F(Bird16DriverTest, UnwritableDirectoryFailsWithoutRememberingARefusal) {
  Bird16DriverOptions o = options();
  o.config_path = (dir_ / "missing" / "bird.cfg").string();
  Bird16Driver driver(o);
  const std::string text = config_announcing("10.1.1.0/24");
  EXPECT_EQ(driver.apply(text, false), ApplyOutcome::Failed);
  EXPECT_NE(driver.last_error().find("cannot write"), std::string::npos) << driver.last_error();
  fs::create_directories(dir_ / "missing");
  EXPECT_EQ(driver.apply(text, false), ApplyOutcome::Written) << driver.last_error();
}

TEST_F(Bird16DriverTest, UnreachableBirdIsRetried) {
  Bird16Driver driver(options());
  const std::string first = config_announcing("10.1.1.0/24");
  ASSERT_EQ(driver.apply(first, false), ApplyOutcome::Written);
  const std::string second = config_announcing("10.1.2.0/24");
  // Told BIRD runs, but its socket is not there yet: the reload stays pending.
  EXPECT_EQ(driver.apply(second, true), ApplyOutcome::Failed);
  EXPECT_TRUE(driver.reload_pending());
  EXPECT_EQ(read_file(dir_ / "bird.cfg"), second);
  Bird16Process bird({testing::bird1_binary(), (dir_ / "bird.cfg").string(), (dir_ / "bird.ctl").string()});
  const std::jthread supervisor = supervise(bird);
  ASSERT_TRUE(bird_started()) << "BIRD 1.6 did not start";
  EXPECT_EQ(driver.apply(second, true), ApplyOutcome::Reconfigured) << driver.last_error();
  EXPECT_FALSE(driver.reload_pending());
}

TEST_F(Bird16DriverTest, BirdRestartedAfterItExits) {
  Bird16Driver driver(options());
  ASSERT_EQ(driver.apply(config_announcing("10.1.1.0/24"), false), ApplyOutcome::Written);
  Bird16Process bird({testing::bird1_binary(), (dir_ / "bird.cfg").string(), (dir_ / "bird.ctl").string()});
  std::atomic<int> exits{0};
  bird.set_on_exit([&exits](int) { ++exits; });
  const std::jthread supervisor = supervise(bird);
  ASSERT_TRUE(bird_started()) << "BIRD 1.6 did not start";
  EXPECT_NE(birdc("down").find("Shutdown"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return bird.restarts() == 1; }));
  EXPECT_TRUE(eventually([&] { return birdc("show route").find("10.1.1.0/24") != std::string::npos; }));
  EXPECT_EQ(exits, 1);
}

}  // namespace
}  // namespace rr::calico
