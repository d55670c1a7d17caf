#pragma once
// Syntax checks on the strings Kubernetes and BGP care about, shared by spec
// parsing and by the agent. Pure functions; none of them throws.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rr::contract {

// RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters (namespaces, peer names).
bool is_dns_label(std::string_view s);
// RFC 1123 subdomain: dot-separated labels, at most 253 characters (Secret, PriorityClass names).
bool is_dns_subdomain(std::string_view s);
// A label key: optional "<dns subdomain>/" prefix, then a 1..63 character name.
bool is_label_key(std::string_view s);
// A label value: empty, or 1..63 of [-A-Za-z0-9_.] starting and ending alphanumeric.
bool is_label_value(std::string_view s);
// A Secret data key: [-._a-zA-Z0-9]+, at most 253 characters.
bool is_secret_key(std::string_view s);

// Strict dotted quad ("10.0.0.1"; no leading zeros, no shorthand), host byte order.
std::optional<std::uint32_t> parse_ipv4(std::string_view s);
std::string format_ipv4(std::uint32_t address);
bool is_ipv4_address(std::string_view s);
bool is_ipv6_address(std::string_view s);

// Why a BGP session cannot have its neighbour at this IP address, or "" when it can:
// the unspecified, broadcast and multicast addresses, IPv6 link-local (it would
// need an interface) and IPv4-mapped IPv6 (the IPv4 form is the one BGP uses). Loopback is
// allowed: a speaker on the reflector's own host (and every test fabric on 127.x) uses it.
std::string unusable_neighbor_address(std::string_view address);
// A canonical form of an IPv4 or IPv6 address ("2001:db8:0:0::1" -> "2001:db8::1"), so that
// two spellings of one address compare equal; "" when it is neither.
std::string canonical_ip(std::string_view address);
// Why an AS number may not be configured, or "" when it may: AS_TRANS (RFC 6793) and the
// last AS of the 2-byte and 4-byte ranges (RFC 7300). 0 is outside every range we accept.
std::string reserved_as_number(std::uint32_t as);

struct Ipv4Cidr {
  std::uint32_t network = 0;  // host byte order
  int prefix_length = 0;
  bool host_bits_set = false;  // "10.0.0.1/8": parsed, but not a network address
};
// "a.b.c.d/n" with 0 <= n <= 32.
std::optional<Ipv4Cidr> parse_ipv4_cidr(std::string_view s);

}  // namespace rr::contract
