#pragma once
// Pure parsing of BIRD 2 control-socket replies. The socket speaks lines:
//   "NNNN-text"  a line with code NNNN, more lines follow
//   "NNNN text"  the last line of the reply
//   " text"      continuation: same code as the line before
// 0xxx success, 1xxx table rows, 2xxx table headers, 8xxx run-time errors,
// 9xxx parse errors (doc/reply_codes in BIRD's tree). There is no JSON, so
// the text of `show protocols all` is parsed here, apart from any socket, and
// tested on transcripts captured from a real BIRD.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kube/result.h"

namespace rr::bird {

// The reply codes this project reads or maps.
namespace reply_code {
inline constexpr int kOk = 0;
inline constexpr int kWelcome = 1;
inline constexpr int kReadingConfiguration = 2;
inline constexpr int kReconfigured = 3;
inline constexpr int kReconfigurationInProgress = 4;
inline constexpr int kReconfigurationQueued = 5;
inline constexpr int kReconfigurationIgnoredShuttingDown = 6;
inline constexpr int kStatusReport = 13;
inline constexpr int kReconfigurationQueueReplaced = 17;
inline constexpr int kReconfigurationConfirmed = 18;
inline constexpr int kNothingToDo = 19;
inline constexpr int kConfigurationOk = 20;
inline constexpr int kVersion = 1000;
inline constexpr int kProtocolRow = 1002;
inline constexpr int kProtocolDetail = 1006;
inline constexpr int kUptime = 1011;
inline constexpr int kProtocolHeader = 2002;
inline constexpr int kReplyTooLong = 8000;
inline constexpr int kRouteNotFound = 8001;
inline constexpr int kConfigurationFileError = 8002;
inline constexpr int kNoProtocolsMatch = 8003;
inline constexpr int kStoppedDueToReconfiguration = 8004;
inline constexpr int kAccessDenied = 8007;
inline constexpr int kEvaluationError = 8008;
inline constexpr int kCommandTooLong = 9000;
inline constexpr int kParseError = 9001;
}  // namespace reply_code

struct ReplyLine {
  int code = 0;
  bool last = false;  // "NNNN text": the final line of a reply
  std::string text;   // without the code, the separator and the '\n'
};

// One line without its '\n'. `previous_code` is the code of the line before in
// the same reply (none for the first line); a continuation line needs one.
[[nodiscard]] kube::Result<ReplyLine> parse_reply_line(std::string_view line,
                                                       std::optional<int> previous_code);

// Exactly one complete reply: every line ends in '\n', the last one is a final
// "NNNN " line and nothing follows it. Anything else is a Protocol error.
[[nodiscard]] kube::Result<std::vector<ReplyLine>> parse_reply(std::string_view raw);

struct Reply {
  int final_code = 0;
  std::vector<ReplyLine> lines;  // all lines, the final one included

  bool is_error() const { return final_code >= 8000; }
  // BIRD's own words for an error reply (the text of its 8xxx/9xxx lines).
  std::string error_message() const;
};

// Lines -> Reply; the lines must end with a final line.
[[nodiscard]] kube::Result<Reply> make_reply(std::vector<ReplyLine> lines);
// parse_reply + make_reply.
[[nodiscard]] kube::Result<Reply> parse_full_reply(std::string_view raw);

// The classified error for an error reply: 8002 configuration file error and
// 9xxx parse errors are Invalid, 8003 "no protocols match" is NotFound, 8004 is
// Transient, 8007 Forbidden, the rest Protocol. The message keeps BIRD's text.
kube::Error reply_error(const Reply& reply);

struct RouteCounts {
  std::uint32_t imported = 0;
  std::uint32_t filtered = 0;  // only printed by BIRD with "import keep filtered"
  std::uint32_t exported = 0;
  std::uint32_t preferred = 0;

  friend bool operator==(const RouteCounts&, const RouteCounts&) = default;
};

struct ChannelState {
  std::string name;   // "ipv4", "ipv6"
  std::string state;  // "UP", "DOWN", ...
  std::string table;  // "master4"
  std::optional<RouteCounts> routes;  // absent while the channel is down
};

struct ProtocolState {
  // The 1002 row.
  std::string name;
  std::string proto;  // "BGP", "Device", "Static", ...
  std::string table;  // "---" for multi-channel protocols such as BGP
  std::string state;  // "up", "down", "start", "stop"
  std::string since;  // as BIRD prints it: one word ("10:31:28.123") or two ("2026-11-27 10:31:28")
  std::string info;   // rest of the row: "Established", "Active        Socket: ...", "Error: ..."
  // The 1006 detail lines (empty when parsed from a plain `show protocols`).
  std::string description;
  std::string bgp_state;  // "Established", "Active", "Connect", "OpenSent", "Idle", "Down", ...
  std::string neighbor_address;
  std::uint32_t neighbor_as = 0;
  std::uint32_t local_as = 0;
  std::string neighbor_id;
  std::string source_address;
  std::string last_error;
  std::optional<int> hold_time_seconds;  // negotiated hold time, from "Hold timer: 217.145/240"
  std::vector<ChannelState> channels;

  bool is_bgp() const { return proto == "BGP"; }
  bool established() const { return bgp_state == "Established"; }
  // Route counts summed over the channels.
  RouteCounts total_routes() const;
};

// `show protocols all` (also plain `show protocols`, which has rows only).
// An error reply becomes reply_error(); a malformed one a Protocol error.
[[nodiscard]] kube::Result<std::vector<ProtocolState>> parse_show_protocols_all(const Reply& reply);

struct DaemonStatus {
  std::string version;               // "BIRD 2.0.12"
  std::string router_id;             // "127.0.2.1"
  std::string hostname;
  std::string server_time;           // BIRD's local time, as printed
  std::string last_reboot;
  std::string last_reconfiguration;
  std::string message;               // final line: "Daemon is up and running", "Reconfiguration in progress", ...
  bool up() const { return message == "Daemon is up and running"; }
};

[[nodiscard]] kube::Result<DaemonStatus> parse_show_status(const Reply& reply);

// `configure ["file"]`: 0003 Reconfigured, 0004 in progress, 0005 queued, 0017
// queue replaced and 0019 nothing to do are success; 0006 (shutting down) is
// Transient; 8002 is Invalid with BIRD's message (file:line:col ...).
[[nodiscard]] kube::Status configure_outcome(const Reply& reply);
// `configure check ["file"]`: 0020 Configuration OK, or 8002 -> Invalid.
[[nodiscard]] kube::Status configure_check_outcome(const Reply& reply);

}  // namespace rr::bird
