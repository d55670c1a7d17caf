#pragma once
// Reads the BIRD control-socket transcripts captured in testdata/transcripts/.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "testing/source_dir.h"

namespace rr::bird::testdata {

inline std::filesystem::path transcript_dir() {
  return ::rr::testing::source_dir() / "tests/unit/bird/testdata/transcripts";
}

// The raw bytes of one transcript; fails the test when the file is missing.
inline std::string transcript(const std::string& name) {
  std::ifstream in(transcript_dir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing transcript " << (transcript_dir() / name);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace rr::bird::testdata
