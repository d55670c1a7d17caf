#pragma once
// An HttpTransport that plays back a script: each expected request gets a
// canned response or error; streams are fed line by line by the test. It
// records every request, so tests assert on what went over the wire.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "kube/http_transport.h"

namespace kube::testing {

// A streamed body the test writes to while the client reads.
class ScriptedStream {
 public:
  void push_line(std::string line) {
    std::lock_guard lock(mu_);
    lines_.push_back(std::move(line));
    cv_.notify_all();
  }
  void end() {  // the server closes the stream cleanly
    std::lock_guard lock(mu_);
    ended_ = true;
    cv_.notify_all();
  }
  void drop(std::string why = "connection reset") {  // the connection breaks
    std::lock_guard lock(mu_);
    dropped_ = std::move(why);
    cv_.notify_all();
  }

  Result<std::optional<std::string>> read_line() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !lines_.empty() || ended_ || !dropped_.empty() || cancelled_; });
    if (cancelled_) return make_error(ErrorKind::Cancelled, "cancelled");
    if (!lines_.empty()) {
      std::string l = std::move(lines_.front());
      lines_.pop_front();
      return std::optional<std::string>(std::move(l));
    }
    if (!dropped_.empty()) return make_error(ErrorKind::Transient, dropped_);
    return std::optional<std::string>();
  }
  void cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  bool ended_ = false;
  bool cancelled_ = false;
  std::string dropped_;
};

class ScriptedTransport final : public HttpTransport {
 public:
  struct Reply {
    // Exactly one of these applies: an HTTP response, a transport error, or a stream.
    std::optional<HttpResponse> response;
    std::optional<Error> error;
    std::shared_ptr<ScriptedStream> stream;
  };

  // Replies are consumed in order by requests whose method and target prefix match.
  void expect(std::string method, std::string target_prefix, Reply reply) {
    std::lock_guard lock(mu_);
    script_.push_back({std::move(method), std::move(target_prefix), std::move(reply)});
    cv_.notify_all();
  }
  void respond(std::string method, std::string target_prefix, int status, std::string body,
               std::map<std::string, std::string> headers = {}) {
    expect(std::move(method), std::move(target_prefix),
           Reply{HttpResponse{status, std::move(body), std::move(headers)}, std::nullopt, nullptr});
  }
  void fail(std::string method, std::string target_prefix, Error error) {
    expect(std::move(method), std::move(target_prefix), Reply{std::nullopt, std::move(error), nullptr});
  }
  std::shared_ptr<ScriptedStream> stream(std::string target_prefix) {
    auto s = std::make_shared<ScriptedStream>();
    expect("GET", std::move(target_prefix), Reply{std::nullopt, std::nullopt, s});
    return s;
  }

  Result<HttpResponse> send(const HttpRequest& request) override {
    auto reply = take(request);
    if (reply.error) return *reply.error;
    if (!reply.response) return make_error(ErrorKind::Protocol, "script: a stream was scripted for a plain request");
    return *reply.response;
  }

  Result<StreamResponse> open_stream(const HttpRequest& request) override {
    auto reply = take(request);
    if (reply.error) return *reply.error;
    StreamResponse out;
    if (reply.response) {
      out.status = reply.response->status;
      out.headers = reply.response->headers;
      out.error_body = reply.response->body;
      return out;
    }
    out.status = 200;
    out.lines = std::make_unique<Reader>(reply.stream);
    return out;
  }

  void close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  size_t remaining() const {
    std::lock_guard lock(mu_);
    return script_.size();
  }
  // Blocks (bounded) until `n` requests have been made.
  bool wait_for_requests(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return requests_.size() >= n; });
  }

 private:
  struct Step {
    std::string method;
    std::string prefix;
    Reply reply;
  };
  class Reader final : public LineReader {
   public:
    explicit Reader(std::shared_ptr<ScriptedStream> s) : s_(std::move(s)) {}
    Result<std::optional<std::string>> read_line() override { return s_->read_line(); }
    void cancel() override { s_->cancel(); }

   private:
    std::shared_ptr<ScriptedStream> s_;
  };

  // Waits briefly for the test to script the next step, so tests can script after starting a client thread.
  Reply take(const HttpRequest& request) {
    std::unique_lock lock(mu_);
    if (closed_) return Reply{std::nullopt, make_error(ErrorKind::Cancelled, "transport closed"), nullptr};
    requests_.push_back(request);
    cv_.notify_all();
    bool have = cv_.wait_for(lock, std::chrono::seconds(5), [&] { return !script_.empty() || closed_; });
    if (closed_) return Reply{std::nullopt, make_error(ErrorKind::Cancelled, "transport closed"), nullptr};
    if (!have) return Reply{std::nullopt, make_error(ErrorKind::Protocol, "script: unexpected " + request.method + " " + request.target), nullptr};
    Step step = std::move(script_.front());
    script_.pop_front();
    if (step.method != request.method || request.target.rfind(step.prefix, 0) != 0) {
      return Reply{std::nullopt,
                   make_error(ErrorKind::Protocol, "script: expected " + step.method + " " + step.prefix + ", got " +
                                                       request.method + " " + request.target),
                   nullptr};
    }
    return std::move(step.reply);
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Step> script_;
  std::vector<HttpRequest> requests_;
  bool closed_ = false;
};

}  // namespace kube::testing
