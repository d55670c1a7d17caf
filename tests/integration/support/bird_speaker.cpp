#include "support/bird_speaker.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bird/control_client.h"
#include "support/control_plane.h"

namespace rr::testing {

BirdSpeaker::BirdSpeaker(std::string dir, SpeakerConfig config) : dir_(std::move(dir)), config_(std::move(config)) {
  std::filesystem::create_directories(dir_);
  write_config();
  std::vector<std::string> argv = config_.launcher;
  argv.insert(argv.end(), {"/usr/sbin/bird", "-f", "-c", dir_ + "/bird.conf", "-s", socket()});
  process_ = std::make_unique<ChildProcess>(argv, dir_ + "/bird.log");
  for (int i = 0; i < 100 && !std::filesystem::exists(socket()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

BirdSpeaker::~BirdSpeaker() {
  if (process_) process_->stop(std::chrono::seconds(5));
}

void BirdSpeaker::write_config() {
  std::vector<std::string> announce4, announce6;
  for (const auto& prefix : config_.announce) (is_ipv6(prefix) ? announce6 : announce4).push_back(prefix);
  const bool dual_stack = !config_.address_v6.empty();
  std::ostringstream c;
  c << "router id " << config_.address << ";\n"
    << "log stderr all;\n"
    << "protocol device {}\n";
  if (!config_.interface.empty()) {
    c << "protocol direct {\n  ipv4;\n" << (dual_stack ? "  ipv6;\n" : "") << "  interface \"" << config_.interface
      << "\";\n}\n";
  }
  auto statics = [&](const std::string& name, const std::string& channel, const std::vector<std::string>& prefixes) {
    if (prefixes.empty()) return;
    c << "protocol static " << name << " {\n  " << channel << ";\n";
    for (const auto& p : prefixes) c << "  route " << p << " blackhole;\n";
    c << "}\n";
  };
  statics("announced", "ipv4", announce4);
  statics("announced6", "ipv6", announce6);
  const std::string exported = config_.interface.empty() ? "all" : "where source = RTS_STATIC";
  for (const auto& p : config_.peers) {
    const bool v6 = is_ipv6(p.address);
    if (v6 && !dual_stack) {
      c << "# " << p.name << " (" << p.address << "): no session, this speaker has no IPv6 address\n";
      continue;
    }
    c << "protocol bgp " << p.name << " {\n"
      << "  local " << (v6 ? config_.address_v6 : config_.address) << " port " << config_.port << " as "
      << config_.as_number << ";\n"
      << "  strict bind yes;\n"
      << "  neighbor " << p.address << " port " << p.port << " as " << p.as_number << ";\n"
      << (p.multihop && p.as_number != config_.as_number ? "  multihop;\n" : "")
      << (p.password.empty() ? "" : "  password \"" + p.password + "\";\n")
      << "  connect delay time 1; connect retry time 2; error wait time 1,10;\n"
      << "  " << (v6 ? "ipv6" : "ipv4") << " { import all; export " << exported << "; };\n"
      << "}\n";
  }
  std::ofstream(dir_ + "/bird.conf") << c.str();
}

void BirdSpeaker::reconfigure(SpeakerConfig config) {
  config_ = std::move(config);
  write_config();
  birdc("configure");
}

std::string birdc(const std::string& socket, const std::string& command) {
  constexpr std::chrono::seconds kTimeout{10};
  rr::bird::BirdControlClient client;
  if (auto connected = client.connect(socket, kTimeout); !connected.ok()) {
    return "birdc: " + socket + ": " + connected.error().describe() + "\n";
  }
  auto reply = client.command(command, kTimeout);
  if (!reply.ok()) return "birdc: " + command + ": " + reply.error().describe() + "\n";
  // What birdc prints: the greeting, then the text of every line but the closing 0000.
  std::string out = client.greeting() + "\n";
  for (const auto& line : reply->lines) {
    if (line.code != 0) out += line.text + "\n";
  }
  return out;
}

std::string BirdSpeaker::birdc(const std::string& command) const { return rr::testing::birdc(socket(), command); }

std::optional<RouteInfo> parse_route(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  RouteInfo r;
  bool found = false;
  while (std::getline(lines, line)) {
    auto value_of = [&](const std::string& key) -> std::optional<std::string> {
      auto at = line.find(key);
      if (at == std::string::npos) return std::nullopt;
      std::string v = line.substr(at + key.size());
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    };
    // "10.1.0.0/24   unicast [rr0 ...]" or "unreachable [...]" when the next hop does not resolve here.
    if (!line.empty() && line[0] != ' ' && line[0] != '\t' && line.find('/') != std::string::npos &&
        line.find('[') != std::string::npos) {
      if (!found) r.reachable = line.find("unreachable") == std::string::npos;
      found = true;
    }
    if (auto v = value_of("BGP.next_hop:")) r.next_hop = *v;
    if (auto v = value_of("BGP.originator_id:")) r.originator_id = *v;
    if (auto v = value_of("BGP.as_path:")) r.as_path = *v;
    if (auto v = value_of("BGP.cluster_list:")) {
      std::istringstream ids(*v);
      std::string id;
      while (ids >> id) r.cluster_list.push_back(id);
    }
  }
  if (!found) return std::nullopt;
  return r;
}

bool is_ipv6(const std::string& address_or_prefix) { return address_or_prefix.find(':') != std::string::npos; }

std::optional<RouteInfo> BirdSpeaker::route(const std::string& prefix) const {
  return parse_route(birdc("show route all " + prefix));
}

std::string BirdSpeaker::session_state(const std::string& name) const {
  std::string out = birdc("show protocols " + name);
  return out.find("Established") != std::string::npos ? "Established" : out;
}

}  // namespace rr::testing
