#pragma once
// Calico's label selector language, the part BGPPeers use: `k == 'v'`,
// `k != 'v'`, `has(k)`, `!has(k)`, `all()`, `k in {'a', 'b'}`, `k not in {...}`,
// `!expr`, `&&`, `||` and parentheses. A missing label is != every value, as
// in Calico. Anything else is a parse error naming the position.

#include <map>
#include <memory>
#include <string>

#include "kube/result.h"

namespace rr::calico {

using Labels = std::map<std::string, std::string>;

class Selector {
 public:
  struct Node;
  static kube::Result<Selector> parse(const std::string& text);
  bool matches(const Labels& labels) const;
  const std::string& text() const { return text_; }

 private:
  Selector(std::string text, std::shared_ptr<const Node> root) : text_(std::move(text)), root_(std::move(root)) {}
  std::string text_;
  std::shared_ptr<const Node> root_;
};

}  // namespace rr::calico
