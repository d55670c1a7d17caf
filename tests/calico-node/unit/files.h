#pragma once
// File and polling helpers shared by the stand-in's unit tests.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace rr::calico::testing {

// The whole file, byte for byte; empty if it cannot be read.
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls pred every 25 ms for up to 15 s; true as soon as it holds.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 600; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return pred();
}

}  // namespace rr::calico::testing
