#include "kube/flags.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <cstdlib>
#include <sstream>

namespace kube {
namespace {
Error flag_error(const std::string& name, const std::string& what) {
  return make_error(ErrorKind::BadConfig, "--" + name + ": " + what);
}

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}
}  // namespace

FlagSet::FlagSet(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

FlagSet::Flag* FlagSet::find(const std::string& name) {
  for (auto& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void FlagSet::add_string(std::string name, std::string* target, std::string help, std::string env) {
  std::string def = *target;
  flags_.push_back({name, std::move(help), std::move(env), def, "", false, [target](const std::string& v) -> Status {
                      *target = v;
                      return {};
                    }});
}

void FlagSet::add_string_list(std::string name, std::vector<std::string>* target, std::string help, std::string env) {
  std::string def;
  for (const auto& item : *target) def += (def.empty() ? "" : ",") + item;
  flags_.push_back({name, std::move(help), std::move(env), def, "", false, [target](const std::string& v) -> Status {
                      target->clear();
                      std::istringstream items(v);
                      for (std::string item; std::getline(items, item, ',');) {
                        const auto first = item.find_first_not_of(" \t");
                        if (first == std::string::npos) continue;
                        target->push_back(item.substr(first, item.find_last_not_of(" \t") - first + 1));
                      }
                      return {};
                    }});
}

void FlagSet::add_int(std::string name, int* target, std::string help, std::string env, std::optional<IntRange> range) {
  std::string range_text = range ? std::to_string(range->min) + ".." + std::to_string(range->max) : "";
  flags_.push_back({name, std::move(help), std::move(env), std::to_string(*target), range_text, false,
                    [target, name, range, range_text](const std::string& v) -> Status {
                      int out = 0;
                      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
                      if (ec != std::errc() || p != v.data() + v.size()) return flag_error(name, "\"" + v + "\" is not an integer");
                      if (range && (out < range->min || out > range->max)) {
                        return flag_error(name, v + " is not in " + range_text);
                      }
                      *target = out;
                      return {};
                    }});
}

void FlagSet::add_double(std::string name, double* target, std::string help, std::string env,
                         std::optional<DoubleRange> range) {
  std::string range_text = range ? "at least " + number_text(range->min) + ", at most " + number_text(range->max) : "";
  flags_.push_back({name, std::move(help), std::move(env), number_text(*target), range_text, false,
                    [target, name, range, range_text](const std::string& v) -> Status {
                      char* end = nullptr;
                      double out = std::strtod(v.c_str(), &end);
                      if (v.empty() || end != v.c_str() + v.size()) return flag_error(name, "\"" + v + "\" is not a number");
                      // Written so that NaN fails too.
                      if (range && !(out >= range->min && out <= range->max)) {
                        return flag_error(name, v + " is not " + range_text);
                      }
                      *target = out;
                      return {};
                    }});
}

void FlagSet::add_bool(std::string name, bool* target, std::string help, std::string env) {
  flags_.push_back({name, std::move(help), std::move(env), *target ? "true" : "false", "", true,
                    [target, name](const std::string& v) -> Status {
                      if (v == "true" || v == "1" || v == "yes") {
                        *target = true;
                      } else if (v == "false" || v == "0" || v == "no") {
                        *target = false;
                      } else {
                        return flag_error(name, "\"" + v + "\" is not true or false");
                      }
                      return {};
                    }});
}

Result<std::chrono::milliseconds> FlagSet::parse_duration(const std::string& text) {
  double value = 0;
  const char* begin = text.c_str();
  char* end = nullptr;
  value = std::strtod(begin, &end);
  if (end == begin || value < 0) return make_error(ErrorKind::BadConfig, "\"" + text + "\" is not a duration");
  std::string unit(end);
  double ms = 0;
  if (unit.empty() || unit == "s") ms = value * 1000;
  else if (unit == "ms") ms = value;
  else if (unit == "m") ms = value * 60000;
  else if (unit == "h") ms = value * 3600000;
  else return make_error(ErrorKind::BadConfig, "\"" + text + "\" has an unknown unit (ms, s, m, h)");
  // "inf", "nan" and huge values would not fit: the cast would be undefined (negative on x86).
  if (!(ms < 1e15)) return make_error(ErrorKind::BadConfig, "\"" + text + "\" is not a duration");
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

void FlagSet::add_duration(std::string name, std::chrono::milliseconds* target, std::string help, std::string env,
                           std::chrono::milliseconds at_least) {
  std::string range_text = at_least.count() > 0 ? "at least " + duration_text(at_least) : "";
  flags_.push_back({name, std::move(help), std::move(env), duration_text(*target), range_text, false,
                    [target, name, at_least, range_text](const std::string& v) -> Status {
                      auto d = parse_duration(v);
                      if (!d.ok()) return flag_error(name, d.error().message);
                      if (*d < at_least) return flag_error(name, "\"" + v + "\" is too short: " + range_text);
                      *target = *d;
                      return {};
                    }});
}

Status FlagSet::parse(int argc, const char* const* argv, const std::function<const char*(const char*)>& getenv) {
  auto env_of = [&](const std::string& name) -> const char* {
    return getenv ? getenv(name.c_str()) : std::getenv(name.c_str());
  };
  std::vector<std::string> seen;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      help_ = true;
      return {};
    }
    if (arg.rfind("--", 0) != 0) return make_error(ErrorKind::BadConfig, "unexpected argument \"" + arg + "\"");
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    Flag* flag = find(name);
    if (!flag) return make_error(ErrorKind::BadConfig, "unknown flag --" + name + " (see --help)");
    if (!value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return flag_error(name, "needs a value");
      }
    }
    if (auto s = flag->set(*value); !s.ok()) return s;
    seen.push_back(name);
  }
  for (auto& f : flags_) {
    if (f.env.empty() || std::find(seen.begin(), seen.end(), f.name) != seen.end()) continue;
    if (const char* v = env_of(f.env)) {
      if (auto s = f.set(v); !s.ok()) return make_error(ErrorKind::BadConfig, f.env + " (for " + s.error().message + ")");
    }
  }
  return {};
}

std::string FlagSet::usage() const {
  std::ostringstream out;
  out << "usage: " << program_ << " [flags]\n\n" << summary_ << "\n\nflags:\n";
  for (const auto& f : flags_) {
    out << "  --" << f.name << (f.is_bool ? "" : " VALUE") << "\n      " << f.help;
    if (!f.range_text.empty()) out << " (" << f.range_text << ")";
    if (!f.default_text.empty()) out << " (default " << f.default_text << ")";
    if (!f.env.empty()) out << " [env " << f.env << "]";
    out << "\n";
  }
  return out.str();
}

}  // namespace kube
