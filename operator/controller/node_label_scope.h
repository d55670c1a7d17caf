#pragma once
// Which Node labels the operator's Node cache keeps: the keys some fabric's plan reads
// (planner::node_label_keys), not the twenty or so a Node carries. The set grows when a fabric
// reads a key it did not read before (the cache then lists every Node again, see
// FabricController); it does not shrink while the process runs.

#include <memory>
#include <mutex>
#include <optional>

#include "kube/object.h"
#include "planner/types.h"

namespace rr::controller {

class NodeLabelScope {
 public:
  NodeLabelScope();

  // Adds `keys`; true when one of them was new.
  bool add(const planner::LabelKeys& keys);
  // What the cache keeps of a Node (thread-safe; the informer's transform).
  std::optional<planner::NodeInfo> trim(const kube::Json& node) const;
  planner::LabelKeys keys() const;
  // Whether every one of `keys` is kept.
  bool keeps(const planner::LabelKeys& keys) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const planner::LabelKeys> keys_;  // replaced whole, read without copying
};

}  // namespace rr::controller
