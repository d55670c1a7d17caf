#include "contract/types.h"

#include <map>

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

std::string zone_of(const std::vector<const NodeInfo*>& rack_nodes, const std::string& zone_label) {
  std::map<std::string, int> votes;
  for (const NodeInfo* n : rack_nodes) {
    auto it = n->labels.find(zone_label);
    if (it != n->labels.end() && !it->second.empty()) ++votes[it->second];
  }
  std::string best;
  int most = 0;
  for (const auto& [zone, count] : votes) {  // ties: the first zone by name
    if (count > most) best = zone, most = count;
  }
  return best;
}

const char* tier_word(Tier tier) { return tier == Tier::Top ? "top" : "rack"; }

std::optional<Tier> tier_from_word(const std::string& word) {
  if (word == "rack" || word.empty()) return Tier::Rack;
  if (word == "top") return Tier::Top;
  return std::nullopt;
}

}  // namespace rr::contract
