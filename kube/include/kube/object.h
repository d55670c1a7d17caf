#pragma once
// Small accessors for the metadata every Kubernetes object carries. Objects
// are nlohmann::json at the client layer; typed views live above it.

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace kube {

using Json = nlohmann::json;

std::string name_of(const Json& obj);
std::string namespace_of(const Json& obj);
std::string uid_of(const Json& obj);
std::string resource_version_of(const Json& obj);
long generation_of(const Json& obj);
std::map<std::string, std::string> labels_of(const Json& obj);
std::map<std::string, std::string> annotations_of(const Json& obj);
// "ns/name", or "name" for cluster-scoped objects: the cache and work-queue key.
std::string key_of(const Json& obj);
std::string make_key(const std::string& ns, const std::string& name);
// Splits a key back into namespace (maybe empty) and name.
std::pair<std::string, std::string> split_key(const std::string& key);

// RFC 3339 with microseconds, as metav1.MicroTime (Lease times) and metav1.Time.
std::string format_micro_time(std::chrono::system_clock::time_point t);
std::string format_time(std::chrono::system_clock::time_point t);
// Either form back ("2026-12-04T10:00:00Z", "2026-12-04T10:00:00.123456Z", an offset
// "+01:00" instead of Z); nullopt when it is not RFC 3339.
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& rfc3339);

}  // namespace kube

namespace kube {
// A Secret's `data`, base64-decoded, key by key (keys that do not decode are left out).
// The values are secrets: keep them out of logs, metrics and errors.
std::map<std::string, std::string> decoded_secret_data(const Json& secret);
}  // namespace kube
