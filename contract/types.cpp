#include "contract/types.h"

namespace rr::contract {

bool labels_match(const Labels& selector, const Labels& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace rr::contract

namespace rr::contract {

const char* tier_word(Tier tier) { return tier == Tier::Top ? "top" : "rack"; }

std::optional<Tier> tier_from_word(const std::string& word) {
  if (word == "rack" || word.empty()) return Tier::Rack;
  if (word == "top") return Tier::Top;
  return std::nullopt;
}

}  // namespace rr::contract
