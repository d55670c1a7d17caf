#pragma once
// IPv4 addresses and CIDR pools for cluster-ID allocation.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rr::planner {

std::optional<std::uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(std::uint32_t address);

struct Ipv4Pool {
  std::uint32_t network = 0;
  int prefix = 0;

  static std::optional<Ipv4Pool> parse(std::string_view cidr);
  std::uint32_t first() const { return network; }
  std::uint32_t last() const { return network | (prefix == 0 ? 0xffffffffu : (0xffffffffu >> prefix)); }
  bool contains(std::uint32_t a) const { return a >= first() && a <= last(); }
  bool overlaps(const Ipv4Pool& o) const { return first() <= o.last() && o.first() <= last(); }
  // Addresses usable as cluster IDs: all but the network address.
  std::uint64_t capacity() const { return static_cast<std::uint64_t>(last()) - first(); }
};

}  // namespace rr::planner
