#include "kube/token_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fakes/fake_clock.h"

namespace kube {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "token_source_test.XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::string token_or_error(TokenSource& source) {
  Result<std::string> t = source.token();
  return t.ok() ? t.value() : "error: " + t.error().message;
}

class FileTokenSourceTest : public ::testing::Test {
 protected:
  TempDir dir_;
  fs::path file_ = dir_.path() / "token";
  testing::FakeClock clock_;
};

TEST(StaticTokenSourceTest, ServesItsToken) {
  StaticTokenSource source("abc");
  EXPECT_EQ(token_or_error(source), "abc");
  source.invalidate();
  EXPECT_EQ(token_or_error(source), "abc");
}

TEST_F(FileTokenSourceTest, ReadsAndTrimsTheFile) {
  write_file(file_, "  tok-1\n\n");
  FileTokenSource source(file_, clock_);
  EXPECT_EQ(token_or_error(source), "tok-1");
  EXPECT_EQ(source.path(), file_);
}

TEST_F(FileTokenSourceTest, RereadsOnlyAfterRefreshElapses) {
  write_file(file_, "tok-1");
  FileTokenSource source(file_, clock_, 1min);
  EXPECT_EQ(token_or_error(source), "tok-1");

  write_file(file_, "tok-2");
  clock_.advance(59s);
  EXPECT_EQ(token_or_error(source), "tok-1") << "cached copy is still fresh";
  clock_.advance(1s);
  EXPECT_EQ(token_or_error(source), "tok-2");

  write_file(file_, "tok-3");
  clock_.advance(30s);
  EXPECT_EQ(token_or_error(source), "tok-2") << "the refresh window restarts at the last read";
}

TEST_F(FileTokenSourceTest, InvalidateForcesAReread) {
  write_file(file_, "tok-1");
  FileTokenSource source(file_, clock_);
  EXPECT_EQ(token_or_error(source), "tok-1");
  write_file(file_, "tok-2");
  EXPECT_EQ(token_or_error(source), "tok-1");
  source.invalidate();
  EXPECT_EQ(token_or_error(source), "tok-2");
  write_file(file_, "tok-3");
  EXPECT_EQ(token_or_error(source), "tok-2") << "invalidate() forces one re-read, not every read";
}

TEST_F(FileTokenSourceTest, KeepsServingTheLastTokenWhileTheFileIsGone) {
  write_file(file_, "tok-1");
  FileTokenSource source(file_, clock_);
  EXPECT_EQ(token_or_error(source), "tok-1");

  fs::remove(file_);
  clock_.advance(2min);
  EXPECT_EQ(token_or_error(source), "tok-1");
  source.invalidate();
  EXPECT_EQ(token_or_error(source), "tok-1");

  write_file(file_, "");
  EXPECT_EQ(token_or_error(source), "tok-1") << "an empty file is no better than a missing one";

  write_file(file_, "tok-2");
  EXPECT_EQ(token_or_error(source), "tok-2") << "retries at once once the file is back";
}

TEST_F(FileTokenSourceTest, NoTokenYetIsABadConfigErrorNamingThePath) {
  struct Case {
    std::string name;
    bool create;
    std::string contents;
    std::string reason;
  };
  const Case cases[] = {
      {"missing", false, "", "No such file"},
      {"empty", true, "", "empty"},
      {"whitespace only", true, " \n\t\n", "empty"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fs::remove(file_);
    if (c.create) write_file(file_, c.contents);
    FileTokenSource source(file_, clock_);
    Result<std::string> t = source.token();
    ASSERT_TRUE(t.is(ErrorKind::BadConfig));
    EXPECT_NE(t.error().message.find(file_.string()), std::string::npos) << t.error().message;
    EXPECT_NE(t.error().message.find(c.reason), std::string::npos) << t.error().message;
  }
}

TEST_F(FileTokenSourceTest, RecoversWhenTheFileAppears) {
  FileTokenSource source(file_, clock_);
  EXPECT_FALSE(source.token().ok());
  write_file(file_, "tok-1");
  EXPECT_EQ(token_or_error(source), "tok-1");
}

TEST_F(FileTokenSourceTest, DirectoryIsUnreadable) {
  FileTokenSource source(dir_.path(), clock_);
  Result<std::string> t = source.token();
  ASSERT_TRUE(t.is(ErrorKind::BadConfig));
  EXPECT_NE(t.error().message.find(dir_.path().string()), std::string::npos) << t.error().message;
}

}  // namespace
}  // namespace kube
