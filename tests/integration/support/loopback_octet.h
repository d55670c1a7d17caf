#pragma once
// The second octet N of a test's own 127.N.x.y addresses (its BGP speakers and reflectors).
// Tests that run at the same time (the agent suites' two shards, the calico-node stand-in's
// suite, on their own control planes) must never share one, or their BIRDs bind each other's
// addresses. Each test claims its N with an exclusive lock on /tmp/rr-loopback-octets/N,
// held while the object lives; the kernel drops it when the process ends, however it ends.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <string>

namespace rr::testing {

class LoopbackOctet {
 public:
  static constexpr int kFirst = 100;
  static constexpr int kCount = 150;

  // Claims a free N in [kFirst, kFirst + kCount), trying from a random one; value() is 0
  // when every one is taken (the caller's ASSERT names it).
  LoopbackOctet() {
    const std::string dir = "/tmp/rr-loopback-octets";
    ::mkdir(dir.c_str(), 01777);
    std::random_device rd;
    const int start = static_cast<int>(rd() % kCount);
    for (int i = 0; i < kCount && value_ == 0; ++i) {
      const int n = kFirst + (start + i) % kCount;
      const std::string path = dir + "/" + std::to_string(n);
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
      if (fd < 0) continue;
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        fd_ = fd;
        value_ = n;
      } else {
        ::close(fd);
      }
    }
  }
  ~LoopbackOctet() {
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackOctet(const LoopbackOctet&) = delete;
  LoopbackOctet& operator=(const LoopbackOctet&) = delete;

  int value() const { return value_; }

 private:
  int fd_ = -1;
  int value_ = 0;
};

}  // namespace rr::testing
