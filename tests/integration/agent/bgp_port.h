#pragma once
// The BGP port of the agent suites' fabrics, for reflectors and speakers alike: not 179, which
// needs privilege and is calico-node's on a real node.

namespace rr::testing {
inline constexpr int kPort = 11179;
}  // namespace rr::testing
