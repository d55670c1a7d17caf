#pragma once
// Kubernetes resource quantities ("100m", "0.1", "1Gi", "1e3", 2), compared by
// value: the API server stores them in canonical form ("0.1" comes back as
// "100m"), so text comparison would see a change that is not there.

#include <optional>
#include <string_view>

#include "kube/object.h"

namespace rr::contract {

// The value of a quantity string, or nullopt if it is not one.
std::optional<long double> parse_quantity(std::string_view text);
// A quantity as JSON: a string or a number (int-or-string in the API).
std::optional<long double> quantity_value(const kube::Json& value);
// Equal to within the API's nano precision.
bool same_quantity(const kube::Json& a, const kube::Json& b);

}  // namespace rr::contract
