#include "contract/json_fields.h"

#include <charconv>

namespace rr::contract::json {

const kube::Json* find(const kube::Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const kube::Json* find_path(const kube::Json& obj, std::initializer_list<std::string_view> keys) {
  const kube::Json* at = &obj;
  for (auto key : keys) {
    at = find(*at, key);
    if (at == nullptr) return nullptr;
  }
  return at;
}

std::string string_at(const kube::Json& obj, std::string_view key) {
  const auto* value = find(obj, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

std::string annotation_at(const kube::Json& obj, std::string_view key) {
  const auto* annotations = find_path(obj, {"metadata", "annotations"});
  return annotations != nullptr ? string_at(*annotations, key) : std::string();
}
std::string label_at(const kube::Json& obj, std::string_view key) {
  const auto* labels = find_path(obj, {"metadata", "labels"});
  return labels != nullptr ? string_at(*labels, key) : std::string();
}

std::optional<bool> bool_at(const kube::Json& obj, std::string_view key) {
  const auto* value = find(obj, key);
  if (value == nullptr || !value->is_boolean()) return std::nullopt;
  return value->get<bool>();
}

std::string condition_status(const kube::Json& obj, std::string_view type) {
  const auto* conditions = find_path(obj, {"status", "conditions"});
  if (conditions == nullptr || !conditions->is_array()) return {};
  for (const auto& condition : *conditions) {
    if (string_at(condition, "type") == type) return string_at(condition, "status");
  }
  return {};
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::string dump(const kube::Json& value) {
  return value.dump(-1, ' ', false, kube::Json::error_handler_t::replace);
}

}  // namespace rr::contract::json
