#include "confd/selector.h"

#include <cctype>
#include <set>
#include <vector>

namespace rr::calico {

struct Selector::Node {
  enum class Kind { All, Equal, NotEqual, Has, In, NotIn, Not, And, Or };
  Kind kind = Kind::All;
  std::string key;
  std::set<std::string> values;  // Equal/NotEqual hold one
  std::shared_ptr<const Node> left, right;
};

namespace {

using NodePtr = std::shared_ptr<const Selector::Node>;
using Kind = Selector::Node::Kind;

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  kube::Result<NodePtr> parse() {
    skip_space();
    if (at_end()) return leaf(Kind::All);  // Calico treats an empty selector as all()
    auto root = parse_or();
    if (!root.ok()) return root;
    skip_space();
    if (!at_end()) return fail("unexpected text");
    return root;
  }

 private:
  kube::Result<NodePtr> parse_or() {
    auto left = parse_and();
    if (!left.ok()) return left;
    NodePtr node = *left;
    while (consume("||")) {
      auto right = parse_and();
      if (!right.ok()) return right;
      node = combine(Kind::Or, node, *right);
    }
    return node;
  }

  kube::Result<NodePtr> parse_and() {
    auto left = parse_unary();
    if (!left.ok()) return left;
    NodePtr node = *left;
    while (consume("&&")) {
      auto right = parse_unary();
      if (!right.ok()) return right;
      node = combine(Kind::And, node, *right);
    }
    return node;
  }

  kube::Result<NodePtr> parse_unary() {
    skip_space();
    if (peek("!=")) return fail("'!=' without a label");
    if (consume("!")) {
      auto inner = parse_unary();
      if (!inner.ok()) return inner;
      auto node = std::make_shared<Selector::Node>();
      node->kind = Kind::Not;
      node->left = *inner;
      return NodePtr(node);
    }
    if (consume("(")) {
      auto inner = parse_or();
      if (!inner.ok()) return inner;
      if (!consume(")")) return fail("expected ')'");
      return inner;
    }
    if (consume_word("all")) {
      if (!consume("(") || !consume(")")) return fail("expected all()");
      return leaf(Kind::All);
    }
    if (consume_word("has")) {
      if (!consume("(")) return fail("expected '(' after has");
      std::string key = label();
      if (key.empty()) return fail("expected a label key in has()");
      if (!consume(")")) return fail("expected ')' after has(" + key);
      return leaf(Kind::Has, key);
    }
    std::string key = label();
    if (key.empty()) return fail("expected a label key");
    if (consume("==")) return value_leaf(Kind::Equal, key);
    if (consume("!=")) return value_leaf(Kind::NotEqual, key);
    if (consume_word("not")) {
      if (!consume_word("in")) return fail("expected 'in' after 'not'");
      return set_leaf(Kind::NotIn, key);
    }
    if (consume_word("in")) return set_leaf(Kind::In, key);
    return fail("expected ==, !=, in or not in after " + key);
  }

  kube::Result<NodePtr> value_leaf(Kind kind, const std::string& key) {
    auto v = quoted();
    if (!v.ok()) return v.error();
    return leaf(kind, key, {*v});
  }

  kube::Result<NodePtr> set_leaf(Kind kind, const std::string& key) {
    if (!consume("{")) return fail("expected '{'");
    std::set<std::string> values;
    skip_space();
    if (!consume("}")) {
      do {
        auto v = quoted();
        if (!v.ok()) return v.error();
        values.insert(*v);
      } while (consume(","));
      if (!consume("}")) return fail("expected '}'");
    }
    return leaf(kind, key, std::move(values));
  }

  kube::Result<std::string> quoted() {
    skip_space();
    if (at_end() || (s_[pos_] != '\'' && s_[pos_] != '"')) return fail("expected a quoted value");
    const char quote = s_[pos_++];
    const auto end = s_.find(quote, pos_);
    if (end == std::string::npos) return fail("unterminated string");
    std::string v = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return v;
  }

  // Label keys: DNS-style prefix, '/', name ([A-Za-z0-9_./-]).
  std::string label() {
    skip_space();
    const auto start = pos_;
    while (!at_end()) {
      const char c = s_[pos_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '-') {
        ++pos_;
      } else {
        break;
      }
    }
    return s_.substr(start, pos_ - start);
  }

  static NodePtr leaf(Kind kind, std::string key = {}, std::set<std::string> values = {}) {
    auto node = std::make_shared<Selector::Node>();
    node->kind = kind;
    node->key = std::move(key);
    node->values = std::move(values);
    return node;
  }
  static NodePtr combine(Kind kind, NodePtr left, NodePtr right) {
    auto node = std::make_shared<Selector::Node>();
    node->kind = kind;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  bool consume(const std::string& token) {
    skip_space();
    if (!peek(token)) return false;
    pos_ += token.size();
    return true;
  }
  bool peek(const std::string& token) const { return s_.compare(pos_, token.size(), token) == 0; }
  // A keyword followed by something that cannot continue a label.
  bool consume_word(const std::string& word) {
    skip_space();
    if (!peek(word)) return false;
    const auto after = pos_ + word.size();
    if (after < s_.size()) {
      const char c = s_[after];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '-') return false;
    }
    pos_ = after;
    return true;
  }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  kube::Error fail(const std::string& what) const {
    return kube::make_error(kube::ErrorKind::Invalid,
                            "selector \"" + s_ + "\": " + what + " at offset " + std::to_string(pos_));
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

bool eval(const Selector::Node& n, const Labels& labels) {
  auto value = [&]() -> const std::string* {
    auto it = labels.find(n.key);
    return it == labels.end() ? nullptr : &it->second;
  };
  switch (n.kind) {
    case Kind::All: return true;
    case Kind::Has: return value() != nullptr;
    case Kind::Equal: return value() != nullptr && n.values.count(*value()) > 0;
    case Kind::NotEqual: return value() == nullptr || n.values.count(*value()) == 0;
    case Kind::In: return value() != nullptr && n.values.count(*value()) > 0;
    case Kind::NotIn: return value() == nullptr || n.values.count(*value()) == 0;
    case Kind::Not: return !eval(*n.left, labels);
    case Kind::And: return eval(*n.left, labels) && eval(*n.right, labels);
    case Kind::Or: return eval(*n.left, labels) || eval(*n.right, labels);
  }
  return false;
}

}  // namespace

kube::Result<Selector> Selector::parse(const std::string& text) {
  auto root = Parser(text).parse();
  if (!root.ok()) return root.error();
  return Selector(text, *root);
}

bool Selector::matches(const Labels& labels) const { return eval(*root_, labels); }

}  // namespace rr::calico
