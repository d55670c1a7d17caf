#include "contract/validation.h"

#include <arpa/inet.h>

#include <charconv>
#include <string>

namespace rr::contract {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, 1..63: a label key's name part and a non-empty label value.
bool is_label_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  for (char c : s) {
    if (!is_lower_alnum(c) && c != '-') return false;
  }
  return true;
}

bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = s.find('.', start);
    auto part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!is_dns_label(part)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_label_key(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return is_label_name(s);
  return is_dns_subdomain(s.substr(0, slash)) && is_label_name(s.substr(slash + 1));
}

bool is_label_value(std::string_view s) { return s.empty() || is_label_name(s); }

bool is_secret_key(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::optional<std::uint32_t> parse_ipv4(std::string_view s) {
  std::uint32_t address = 0;
  std::size_t pos = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (pos >= s.size() || s[pos] != '.') return std::nullopt;
      ++pos;
    }
    std::size_t digits = 0;
    while (pos + digits < s.size() && s[pos + digits] >= '0' && s[pos + digits] <= '9') ++digits;
    if (digits == 0 || digits > 3 || (digits > 1 && s[pos] == '0')) return std::nullopt;
    unsigned value = 0;
    std::from_chars(s.data() + pos, s.data() + pos + digits, value);
    if (value > 255) return std::nullopt;
    address = (address << 8) | value;
    pos += digits;
  }
  if (pos != s.size()) return std::nullopt;
  return address;
}

std::string format_ipv4(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." + std::to_string((a >> 8) & 0xff) +
         "." + std::to_string(a & 0xff);
}

bool is_ipv4_address(std::string_view s) { return parse_ipv4(s).has_value(); }

bool is_ipv6_address(std::string_view s) {
  if (s.empty() || s.size() > 45 || s.find(':') == std::string_view::npos) return false;
  std::string text(s);  // inet_pton needs a terminated string
  in6_addr out{};
  return inet_pton(AF_INET6, text.c_str(), &out) == 1;
}

namespace {

std::optional<in6_addr> parse_ipv6(std::string_view s) {
  if (!is_ipv6_address(s)) return std::nullopt;
  std::string text(s);
  in6_addr out{};
  inet_pton(AF_INET6, text.c_str(), &out);
  return out;
}

}  // namespace

std::string unusable_neighbor_address(std::string_view address) {
  if (auto v4 = parse_ipv4(address)) {
    if (*v4 == 0) return "is the unspecified address";
    if (*v4 == 0xffffffffu) return "is the broadcast address";
    if ((*v4 >> 28) == 0xe) return "is a multicast address";
    return "";
  }
  if (auto v6 = parse_ipv6(address)) {
    if (IN6_IS_ADDR_UNSPECIFIED(&*v6)) return "is the unspecified address";
    if (IN6_IS_ADDR_MULTICAST(&*v6)) return "is a multicast address";
    if (IN6_IS_ADDR_LINKLOCAL(&*v6)) return "is link-local: a session to it would need an interface";
    if (IN6_IS_ADDR_V4MAPPED(&*v6)) {
      std::uint32_t v4 = (std::uint32_t{v6->s6_addr[12]} << 24) | (std::uint32_t{v6->s6_addr[13]} << 16) |
                         (std::uint32_t{v6->s6_addr[14]} << 8) | v6->s6_addr[15];
      return "is an IPv4-mapped IPv6 address; write " + format_ipv4(v4);
    }
    return "";
  }
  return "is not an IP address";
}

std::string canonical_ip(std::string_view address) {
  if (auto v4 = parse_ipv4(address)) return format_ipv4(*v4);
  if (auto v6 = parse_ipv6(address)) {
    char text[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET6, &*v6, text, sizeof text) != nullptr) return text;
  }
  return "";
}

std::string reserved_as_number(std::uint32_t as) {
  if (as == 23456) return "is AS_TRANS (RFC 6793), which only stands in for a 4-byte AS";
  if (as == 65535 || as == 4294967295u) return "is reserved (RFC 7300)";
  return "";
}

std::optional<Ipv4Cidr> parse_ipv4_cidr(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto address = parse_ipv4(s.substr(0, slash));
  auto length_text = s.substr(slash + 1);
  if (!address || length_text.empty() || length_text.size() > 2) return std::nullopt;
  if (length_text.size() == 2 && length_text[0] == '0') return std::nullopt;
  int length = -1;
  auto [end, ec] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
  if (ec != std::errc() || end != length_text.data() + length_text.size() || length < 0 || length > 32) {
    return std::nullopt;
  }
  std::uint32_t mask = length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
  return Ipv4Cidr{*address & mask, length, (*address & ~mask) != 0};
}

}  // namespace rr::contract
