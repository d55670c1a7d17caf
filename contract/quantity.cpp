#include "contract/quantity.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace rr::contract {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [0-9]+(\.[0-9]*)? | \.[0-9]+  -> value, advancing pos.
std::optional<long double> parse_decimal(std::string_view s, std::size_t& pos) {
  long double value = 0;
  std::size_t digits = 0;
  while (pos < s.size() && is_digit(s[pos])) {
    value = value * 10 + (s[pos] - '0');
    ++pos;
    ++digits;
  }
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    long double scale = 1;
    while (pos < s.size() && is_digit(s[pos])) {
      scale /= 10;
      value += scale * (s[pos] - '0');
      ++pos;
      ++digits;
    }
  }
  if (digits == 0) return std::nullopt;
  return value;
}

}  // namespace

std::optional<long double> parse_quantity(std::string_view s) {
  std::size_t pos = 0;
  long double sign = 1;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    if (s[pos] == '-') sign = -1;
    ++pos;
  }
  auto number = parse_decimal(s, pos);
  if (!number) return std::nullopt;
  std::string_view suffix = s.substr(pos);
  long double scale = 1;
  if (suffix.empty()) {
  } else if (suffix.size() == 2 && suffix[1] == 'i') {
    static constexpr std::string_view kBinary = "KMGTPE";
    auto index = kBinary.find(suffix[0]);
    if (index == std::string_view::npos) return std::nullopt;
    scale = std::pow(1024.0L, static_cast<long double>(index + 1));
  } else if (suffix.size() == 1 && suffix[0] != 'e' && suffix[0] != 'E') {
    switch (suffix[0]) {
      case 'n': scale = 1e-9L; break;
      case 'u': scale = 1e-6L; break;
      case 'm': scale = 1e-3L; break;
      case 'k': scale = 1e3L; break;
      case 'M': scale = 1e6L; break;
      case 'G': scale = 1e9L; break;
      case 'T': scale = 1e12L; break;
      case 'P': scale = 1e15L; break;
      case 'E': scale = 1e18L; break;
      default: return std::nullopt;
    }
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::size_t p = 1;
    int exponent_sign = 1;
    if (p < suffix.size() && (suffix[p] == '+' || suffix[p] == '-')) {
      if (suffix[p] == '-') exponent_sign = -1;
      ++p;
    }
    if (p == suffix.size() || suffix.size() - p > 3) return std::nullopt;
    int exponent = 0;
    for (; p < suffix.size(); ++p) {
      if (!is_digit(suffix[p])) return std::nullopt;
      exponent = exponent * 10 + (suffix[p] - '0');
    }
    scale = std::pow(10.0L, static_cast<long double>(exponent_sign * exponent));
  } else {
    return std::nullopt;
  }
  return sign * *number * scale;
}

std::optional<long double> quantity_value(const kube::Json& value) {
  if (value.is_string()) return parse_quantity(value.get_ref<const std::string&>());
  if (value.is_number_unsigned()) return static_cast<long double>(value.get<std::uint64_t>());
  if (value.is_number_integer()) return static_cast<long double>(value.get<std::int64_t>());
  if (value.is_number_float()) return static_cast<long double>(value.get<double>());
  return std::nullopt;
}

bool same_quantity(const kube::Json& a, const kube::Json& b) {
  auto x = quantity_value(a);
  auto y = quantity_value(b);
  if (!x || !y) return a == b;
  long double scale = std::max(std::fabs(*x), std::fabs(*y));
  return std::fabs(*x - *y) <= std::max(1e-9L, scale * 1e-12L);
}

}  // namespace rr::contract
