#pragma once
// Manifests as users write them for `kubectl apply -f`: YAML (one or more documents separated
// by `---`) or JSON, read into JSON objects the way the API server reads them.

#include <string>
#include <vector>

#include "kube/object.h"
#include "kube/result.h"

namespace kube {

// Every non-empty document, in order. Plain scalars take YAML 1.2's core types (123, 1.5,
// true, null); quoted ones stay strings. An error names the line and column.
Result<std::vector<Json>> parse_manifests(const std::string& text);

// `value` as a YAML document (block style; strings that would read back as another type quoted).
std::string to_yaml(const Json& value);

}  // namespace kube
