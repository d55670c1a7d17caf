#include "kube/logger.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fakes/fake_clock.h"
#include "kube/object.h"

namespace kube {
namespace {

using testing::FakeClock;

TEST(Logger, TextLineHasTimeLevelComponentMessageAndFields) {
  FakeClock clock;
  Logger log("operator", LogFormat::Text, LogLevel::Info, clock);
  const std::string ts = format_micro_time(clock.wall_now());
  EXPECT_EQ(log.format(LogLevel::Warn, "lease lost", {{"holder", "rr-1"}, {"after", "3s"}}),
            ts + " warn operator: lease lost holder=rr-1 after=3s");
  EXPECT_EQ(log.format(LogLevel::Debug, "tick", {}), ts + " debug operator: tick");
}

TEST(Logger, TextQuotesValuesThatWouldBreakTheLine) {
  struct Case {
    std::string name;
    std::string value;
    std::string want;  // as it appears after "k="
  };
  const std::vector<Case> cases = {
      {"plain", "rr-0", "rr-0"},
      {"unicode stays plain", "zürich", "zürich"},
      {"empty", "", R"("")"},
      {"space", "two words", R"("two words")"},
      {"quote", R"(say "hi")", R"("say \"hi\"")"},
      {"equals", "a=b", R"("a=b")"},
      {"newline", "line1\nline2", R"("line1\nline2")"},
      {"tab", "a\tb", R"("a\tb")"},
      {"carriage return", "a\rb", R"("a\rb")"},
      {"escape sequence", "a\x1b[31mb", R"("a\u001b[31mb")"},
      {"backslash alone", R"(C:\x)", R"(C:\x)"},
      {"backslash with space", R"(C:\my dir)", R"("C:\\my dir")"},
      {"invalid UTF-8 with a space", "a \xff", "\"a \xEF\xBF\xBD\""},
  };
  FakeClock clock;
  Logger log("c", LogFormat::Text, LogLevel::Info, clock);
  const std::string prefix = format_micro_time(clock.wall_now()) + " info c: m k=";
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string line = log.format(LogLevel::Info, "m", {{"k", c.value}});
    EXPECT_EQ(line, prefix + c.want);
    EXPECT_EQ(line.find_first_of("\n\r"), std::string::npos) << "a field split the line";
  }
}

TEST(Logger, JsonLineIsOneValidObjectWithEveryField) {
  FakeClock clock;
  Logger log("agent", LogFormat::Json, LogLevel::Debug, clock);
  const std::string line = log.format(LogLevel::Error, "bird \"down\"\n", {{"node", "n 1"}, {"code", "7"}});
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(j, (nlohmann::json{{"ts", format_micro_time(clock.wall_now())},
                               {"level", "error"},
                               {"logger", "agent"},
                               {"msg", "bird \"down\"\n"},
                               {"node", "n 1"},
                               {"code", "7"}}));
}

TEST(Logger, JsonStaysValidWithInvalidUtf8) {
  FakeClock clock;
  Logger log("agent", LogFormat::Json, LogLevel::Debug, clock);
  const std::string line = log.format(LogLevel::Info, "bad \xc3", {{"peer", "\xff\xfe"}});
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(j["msg"], "bad \xEF\xBF\xBD");
  EXPECT_EQ(j["peer"], "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Logger, WritesOnlyAtOrAboveItsLevel) {
  struct Case {
    LogLevel level;
    std::string want;  // the levels that reach stderr
  };
  const std::vector<Case> cases = {{LogLevel::Debug, "debug info warn error "},
                                   {LogLevel::Info, "info warn error "},
                                   {LogLevel::Warn, "warn error "},
                                   {LogLevel::Error, "error "}};
  FakeClock clock;
  for (const auto& c : cases) {
    Logger log("c", LogFormat::Json, c.level, clock);
    SCOPED_TRACE(static_cast<int>(c.level));
    ::testing::internal::CaptureStderr();
    log.debug("m");
    log.info("m");
    log.warn("m");
    log.error("m", {{"k", "v"}});
    const std::string out = ::testing::internal::GetCapturedStderr();
    std::string levels;
    size_t start = 0;
    for (size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
      auto j = nlohmann::json::parse(out.substr(start, end - start));
      levels += j["level"].get<std::string>() + " ";
    }
    EXPECT_EQ(start, out.size()) << "the last line lacks its newline: " << out;
    EXPECT_EQ(levels, c.want);
  }
}

TEST(Logger, ParsesFormatsAndLevels) {
  struct FormatCase {
    std::string text;
    std::optional<LogFormat> want;
  };
  for (const auto& c : std::vector<FormatCase>{{"text", LogFormat::Text},
                                               {"json", LogFormat::Json},
                                               {"JSON", std::nullopt},
                                               {"yaml", std::nullopt},
                                               {"", std::nullopt}}) {
    SCOPED_TRACE("format \"" + c.text + "\"");
    LogFormat out = LogFormat::Text;
    if (c.want == LogFormat::Text) out = LogFormat::Json;  // so the test sees it change
    EXPECT_EQ(Logger::parse_format(c.text, out), c.want.has_value());
    if (c.want) {
      EXPECT_EQ(out, *c.want);
    }
  }

  struct LevelCase {
    std::string text;
    std::optional<LogLevel> want;
  };
  for (const auto& c : std::vector<LevelCase>{{"debug", LogLevel::Debug},
                                              {"info", LogLevel::Info},
                                              {"warn", LogLevel::Warn},
                                              {"error", LogLevel::Error},
                                              {"warning", std::nullopt},
                                              {"INFO", std::nullopt},
                                              {"", std::nullopt}}) {
    SCOPED_TRACE("level \"" + c.text + "\"");
    LogLevel out = c.want == LogLevel::Error ? LogLevel::Debug : LogLevel::Error;
    EXPECT_EQ(Logger::parse_level(c.text, out), c.want.has_value());
    EXPECT_EQ(out, c.want.value_or(LogLevel::Error)) << "a failed parse must leave the output alone";
  }
}

}  // namespace
}  // namespace kube
