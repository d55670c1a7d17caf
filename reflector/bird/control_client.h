#pragma once
// Speaks BIRD's control socket directly (no birdc): one command at a time,
// a deadline on every read, and a lazy reconnect when BIRD has restarted and
// closed the old connection. Replies are parsed by reply_parser.h.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bird/reply_parser.h"
#include "kube/clock.h"
#include "kube/result.h"

namespace rr::bird {

class BirdControlClient {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{5000};
  // A reply larger than this is treated as a protocol error (guards memory).
  // `show protocols all` costs ~1.8 KB per session: 256 MiB covers racks far beyond 100k sessions.
  static constexpr std::size_t kMaxReplyBytes = 256u << 20;

  explicit BirdControlClient(kube::Clock& clock = kube::RealClock::instance());
  ~BirdControlClient();
  BirdControlClient(const BirdControlClient&) = delete;
  BirdControlClient& operator=(const BirdControlClient&) = delete;

  // Connects to the socket at `path` and reads the 0001 greeting. The path is
  // kept for later reconnects. Transient when BIRD is not (yet) listening.
  [[nodiscard]] kube::Status connect(const std::string& path, std::chrono::milliseconds timeout = kDefaultTimeout);

  // Sends `cmd` and reads its whole reply; reconnects first if the connection
  // was closed. Transient on timeout, EOF or refused connection (the connection
  // is then dropped, since a half-read reply would desynchronise the next one).
  // An 8xxx/9xxx reply is returned as a Reply, not an error: see reply_error().
  [[nodiscard]] kube::Result<Reply> command(std::string_view cmd, std::chrono::milliseconds timeout = kDefaultTimeout);

  [[nodiscard]] kube::Result<std::vector<ProtocolState>> show_protocols_all(
      std::chrono::milliseconds timeout = kDefaultTimeout);
  // `show protocols all "NAME"`: one protocol's state, or none when BIRD has no protocol of that
  // name (8003). NAME is a protocol name as the renderer makes them (letters, digits, '_'),
  // so the quoted pattern matches it alone; any other name is Invalid.
  [[nodiscard]] kube::Result<std::vector<ProtocolState>> show_protocol_all(
      std::string_view name, std::chrono::milliseconds timeout = kDefaultTimeout);
  [[nodiscard]] kube::Result<DaemonStatus> show_status(std::chrono::milliseconds timeout = kDefaultTimeout);
  // `configure "path"`: see configure_outcome() for the codes; a bad file is Invalid
  // with BIRD's "file:line:col message". BIRD keeps running its old configuration then.
  [[nodiscard]] kube::Status configure(const std::string& path, std::chrono::milliseconds timeout = kDefaultTimeout);
  // `configure check "path"`: parses the file without applying it.
  [[nodiscard]] kube::Status configure_check(const std::string& path,
                                             std::chrono::milliseconds timeout = kDefaultTimeout);

  void close();
  bool connected() const;
  // The greeting text of the current connection, e.g. "BIRD 2.0.12 ready.".
  std::string greeting() const;

 private:
  using TimePoint = kube::Clock::TimePoint;

  kube::Status connect_locked(TimePoint deadline);
  kube::Result<Reply> read_reply_locked(TimePoint deadline);
  kube::Status write_all_locked(std::string_view data, TimePoint deadline);
  bool connection_looks_alive_locked();
  void close_locked();

  kube::Clock& clock_;
  mutable std::mutex mu_;
  std::string path_;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the last complete line
  std::string greeting_;
};

}  // namespace rr::bird
