// The reasons rr-operator writes into conditions (planner/reasons.h, the only
// table a Condition can take a reason from) are exactly the reasons the docs
// promise: the Reason column of docs/crd-reference.md's Conditions table, and
// every "reason `X`" the docs mention elsewhere.
#include "planner/reasons.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "testing/source_dir.h"

namespace rr::planner {
namespace {

std::string read_doc(const std::string& name) {
  const auto path = ::rr::testing::source_dir() / "docs" / name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> backticked(const std::string& text) {
  static const std::regex word("`([A-Za-z]+)`");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), word), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::size_t start = row.find('|');
  while (start != std::string::npos) {
    std::size_t next = row.find('|', start + 1);
    if (next == std::string::npos) break;
    out.push_back(row.substr(start + 1, next - start - 1));
    start = next;
  }
  return out;
}

// The backticked words of the Reason column of the table under `heading`.
std::set<std::string> table_reasons(const std::string& doc, const std::string& heading) {
  std::istringstream lines(doc);
  std::string line;
  while (std::getline(lines, line) && line != heading) {
  }
  EXPECT_EQ(line, heading) << "no heading " << heading;
  int column = -1;
  std::set<std::string> out;
  while (std::getline(lines, line)) {
    if (line.empty() && column < 0) continue;
    if (line.empty() || line.front() != '|') break;
    auto row = cells(line);
    if (column < 0) {
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (row[i].find("Reason") != std::string::npos) column = static_cast<int>(i);
      }
      EXPECT_GE(column, 0) << "the table under " << heading << " has no Reason column: " << line;
      if (column < 0) break;
      continue;
    }
    if (static_cast<int>(row.size()) <= column || row[column].find("---") != std::string::npos) continue;
    auto words = backticked(row[column]);
    out.insert(words.begin(), words.end());
  }
  return out;
}

std::set<std::string> code_reasons() {
  std::set<std::string> out;
  for (Reason r : kAllReasons) out.insert(std::string(r.name()));
  return out;
}

std::string listing(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

std::set<std::string> minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  for (const auto& x : a) {
    if (!b.count(x)) out.insert(x);
  }
  return out;
}

TEST(ReasonsTest, TheTableHasNoDuplicates) {
  EXPECT_EQ(code_reasons().size(), kAllReasons.size());
  for (Reason r : kAllReasons) EXPECT_FALSE(r.empty());
}

TEST(ReasonsTest, TheCodeEmitsExactlyTheReasonsOfTheDocsConditionsTable) {
  const auto documented = table_reasons(read_doc("crd-reference.md"), "### Conditions");
  const auto emitted = code_reasons();
  EXPECT_EQ(listing(minus(emitted, documented)), "(none)")
      << "reasons in operator/planner/reasons.h that docs/crd-reference.md's Conditions table does not list";
  EXPECT_EQ(listing(minus(documented, emitted)), "(none)")
      << "reasons docs/crd-reference.md's Conditions table lists that operator/planner/reasons.h does not have";
}

// Prose elsewhere ("reason `InvalidSpec`", "reasons `A`, `B`") names only reasons that exist.
TEST(ReasonsTest, ReasonsNamedInTheDocsProseExist) {
  static const std::regex mention("[Rr]easons?:?\\s+((`[A-Za-z]+`[\\s,/]*(or\\s+|and\\s+)?)+)");
  const auto emitted = code_reasons();
  for (const char* name : {"crd-reference.md", "operations.md", "architecture.md"}) {
    SCOPED_TRACE(name);
    const std::string doc = read_doc(name);
    std::set<std::string> named;
    for (std::sregex_iterator it(doc.begin(), doc.end(), mention), end; it != end; ++it) {
      auto words = backticked((*it)[1]);
      named.insert(words.begin(), words.end());
    }
    EXPECT_EQ(listing(minus(named, emitted)), "(none)") << "reasons named in docs/" << name << " that the code never emits";
  }
}

}  // namespace
}  // namespace rr::planner
