#pragma once
// The namespace the controller tests run the operator in.
#include <string>

namespace rr::controller::testing {

inline const std::string kNs = "rr-system";

}  // namespace rr::controller::testing
