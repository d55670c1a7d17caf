#include "bird/reply_parser.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "unit/bird/transcripts.h"

// Transcripts in testdata/transcripts/ are the raw bytes a real BIRD 2.0.12
// sent on its control socket (after the 0001 greeting) in reply to one
// command; see testdata/transcripts/README.md for the setup.

namespace rr::bird {
namespace {

using kube::ErrorKind;
using testdata::transcript;

Reply reply_from_text(const std::string& raw) {
  auto reply = parse_full_reply(raw);
  EXPECT_TRUE(reply.ok()) << (reply.ok() ? "" : reply.error().describe());
  return reply.ok() ? reply.value() : Reply{};
}

Reply reply_from(const std::string& name) {
  SCOPED_TRACE(name);
  return reply_from_text(transcript(name));
}

const ProtocolState* find(const std::vector<ProtocolState>& protocols, const std::string& name) {
  for (const ProtocolState& p : protocols) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// --- lines ---------------------------------------------------------------

TEST(BirdReplyLine, ParsesCodesSeparatorsAndContinuations) {
  struct Case {
    std::string name;
    std::string line;
    std::optional<int> previous;
    int code;
    bool last;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"more follows", "1002-device1    Device", std::nullopt, 1002, false, "device1    Device"},
      {"final line", "0003 Reconfigured", std::nullopt, 3, true, "Reconfigured"},
      {"final line with empty text", "0000 ", std::nullopt, 0, true, ""},
      {"empty detail line", "1006-", 1002, 1006, false, ""},
      {"continuation keeps the previous code", "     State:          UP", 1006, 1006, false,
       "    State:          UP"},
      {"blank continuation", " ", 1006, 1006, false, ""},
      {"error code", "8002 bird.conf:5:3 syntax error", std::nullopt, 8002, true, "bird.conf:5:3 syntax error"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto line = parse_reply_line(c.line, c.previous);
    ASSERT_TRUE(line.ok()) << line.error().describe();
    EXPECT_EQ(line->code, c.code);
    EXPECT_EQ(line->last, c.last);
    EXPECT_EQ(line->text, c.text);
  }
}

TEST(BirdReplyLine, RejectsMalformedLines) {
  struct Case {
    std::string name;
    std::string line;
    std::optional<int> previous;
  };
  const std::vector<Case> cases = {
      {"empty", "", 0},
      {"continuation first", " orphan", std::nullopt},
      {"words", "hello world", std::nullopt},
      {"code only", "0000", std::nullopt},
      {"three digits", "000 x", std::nullopt},
      {"letter in code", "00a0 x", std::nullopt},
      {"wrong separator", "0000:x", std::nullopt},
      {"plus (spontaneous echo)", "+0000 x", 1},
      {"binary", std::string("\x01\xff\x00\x02", 4), 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto line = parse_reply_line(c.line, c.previous);
    ASSERT_FALSE(line.ok());
    EXPECT_EQ(line.error().kind, ErrorKind::Protocol);
  }
}

// --- whole replies -------------------------------------------------------

TEST(BirdReplyParser, SplitsEveryCapturedTranscript) {
  struct Case {
    std::string file;
    int final_code;
    bool is_error;
    std::size_t lines;
  };
  const std::vector<Case> cases = {
      {"greeting.txt", 1, false, 1},
      {"show_protocols.txt", 0, false, 10},
      {"show_protocols_all_rr_iso_long.txt", 0, false, 184},
      {"show_protocols_all_client_default_timeformat.txt", 0, false, 116},
      {"show_protocols_all_external_peer.txt", 0, false, 60},
      {"show_protocols_all_one_filtered.txt", 0, false, 43},
      {"show_protocols_all_one_error.txt", 0, false, 15},
      {"show_status_iso_long.txt", 13, false, 7},
      {"show_status_default_timeformat.txt", 13, false, 7},
      {"configure_reconfigured.txt", 3, false, 2},
      {"configure_in_progress.txt", 4, false, 2},
      {"configure_check_ok.txt", 20, false, 2},
      {"configure_confirm_nothing_to_do.txt", 19, false, 1},
      {"configure_syntax_error.txt", 8002, true, 2},
      {"configure_check_syntax_error.txt", 8002, true, 2},
      {"configure_missing_file.txt", 8002, true, 2},
      {"unknown_command.txt", 9001, true, 1},
      {"show_protocols_unknown_name.txt", 9001, true, 1},
      {"disable_already_disabled.txt", 0, false, 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    auto reply = parse_full_reply(transcript(c.file));
    ASSERT_TRUE(reply.ok()) << reply.error().describe();
    EXPECT_EQ(reply->final_code, c.final_code);
    EXPECT_EQ(reply->is_error(), c.is_error);
    EXPECT_EQ(reply->lines.size(), c.lines);
    for (std::size_t i = 0; i + 1 < reply->lines.size(); ++i) EXPECT_FALSE(reply->lines[i].last) << i;
    EXPECT_TRUE(reply->lines.back().last);
  }
}

TEST(BirdReplyParser, ContinuationLinesTakeThePreviousCode) {
  auto lines = parse_reply(transcript("show_protocols.txt"));
  ASSERT_TRUE(lines.ok()) << lines.error().describe();
  // "2002-header", "1002-device1", then " static4 ..." etc. continue 1002.
  ASSERT_EQ(lines->size(), 10u);
  EXPECT_EQ((*lines)[0].code, 2002);
  for (std::size_t i = 1; i <= 8; ++i) EXPECT_EQ((*lines)[i].code, 1002) << i;
  EXPECT_EQ((*lines)[2].text.substr(0, 7), "static4");
  EXPECT_EQ((*lines)[9].code, 0);
}

TEST(BirdReplyParser, MalformedInputIsAProtocolError) {
  struct Case {
    std::string name;
    std::string raw;
  };
  const std::vector<Case> cases = {
      {"empty", ""},
      {"garbage", "this is not bird\n"},
      {"html", "<html><body>502</body></html>\n"},
      {"no final line", "2002-Name Proto\n1002-device1 Device --- up 10:00:00.000\n"},
      {"final line without newline", "0000 "},
      {"data after the final line", "0003 Reconfigured\n0000 \n"},
      {"continuation first", " orphan\n0000 \n"},
      {"bad line in the middle", "1002-a BGP --- up 10:00:00.000\nxx\n0000 \n"},
      {"nul bytes", std::string("\0\0\0\0\n", 5)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto reply = parse_full_reply(c.raw);
    ASSERT_FALSE(reply.ok());
    EXPECT_EQ(reply.error().kind, ErrorKind::Protocol);
  }
}

TEST(BirdReplyParser, EveryTruncationOfATranscriptIsAProtocolError) {
  const std::string raw = transcript("show_protocols_all_rr_iso_long.txt");
  for (std::size_t n = 0; n < raw.size(); ++n) {
    auto reply = parse_full_reply(std::string_view(raw).substr(0, n));
    ASSERT_FALSE(reply.ok()) << "prefix of " << n << " bytes";
    ASSERT_EQ(reply.error().kind, ErrorKind::Protocol);
  }
}

// --- show protocols all --------------------------------------------------

TEST(BirdShowProtocols, ParsesTheRouteReflectorTranscript) {
  // BIRD with `timeformat protocol iso long`: sessions to a client (iBGP, rr
  // client), an eBGP peer with an import filter and keep filtered, an IPv6
  // session over ::1, a neighbor nobody listens on, and a disabled one.
  auto protocols = parse_show_protocols_all(reply_from("show_protocols_all_rr_iso_long.txt"));
  ASSERT_TRUE(protocols.ok()) << protocols.error().describe();
  ASSERT_EQ(protocols->size(), 8u);

  struct Case {
    std::string name;
    std::string proto;
    std::string state;
    std::string since;
    std::string info;
    std::string bgp_state;
    std::string neighbor_address;
    std::uint32_t neighbor_as;
    std::string neighbor_id;
    std::string last_error;
    std::optional<int> hold_time;
    std::vector<std::string> channels;  // "name state"
    RouteCounts routes;
  };
  const std::vector<Case> cases = {
      {"device1", "Device", "up", "2026-11-27 10:33:12", "", "", "", 0, "", "", std::nullopt, {}, {}},
      {"static4", "Static", "up", "2026-11-27 10:33:12", "", "", "", 0, "", "", std::nullopt,
       {"ipv4 UP"}, {2, 0, 0, 2}},
      {"static6", "Static", "up", "2026-11-27 10:33:12", "", "", "", 0, "", "", std::nullopt,
       {"ipv6 UP"}, {1, 0, 0, 1}},
      {"peer_b", "BGP", "up", "2026-11-27 10:33:13", "Established", "Established", "127.0.2.2", 64512,
       "127.0.2.2", "", 240, {"ipv4 UP"}, {1, 0, 4, 1}},
      {"peer_c", "BGP", "up", "2026-11-27 10:33:31", "Established", "Established", "127.0.2.3", 64513,
       "127.0.2.3", "", 240, {"ipv4 UP"}, {2, 1, 3, 2}},
      {"peer_b6", "BGP", "up", "2026-11-27 10:33:12", "Established", "Established", "::1", 64512,
       "127.0.2.2", "", 240, {"ipv6 UP"}, {0, 0, 1, 0}},
      {"peer_dead", "BGP", "start", "2026-11-27 10:33:12", "Active        Socket: Connection refused", "Active",
       "127.0.2.9", 64512, "", "Socket: Connection refused", std::nullopt, {"ipv4 DOWN"}, {}},
      {"peer_off", "BGP", "down", "2026-11-27 10:33:31", "", "Down", "127.0.2.8", 64512, "", "", std::nullopt,
       {"ipv4 DOWN"}, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ProtocolState* p = find(*protocols, c.name);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->proto, c.proto);
    EXPECT_EQ(p->state, c.state);
    EXPECT_EQ(p->since, c.since);
    EXPECT_EQ(p->info, c.info);
    EXPECT_EQ(p->bgp_state, c.bgp_state);
    EXPECT_EQ(p->neighbor_address, c.neighbor_address);
    EXPECT_EQ(p->neighbor_as, c.neighbor_as);
    EXPECT_EQ(p->neighbor_id, c.neighbor_id);
    EXPECT_EQ(p->last_error, c.last_error);
    EXPECT_EQ(p->hold_time_seconds, c.hold_time);
    std::vector<std::string> channels;
    for (const ChannelState& ch : p->channels) channels.push_back(ch.name + " " + ch.state);
    EXPECT_EQ(channels, c.channels);
    EXPECT_EQ(p->total_routes(), c.routes);
    if (c.proto == "BGP") {
      EXPECT_EQ(p->local_as, 64512u);
    }
  }

  const ProtocolState* rr_client = find(*protocols, "peer_b");
  ASSERT_NE(rr_client, nullptr);
  EXPECT_EQ(rr_client->description, "iBGP route-reflector client b");
  EXPECT_EQ(rr_client->source_address, "127.0.2.1");
  EXPECT_EQ(rr_client->channels[0].table, "master4");
  EXPECT_TRUE(rr_client->established());
  EXPECT_TRUE(rr_client->is_bgp());
  // Channel lines do not leak into the protocol, nor protocol lines into the channel.
  EXPECT_FALSE(find(*protocols, "peer_dead")->channels[0].routes.has_value());
  EXPECT_FALSE(find(*protocols, "peer_dead")->established());
}

TEST(BirdShowProtocols, ParsesTheDefaultTimeformatAndOtherSides) {
  struct Case {
    std::string file;
    std::string name;
    std::string state;
    std::string since;
    std::string bgp_state;
    std::string neighbor_address;
    std::uint32_t neighbor_as;
    std::uint32_t local_as;
    std::string info;
    std::string last_error;
    RouteCounts routes;
  };
  const std::vector<Case> cases = {
      // Default timeformat: "Since" is one word, the time of day.
      {"show_protocols_all_client_default_timeformat.txt", "rr1", "up", "10:33:13.031", "Established", "127.0.2.1",
       64512, 64512, "Established", "", {4, 0, 1, 4}},
      {"show_protocols_all_client_default_timeformat.txt", "rr1_v6", "up", "10:33:12.744", "Established", "::1",
       64512, 64512, "Established", "", {0, 0, 1, 0}},
      {"show_protocols_all_client_default_timeformat.txt", "static4", "up", "10:33:07.738", "", "", 0, 0, "", "",
       {1, 0, 0, 1}},
      {"show_protocols_all_external_peer.txt", "rr1", "up", "2026-11-27 10:33:31", "Established", "127.0.2.1",
       64512, 64513, "Established", "", {3, 0, 3, 3}},
      {"show_protocols_all_one_filtered.txt", "peer_c", "up", "2026-11-27 10:33:31", "Established", "127.0.2.3",
       64513, 64512, "Established", "", {2, 1, 3, 2}},
      {"show_protocols_all_one_error.txt", "peer_c", "down", "2026-11-27 10:33:59", "Down", "127.0.2.3", 64513,
       64512, "Error: Invalid next hop", "Error: Invalid next hop", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " " + c.name);
    auto protocols = parse_show_protocols_all(reply_from(c.file));
    ASSERT_TRUE(protocols.ok()) << protocols.error().describe();
    const ProtocolState* p = find(*protocols, c.name);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->state, c.state);
    EXPECT_EQ(p->since, c.since);
    EXPECT_EQ(p->bgp_state, c.bgp_state);
    EXPECT_EQ(p->neighbor_address, c.neighbor_address);
    EXPECT_EQ(p->neighbor_as, c.neighbor_as);
    EXPECT_EQ(p->local_as, c.local_as);
    EXPECT_EQ(p->info, c.info);
    EXPECT_EQ(p->last_error, c.last_error);
    EXPECT_EQ(p->total_routes(), c.routes);
  }
}

TEST(BirdShowProtocols, PlainShowProtocolsGivesRowsFromContinuationLines) {
  auto protocols = parse_show_protocols_all(reply_from("show_protocols.txt"));
  ASSERT_TRUE(protocols.ok()) << protocols.error().describe();
  std::vector<std::string> names;
  for (const ProtocolState& p : *protocols) names.push_back(p.name + "/" + p.state);
  EXPECT_EQ(names, (std::vector<std::string>{"device1/up", "static4/up", "static6/up", "peer_b/up", "peer_c/up",
                                             "peer_b6/up", "peer_dead/start", "peer_off/down"}));
  EXPECT_EQ(find(*protocols, "peer_dead")->info, "Active        Socket: Connection refused");
  EXPECT_TRUE(find(*protocols, "peer_b")->channels.empty());
}

TEST(BirdShowProtocols, RowVariants) {
  struct Case {
    std::string name;
    std::string row;
    std::string since;
    std::string info;
  };
  const std::vector<Case> cases = {
      {"time of day", "p1         BGP        ---        up     10:31:28.123  Established   ", "10:31:28.123",
       "Established"},
      {"older than a day, default format: date only", "p1         BGP        ---        up     2026-11-20    Active",
       "2026-11-20", "Active"},
      {"iso long with milliseconds", "p1 BGP --- up 2026-11-27 10:31:28.123 OpenSent", "2026-11-27 10:31:28.123",
       "OpenSent"},
      {"iso long, no info", "p1 BGP --- down 2026-11-27 10:31:28", "2026-11-27 10:31:28", ""},
      {"date followed by info, not a time", "p1 BGP --- start 2026-11-27 Connect", "2026-11-27", "Connect"},
      {"info with words", "p1 BGP --- start 10:31:28.123 Idle          BGP Error: Hold timer expired",
       "10:31:28.123", "Idle          BGP Error: Hold timer expired"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto protocols = parse_show_protocols_all(reply_from_text("2002-Name\n1002-" + c.row + "\n0000 \n"));
    ASSERT_TRUE(protocols.ok()) << protocols.error().describe();
    ASSERT_EQ(protocols->size(), 1u);
    EXPECT_EQ((*protocols)[0].name, "p1");
    EXPECT_EQ((*protocols)[0].since, c.since);
    EXPECT_EQ((*protocols)[0].info, c.info);
  }
}

TEST(BirdShowProtocols, MalformedRepliesAreProtocolErrors) {
  struct Case {
    std::string name;
    std::string raw;
  };
  const std::vector<Case> cases = {
      {"details before any row", "2002-Name\n1006-  BGP state: Established\n0000 \n"},
      {"short row", "1002-p1 BGP ---\n0000 \n"},
      {"bad neighbor AS", "1002-p1 BGP --- up 10:00:00.000 Established\n1006-    Neighbor AS: lots\n0000 \n"},
      {"negative local AS", "1002-p1 BGP --- up 10:00:00.000 Established\n1006-    Local AS: -1\n0000 \n"},
      {"bad hold timer", "1002-p1 BGP --- up 10:00:00.000 Established\n1006-    Hold timer: soon\n0000 \n"},
      {"bad route counts",
       "1002-p1 BGP --- up 10:00:00.000 Established\n1006-  Channel ipv4\n     Routes: many imported\n0000 \n"},
      {"foreign code", "1002-p1 BGP --- up 10:00:00.000 Established\n1007-10.0.0.0/24\n0000 \n"},
      {"unexpected final code", "1002-p1 BGP --- up 10:00:00.000 Established\n0013 Daemon is up and running\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto protocols = parse_show_protocols_all(reply_from_text(c.raw));
    ASSERT_FALSE(protocols.ok());
    EXPECT_EQ(protocols.error().kind, ErrorKind::Protocol);
  }
}

TEST(BirdShowProtocols, ErrorRepliesKeepBirdsMessage) {
  auto protocols = parse_show_protocols_all(reply_from("show_protocols_unknown_name.txt"));
  ASSERT_FALSE(protocols.ok());
  EXPECT_EQ(protocols.error().kind, ErrorKind::Invalid);
  EXPECT_NE(protocols.error().message.find("9001"), std::string::npos);
  EXPECT_NE(protocols.error().message.find("syntax error"), std::string::npos);
}

// --- show status ---------------------------------------------------------

TEST(BirdShowStatus, ParsesBothTimeformats) {
  struct Case {
    std::string file;
    std::string router_id;
    std::string last_reboot;
    std::string last_reconfiguration;
  };
  const std::vector<Case> cases = {
      {"show_status_iso_long.txt", "127.0.2.1", "2026-11-27 10:33:12.541", "2026-11-27 10:33:31.034"},
      {"show_status_default_timeformat.txt", "127.0.2.2", "2026-11-27 10:33:07.738", "2026-11-27 10:33:07.738"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    auto status = parse_show_status(reply_from(c.file));
    ASSERT_TRUE(status.ok()) << status.error().describe();
    EXPECT_EQ(status->version, "BIRD 2.0.12");
    EXPECT_EQ(status->router_id, c.router_id);
    EXPECT_EQ(status->hostname, "vm");
    EXPECT_EQ(status->last_reboot, c.last_reboot);
    EXPECT_EQ(status->last_reconfiguration, c.last_reconfiguration);
    EXPECT_FALSE(status->server_time.empty());
    EXPECT_EQ(status->message, "Daemon is up and running");
    EXPECT_TRUE(status->up());
  }
}

TEST(BirdShowStatus, OtherRepliesAreErrors) {
  struct Case {
    std::string name;
    std::string raw;
    ErrorKind kind;
  };
  const std::vector<Case> cases = {
      {"error reply", transcript("unknown_command.txt"), ErrorKind::Invalid},
      {"wrong command's reply", transcript("configure_reconfigured.txt"), ErrorKind::Protocol},
      {"no router id", "1000-BIRD 2.0.12\n0013 Daemon is up and running\n", ErrorKind::Protocol},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto status = parse_show_status(reply_from_text(c.raw));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().kind, c.kind);
  }
  auto shutting_down = parse_show_status(
      reply_from_text("1000-BIRD 2.0.12\n1011-Router ID is 10.0.0.1\n0013 Shutdown in progress\n"));
  ASSERT_TRUE(shutting_down.ok());
  EXPECT_FALSE(shutting_down->up());
}

// --- configure -----------------------------------------------------------

TEST(BirdConfigure, OutcomesOfCapturedReplies) {
  struct Case {
    std::string file;
    bool check;  // configure check rather than configure
    std::optional<ErrorKind> error;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"configure_reconfigured.txt", false, std::nullopt, ""},
      {"configure_in_progress.txt", false, std::nullopt, ""},
      {"configure_confirm_nothing_to_do.txt", false, std::nullopt, ""},
      {"configure_syntax_error.txt", false, ErrorKind::Invalid,
       "8002: /tmp/birdcap.F8Rj/broken.conf:5:3 syntax error, unexpected NEIGHBOR"},
      {"configure_missing_file.txt", false, ErrorKind::Invalid, "nonexistent.conf: No such file or directory"},
      {"configure_check_ok.txt", false, ErrorKind::Protocol, "0020"},
      {"unknown_command.txt", false, ErrorKind::Invalid, "9001"},
      {"configure_check_ok.txt", true, std::nullopt, ""},
      {"configure_check_syntax_error.txt", true, ErrorKind::Invalid, "broken.conf:5:3 syntax error"},
      {"configure_reconfigured.txt", true, ErrorKind::Protocol, "0003"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + (c.check ? " (check)" : ""));
    const Reply reply = reply_from(c.file);
    kube::Status status = c.check ? configure_check_outcome(reply) : configure_outcome(reply);
    if (!c.error) {
      EXPECT_TRUE(status.ok()) << status.error().describe();
      continue;
    }
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().kind, *c.error);
    EXPECT_NE(status.error().message.find(c.message_part), std::string::npos) << status.error().message;
  }
}

TEST(BirdConfigure, ErrorCodesMapToKinds) {
  struct Case {
    std::string raw;
    ErrorKind kind;
  };
  const std::vector<Case> cases = {
      {"8002 bird.conf:1:1 syntax error\n", ErrorKind::Invalid},
      {"8003 No protocols match\n", ErrorKind::NotFound},
      {"8004 Stopped due to reconfiguration\n", ErrorKind::Transient},
      {"8007 Access denied\n", ErrorKind::Forbidden},
      {"8000 Reply too long\n", ErrorKind::Protocol},
      {"9000 Command too long\n", ErrorKind::Invalid},
      {"0006 Reconfiguration ignored, shutting down\n", ErrorKind::Transient},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.raw);
    auto status = configure_outcome(reply_from_text(c.raw));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().kind, c.kind);
  }
  EXPECT_TRUE(configure_outcome(reply_from_text("0005 Reconfiguration already in progress, queueing\n")).ok());
}

TEST(BirdReply, ErrorMessageJoinsTheErrorLines) {
  const Reply reply = reply_from("configure_missing_file.txt");
  EXPECT_EQ(reply.error_message(), "/tmp/birdcap.F8Rj/nonexistent.conf: No such file or directory");
  EXPECT_EQ(reply_from("disable_already_disabled.txt").error_message(), "");
}

}  // namespace
}  // namespace rr::bird
