#pragma once
// Where the tests find BIRD 1.6: scripts/fetch-bird1.sh unpacks Debian's `bird`
// into RR_BIRD1_DIR (a CTest fixture runs it before these tests).

#include <string>

namespace rr::calico::testing {

inline std::string bird1_binary() { return std::string(RR_BIRD1_DIR) + "/usr/sbin/bird"; }
inline std::string birdc1_binary() { return std::string(RR_BIRD1_DIR) + "/usr/sbin/birdc"; }

}  // namespace rr::calico::testing
