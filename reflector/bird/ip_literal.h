#pragma once
// IP literals as BIRD sees them: the family and a canonical text, so that
// "FD00::1" and "fd00:0::1" name the same neighbor.

#include <cstddef>
#include <string>
#include <utility>

namespace rr::bird {

enum class Family { None, V4, V6 };

// Canonical text of an IP literal and its family; Family::None (and the text as given) if it is not one.
std::pair<Family, std::string> parse_ip(const std::string& text);

// The longest password a TCP MD5 signature takes (TCP_MD5SIG_MAXKEYLEN).
inline constexpr std::size_t kMaxPasswordLength = 80;

}  // namespace rr::bird
