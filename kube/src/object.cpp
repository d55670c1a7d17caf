#include "kube/object.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace kube {
namespace {
std::string meta_string(const Json& obj, const char* field) {
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return {};
  auto it = meta->find(field);
  return it != meta->end() && it->is_string() ? it->get<std::string>() : std::string();
}
std::map<std::string, std::string> meta_map(const Json& obj, const char* field) {
  std::map<std::string, std::string> out;
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return out;
  auto it = meta->find(field);
  if (it == meta->end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  }
  return out;
}
std::string format(std::chrono::system_clock::time_point t, bool micro) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);  // the fraction below is then 0..999999
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string s(buf);
  if (micro) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(t - secs).count();
    char frac[24];
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(us % 1000000));
    s += frac;
  }
  return s + "Z";
}
}  // namespace

std::string name_of(const Json& obj) { return meta_string(obj, "name"); }
std::string namespace_of(const Json& obj) { return meta_string(obj, "namespace"); }
std::string uid_of(const Json& obj) { return meta_string(obj, "uid"); }
std::string resource_version_of(const Json& obj) { return meta_string(obj, "resourceVersion"); }
long generation_of(const Json& obj) {
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return 0;
  auto it = meta->find("generation");
  return it != meta->end() && it->is_number_integer() ? it->get<long>() : 0;
}
std::map<std::string, std::string> labels_of(const Json& obj) { return meta_map(obj, "labels"); }
std::map<std::string, std::string> annotations_of(const Json& obj) { return meta_map(obj, "annotations"); }

std::string make_key(const std::string& ns, const std::string& name) { return ns.empty() ? name : ns + "/" + name; }
std::string key_of(const Json& obj) { return make_key(namespace_of(obj), name_of(obj)); }
std::pair<std::string, std::string> split_key(const std::string& key) {
  auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

std::string format_micro_time(std::chrono::system_clock::time_point t) { return format(t, true); }
std::string format_time(std::chrono::system_clock::time_point t) { return format(t, false); }

std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::size_t i = 19;
  std::chrono::microseconds fraction{0};
  if (i < text.size() && text[i] == '.') {
    long long digits = 0;
    int n = 0;
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, ++n) {
      if (n < 6) digits = digits * 10 + (text[i] - '0');
    }
    if (n == 0) return std::nullopt;
    for (int k = std::min(n, 6); k < 6; ++k) digits *= 10;
    fraction = std::chrono::microseconds(digits);
  }
  std::chrono::seconds offset{0};
  if (i + 1 == text.size() && (text[i] == 'Z' || text[i] == 'z')) {
  } else if (i + 6 == text.size() && (text[i] == '+' || text[i] == '-') && text[i + 3] == ':') {
    int hh = 0, mm = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59) return std::nullopt;
    offset = std::chrono::hours(hh) + std::chrono::minutes(mm);
    if (text[i] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm)) - offset +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(fraction);
}

}  // namespace kube

#include "config_support.h"

namespace kube {
std::map<std::string, std::string> decoded_secret_data(const Json& secret) {
  std::map<std::string, std::string> out;
  auto data = secret.find("data");
  if (data == secret.end() || !data->is_object()) return out;
  for (const auto& [key, value] : data->items()) {
    if (!value.is_string()) continue;
    if (auto decoded = detail::decode_base64(value.get<std::string>())) out.emplace(key, std::move(*decoded));
  }
  return out;
}
}  // namespace kube
