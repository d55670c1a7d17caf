#include "planner/ipv4.h"

#include <charconv>

namespace rr::planner {

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  std::uint32_t out = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 4; ++i) {
    unsigned octet = 0;
    auto [next, ec] = std::from_chars(p, end, octet);
    if (ec != std::errc() || next == p || octet > 255 || next - p > 3) return std::nullopt;
    if (next - p > 1 && *p == '0') return std::nullopt;  // no leading zeros (octal ambiguity)
    out = (out << 8) | octet;
    p = next;
    if (i < 3) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
  }
  if (p != end) return std::nullopt;
  return out;
}

std::string format_ipv4(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) + "." +
         std::to_string(a & 255);
}

std::optional<Ipv4Pool> Ipv4Pool::parse(std::string_view cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto address = parse_ipv4(cidr.substr(0, slash));
  if (!address) return std::nullopt;
  int prefix = 0;
  auto rest = cidr.substr(slash + 1);
  auto [next, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), prefix);
  if (ec != std::errc() || next != rest.data() + rest.size() || prefix < 0 || prefix > 32) return std::nullopt;
  std::uint32_t mask = prefix == 0 ? 0 : (0xffffffffu << (32 - prefix));
  return Ipv4Pool{*address & mask, prefix};
}

}  // namespace rr::planner
