#pragma once
// The source tree, for tests that read files from it (testdata/, docs/, scripts/, crds/).
//
// CTest sets RR_SOURCE_DIR on every test (RR_TEST_ENVIRONMENT in tests/CMakeLists.txt). Not
// __FILE__: with ccache's base_dir (cmake/Ccache.cmake) the compiler sees paths relative to the
// build dir. And not a -D with the absolute path either: that would put the clone's path into
// the hash of every object that gets it, and a clone at another path would miss them all.

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace rr::testing {

inline std::filesystem::path source_dir() {
  const char* dir = std::getenv("RR_SOURCE_DIR");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error(
        "RR_SOURCE_DIR is not set: it names the source tree, which this test reads files from. "
        "ctest sets it; by hand, run the test binary as RR_SOURCE_DIR=/path/to/rr-operator <binary>");
  }
  const std::filesystem::path root(dir);
  if (!std::filesystem::is_directory(root / "tests" / "testing")) {
    throw std::runtime_error("RR_SOURCE_DIR=" + root.string() +
                             " is not the rr-operator source tree (no tests/testing/ in it)");
  }
  return root;
}

}  // namespace rr::testing
