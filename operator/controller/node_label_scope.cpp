#include "controller/node_label_scope.h"

#include <algorithm>

#include "contract/observed.h"

namespace rr::controller {

NodeLabelScope::NodeLabelScope() : keys_(std::make_shared<const planner::LabelKeys>(
                                       planner::LabelKeys{planner::kCalicoNodeLabel})) {}

bool NodeLabelScope::add(const planner::LabelKeys& keys) {
  std::lock_guard lock(mu_);
  planner::LabelKeys grown = *keys_;
  const size_t before = grown.size();
  grown.insert(keys.begin(), keys.end());
  if (grown.size() == before) return false;
  keys_ = std::make_shared<const planner::LabelKeys>(std::move(grown));
  return true;
}

std::optional<planner::NodeInfo> NodeLabelScope::trim(const kube::Json& node) const {
  std::shared_ptr<const planner::LabelKeys> keys;
  {
    std::lock_guard lock(mu_);
    keys = keys_;
  }
  return contract::node_info_keeping(node, *keys);
}

planner::LabelKeys NodeLabelScope::keys() const {
  std::lock_guard lock(mu_);
  return *keys_;
}

bool NodeLabelScope::keeps(const planner::LabelKeys& keys) const {
  std::lock_guard lock(mu_);
  return std::includes(keys_->begin(), keys_->end(), keys.begin(), keys.end());
}

}  // namespace rr::controller
