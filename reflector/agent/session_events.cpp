#include "agent/session_events.h"

#include <cctype>
#include <utility>

namespace rr::agent {
namespace {

bool protocol_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

}  // namespace

std::optional<std::string_view> SessionEvents::protocol_of(std::string_view line) {
  // BIRD's log lines: "DATE TIME <CLASS> MESSAGE"; a protocol's messages are "NAME: ...".
  const auto open = line.find(" <");
  if (open == std::string_view::npos) return std::nullopt;
  const auto close = line.find("> ", open + 2);
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(close + 2);
  const auto colon = rest.find(": ");
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view name = rest.substr(0, colon);
  if (const auto dot = name.find('.'); dot != std::string_view::npos) name = name.substr(0, dot);  // a channel
  if (name.empty()) return std::nullopt;
  for (char c : name) {
    if (!protocol_char(c)) return std::nullopt;
  }
  return name;
}

bool SessionEvents::log_line(std::string_view line) {
  auto name = protocol_of(line);
  if (!name) return false;
  std::lock_guard lock(mu_);
  if (!pending_.overflow) {
    pending_.protocols.emplace(*name);
    if (pending_.protocols.size() > kMaxPending) {
      pending_.protocols.clear();
      pending_.overflow = true;
    }
  }
  if (wake_) wake_();
  return true;
}

void SessionEvents::bird_exited() {
  std::lock_guard lock(mu_);
  pending_.restarted = true;
  if (wake_) wake_();
}

void SessionEvents::set_wake(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

SessionEvents::Taken SessionEvents::take() {
  std::lock_guard lock(mu_);
  return std::exchange(pending_, Taken{});
}

}  // namespace rr::agent
