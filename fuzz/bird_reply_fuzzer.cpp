// BIRD 2 control-socket replies: the line framing ("NNNN-", "NNNN ", " "
// continuations) and every reply parser the agent uses (show protocols all,
// show status, configure, configure check, error classification).

#include <cstdint>
#include <cstdlib>

#include "bird/reply_parser.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw = rr::fuzz::as_text(data, size);
  // Line by line, as BirdControlClient::read_reply_locked reads the socket.
  std::optional<int> previous;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    auto nl = raw.find('\n', pos);
    if (nl == std::string_view::npos) break;
    auto line = rr::bird::parse_reply_line(raw.substr(pos, nl - pos), previous);
    if (!line.ok()) break;
    if (line->code < 0 || line->code > 9999) std::abort();
    previous = line->code;
    pos = nl + 1;
  }

  auto reply = rr::bird::parse_full_reply(raw);
  if (!reply.ok()) return 0;
  if (reply->lines.empty() || !reply->lines.back().last) std::abort();
  (void)reply->error_message();
  (void)rr::bird::reply_error(*reply);
  if (auto protocols = rr::bird::parse_show_protocols_all(*reply); protocols.ok()) {
    for (const auto& p : *protocols) {
      (void)p.total_routes();
      (void)p.established();
    }
  }
  (void)rr::bird::parse_show_status(*reply);
  (void)rr::bird::configure_outcome(*reply);
  (void)rr::bird::configure_check_outcome(*reply);
  return 0;
}
