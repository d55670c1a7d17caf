#pragma once
// Command-line flags with environment fallbacks, for both binaries:
// `--name=value` or `--name value`; a flag's env var (e.g. RR_METRICS_ADDRESS)
// applies when the flag is absent. `--help` prints every flag with its env var
// and default. Bad values are errors naming the flag.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kube/result.h"

namespace kube {

class FlagSet {
 public:
  // Inclusive bounds; a value outside them is an error naming the flag and the range.
  struct IntRange {
    int min;
    int max;
  };
  struct DoubleRange {
    double min;
    double max;
  };

  FlagSet(std::string program, std::string summary);

  void add_string(std::string name, std::string* target, std::string help, std::string env = "");
  void add_int(std::string name, int* target, std::string help, std::string env = "",
               std::optional<IntRange> range = std::nullopt);
  void add_double(std::string name, double* target, std::string help, std::string env = "",
                  std::optional<DoubleRange> range = std::nullopt);
  void add_bool(std::string name, bool* target, std::string help, std::string env = "");
  // "a,b,c": items trimmed of blanks, empty ones dropped ("" is the empty list).
  void add_string_list(std::string name, std::vector<std::string>* target, std::string help, std::string env = "");
  // "500ms", "15s", "2m", "1h" (a bare number is seconds); never below `at_least`.
  void add_duration(std::string name, std::chrono::milliseconds* target, std::string help, std::string env = "",
                    std::chrono::milliseconds at_least = std::chrono::milliseconds::zero());

  // `getenv` defaults to ::getenv; tests pass their own.
  Status parse(int argc, const char* const* argv,
               const std::function<const char*(const char*)>& getenv = nullptr);
  bool help_requested() const { return help_; }
  std::string usage() const;

  static Result<std::chrono::milliseconds> parse_duration(const std::string& text);

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string env;
    std::string default_text;
    std::string range_text;  // "1..65535", "at least 100ms"; empty: any value of the type
    bool is_bool = false;
    std::function<Status(const std::string&)> set;
  };
  Flag* find(const std::string& name);

  std::string program_;
  std::string summary_;
  std::vector<Flag> flags_;
  bool help_ = false;
};

}  // namespace kube
