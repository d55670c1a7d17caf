#pragma once
// Type-checked reads from API objects: a field of the wrong type reads as
// absent, and nothing here throws. (fabric_spec.cpp reports wrong types
// instead; everything else reads objects the API server already validated.)

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "kube/object.h"

namespace rr::contract::json {

// The value at obj[key], or nullptr when obj is not an object, the key is missing or the value is null.
const kube::Json* find(const kube::Json& obj, std::string_view key);
// obj[k1][k2]...; nullptr as soon as one step is missing.
const kube::Json* find_path(const kube::Json& obj, std::initializer_list<std::string_view> keys);
// obj[key] if it is a string, else "".
std::string string_at(const kube::Json& obj, std::string_view key);
// metadata.annotations[key] / metadata.labels[key] if it is a string, else "".
std::string annotation_at(const kube::Json& obj, std::string_view key);
std::string label_at(const kube::Json& obj, std::string_view key);
// obj[key] if it is a boolean.
std::optional<bool> bool_at(const kube::Json& obj, std::string_view key);
// "True" / "False" condition status of the condition of this type in obj.status.conditions.
std::string condition_status(const kube::Json& obj, std::string_view type);
// Decimal integer text, as annotations carry numbers.
std::optional<std::int64_t> parse_int(std::string_view text);
// Compact JSON text; invalid UTF-8 is replaced rather than thrown on.
std::string dump(const kube::Json& value);

}  // namespace rr::contract::json
