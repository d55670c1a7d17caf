#include "controller/api_availability.h"

#include <cctype>

namespace rr::controller {
namespace {

bool same(const kube::ResourceType& a, const kube::ResourceType& b) {
  return a.group == b.group && a.version == b.version && a.plural == b.plural;
}

}  // namespace

ApiAvailability::ApiAvailability(std::vector<kube::ResourceType> types) {
  for (auto& t : types) entries_.push_back({std::move(t), std::nullopt});
}

ApiAvailability::Entry* ApiAvailability::find(const kube::ResourceType& type) {
  for (auto& e : entries_) {
    if (same(e.type, type)) return &e;
  }
  return nullptr;
}

bool ApiAvailability::failed(const kube::ResourceType& type, const kube::Error& error) {
  if (error.kind != kube::ErrorKind::NotFound) return false;  // down or slow is not "not served"
  std::lock_guard lock(mu_);
  Entry* e = find(type);
  if (!e || e->not_served) return false;
  e->not_served = error;
  return true;
}

bool ApiAvailability::listed(const kube::ResourceType& type) {
  std::lock_guard lock(mu_);
  Entry* e = find(type);
  if (!e || !e->not_served) return false;
  e->not_served.reset();
  return true;
}

bool ApiAvailability::missing(const kube::ResourceType& type) const {
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    if (same(e.type, type)) return e.not_served.has_value();
  }
  return false;
}

std::string ApiAvailability::describe_missing() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& e : entries_) {
    if (!e.not_served) continue;
    std::string answer = e.not_served->describe();
    while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back()))) answer.pop_back();
    out += (out.empty() ? "" : "; ") + e.type.describe() + " (" + e.type.api_version() + ") answered " + answer;
  }
  return out;
}

}  // namespace rr::controller
