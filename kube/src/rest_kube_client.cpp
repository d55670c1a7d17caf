#include "kube/rest_kube_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <future>
#include <memory>
#include <set>

#include "kube/client_config.h"
#include "kube/cpprest_transport.h"
#include "kube/list_pager.h"
#include "kube/token_source.h"

namespace kube {
namespace {

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class Query {
 public:
  Query& add(std::string_view key, std::string_view value) {
    if (value.empty()) return *this;
    s_ += s_.empty() ? '?' : '&';
    s_ += key;
    s_ += '=';
    s_ += url_encode(value);
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

std::optional<ErrorKind> kind_from_reason(const std::string& reason) {
  static const std::pair<const char*, ErrorKind> table[] = {
      {"NotFound", ErrorKind::NotFound},         {"AlreadyExists", ErrorKind::AlreadyExists},
      {"Conflict", ErrorKind::Conflict},         {"Expired", ErrorKind::Gone},
      {"Gone", ErrorKind::Gone},                 {"Forbidden", ErrorKind::Forbidden},
      {"Unauthorized", ErrorKind::Unauthorized}, {"Invalid", ErrorKind::Invalid},
      {"BadRequest", ErrorKind::Invalid},        {"MethodNotAllowed", ErrorKind::Invalid},
      {"NotAcceptable", ErrorKind::Invalid},     {"RequestEntityTooLarge", ErrorKind::Invalid},
      {"UnsupportedMediaType", ErrorKind::Invalid}, {"TooManyRequests", ErrorKind::TooManyRequests},
      {"ServerTimeout", ErrorKind::Transient},   {"Timeout", ErrorKind::Transient},
      {"InternalError", ErrorKind::Transient},   {"ServiceUnavailable", ErrorKind::Transient},
  };
  for (const auto& [r, k] : table) {
    if (reason == r) return k;
  }
  return std::nullopt;
}

ErrorKind kind_from_code(int code) {
  switch (code) {
    case 400: return ErrorKind::Invalid;
    case 401: return ErrorKind::Unauthorized;
    case 403: return ErrorKind::Forbidden;
    case 404: return ErrorKind::NotFound;
    case 409: return ErrorKind::Conflict;
    case 410: return ErrorKind::Gone;
    case 422: return ErrorKind::Invalid;
    case 429: return ErrorKind::TooManyRequests;
    default: break;
  }
  if (code >= 500) return ErrorKind::Transient;
  if (code >= 400) return ErrorKind::Invalid;
  return ErrorKind::Protocol;
}

std::optional<std::chrono::seconds> parse_retry_after(const std::string& value) {
  if (value.empty()) return std::nullopt;
  long secs = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
  if (ec != std::errc() || ptr != value.data() + value.size() || secs < 0) return std::nullopt;
  return std::chrono::seconds(std::min(secs, 600L));
}

const char* content_type_of(PatchType type) {
  switch (type) {
    case PatchType::Merge: return "application/merge-patch+json";
    case PatchType::JsonPatch: return "application/json-patch+json";
    case PatchType::Strategic: return "application/strategic-merge-patch+json";
    case PatchType::Apply: return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

// Lists and watches hand on objects without metadata.managedFields, dropped while parsing:
// nothing reads them there, and they are a good part of an object (a third of a Node), so a
// page of 500 Nodes decodes into that much less. `depth` is where an object's metadata keys
// sit: 4 in a list page ({"items":[{"metadata":{...}}]}), 3 in a watch event.
Json::parser_callback_t without_managed_fields(int depth) {
  auto in_metadata = std::make_shared<bool>(false);  // the last key one level up was "metadata"
  return [depth, in_metadata](int at, Json::parse_event_t event, Json& parsed) {
    if (event != Json::parse_event_t::key) return true;
    if (at == depth - 1) *in_metadata = parsed == "metadata";
    return !(at == depth && *in_metadata && parsed == "managedFields");
  };
}
constexpr int kListMetadataDepth = 4;
constexpr int kWatchMetadataDepth = 3;

// A successful answer must be a JSON object, and not a Status of failure (some proxies and
// aggregated servers answer 200 with one). What is wrong is named with the start of the body.
Result<Json> parse_response(const HttpResponse& response, std::string_view what,
                            const Json::parser_callback_t& filter = nullptr) {
  const std::string& body = response.body;
  const std::string start = body.substr(0, std::min<size_t>(body.size(), 200));
  std::string type = response.header("content-type");
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!type.empty() && type.find("json") == std::string::npos) {
    return make_error(ErrorKind::Protocol,
                      std::string(what) + ": response is " + response.header("content-type") + ", not JSON: " + start);
  }
  Json parsed = Json::parse(body, filter, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return make_error(ErrorKind::Protocol, std::string(what) + ": response is not JSON: " + start);
  }
  if (!parsed.is_object()) {
    return make_error(ErrorKind::Protocol, std::string(what) + ": response is not a JSON object: " + start);
  }
  if (parsed.value("kind", Json()) == "Status" && parsed.value("status", Json()) == "Failure") {
    Error e = error_from_status_object(parsed);
    e.message = std::string(what) + ": " + e.message;
    return e;
  }
  return parsed;
}

class RestWatchStream final : public WatchStream {
 public:
  explicit RestWatchStream(std::unique_ptr<LineReader> lines) : lines_(std::move(lines)) {}

  Result<std::optional<WatchEvent>> next() override {
    for (;;) {
      auto line = lines_->read_line();
      if (!line.ok()) return line.error();
      if (!line->has_value()) return std::optional<WatchEvent>();
      const std::string& text = **line;
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      Json event = Json::parse(text, without_managed_fields(kWatchMetadataDepth), false);
      if (event.is_discarded() || !event.is_object() || !event.contains("type") || !event["type"].is_string() ||
          !event.contains("object") || !event["object"].is_object()) {
        return make_error(ErrorKind::Protocol, "watch: malformed event: " + text.substr(0, 200));
      }
      const std::string type = event["type"].get<std::string>();
      WatchEvent out;
      if (type == "ADDED") {
        out.type = WatchEvent::Type::Added;
      } else if (type == "MODIFIED") {
        out.type = WatchEvent::Type::Modified;
      } else if (type == "DELETED") {
        out.type = WatchEvent::Type::Deleted;
      } else if (type == "BOOKMARK") {
        out.type = WatchEvent::Type::Bookmark;
      } else if (type == "ERROR") {
        Error e = error_from_status_object(event["object"]);
        if (e.message.empty()) e.message = "watch: ERROR event without a message or reason";
        return e;
      } else {
        return make_error(ErrorKind::Protocol, "watch: unknown event type " + type);
      }
      out.object = std::move(event["object"]);
      return std::optional<WatchEvent>(std::move(out));
    }
  }

  void cancel() override { lines_->cancel(); }

 private:
  std::unique_ptr<LineReader> lines_;
};

}  // namespace

// Fields of what the server sent, type-checked: Json::value() throws type_error on a field of
// the wrong type, and a garbage answer must be an Error, not an exception.
std::string string_field(const Json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Error error_from_status_object(const Json& status) {
  Error e;
  e.kind = ErrorKind::Protocol;
  if (status.is_object()) {
    int code = 0;
    if (auto it = status.find("code"); it != status.end() && it->is_number_integer() &&
                                       it->get<std::int64_t>() >= 0 && it->get<std::int64_t>() <= 999) {
      code = static_cast<int>(it->get<std::int64_t>());
    }
    std::string reason = string_field(status, "reason");
    e.http_status = code;
    e.message = string_field(status, "message");
    if (auto k = kind_from_reason(reason)) {
      e.kind = *k;
    } else if (code != 0) {
      e.kind = kind_from_code(code);
    }
    if (e.message.empty()) e.message = reason;
  }
  return e;
}

Error error_from_response(int http_status, const std::string& body, const std::string& retry_after_header) {
  Error e;
  Json parsed = Json::parse(body, nullptr, false);
  bool has_status = !parsed.is_discarded() && parsed.is_object() && string_field(parsed, "kind") == "Status";
  if (has_status) e = error_from_status_object(parsed);
  // The reason refines the class (409 AlreadyExists vs Conflict); without one the HTTP code decides.
  bool reason_known = has_status && kind_from_reason(string_field(parsed, "reason")).has_value();
  if (!reason_known) e.kind = kind_from_code(http_status);
  if (!has_status) e.message = body.substr(0, std::min<size_t>(body.size(), 200));
  e.http_status = http_status;
  if (e.message.empty()) e.message = "HTTP " + std::to_string(http_status);
  e.retry_after = parse_retry_after(retry_after_header);
  return e;
}

RestKubeClient::RestKubeClient(std::shared_ptr<HttpTransport> transport, std::shared_ptr<TokenSource> token,
                               RestClientOptions options, Clock& clock, RandomSource random)
    : transport_(std::move(transport)),
      token_(std::move(token)),
      options_(std::move(options)),
      clock_(clock),
      random_(std::move(random)),
      limiter_(options_.qps, options_.burst, clock) {}

Result<std::unique_ptr<RestKubeClient>> RestKubeClient::connect(const ClientConfig& config, RestClientOptions options) {
  auto transport = CpprestTransport::create(config);
  if (!transport.ok()) return transport.error();
  std::shared_ptr<HttpTransport> shared = std::move(transport.value());
  return std::make_unique<RestKubeClient>(std::move(shared), config.token, std::move(options));
}

Status RestKubeClient::add_auth(HttpRequest& request) {
  request.headers.emplace_back("Accept", "application/json");
  request.headers.emplace_back("User-Agent", options_.user_agent);
  if (!token_) return {};
  auto token = token_->token();
  if (!token.ok()) return token.error();
  if (!token->empty()) request.headers.emplace_back("Authorization", "Bearer " + *token);
  return {};
}

namespace {
Error client_closed(const HttpRequest& request) {
  return make_error(ErrorKind::Cancelled, "client closed: " + request.method + " " + request.target);
}
}  // namespace

Result<Clock::Duration> RestKubeClient::throttle(const HttpRequest& request) {
  const auto queued = clock_.now();
  if (!limiter_.acquire(closing_.get_token())) return client_closed(request);
  return clock_.now() - queued;
}

Result<HttpResponse> RestKubeClient::execute(std::string_view verb, HttpRequest request, Idempotency idempotency) {
  Backoff backoff(options_.retry_backoff, random_);
  bool reauthenticated = false;
  const auto base_headers = request.headers;
  for (int attempt = 1;; ++attempt) {
    if (closing_.stop_requested()) return client_closed(request);
    auto throttled = throttle(request);
    if (!throttled.ok()) return throttled.error();
    request.headers = base_headers;
    if (auto auth = add_auth(request); !auth.ok()) return auth.error();
    auto started = clock_.now();
    auto response = transport_->send(request);
    auto took = clock_.now() - started;
    if (options_.observe) {
      options_.observe(ApiAttempt{verb, request.target, attempt, response.ok() ? response->status : 0, took,
                                  *throttled, response.ok() ? nullptr : &response.error()});
    }

    std::optional<std::chrono::seconds> retry_after;
    if (!response.ok()) {
      const Error& err = response.error();
      // A timed-out attempt already kept the caller waiting a whole deadline: the caller retries, and says so.
      bool retryable = err.kind == ErrorKind::Transient && !err.timed_out &&
                       (idempotency == Idempotency::Safe || !err.maybe_applied);
      if (!retryable || attempt >= options_.max_attempts) return err;
    } else {
      int status = response->status;
      if (status < 400) return response;
      if (status == 401 && token_ && !reauthenticated) {
        token_->invalidate();  // a rotated service-account token: read it again once
        reauthenticated = true;
        continue;
      }
      bool retryable = status == 429 || (status >= 500 && idempotency == Idempotency::Safe);
      if (!retryable || attempt >= options_.max_attempts) {
        return error_from_response(status, response->body, response->header("retry-after"));
      }
      retry_after = parse_retry_after(response->header("retry-after"));
    }
    auto delay = backoff.next();
    if (retry_after) delay = std::max<Clock::Duration>(delay, *retry_after);
    if (!clock_.sleep_for(delay, closing_.get_token())) {
      return client_closed(request);
    }
  }
}

void RestKubeClient::close() {
  closing_.request_stop();
  transport_->close();
}

Result<Json> RestKubeClient::execute_json(std::string_view verb, HttpRequest request, Idempotency idempotency) {
  std::string what = request.method + " " + request.target;
  auto response = execute(verb, std::move(request), idempotency);
  if (!response.ok()) return response.error();
  return parse_response(*response, what);
}

Result<Json> RestKubeClient::get(const ResourceType& type, const std::string& ns, const std::string& name) {
  return execute_json("get", HttpRequest{"GET", type.object_path(ns, name), "", "", {}}, Idempotency::Safe);
}

Result<Json> RestKubeClient::get_path(const std::string& path) {
  return execute_json("get", HttpRequest{"GET", path, "", "", {}}, Idempotency::Safe);
}

namespace {

// A list response's items (apiVersion and kind restored) and its metadata.
Result<ObjectList> object_list_from(const ResourceType& type, Result<Json> body) {
  if (!body.ok()) return body.error();
  Json& j = body.value();
  if (!j.is_object() || !j.contains("items") || !(j["items"].is_array() || j["items"].is_null())) {
    return make_error(ErrorKind::Protocol, "list " + type.describe() + ": response has no items array");
  }
  ObjectList out;
  if (j["items"].is_array()) {
    out.items.reserve(j["items"].size());
    for (auto& item : j["items"]) {
      // Items of a list carry no apiVersion/kind; restore them so objects look the same everywhere.
      if (item.is_object()) {
        item["apiVersion"] = type.api_version();
        item["kind"] = type.kind;
      }
      out.items.push_back(std::move(item));
    }
  }
  if (auto meta = j.find("metadata"); meta != j.end() && meta->is_object()) {
    out.resource_version = string_field(*meta, "resourceVersion");
    out.continue_token = string_field(*meta, "continue");
  }
  return out;
}

// Reads metadata.continue of a list body without decoding the items: the API server writes
// the list's metadata before its items. Stops at the first top-level key after "metadata"
// (or at "items"); "" when there is none or the body is not what it should be (the page is
// then decoded first, and the next one fetched after it).
class ContinuePeek {
 public:
  std::string token;

  bool null() { return scalar(); }
  bool boolean(bool) { return scalar(); }
  bool number_integer(Json::number_integer_t) { return scalar(); }
  bool number_unsigned(Json::number_unsigned_t) { return scalar(); }
  bool number_float(Json::number_float_t, const std::string&) { return scalar(); }
  bool binary(Json::binary_t&) { return scalar(); }
  bool string(std::string& value) {
    if (depth_ == 2 && in_metadata_ && key_ == "continue") token = value;
    return scalar();
  }
  bool start_object(std::size_t) {
    ++depth_;
    return true;
  }
  bool end_object() {
    --depth_;
    // The top-level metadata object is read: nothing more is needed.
    return !(depth_ == 1 && in_metadata_);
  }
  bool start_array(std::size_t) {
    ++depth_;
    return depth_ > 2 || !(depth_ == 2 && top_key_ == "items");
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool key(std::string& k) {
    if (depth_ == 1) {
      top_key_ = k;
      in_metadata_ = k == "metadata";
      return k != "items";
    }
    if (depth_ == 2) key_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  bool scalar() { return true; }
  int depth_ = 0;
  bool in_metadata_ = false;
  std::string top_key_;
  std::string key_;
};

std::string peek_continue(const std::string& body) {
  ContinuePeek peek;
  Json::sax_parse(body, &peek, nlohmann::json::input_format_t::json, /*strict=*/false);
  return peek.token;
}

}  // namespace

namespace {
std::string list_target(const ResourceType& type, const std::string& ns, const ListOptions& options) {
  Query q;
  q.add("labelSelector", options.label_selector)
      .add("fieldSelector", options.field_selector)
      .add("limit", options.limit > 0 ? std::to_string(options.limit) : "")
      .add("continue", options.continue_token)
      .add("resourceVersion", options.resource_version);
  return type.collection_path(ns) + q.str();
}
}  // namespace

Result<HttpResponse> RestKubeClient::fetch_page(const ResourceType& type, const std::string& ns,
                                                const ListOptions& options) {
  return execute("list", HttpRequest{"GET", list_target(type, ns, options), "", "", {}}, Idempotency::Safe);
}

Result<ObjectList> RestKubeClient::list(const ResourceType& type, const std::string& ns, const ListOptions& options) {
  auto response = fetch_page(type, ns, options);
  if (!response.ok()) return response.error();
  return object_list_from(type, parse_response(*response, "GET " + list_target(type, ns, options)));
}

Result<std::string> RestKubeClient::list_pages(const ResourceType& type, const std::string& ns, ListOptions options,
                                               const PageSink& page_sink) {
  ListPager pager(type, std::move(options));
  std::future<Result<HttpResponse>> next;  // the page after the one being decoded
  auto fetch = [this, &type, &ns](ListOptions o) {
    return std::async(std::launch::async, [this, &type, &ns, o = std::move(o)] { return fetch_page(type, ns, o); });
  };
  Result<HttpResponse> response = fetch_page(type, ns, pager.options());
  for (;;) {
    if (!response.ok()) {
      if (!pager.restart_after(response.error())) return response.error();
      response = fetch_page(type, ns, pager.options());
      continue;
    }
    // The next page is fetched while this one is decoded, when its token can be read ahead.
    const std::string ahead = peek_continue(response->body);
    if (!ahead.empty() && !pager.seen(ahead)) {
      ListOptions o = pager.options();
      o.continue_token = ahead;
      next = fetch(std::move(o));
    }
    auto page = object_list_from(type, parse_response(*response, "GET " + list_target(type, ns, pager.options()),
                                                      without_managed_fields(kListMetadataDepth)));
    if (!page.ok()) return page.error();  // `next`'s destructor waits for its fetch
    response = HttpResponse{};
    auto last = pager.deliver(std::move(*page), page_sink);
    if (!last.ok()) return last.error();
    if (*last) return std::move(**last);
    if (next.valid() && ahead == pager.options().continue_token) {
      response = next.get();
    } else {
      if (next.valid()) (void)next.get();  // read ahead wrongly (a body the peek misread): drop it
      response = fetch_page(type, ns, pager.options());
    }
  }
}

Result<Json> RestKubeClient::create(const ResourceType& type, const std::string& ns, const Json& object) {
  return execute_json("create", HttpRequest{"POST", type.collection_path(ns), object.dump(), "application/json", {}},
                      Idempotency::Unsafe);
}

Result<Json> RestKubeClient::update(const ResourceType& type, const Json& object) {
  return execute_json(
      "update",
      HttpRequest{"PUT", type.object_path(namespace_of(object), name_of(object)), object.dump(), "application/json", {}},
      Idempotency::Safe);
}

Result<Json> RestKubeClient::update_status(const ResourceType& type, const Json& object) {
  return execute_json("update", HttpRequest{"PUT", type.object_path(namespace_of(object), name_of(object)) + "/status",
                                            object.dump(), "application/json", {}},
                      Idempotency::Safe);
}

Result<Json> RestKubeClient::patch(const ResourceType& type, const std::string& ns, const std::string& name,
                                   PatchType patch_type, const Json& patch, const PatchOptions& options) {
  if (patch_type == PatchType::Apply && options.field_manager.empty()) {
    return make_error(ErrorKind::Invalid, "server-side apply needs a field manager");
  }
  Query q;
  q.add("fieldManager", options.field_manager);
  if (patch_type == PatchType::Apply && options.force) q.add("force", "true");
  std::string path = type.object_path(ns, name) + (options.status ? "/status" : "") + q.str();
  // JSON is valid YAML, so an apply patch is sent as JSON text.
  auto idempotency = patch_type == PatchType::JsonPatch ? Idempotency::Unsafe : Idempotency::Safe;
  return execute_json("patch", HttpRequest{"PATCH", path, patch.dump(), content_type_of(patch_type), {}}, idempotency);
}

Status RestKubeClient::remove(const ResourceType& type, const std::string& ns, const std::string& name,
                              const DeleteOptions& options) {
  Json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (options.precondition_uid) body["preconditions"]["uid"] = *options.precondition_uid;
  if (options.precondition_resource_version) {
    body["preconditions"]["resourceVersion"] = *options.precondition_resource_version;
  }
  if (options.propagation_policy) body["propagationPolicy"] = *options.propagation_policy;
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  auto response = execute("delete", HttpRequest{"DELETE", type.object_path(ns, name), body.dump(), "application/json", {}},
                          Idempotency::Safe);
  if (!response.ok()) return response.error();
  return {};
}

Result<std::unique_ptr<WatchStream>> RestKubeClient::watch(const ResourceType& type, const std::string& ns,
                                                           const WatchOptions& options) {
  Query q;
  q.add("watch", "true")
      .add("labelSelector", options.label_selector)
      .add("fieldSelector", options.field_selector)
      .add("resourceVersion", options.resource_version)
      .add("allowWatchBookmarks", options.allow_bookmarks ? "true" : "")
      .add("timeoutSeconds", options.timeout_seconds > 0 ? std::to_string(options.timeout_seconds) : "");
  HttpRequest request{"GET", type.collection_path(ns) + q.str(), "", "", {}};
  auto throttled = throttle(request);
  if (!throttled.ok()) return throttled.error();
  if (auto auth = add_auth(request); !auth.ok()) return auth.error();
  auto started = clock_.now();
  auto response = transport_->open_stream(request);
  if (options_.observe) {
    options_.observe(ApiAttempt{"watch", request.target, 1, response.ok() ? response->status : 0,
                                clock_.now() - started, *throttled, response.ok() ? nullptr : &response.error()});
  }
  if (!response.ok()) return response.error();
  if (response->status != 200) {
    if (response->status == 401 && token_) token_->invalidate();
    auto it = response->headers.find("retry-after");
    return error_from_response(response->status, response->error_body,
                               it == response->headers.end() ? "" : it->second);
  }
  return std::unique_ptr<WatchStream>(std::make_unique<RestWatchStream>(std::move(response->lines)));
}

}  // namespace kube
