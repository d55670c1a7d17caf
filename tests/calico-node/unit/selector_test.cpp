#include <gtest/gtest.h>

#include "confd/selector.h"

namespace rr::calico {
namespace {

struct MatchCase {
  const char* name;
  const char* selector;
  Labels labels;
  bool matches;
};

TEST(SelectorTest, MatchesAsCalicoDoes) {
  const Labels rack1 = {{"topology.kubernetes.io/rack", "rack-1"}, {"kubernetes.io/hostname", "n1"}, {"e2e", "x"}};
  const std::vector<MatchCase> cases = {
      {"all", "all()", {}, true},
      {"empty is all", "", {}, true},
      {"equal", "topology.kubernetes.io/rack == 'rack-1'", rack1, true},
      {"equal other value", "topology.kubernetes.io/rack == 'rack-2'", rack1, false},
      {"equal missing label", "zone == 'a'", rack1, false},
      {"double quotes", "e2e == \"x\"", rack1, true},
      {"not equal", "kubernetes.io/hostname != 'n2'", rack1, true},
      {"not equal same", "kubernetes.io/hostname != 'n1'", rack1, false},
      {"not equal missing label", "zone != 'a'", rack1, true},
      {"as the operator writes it (colocated)",
       "topology.kubernetes.io/rack == 'rack-1' && e2e == 'x' && kubernetes.io/hostname != 'n2'", rack1, true},
      {"as the operator writes it, the reflector's own host",
       "topology.kubernetes.io/rack == 'rack-1' && e2e == 'x' && kubernetes.io/hostname != 'n1'", rack1, false},
      {"has", "has(e2e)", rack1, true},
      {"has missing", "has(zone)", rack1, false},
      {"not has", "!has(zone)", rack1, true},
      {"or", "zone == 'a' || e2e == 'x'", rack1, true},
      {"and binds tighter than or", "e2e == 'y' && zone == 'a' || has(e2e)", rack1, true},
      {"parentheses", "e2e == 'y' && (zone == 'a' || has(e2e))", rack1, false},
      {"in", "topology.kubernetes.io/rack in {'rack-2', 'rack-1'}", rack1, true},
      {"not in", "topology.kubernetes.io/rack not in {'rack-2', 'rack-1'}", rack1, false},
      {"not in, missing label", "zone not in {'a'}", rack1, true},
      {"negated group", "!(e2e == 'x')", rack1, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto s = Selector::parse(c.selector);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s->matches(c.labels), c.matches);
  }
}

TEST(SelectorTest, RefusesWhatCalicoWouldRefuse) {
  for (const char* bad : {"e2e = 'x'", "e2e == x", "e2e == 'x' &&", "has(e2e", "(e2e == 'x'", "e2e == 'x' junk",
                          "e2e in 'x'", "all(", "== 'x'", "e2e == 'x"}) {
    SCOPED_TRACE(bad);
    auto s = Selector::parse(bad);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, kube::ErrorKind::Invalid);
    EXPECT_NE(s.error().message.find(bad), std::string::npos) << s.error().message;
  }
}

}  // namespace
}  // namespace rr::calico
