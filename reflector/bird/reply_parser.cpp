#include "bird/reply_parser.h"

#include <charconv>
#include <cstdio>
#include <utility>

namespace rr::bird {
namespace {

using kube::ErrorKind;
using kube::make_error;

kube::Error protocol_error(std::string message) {
  return make_error(ErrorKind::Protocol, "bird: " + std::move(message));
}

// Quoted and shortened, for error messages about text BIRD sent.
std::string excerpt(std::string_view s) {
  constexpr std::size_t kMax = 80;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

std::string code_string(int code) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", code);
  return buf;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

template <class Int>
bool parse_int(std::string_view s, Int& out) {
  s = trim(s);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

struct Token {
  std::string_view text;
  std::size_t end = 0;  // offset just past the token in the row
};

// The next space-separated word of `row` at or after `pos`.
std::optional<Token> next_token(std::string_view row, std::size_t pos) {
  const auto start = row.find_first_not_of(' ', pos);
  if (start == std::string_view::npos) return std::nullopt;
  auto end = row.find(' ', start);
  if (end == std::string_view::npos) end = row.size();
  return Token{row.substr(start, end - start), end};
}

// "2026-11-27"
bool looks_like_date(std::string_view s) {
  return s.size() == 10 && is_digit(s[0]) && is_digit(s[3]) && s[4] == '-' && s[7] == '-' && is_digit(s[9]);
}

// "10:31:28", "10:31:28.123"
bool looks_like_time(std::string_view s) {
  return s.size() >= 5 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':';
}

// "name proto table state since... info..." where since is one word, or two
// when `timeformat protocol iso long` prints a date and a time.
kube::Result<ProtocolState> parse_protocol_row(std::string_view row) {
  ProtocolState p;
  std::string* fields[] = {&p.name, &p.proto, &p.table, &p.state, &p.since};
  std::size_t pos = 0;
  for (std::string* field : fields) {
    auto token = next_token(row, pos);
    if (!token) return protocol_error("short protocol row " + excerpt(row));
    *field = std::string(token->text);
    pos = token->end;
  }
  if (looks_like_date(p.since)) {
    auto time = next_token(row, pos);
    if (time && looks_like_time(time->text)) {
      p.since += ' ';
      p.since += time->text;
      pos = time->end;
    }
  }
  p.info = std::string(trim(row.substr(pos)));
  return p;
}

kube::Result<RouteCounts> parse_route_counts(std::string_view value) {
  // "2 imported, 1 filtered, 3 exported, 2 preferred" ("filtered" only with keep filtered)
  RouteCounts counts;
  while (!value.empty()) {
    const auto comma = value.find(',');
    const std::string_view item = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    const auto space = item.find(' ');
    std::uint32_t n = 0;
    if (space == std::string_view::npos || !parse_int(item.substr(0, space), n)) {
      return protocol_error("bad route counts item " + excerpt(item));
    }
    const std::string_view what = trim(item.substr(space + 1));
    if (what == "imported") counts.imported = n;
    else if (what == "filtered") counts.filtered = n;
    else if (what == "exported") counts.exported = n;
    else if (what == "preferred") counts.preferred = n;
    // Other words (a later BIRD's additions) are not ours to judge.
  }
  return counts;
}

std::size_t indent_of(std::string_view s) {
  const auto n = s.find_first_not_of(' ');
  return n == std::string_view::npos ? s.size() : n;
}

// Applies one 1006 line to `p`. Detail lines have a two-space indent for
// section heads ("BGP state:", "Channel ipv4") and four or more for their
// fields; "State:" and "Routes:" belong to the channel above them.
kube::Status apply_detail(ProtocolState& p, std::string_view text, bool& in_channel) {
  const std::size_t indent = indent_of(text);
  const std::string_view body = trim(text);
  if (body.empty()) return {};
  if (indent <= 2) {
    in_channel = starts_with(body, "Channel ");
    if (in_channel) {
      p.channels.push_back(ChannelState{std::string(trim(body.substr(8))), {}, {}, {}});
      return {};
    }
  }
  const auto colon = body.find(':');
  if (colon == std::string_view::npos) return {};  // "Local capabilities", "Route refresh", ...
  const std::string_view key = trim(body.substr(0, colon));
  const std::string_view value = trim(body.substr(colon + 1));

  if (in_channel) {
    ChannelState& c = p.channels.back();
    if (key == "State") c.state = value;
    else if (key == "Table") c.table = value;
    else if (key == "Routes") {
      auto counts = parse_route_counts(value);
      if (!counts) return counts.error();
      c.routes = *counts;
    }
    return {};
  }

  if (key == "Description") p.description = value;
  else if (key == "BGP state") p.bgp_state = value;
  else if (key == "Neighbor address") p.neighbor_address = value;
  else if (key == "Neighbor ID") p.neighbor_id = value;
  else if (key == "Source address") p.source_address = value;
  else if (key == "Last error") p.last_error = value;
  else if (key == "Neighbor AS") {
    if (!parse_int(value, p.neighbor_as)) return protocol_error("bad neighbor AS " + excerpt(value));
  } else if (key == "Local AS") {
    if (!parse_int(value, p.local_as)) return protocol_error("bad local AS " + excerpt(value));
  } else if (key == "Hold timer") {
    // "217.145/240": time left / negotiated hold time.
    const auto slash = value.find('/');
    int hold = 0;
    if (slash == std::string_view::npos || !parse_int(value.substr(slash + 1), hold)) {
      return protocol_error("bad hold timer " + excerpt(value));
    }
    p.hold_time_seconds = hold;
  }
  return {};
}

}  // namespace

kube::Result<ReplyLine> parse_reply_line(std::string_view line, std::optional<int> previous_code) {
  if (!line.empty() && line[0] == ' ') {
    if (!previous_code) return protocol_error("continuation line without a code before it: " + excerpt(line));
    return ReplyLine{*previous_code, false, std::string(line.substr(1))};
  }
  if (line.size() < 5 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
      !is_digit(line[3]) || (line[4] != '-' && line[4] != ' ')) {
    return protocol_error("malformed reply line " + excerpt(line));
  }
  const int code = (line[0] - '0') * 1000 + (line[1] - '0') * 100 + (line[2] - '0') * 10 + (line[3] - '0');
  return ReplyLine{code, line[4] == ' ', std::string(line.substr(5))};
}

kube::Result<std::vector<ReplyLine>> parse_reply(std::string_view raw) {
  if (raw.empty()) return protocol_error("empty reply");
  std::vector<ReplyLine> lines;
  std::optional<int> previous;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    if (!lines.empty() && lines.back().last) {
      return protocol_error("data after the final line: " + excerpt(raw.substr(pos)));
    }
    const auto nl = raw.find('\n', pos);
    if (nl == std::string_view::npos) return protocol_error("truncated reply: line without end " + excerpt(raw.substr(pos)));
    auto line = parse_reply_line(raw.substr(pos, nl - pos), previous);
    if (!line) return line.error();
    previous = line->code;
    lines.push_back(std::move(line).value());
    pos = nl + 1;
  }
  if (!lines.back().last) return protocol_error("truncated reply: no final line");
  return lines;
}

std::string Reply::error_message() const {
  std::string message;
  for (const ReplyLine& line : lines) {
    if (line.code < 8000) continue;
    if (!message.empty()) message += "; ";
    message += line.text;
  }
  return message;
}

kube::Result<Reply> make_reply(std::vector<ReplyLine> lines) {
  if (lines.empty() || !lines.back().last) return protocol_error("reply without a final line");
  Reply reply;
  reply.final_code = lines.back().code;
  reply.lines = std::move(lines);
  return reply;
}

kube::Result<Reply> parse_full_reply(std::string_view raw) {
  auto lines = parse_reply(raw);
  if (!lines) return lines.error();
  return make_reply(std::move(lines).value());
}

kube::Error reply_error(const Reply& reply) {
  ErrorKind kind = ErrorKind::Protocol;
  switch (reply.final_code) {
    case reply_code::kConfigurationFileError:
    case reply_code::kEvaluationError:
      kind = ErrorKind::Invalid;
      break;
    case reply_code::kRouteNotFound:
    case reply_code::kNoProtocolsMatch:
      kind = ErrorKind::NotFound;
      break;
    case reply_code::kStoppedDueToReconfiguration:
      kind = ErrorKind::Transient;
      break;
    case reply_code::kAccessDenied:
      kind = ErrorKind::Forbidden;
      break;
    default:
      if (reply.final_code >= 9000) kind = ErrorKind::Invalid;  // BIRD could not parse our command
      break;
  }
  std::string text = reply.is_error() ? reply.error_message() : reply.lines.empty() ? "" : reply.lines.back().text;
  return make_error(kind, "bird " + code_string(reply.final_code) + ": " + text);
}

RouteCounts ProtocolState::total_routes() const {
  RouteCounts sum;
  for (const ChannelState& c : channels) {
    if (!c.routes) continue;
    sum.imported += c.routes->imported;
    sum.filtered += c.routes->filtered;
    sum.exported += c.routes->exported;
    sum.preferred += c.routes->preferred;
  }
  return sum;
}

kube::Result<std::vector<ProtocolState>> parse_show_protocols_all(const Reply& reply) {
  if (reply.is_error()) return reply_error(reply);
  if (reply.final_code != reply_code::kOk) {
    return protocol_error("show protocols ended with code " + code_string(reply.final_code));
  }
  std::vector<ProtocolState> protocols;
  bool in_channel = false;
  for (const ReplyLine& line : reply.lines) {
    switch (line.code) {
      case reply_code::kProtocolHeader:
      case reply_code::kOk:
        break;
      case reply_code::kProtocolRow: {
        auto row = parse_protocol_row(line.text);
        if (!row) return row.error();
        protocols.push_back(std::move(row).value());
        in_channel = false;
        break;
      }
      case reply_code::kProtocolDetail: {
        if (protocols.empty()) return protocol_error("protocol details before any protocol row");
        auto applied = apply_detail(protocols.back(), line.text, in_channel);
        if (!applied) return applied.error();
        break;
      }
      default:
        return protocol_error("unexpected code " + code_string(line.code) + " in show protocols");
    }
  }
  return protocols;
}

kube::Result<DaemonStatus> parse_show_status(const Reply& reply) {
  if (reply.is_error()) return reply_error(reply);
  if (reply.final_code != reply_code::kStatusReport) {
    return protocol_error("show status ended with code " + code_string(reply.final_code));
  }
  DaemonStatus status;
  const std::pair<std::string_view, std::string DaemonStatus::*> uptime_fields[] = {
      {"Router ID is ", &DaemonStatus::router_id},
      {"Hostname is ", &DaemonStatus::hostname},
      {"Current server time is ", &DaemonStatus::server_time},
      {"Last reboot on ", &DaemonStatus::last_reboot},
      {"Last reconfiguration on ", &DaemonStatus::last_reconfiguration},
  };
  for (const ReplyLine& line : reply.lines) {
    if (line.code == reply_code::kVersion) {
      status.version = line.text;
    } else if (line.code == reply_code::kUptime) {
      for (const auto& [prefix, field] : uptime_fields) {
        if (starts_with(line.text, prefix)) status.*field = std::string(trim(line.text.substr(prefix.size())));
      }
    } else if (line.last) {
      status.message = line.text;
    } else {
      return protocol_error("unexpected code " + code_string(line.code) + " in show status");
    }
  }
  if (status.version.empty() || status.router_id.empty()) return protocol_error("show status without version or router id");
  return status;
}

kube::Status configure_outcome(const Reply& reply) {
  if (reply.is_error()) return reply_error(reply);
  switch (reply.final_code) {
    case reply_code::kReconfigured:
    case reply_code::kReconfigurationInProgress:    // accepted; old protocols still shutting down
    case reply_code::kReconfigurationQueued:        // accepted; applied after the running one
    case reply_code::kReconfigurationQueueReplaced:
    case reply_code::kReconfigurationConfirmed:
    case reply_code::kNothingToDo:
      return {};
    case reply_code::kReconfigurationIgnoredShuttingDown:
      return make_error(ErrorKind::Transient, "bird: reconfiguration ignored, BIRD is shutting down");
    default:
      return protocol_error("unexpected reply to configure: " + code_string(reply.final_code) + " " +
                            excerpt(reply.lines.empty() ? "" : reply.lines.back().text));
  }
}

kube::Status configure_check_outcome(const Reply& reply) {
  if (reply.is_error()) return reply_error(reply);
  if (reply.final_code == reply_code::kConfigurationOk) return {};
  return protocol_error("unexpected reply to configure check: " + code_string(reply.final_code) + " " +
                        excerpt(reply.lines.empty() ? "" : reply.lines.back().text));
}

}  // namespace rr::bird
