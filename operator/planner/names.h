#pragma once
// Deterministic, valid Kubernetes names for the objects the planner asks for.

#include <string>
#include <string_view>

namespace rr::planner {

// FNV-1a: stable across runs and machines (std::hash is not).
std::uint64_t stable_hash(std::string_view text);

// A DNS-1123 label (<= 63 chars) for the reflector of `fabric` in `rack` on `node`.
// The same inputs always give the same name; different inputs practically never collide.
std::string reflector_pod_name(std::string_view fabric, std::string_view rack, std::string_view node);

}  // namespace rr::planner
