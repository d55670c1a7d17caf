#pragma once
// A fresh directory directly under /tmp, removed with everything in it when
// the object goes. For Unix sockets: a socket path holds at most 107 bytes,
// so a socket under the build tree fails when the checkout sits deep in the
// filesystem. Logs and configs stay under the build tree for post-mortems.

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace rr::testing {

class ShortTempDir {
 public:
  explicit ShortTempDir(const std::string& prefix = "rr-it") {
    std::string pattern = "/tmp/" + prefix + ".XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ShortTempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  ShortTempDir(const ShortTempDir&) = delete;
  ShortTempDir& operator=(const ShortTempDir&) = delete;

  // "" when mkdtemp failed.
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace rr::testing
