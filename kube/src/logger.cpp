#include "kube/logger.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "kube/object.h"

namespace kube {
namespace {
const char* name_of(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
  }
  return "info";
}
bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    // Control characters (\r, ESC, ...) would let a value rewrite or split the line: quote and escape them.
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20 || c == '\x7f') return true;
  }
  return false;
}
}  // namespace

Logger::Logger(std::string component, LogFormat format, LogLevel level, Clock& clock)
    : component_(std::move(component)), format_(format), level_(level), clock_(clock) {}

std::string Logger::format(LogLevel level, std::string_view msg, std::initializer_list<Field> fields) const {
  const std::string ts = format_micro_time(clock_.wall_now());
  if (format_ == LogFormat::Json) {
    nlohmann::json j = {{"ts", ts}, {"level", name_of(level)}, {"logger", component_}, {"msg", msg}};
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line = ts + " " + name_of(level) + " " + component_ + ": " + std::string(msg);
  for (const auto& [k, v] : fields) {
    line += " ";
    line += k;
    line += "=";
    line += needs_quotes(v) ? nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : v;
  }
  return line;
}

void Logger::log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields) {
  if (level < level_) return;
  std::string line = format(level, msg, fields) + "\n";
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

bool Logger::parse_format(std::string_view text, LogFormat& out) {
  if (text == "text") {
    out = LogFormat::Text;
  } else if (text == "json") {
    out = LogFormat::Json;
  } else {
    return false;
  }
  return true;
}

bool Logger::parse_level(std::string_view text, LogLevel& out) {
  if (text == "debug") out = LogLevel::Debug;
  else if (text == "info") out = LogLevel::Info;
  else if (text == "warn") out = LogLevel::Warn;
  else if (text == "error") out = LogLevel::Error;
  else return false;
  return true;
}

}  // namespace kube
