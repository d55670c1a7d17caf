#pragma once
// Structured logs on stderr, as text (`ts level msg key=value ...`) or one
// JSON object per line. Thread-safe. Callers pass fields, never secrets.

#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "kube/clock.h"

namespace kube {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };
enum class LogFormat { Text, Json };

class Logger {
 public:
  using Field = std::pair<std::string_view, std::string>;

  Logger(std::string component, LogFormat format = LogFormat::Text, LogLevel level = LogLevel::Info,
         Clock& clock = RealClock::instance());

  void debug(std::string_view msg, std::initializer_list<Field> fields = {}) { log(LogLevel::Debug, msg, fields); }
  void info(std::string_view msg, std::initializer_list<Field> fields = {}) { log(LogLevel::Info, msg, fields); }
  void warn(std::string_view msg, std::initializer_list<Field> fields = {}) { log(LogLevel::Warn, msg, fields); }
  void error(std::string_view msg, std::initializer_list<Field> fields = {}) { log(LogLevel::Error, msg, fields); }
  void log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields);

  // Formats one line without writing it (tests).
  std::string format(LogLevel level, std::string_view msg, std::initializer_list<Field> fields) const;

  static bool parse_format(std::string_view text, LogFormat& out);
  static bool parse_level(std::string_view text, LogLevel& out);

 private:
  std::string component_;
  LogFormat format_;
  LogLevel level_;
  Clock& clock_;
  std::mutex mu_;
};

}  // namespace kube
