#include "kube/manifest.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <regex>

namespace kube {
namespace {

// YAML 1.2 core schema for a plain scalar.
Json plain_scalar(const std::string& text) {
  static const std::regex integer(R"([-+]?[0-9]+)");
  static const std::regex octal(R"(0o[0-7]+)");
  static const std::regex hex(R"(0x[0-9a-fA-F]+)");
  static const std::regex number(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  try {
    if (std::regex_match(text, integer)) return Json::parse(text[0] == '+' ? text.substr(1) : text);
    if (std::regex_match(text, octal)) return std::stoll(text.substr(2), nullptr, 8);
    if (std::regex_match(text, hex)) return std::stoll(text.substr(2), nullptr, 16);
    if (std::regex_match(text, number)) return std::strtod(text.c_str(), nullptr);
  } catch (const std::exception&) {
    // Too large for a JSON number: a string, as the API server would refuse it anyway.
  }
  return text;
}

Result<Json> to_json(const YAML::Node& node, int depth) {
  if (depth > 100) {
    return make_error(ErrorKind::Invalid, "nested deeper than 100 levels at line " + std::to_string(node.Mark().line + 1));
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Json(nullptr);
    case YAML::NodeType::Scalar:
      return node.Tag() == "!" ? Json(node.Scalar()) : plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) {
        auto v = to_json(item, depth + 1);
        if (!v.ok()) return v;
        out.push_back(std::move(v).value());
      }
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& item : node) {
        if (!item.first.IsScalar()) {
          return make_error(ErrorKind::Invalid,
                            "a mapping key that is not a string at line " + std::to_string(item.first.Mark().line + 1));
        }
        auto v = to_json(item.second, depth + 1);
        if (!v.ok()) return v;
        out[item.first.Scalar()] = std::move(v).value();
      }
      return out;
    }
  }
  return Json(nullptr);
}

void emit(YAML::Emitter& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : v.items()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) emit(out, item);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const auto& text = v.get_ref<const std::string&>();
      // A string a reader would take for a number, a boolean or null stays a string.
      if (!plain_scalar(text).is_string()) {
        out << YAML::DoubleQuoted << text;
      } else {
        out << text;
      }
      break;
    }
    case Json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << v.dump();
      break;
  }
}

}  // namespace

std::string to_yaml(const Json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

Result<std::vector<Json>> parse_manifests(const std::string& text) {
  std::vector<Json> out;
  try {
    for (const auto& doc : YAML::LoadAll(text)) {
      auto v = to_json(doc, 0);
      if (!v.ok()) return v.error();
      if (!v->is_null()) out.push_back(std::move(v).value());
    }
  } catch (const YAML::Exception& e) {
    return make_error(ErrorKind::Invalid, "line " + std::to_string(e.mark.line + 1) + ", column " +
                                         std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return out;
}

}  // namespace kube
