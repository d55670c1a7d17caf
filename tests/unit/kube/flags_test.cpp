#include "kube/flags.h"

#include <map>
#include <ostream>

#include <gtest/gtest.h>

namespace kube {
namespace {

using namespace std::chrono_literals;

struct Values {
  std::string name = "rr";
  int count = 1;
  double ratio = 0.5;
  bool verbose = false;
  std::chrono::milliseconds timeout = 15s;
  bool operator==(const Values&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Values& v) {
  return out << "{name=" << v.name << " count=" << v.count << " ratio=" << v.ratio << " verbose=" << v.verbose
             << " timeout=" << v.timeout.count() << "ms}";
}

// The flags both binaries use, in miniature: one of each kind, each with an env var.
struct Parsed {
  Values values;
  FlagSet flags{"rr-test", "Tests the flag parser."};
  Status status;

  Parsed(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    flags.add_string("name", &values.name, "a name", "RR_NAME");
    flags.add_int("count", &values.count, "how many", "RR_COUNT");
    flags.add_double("ratio", &values.ratio, "a fraction", "RR_RATIO");
    flags.add_bool("verbose", &values.verbose, "say more", "RR_VERBOSE");
    flags.add_duration("timeout", &values.timeout, "how long", "RR_TIMEOUT");
    std::vector<const char*> argv = {"rr-test"};
    for (const auto& a : args) argv.push_back(a.c_str());
    status = flags.parse(static_cast<int>(argv.size()), argv.data(), [&env](const char* key) -> const char* {
      auto it = env.find(key);
      return it == env.end() ? nullptr : it->second.c_str();
    });
  }
};

Values with(std::function<void(Values&)> change) {
  Values v;
  change(v);
  return v;
}

TEST(FlagSet, ParsesValuesFromFlagsAndEnvironment) {
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    Values want;
  };
  const std::vector<Case> cases = {
      {"nothing given keeps the defaults", {}, {}, Values{}},
      {"--x=1", {"--count=7"}, {}, with([](Values& v) { v.count = 7; })},
      {"--x 1", {"--count", "7"}, {}, with([](Values& v) { v.count = 7; })},
      {"a negative value after a space", {"--count", "-3"}, {}, with([](Values& v) { v.count = -3; })},
      {"a value holding '='", {"--name=a=b"}, {}, with([](Values& v) { v.name = "a=b"; })},
      {"an empty value", {"--name="}, {}, with([](Values& v) { v.name = ""; })},
      {"a double", {"--ratio=0.25"}, {}, with([](Values& v) { v.ratio = 0.25; })},
      {"bool without value", {"--verbose"}, {}, with([](Values& v) { v.verbose = true; })},
      {"bool without value before another flag",
       {"--verbose", "--count", "2"},
       {},
       with([](Values& v) {
         v.verbose = true;
         v.count = 2;
       })},
      {"bool =false", {"--verbose=false"}, {{"RR_VERBOSE", "true"}}, Values{}},
      {"the last of a repeated flag wins", {"--count=1", "--count=5"}, {}, with([](Values& v) { v.count = 5; })},
      {"env fallback", {}, {{"RR_COUNT", "9"}, {"RR_TIMEOUT", "2m"}, {"RR_VERBOSE", "1"}},
       with([](Values& v) {
         v.count = 9;
         v.timeout = 2min;
         v.verbose = true;
       })},
      {"flag beats env", {"--count", "3"}, {{"RR_COUNT", "9"}}, with([](Values& v) { v.count = 3; })},
      {"flag beats a bad env value", {"--count=3"}, {{"RR_COUNT", "many"}}, with([](Values& v) { v.count = 3; })},
      {"unrelated env is ignored", {}, {{"RR_OTHER", "x"}}, Values{}},
      {"duration flag", {"--timeout=500ms"}, {}, with([](Values& v) { v.timeout = 500ms; })},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Parsed p(c.args, c.env);
    ASSERT_TRUE(p.status.ok()) << p.status.error().describe();
    EXPECT_FALSE(p.flags.help_requested());
    EXPECT_EQ(p.values, c.want);
  }
}

TEST(FlagSet, ErrorsNameTheFlagAndLeaveTheRestUnparsed) {
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::vector<std::string> error_mentions;
  };
  const std::vector<Case> cases = {
      {"unknown flag", {"--nope=1"}, {}, {"--nope"}},
      {"unknown flag among good ones", {"--count=2", "--colour", "red"}, {}, {"--colour"}},
      {"bad int", {"--count=many"}, {}, {"--count", "many"}},
      {"int out of range", {"--count=99999999999"}, {}, {"--count"}},
      {"int with trailing junk", {"--count=3x"}, {}, {"--count"}},
      {"bad double", {"--ratio=half"}, {}, {"--ratio"}},
      {"bad bool", {"--verbose=maybe"}, {}, {"--verbose"}},
      {"bad duration", {"--timeout=soon"}, {}, {"--timeout", "soon"}},
      {"unknown duration unit", {"--timeout=3d"}, {}, {"--timeout", "3d"}},
      {"negative duration", {"--timeout=-1s"}, {}, {"--timeout"}},
      {"missing value at the end", {"--count"}, {}, {"--count", "needs a value"}},
      {"positional argument", {"stray"}, {}, {"stray"}},
      {"single dash", {"-count=1"}, {}, {"-count=1"}},
      {"bad env value names the variable and the flag", {}, {{"RR_COUNT", "many"}}, {"RR_COUNT", "--count"}},
      {"bad env duration", {}, {{"RR_TIMEOUT", "forever"}}, {"RR_TIMEOUT", "--timeout"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Parsed p(c.args, c.env);
    ASSERT_FALSE(p.status.ok());
    EXPECT_EQ(p.status.error().kind, ErrorKind::BadConfig);
    for (const auto& m : c.error_mentions) {
      EXPECT_NE(p.status.error().message.find(m), std::string::npos)
          << "\"" << p.status.error().message << "\" should mention " << m;
    }
  }
}

TEST(FlagSet, ParsesDurations) {
  struct Case {
    std::string text;
    std::optional<std::chrono::milliseconds> want;  // nullopt: an error
  };
  const std::vector<Case> cases = {
      {"500ms", 500ms}, {"15s", 15s},   {"2m", 2min},      {"1h", 1h},          {"30", 30s},
      {"0", 0ms},       {"1.5s", 1500ms}, {"0.5m", 30s},   {"", std::nullopt},  {"s", std::nullopt},
      {"ms", std::nullopt}, {"-1s", std::nullopt}, {"5d", std::nullopt}, {"5 s", std::nullopt},
      {"1h30m", std::nullopt}, {"inf", std::nullopt}, {"nan", std::nullopt}, {"1e300h", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("\"" + c.text + "\"");
    auto got = FlagSet::parse_duration(c.text);
    if (!c.want) {
      EXPECT_FALSE(got.ok()) << "parsed as " << got->count() << "ms";
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.error().describe();
    EXPECT_EQ(*got, *c.want);
  }
}

TEST(FlagSet, HelpStopsParsingAndUsageListsEveryFlag) {
  for (const char* help : {"--help", "-h"}) {
    SCOPED_TRACE(help);
    Parsed p({"--count=2", help, "--nope"}, {{"RR_NAME", "from-env"}});
    ASSERT_TRUE(p.status.ok()) << p.status.error().describe();
    EXPECT_TRUE(p.flags.help_requested());
  }
  Parsed p({"--help"});
  const std::string usage = p.flags.usage();
  EXPECT_NE(usage.find("usage: rr-test"), std::string::npos) << usage;
  EXPECT_NE(usage.find("Tests the flag parser."), std::string::npos) << usage;
  for (const char* expected : {"--name VALUE", "(default rr)", "[env RR_NAME]", "--count VALUE", "(default 1)",
                               "--ratio VALUE", "(default 0.5)", "[env RR_RATIO]", "(default false)",
                               "[env RR_VERBOSE]", "--timeout VALUE", "(default 15s)", "[env RR_TIMEOUT]"}) {
    EXPECT_NE(usage.find(expected), std::string::npos) << "usage lacks " << expected << ":\n" << usage;
  }
  // A bool takes no VALUE.
  EXPECT_EQ(usage.find("--verbose VALUE"), std::string::npos) << usage;
  EXPECT_NE(usage.find("--verbose\n"), std::string::npos) << usage;
}

// Ports, counts and periods have a range: a value outside it is refused at start, naming the
// flag and the range, from the command line or the environment alike; usage shows the range.
TEST(FlagSet, RangesRefuseValuesOutsideThemNamingFlagAndRange) {
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::vector<std::string> error_mentions;  // empty: accepted
  };
  const std::vector<Case> cases = {
      {"defaults are in range", {}, {}, {}},
      {"the bounds themselves", {"--port=1", "--qps=0.5", "--poll=100ms"}, {}, {}},
      {"the upper bound", {"--port=65535"}, {}, {}},
      {"above the maximum", {"--port=70000"}, {}, {"--port", "70000", "1..65535"}},
      {"zero below a minimum of one", {"--port=0"}, {}, {"--port", "1..65535"}},
      {"negative", {"--port=-5"}, {}, {"--port", "-5"}},
      {"from the environment", {}, {{"RR_PORT", "0"}}, {"RR_PORT", "--port", "1..65535"}},
      {"a double below its minimum", {"--qps=0"}, {}, {"--qps", "at least 0.5"}},
      {"a duration below its minimum", {"--poll=0"}, {}, {"--poll", "at least 100ms"}},
      {"a duration below its minimum in seconds", {"--poll=0.05s"}, {}, {"--poll", "at least 100ms"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    int port = 179;
    double qps = 20;
    std::chrono::milliseconds poll = 2s;
    FlagSet flags{"rr-test", "ranges"};
    flags.add_int("port", &port, "a port", "RR_PORT", FlagSet::IntRange{1, 65535});
    flags.add_double("qps", &qps, "a rate", "RR_QPS", FlagSet::DoubleRange{0.5, 1e6});
    flags.add_duration("poll", &poll, "a period", "RR_POLL", 100ms);
    std::vector<const char*> argv = {"rr-test"};
    for (const auto& a : c.args) argv.push_back(a.c_str());
    Status s = flags.parse(static_cast<int>(argv.size()), argv.data(), [&c](const char* key) -> const char* {
      auto it = c.env.find(key);
      return it == c.env.end() ? nullptr : it->second.c_str();
    });
    if (c.error_mentions.empty()) {
      EXPECT_TRUE(s.ok()) << s.error().describe();
      continue;
    }
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::BadConfig);
    for (const auto& m : c.error_mentions) {
      EXPECT_NE(s.error().message.find(m), std::string::npos) << "\"" << s.error().message << "\" should mention " << m;
    }
  }
  int port = 179;
  FlagSet flags{"rr-test", "ranges"};
  flags.add_int("port", &port, "a port", "RR_PORT", FlagSet::IntRange{1, 65535});
  EXPECT_NE(flags.usage().find("(1..65535)"), std::string::npos) << flags.usage();
}

// Lists (namespaces, image references): comma-separated, blanks around items dropped; a
// list given again replaces the last, as every other flag.
TEST(FlagSet, ParsesCommaSeparatedLists) {
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"absent keeps the default", {}, {}, {"a"}},
      {"one item", {"--items=b"}, {}, {"b"}},
      {"several, blanks trimmed, empties dropped", {"--items", " b, c ,,d "}, {}, {"b", "c", "d"}},
      {"empty value: an empty list", {"--items="}, {}, {}},
      {"repeated: the last wins", {"--items=b", "--items=c"}, {}, {"c"}},
      {"env fallback", {}, {{"RR_ITEMS", "x,y"}}, {"x", "y"}},
      {"flag beats env", {"--items=b"}, {{"RR_ITEMS", "x,y"}}, {"b"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> items = {"a"};
    FlagSet flags{"rr-test", "lists"};
    flags.add_string_list("items", &items, "some items", "RR_ITEMS");
    std::vector<const char*> argv = {"rr-test"};
    for (const auto& a : c.args) argv.push_back(a.c_str());
    auto status = flags.parse(static_cast<int>(argv.size()), argv.data(), [&c](const char* key) -> const char* {
      auto it = c.env.find(key);
      return it == c.env.end() ? nullptr : it->second.c_str();
    });
    ASSERT_TRUE(status.ok()) << status.error().describe();
    EXPECT_EQ(items, c.want);
    EXPECT_NE(flags.usage().find("(default a)"), std::string::npos) << flags.usage();
  }
}

}  // namespace
}  // namespace kube
