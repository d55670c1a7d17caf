#include "planner/names.h"

#include <cstdint>
#include <cstdio>

namespace rr::planner {
namespace {
std::string dns_fragment(std::string_view in, size_t max) {
  std::string out;
  for (char c : in) {
    if (out.size() >= max) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (ok) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}
}  // namespace

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string reflector_pod_name(std::string_view fabric, std::string_view rack, std::string_view node) {
  std::string key = std::string(fabric) + "\n" + std::string(rack) + "\n" + std::string(node);
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(stable_hash(key) & 0xffffffffu));
  // 63 = fabric(<=24) + '-' + rack(<=28) + '-' + 8 hex
  std::string f = dns_fragment(fabric, 24);
  std::string r = dns_fragment(rack, 28);
  std::string name = f.empty() ? "rr" : f;
  if (!r.empty()) name += "-" + r;
  return name + "-" + suffix;
}

}  // namespace rr::planner
