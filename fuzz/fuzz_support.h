#pragma once
// Shared by the fuzz targets in this folder: splitting one fuzz input into the
// pieces a target needs, and an HttpTransport that answers from those pieces
// instead of a network, so RestKubeClient's own decoding is what runs.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kube/http_transport.h"

namespace rr::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits on every occurrence of `sep`; n separators give n+1 pieces.
inline std::vector<std::string_view> split(std::string_view text, std::string_view sep) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t at = text.find(sep, pos);
    if (at == std::string_view::npos) {
      out.push_back(text.substr(pos));
      return out;
    }
    out.push_back(text.substr(pos, at - pos));
    pos = at + sep.size();
  }
}

// One HTTP status per response: a byte picks from the codes the client treats
// differently (success, each mapped 4xx, 5xx, and odd ones).
inline int status_from_byte(unsigned char b) {
  static constexpr int kCodes[] = {200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 409,
                                   410, 422, 429, 500, 503, 504, 0,   99,  600, 999, -1};
  return kCodes[b % (sizeof kCodes / sizeof kCodes[0])];
}

// A watch body read line by line, as CpprestLineReader hands it over.
class ScriptedLineReader final : public kube::LineReader {
 public:
  explicit ScriptedLineReader(std::string_view body) {
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t nl = body.find('\n', pos);
      if (nl == std::string_view::npos) nl = body.size();  // a last line without its newline
      lines_.emplace_back(body.substr(pos, nl - pos));
      pos = nl + 1;
    }
  }
  kube::Result<std::optional<std::string>> read_line() override {
    if (lines_.empty()) return std::optional<std::string>();
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    return std::optional<std::string>(std::move(line));
  }
  void cancel() override { lines_.clear(); }

 private:
  std::deque<std::string> lines_;
};

// Answers requests from a script of (status, retry-after, body) responses in
// order; once the script runs out it repeats the last response, as a server
// stuck in one answer would.
class ScriptedTransport final : public kube::HttpTransport {
 public:
  struct Response {
    int status = 200;
    std::string retry_after;
    std::string body;
  };
  explicit ScriptedTransport(std::vector<Response> script) : script_(std::move(script)) {
    if (script_.empty()) script_.push_back(Response{});
  }

  kube::Result<kube::HttpResponse> send(const kube::HttpRequest&) override {
    const Response& r = take();
    kube::HttpResponse out;
    out.status = r.status;
    out.body = r.body;
    if (!r.retry_after.empty()) out.headers["retry-after"] = r.retry_after;
    return out;
  }
  void close() override {}
  kube::Result<kube::StreamResponse> open_stream(const kube::HttpRequest&) override {
    const Response& r = take();
    kube::StreamResponse out;
    out.status = r.status;
    if (!r.retry_after.empty()) out.headers["retry-after"] = r.retry_after;
    if (r.status == 200) {
      out.lines = std::make_unique<ScriptedLineReader>(r.body);
    } else {
      out.error_body = r.body;
    }
    return out;
  }
  int requests() const { return requests_; }

 private:
  const Response& take() {
    ++requests_;
    if (next_ + 1 < script_.size()) return script_[next_++];
    return script_.back();
  }
  std::vector<Response> script_;
  std::size_t next_ = 0;
  int requests_ = 0;
};

}  // namespace rr::fuzz
