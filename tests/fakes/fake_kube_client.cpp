#include "fakes/fake_kube_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace kube::testing {
namespace fake_detail {

using ObjKey = std::pair<std::string, std::string>;  // namespace ("" when cluster-scoped), name

struct LabelRequirement {
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan };
  std::string key;
  Op op = Op::Exists;
  std::vector<std::string> values;
};

struct FieldRequirement {
  std::string field;
  bool equals = true;
  std::string value;
};

// Which objects a list or watch sees: namespace, label and field selectors.
struct Filter {
  bool filter_namespace = false;
  std::string ns;
  std::vector<LabelRequirement> labels;
  std::vector<FieldRequirement> fields;

  bool matches(const Json& obj) const;
};

struct Watcher {
  ResourceType type;
  std::string type_key;
  Filter filter;
  bool allow_bookmarks = false;
  std::deque<WatchEvent> queue;
  bool reading = false;  // its reader waits in next(): done with every event it took
  bool closed = false;
  bool cancelled = false;
  bool severed = false;  // open, and nothing reaches it any more
  std::optional<Error> failure;

  bool ended() const { return closed || cancelled || failure.has_value(); }
};

// One write. `object` is null for a deletion, `prev` null for a creation:
// enough to replay watches and to rebuild the state at an older resourceVersion.
struct LogEntry {
  uint64_t rv = 0;
  std::string type_key;
  ObjKey key;
  Json object;
  Json prev;
};

struct Bucket {
  ResourceType type;
  std::map<ObjKey, Json> objects;  // sorted like etcd keys: namespace, then name
};

struct InjectedError {
  std::string verb;
  std::string type_key;
  Error error;
  int remaining = 0;
};

// What a call may do after failure injection: fail outright, or (a write
// whose error says maybe_applied) apply and then fail.
struct Gate {
  std::optional<Error> error;
  bool proceed = true;
};

enum class WriteMode { Main, Status };

struct ApiState {
  explicit ApiState(const Clock& c) : clock(&c) {}

  const Clock* clock;
  mutable std::mutex mu;
  mutable std::condition_variable cv;

  uint64_t rv = 1000;  // not 1: resourceVersions are opaque, nothing should count from zero
  uint64_t compacted_rv = 0;
  uint64_t uid_counter = 0;
  uint64_t name_counter = 0;
  std::map<std::string, Bucket> buckets;
  std::vector<LogEntry> log;
  std::set<std::string> status_types{"/pods", "/nodes", "/namespaces"};
  std::set<std::string> no_status_types;
  std::list<std::shared_ptr<Watcher>> watchers;
  std::vector<InjectedError> injected;
  bool unavailable = false;
  bool synthetic_initial_events = false;
  int writes = 0;
  std::vector<std::string> write_log;

  // Everything below runs with `mu` held.
  Gate gate(const std::string& verb, const ResourceType& type);
  void count(const std::string& verb, const ResourceType& type, const std::string& key);
  bool has_status(const ResourceType& type) const;
  Bucket& bucket(const ResourceType& type);
  Json* find(const ResourceType& type, const ObjKey& key);
  void record(uint64_t at, const std::string& type_key, const ObjKey& key, Json object, Json prev);
  void deliver(Watcher& w, const LogEntry& e) const;
  std::map<ObjKey, Json> snapshot(const std::string& type_key, uint64_t at) const;
  // Whether an object of the type changed after revision `at` (else its snapshot is the live bucket).
  bool changed_since(const std::string& type_key, uint64_t at) const;
  std::string new_uid();
  std::string name_suffix();
  void learn_crd(const ResourceType& type, const Json& obj);
  void end_open_watches(const Error& error);

  Result<Json> create_object(const ResourceType& type, const std::string& ns, Json obj);
  Result<Json> commit(const ResourceType& type, const ObjKey& key, Json next, WriteMode mode);
  std::optional<Error> check_put(const ResourceType& type, const ObjKey& key, const Json& object);
  void delete_object(const ResourceType& type, const ObjKey& key, const std::optional<std::string>& policy);
  int collect_garbage();
};

namespace {

constexpr std::string_view kStatusGroup = "rr.bgp.dev";
constexpr const char* kModified =
    "the object has been modified; please apply your changes to the latest version and try again";

std::string type_key(const ResourceType& t) { return t.group + "/" + t.plural; }

bool is_builtin_group(const std::string& g) {
  return g.empty() || g == "apps" || g == "batch" || g == "policy" || g == "autoscaling" ||
         (g.size() > 7 && g.ends_with(".k8s.io"));
}

Error api_error(ErrorKind kind, int http_status, std::string message) {
  Error e = make_error(kind, std::move(message));
  e.http_status = http_status;
  return e;
}
Error not_found(const ResourceType& t, const std::string& name) {
  return api_error(ErrorKind::NotFound, 404, t.describe() + " \"" + name + "\" not found");
}
Error no_such_resource() {
  return api_error(ErrorKind::NotFound, 404, "the server could not find the requested resource");
}
Error conflict(const ResourceType& t, const std::string& name, const std::string& why) {
  return api_error(ErrorKind::Conflict, 409,
                   "Operation cannot be fulfilled on " + t.describe() + " \"" + name + "\": " + why);
}
Error invalid(const ResourceType& t, const std::string& name, const std::string& why) {
  return api_error(ErrorKind::Invalid, 422, t.kind + " \"" + name + "\" is invalid: " + why);
}
Error bad_request(std::string why) { return api_error(ErrorKind::Invalid, 400, std::move(why)); }
Error unavailable_error() {
  return make_error(ErrorKind::Transient, "fake API server unavailable: connection refused");
}

template <class T>
void must(const Result<T>& r) {
  // The fake's own bookkeeping writes cannot be invalid; if one is, the fake is broken.
  if (!r.ok()) throw std::logic_error("FakeKubeClient internal write failed: " + r.error().describe());
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string meta_string(const Json& obj, const char* field) {
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return {};
  auto it = meta->find(field);
  return it != meta->end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool deleting(const Json& obj) {
  auto meta = obj.find("metadata");
  return meta != obj.end() && meta->is_object() && meta->contains("deletionTimestamp") &&
         !(*meta)["deletionTimestamp"].is_null();
}

std::vector<std::string> finalizers_of(const Json& obj) {
  std::vector<std::string> out;
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return out;
  auto it = meta->find("finalizers");
  if (it == meta->end() || !it->is_array()) return out;
  for (const auto& f : *it) {
    if (f.is_string()) out.push_back(f.get<std::string>());
  }
  return out;
}

void set_finalizers(Json& obj, const std::vector<std::string>& finalizers) {
  if (finalizers.empty()) {
    obj["metadata"].erase("finalizers");
  } else {
    obj["metadata"]["finalizers"] = finalizers;
  }
}

std::vector<std::string> owner_uids(const Json& obj) {
  std::vector<std::string> out;
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return out;
  auto it = meta->find("ownerReferences");
  if (it == meta->end() || !it->is_array()) return out;
  for (const auto& ref : *it) {
    if (ref.is_object() && ref.contains("uid") && ref["uid"].is_string()) out.push_back(ref["uid"].get<std::string>());
  }
  return out;
}

Json without(const Json& obj, const char* field) {
  Json copy = obj;
  copy.erase(field);
  return copy;
}
Json field_or_null(const Json& obj, const char* field) {
  auto it = obj.find(field);
  return it == obj.end() ? Json() : *it;
}

// --- names and labels, validated as the API server does ------------------

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool any_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || !lower_alnum(part.front()) || !lower_alnum(part.back())) return false;
    if (!std::all_of(part.begin(), part.end(), [](char c) { return lower_alnum(c) || c == '-'; })) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// The name part of a qualified name, and a non-empty label value.
bool is_qualified_part(std::string_view s) {
  if (s.empty() || s.size() > 63 || !any_alnum(s.front()) || !any_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return any_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool is_label_key(std::string_view k) {
  size_t slash = k.find('/');
  if (slash == std::string_view::npos) return is_qualified_part(k);
  return is_dns_subdomain(k.substr(0, slash)) && is_qualified_part(k.substr(slash + 1));
}

bool is_label_value(std::string_view v) { return v.empty() || is_qualified_part(v); }

std::optional<std::string> metadata_problem(const Json& obj) {
  const Json& meta = obj["metadata"];
  if (auto it = meta.find("labels"); it != meta.end() && !it->is_null()) {
    if (!it->is_object()) return "metadata.labels: must be a map of strings";
    for (const auto& [k, v] : it->items()) {
      if (!is_label_key(k)) return "metadata.labels: Invalid value: \"" + k + "\": not a qualified name";
      if (!v.is_string()) return "metadata.labels." + k + ": must be a string";
      if (!is_label_value(v.get<std::string>())) {
        return "metadata.labels: Invalid value: \"" + v.get<std::string>() +
               "\": a valid label must be 63 characters or less, alphanumeric at both ends, with '-', '_' or '.' "
               "between";
      }
    }
  }
  if (auto it = meta.find("annotations"); it != meta.end() && !it->is_null()) {
    if (!it->is_object()) return "metadata.annotations: must be a map of strings";
    for (const auto& [k, v] : it->items()) {
      if (!is_label_key(k)) return "metadata.annotations: Invalid value: \"" + k + "\": not a qualified name";
      if (!v.is_string()) return "metadata.annotations." + k + ": must be a string";
    }
  }
  if (auto it = meta.find("finalizers"); it != meta.end() && !it->is_null()) {
    if (!it->is_array()) return "metadata.finalizers: must be a list of strings";
    for (const auto& f : *it) {
      if (!f.is_string() || !is_label_key(f.get<std::string>())) return "metadata.finalizers: Invalid value";
    }
  }
  return std::nullopt;
}

// --- selectors -----------------------------------------------------------

Result<std::vector<LabelRequirement>> parse_label_selector(std::string_view text) {
  using Op = LabelRequirement::Op;
  std::vector<LabelRequirement> out;
  if (trim(text).empty()) return out;
  auto bad = [&](std::string_view why) {
    return bad_request("unable to parse requirement: " + std::string(why) + " in label selector \"" +
                       std::string(text) + "\"");
  };
  std::vector<std::string_view> terms;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')' && --depth < 0) return bad("unbalanced ')'");
    if (text[i] == ',' && depth == 0) {
      terms.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (depth != 0) return bad("unbalanced '('");
  terms.push_back(text.substr(start));

  for (std::string_view raw : terms) {
    std::string_view term = trim(raw);
    if (term.empty()) return bad("empty requirement");
    LabelRequirement r;
    if (term.front() == '!') {
      r.key = std::string(trim(term.substr(1)));
      r.op = Op::DoesNotExist;
      if (!is_label_key(r.key)) return bad("invalid key \"" + r.key + "\"");
      out.push_back(std::move(r));
      continue;
    }
    size_t i = 0;
    while (i < term.size() &&
           (any_alnum(term[i]) || term[i] == '-' || term[i] == '_' || term[i] == '.' || term[i] == '/')) {
      ++i;
    }
    r.key = std::string(term.substr(0, i));
    if (!is_label_key(r.key)) return bad("invalid key \"" + r.key + "\"");
    std::string_view rest = trim(term.substr(i));
    auto is_set_op = [&](std::string_view word) {
      return rest.starts_with(word) && rest.size() > word.size() &&
             (rest[word.size()] == '(' || std::isspace(static_cast<unsigned char>(rest[word.size()])));
    };
    if (rest.empty()) {
      r.op = Op::Exists;
    } else if (is_set_op("in") || is_set_op("notin")) {
      r.op = rest.starts_with("notin") ? Op::NotIn : Op::In;
      std::string_view set = trim(rest.substr(r.op == Op::In ? 2 : 5));
      if (set.size() < 2 || set.front() != '(' || set.back() != ')') return bad("expected a (value, ...) set");
      set = set.substr(1, set.size() - 2);
      if (trim(set).empty()) return bad("for 'in', 'notin' operators, values set can't be empty");
      size_t from = 0;
      for (;;) {
        size_t comma = set.find(',', from);
        std::string_view v = trim(set.substr(from, comma == std::string_view::npos ? comma : comma - from));
        if (!is_label_value(v)) return bad("invalid value \"" + std::string(v) + "\"");
        r.values.emplace_back(v);
        if (comma == std::string_view::npos) break;
        from = comma + 1;
      }
    } else {
      size_t op_len = 0;
      if (rest.starts_with("==") || rest.starts_with("!=")) {
        r.op = rest.front() == '=' ? Op::Equals : Op::NotEquals;
        op_len = 2;
      } else if (rest.front() == '=' || rest.front() == '>' || rest.front() == '<') {
        r.op = rest.front() == '=' ? Op::Equals : rest.front() == '>' ? Op::GreaterThan : Op::LessThan;
        op_len = 1;
      } else {
        return bad("unknown operator in \"" + std::string(term) + "\"");
      }
      std::string_view v = trim(rest.substr(op_len));
      if (!is_label_value(v)) return bad("invalid value \"" + std::string(v) + "\"");
      if (r.op == Op::GreaterThan || r.op == Op::LessThan) {
        long n = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc() || p != v.data() + v.size()) return bad("'>' and '<' need an integer");
      }
      r.values.emplace_back(v);
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool label_matches(const LabelRequirement& r, const std::map<std::string, std::string>& labels) {
  using Op = LabelRequirement::Op;
  auto it = labels.find(r.key);
  bool has = it != labels.end();
  auto in_values = [&] { return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end(); };
  auto as_long = [](const std::string& s, long& n) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  };
  switch (r.op) {
    case Op::Equals: return has && it->second == r.values[0];
    case Op::NotEquals: return !has || it->second != r.values[0];
    case Op::In: return in_values();
    case Op::NotIn: return !in_values();
    case Op::Exists: return has;
    case Op::DoesNotExist: return !has;
    case Op::GreaterThan:
    case Op::LessThan: {
      long have = 0, want = 0;
      if (!has || !as_long(it->second, have) || !as_long(r.values[0], want)) return false;
      return r.op == Op::GreaterThan ? have > want : have < want;
    }
  }
  return false;
}

// Field selectors work only on the fields each resource registers; the rest are a 400.
bool field_supported(const ResourceType& t, std::string_view field) {
  if (field == "metadata.name" || field == "metadata.namespace") return true;
  if (!t.group.empty()) return false;
  static const std::map<std::string, std::set<std::string, std::less<>>, std::less<>> by_plural = {
      {"pods",
       {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
        "status.phase", "status.podIP", "status.nominatedNodeName"}},
      {"nodes", {"spec.unschedulable"}},
      {"secrets", {"type"}},
      {"namespaces", {"status.phase"}},
      {"events",
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
        "reportingComponent", "type"}},
  };
  auto it = by_plural.find(t.plural);
  return it != by_plural.end() && it->second.count(field) > 0;
}

Result<std::vector<FieldRequirement>> parse_field_selector(const ResourceType& t, std::string_view text) {
  std::vector<FieldRequirement> out;
  if (trim(text).empty()) return out;
  size_t from = 0;
  for (;;) {
    size_t comma = text.find(',', from);
    std::string_view term = trim(text.substr(from, comma == std::string_view::npos ? comma : comma - from));
    FieldRequirement r;
    size_t op = term.find_first_of("!=");
    if (term.empty() || op == std::string_view::npos || op == 0) {
      return bad_request("invalid field selector: \"" + std::string(text) + "\"");
    }
    std::string_view value;
    if (term.substr(op).starts_with("!=")) {
      r.equals = false;
      value = term.substr(op + 2);
    } else if (term.substr(op).starts_with("==")) {
      value = term.substr(op + 2);
    } else if (term[op] == '=') {
      value = term.substr(op + 1);
    } else {
      return bad_request("invalid field selector: \"" + std::string(text) + "\"");
    }
    r.field = std::string(trim(term.substr(0, op)));
    r.value = std::string(trim(value));
    if (!field_supported(t, r.field)) {
      return bad_request("field label not supported: " + r.field);
    }
    out.push_back(std::move(r));
    if (comma == std::string_view::npos) break;
    from = comma + 1;
  }
  return out;
}

std::string field_value(const Json& obj, std::string_view path) {
  const Json* cur = &obj;
  size_t from = 0;
  for (;;) {
    size_t dot = path.find('.', from);
    std::string part(path.substr(from, dot == std::string_view::npos ? dot : dot - from));
    if (!cur->is_object()) return {};
    auto it = cur->find(part);
    if (it == cur->end()) return {};
    cur = &*it;
    if (dot == std::string_view::npos) break;
    from = dot + 1;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_null()) return {};
  return cur->dump();  // booleans and numbers as their JSON text: "true", "3"
}

Result<Filter> make_filter(const ResourceType& t, const std::string& ns, const std::string& label_selector,
                           const std::string& field_selector) {
  Filter f;
  f.filter_namespace = t.namespaced && !ns.empty();
  f.ns = ns;
  auto labels = parse_label_selector(label_selector);
  if (!labels.ok()) return labels.error();
  f.labels = std::move(labels.value());
  auto fields = parse_field_selector(t, field_selector);
  if (!fields.ok()) return fields.error();
  f.fields = std::move(fields.value());
  return f;
}

std::optional<uint64_t> parse_rv(const std::string& s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Opaque to clients, like the real base64 token: the snapshot's resourceVersion and the last key returned.
std::string encode_continue(uint64_t rv, const ObjKey& last) {
  return Json::array({rv, last.first, last.second}).dump();
}

std::optional<std::pair<uint64_t, ObjKey>> decode_continue(const std::string& token) {
  Json j = Json::parse(token, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array() || j.size() != 3 || !j[0].is_number_unsigned() || !j[1].is_string() ||
      !j[2].is_string()) {
    return std::nullopt;
  }
  return std::make_pair(j[0].get<uint64_t>(), ObjKey{j[1].get<std::string>(), j[2].get<std::string>()});
}

Result<Json> apply_patch(const ResourceType& t, const std::string& name, const Json& current, PatchType patch_type,
                         const Json& patch) {
  switch (patch_type) {
    case PatchType::Apply:
      if (!patch.is_object() || patch.value("apiVersion", Json()) != t.api_version() ||
          patch.value("kind", Json()) != t.kind) {
        return bad_request("apply patches need apiVersion " + t.api_version() + " and kind " + t.kind);
      }
      [[fallthrough]];
    case PatchType::Merge:
    case PatchType::Strategic: {
      if (!patch.is_object()) return bad_request("a merge patch must be a JSON object");
      Json out = current;
      out.merge_patch(patch);  // RFC 7386: objects merge recursively, null deletes, anything else replaces
      return out;
    }
    case PatchType::JsonPatch: {
      if (!patch.is_array()) return bad_request("a JSON patch must be an array of operations");
      try {
        return current.patch(patch);
      } catch (const Json::exception& e) {
        // A failed "test" op, a missing path or a malformed operation.
        return invalid(t, name, std::string("json patch: ") + e.what());
      }
    }
  }
  return bad_request("unknown patch type");
}

}  // namespace

bool Filter::matches(const Json& obj) const {
  if (filter_namespace && namespace_of(obj) != ns) return false;
  if (!labels.empty()) {
    auto have = labels_of(obj);
    for (const auto& r : labels) {
      if (!label_matches(r, have)) return false;
    }
  }
  for (const auto& r : fields) {
    if ((field_value(obj, r.field) == r.value) != r.equals) return false;
  }
  return true;
}

Gate ApiState::gate(const std::string& verb, const ResourceType& type) {
  if (unavailable) return Gate{unavailable_error(), false};
  const std::string tk = type_key(type);
  for (auto it = injected.begin(); it != injected.end(); ++it) {
    if (it->verb != verb || it->type_key != tk) continue;
    Error e = it->error;
    if (--it->remaining <= 0) injected.erase(it);
    bool proceed = e.maybe_applied && verb != "get" && verb != "list" && verb != "watch";
    return Gate{std::move(e), proceed};
  }
  return Gate{};
}

void ApiState::count(const std::string& verb, const ResourceType& type, const std::string& key) {
  ++writes;
  write_log.push_back(verb + " " + type.plural + " " + key);
}

bool ApiState::has_status(const ResourceType& type) const {
  const std::string tk = type_key(type);
  if (no_status_types.count(tk)) return false;
  return status_types.count(tk) > 0 || type.group == kStatusGroup;
}

Bucket& ApiState::bucket(const ResourceType& type) {
  auto [it, inserted] = buckets.try_emplace(type_key(type));
  if (inserted) it->second.type = type;
  return it->second;
}

Json* ApiState::find(const ResourceType& type, const ObjKey& key) {
  auto b = buckets.find(type_key(type));
  if (b == buckets.end()) return nullptr;
  auto it = b->second.objects.find(key);
  return it == b->second.objects.end() ? nullptr : &it->second;
}

void ApiState::record(uint64_t at, const std::string& tk, const ObjKey& key, Json object, Json prev) {
  LogEntry e{at, tk, key, std::move(object), std::move(prev)};
  for (auto& w : watchers) {
    if (!w->ended() && !w->severed && w->type_key == tk) deliver(*w, e);
  }
  log.push_back(std::move(e));
  cv.notify_all();
}

// As the watch cache does: an object that starts matching arrives as ADDED,
// one that stops matching as DELETED (its previous state, at the new resourceVersion).
void ApiState::deliver(Watcher& w, const LogEntry& e) const {
  bool now_matches = !e.object.is_null() && w.filter.matches(e.object);
  bool matched = !e.prev.is_null() && w.filter.matches(e.prev);
  if (now_matches) {
    w.queue.push_back(WatchEvent{matched ? WatchEvent::Type::Modified : WatchEvent::Type::Added, e.object});
  } else if (matched) {
    Json last = e.prev;
    last["metadata"]["resourceVersion"] = std::to_string(e.rv);
    w.queue.push_back(WatchEvent{WatchEvent::Type::Deleted, std::move(last)});
  }
}

bool ApiState::changed_since(const std::string& tk, uint64_t at) const {
  for (auto e = log.rbegin(); e != log.rend() && e->rv > at; ++e) {
    if (e->type_key == tk) return true;
  }
  return false;
}

std::map<ObjKey, Json> ApiState::snapshot(const std::string& tk, uint64_t at) const {
  std::map<ObjKey, Json> out;
  if (auto b = buckets.find(tk); b != buckets.end()) out = b->second.objects;
  for (auto e = log.rbegin(); e != log.rend() && e->rv > at; ++e) {
    if (e->type_key != tk) continue;
    if (e->prev.is_null()) {
      out.erase(e->key);
    } else {
      out[e->key] = e->prev;
    }
  }
  return out;
}

std::string ApiState::new_uid() {
  char buf[48];
  std::snprintf(buf, sizeof buf, "fa4e0000-0000-4000-8000-%012llu", static_cast<unsigned long long>(++uid_counter));
  return buf;
}

// Deterministic stand-in for the apiserver's random 5-character suffix (same alphabet).
std::string ApiState::name_suffix() {
  static constexpr std::string_view alphabet = "bcdfghjklmnpqrstvwxz2456789";
  uint64_t x = ++name_counter * 0x9E3779B97F4A7C15ULL;
  x ^= x >> 29;
  std::string out;
  for (int i = 0; i < 5; ++i) {
    out += alphabet[x % alphabet.size()];
    x /= alphabet.size();
  }
  return out;
}

// A CRD that declares a status subresource turns it on for its resource, as the real server does.
void ApiState::learn_crd(const ResourceType& type, const Json& obj) {
  if (type.group != "apiextensions.k8s.io" || type.plural != "customresourcedefinitions") return;
  const Json spec = field_or_null(obj, "spec");
  if (!spec.is_object()) return;
  const Json group = field_or_null(spec, "group");
  const Json names = field_or_null(spec, "names");
  const Json plural = names.is_object() ? field_or_null(names, "plural") : Json();
  const Json versions = field_or_null(spec, "versions");
  if (!group.is_string() || !plural.is_string() || !versions.is_array()) return;
  const std::string tk = group.get<std::string>() + "/" + plural.get<std::string>();
  for (const auto& v : versions) {
    if (v.is_object() && v.contains("subresources") && v["subresources"].is_object() &&
        v["subresources"].contains("status")) {
      status_types.insert(tk);
      no_status_types.erase(tk);
    }
  }
}

void ApiState::end_open_watches(const Error& error) {
  for (auto& w : watchers) {
    if (w->ended()) continue;
    w->failure = error;
    w->queue.clear();
  }
  cv.notify_all();
}

Result<Json> ApiState::create_object(const ResourceType& type, const std::string& ns_arg, Json obj) {
  if (!obj.is_object()) return bad_request("the body of a create must be a JSON object");
  if (obj.contains("metadata") && !obj["metadata"].is_object()) return bad_request("metadata must be an object");
  if (!obj.contains("metadata")) obj["metadata"] = Json::object();
  std::string ns;
  if (type.namespaced) {
    std::string body_ns = namespace_of(obj);
    if (!ns_arg.empty() && !body_ns.empty() && ns_arg != body_ns) {
      return bad_request("the namespace of the provided object does not match the namespace sent on the request");
    }
    ns = ns_arg.empty() ? body_ns : ns_arg;
    if (ns.empty()) return bad_request("a namespace is required to create " + type.describe());
    if (!is_dns_label(ns)) return invalid(type, name_of(obj), "metadata.namespace: Invalid value: \"" + ns + "\"");
    obj["metadata"]["namespace"] = ns;
  } else {
    obj["metadata"].erase("namespace");
  }
  Bucket& b = bucket(type);
  std::string name = name_of(obj);
  if (name.empty()) {
    std::string prefix = meta_string(obj, "generateName");
    if (prefix.empty()) return invalid(type, "", "metadata.name: Required value: name or generateName is required");
    do {
      name = prefix + name_suffix();
    } while (b.objects.count({ns, name}));
    obj["metadata"]["name"] = name;
  }
  bool label_name = type.group.empty() && type.plural == "namespaces";
  if (label_name ? !is_dns_label(name) : !is_dns_subdomain(name)) {
    return invalid(type, name,
                   "metadata.name: Invalid value: \"" + name +
                       "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                       "or '.'");
  }
  if (!resource_version_of(obj).empty()) {
    return bad_request("resourceVersion should not be set on objects to be created");
  }
  if (auto problem = metadata_problem(obj)) return invalid(type, name, *problem);
  const ObjKey key{ns, name};
  if (b.objects.count(key)) {
    return api_error(ErrorKind::AlreadyExists, 409, type.describe() + " \"" + name + "\" already exists");
  }
  // Custom resources with a status subresource ignore status on create; built-in kinds (nodes) keep it.
  if (has_status(type) && !is_builtin_group(type.group)) obj.erase("status");
  Json& meta = obj["metadata"];
  meta["uid"] = new_uid();
  meta["creationTimestamp"] = format_time(clock->wall_now());
  meta["generation"] = 1;
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  const uint64_t at = ++rv;
  meta["resourceVersion"] = std::to_string(at);
  obj["apiVersion"] = type.api_version();
  obj["kind"] = type.kind;
  b.objects[key] = obj;
  record(at, type_key(type), key, obj, Json());
  learn_crd(type, obj);
  return obj;
}

// PUT semantics for the main resource or the status subresource; patches end here too.
Result<Json> ApiState::commit(const ResourceType& type, const ObjKey& key, Json next, WriteMode mode) {
  Json* stored = find(type, key);
  const std::string& name = key.second;
  if (!stored) return not_found(type, name);
  const Json old = *stored;
  if (!next.is_object()) return bad_request("the body must be a JSON object");
  if (next.contains("metadata") && !next["metadata"].is_object()) return bad_request("metadata must be an object");
  const std::string want_rv = resource_version_of(next);
  if (!want_rv.empty() && want_rv != resource_version_of(old)) return conflict(type, name, kModified);
  const std::string want_uid = uid_of(next);
  if (!want_uid.empty() && want_uid != uid_of(old)) {
    return conflict(type, name,
                    "Precondition failed: UID in precondition: " + want_uid + ", UID in object meta: " + uid_of(old));
  }

  Json result;
  if (mode == WriteMode::Status) {
    // Only .status moves; metadata and spec stay as stored.
    result = old;
    if (next.contains("status")) {
      result["status"] = next["status"];
    } else {
      result.erase("status");
    }
  } else {
    result = std::move(next);
    if (has_status(type)) {
      if (old.contains("status")) {
        result["status"] = old["status"];
      } else {
        result.erase("status");
      }
    }
    Json& meta = result["metadata"];
    if (!meta.is_object()) meta = Json::object();
    const Json& old_meta = old["metadata"];
    // Fields only the server sets; an update cannot change them.
    for (const char* f : {"name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation"}) {
      if (old_meta.contains(f)) {
        meta[f] = old_meta[f];
      } else {
        meta.erase(f);
      }
    }
    if (auto problem = metadata_problem(result)) return invalid(type, name, *problem);
    if (deleting(old)) {
      auto before = finalizers_of(old);
      for (const auto& f : finalizers_of(result)) {
        if (std::find(before.begin(), before.end(), f) == before.end()) {
          return invalid(type, name,
                         "metadata.finalizers: Forbidden: no new finalizers can be added if the object "
                         "is being deleted, found new finalizers [\"" +
                             f + "\"]");
        }
      }
    }
    // With a status subresource generation counts spec changes; without one, any non-metadata change.
    bool changed = has_status(type) ? field_or_null(result, "spec") != field_or_null(old, "spec")
                                    : without(result, "metadata") != without(old, "metadata");
    if (changed) meta["generation"] = generation_of(old) + 1;
  }
  result["apiVersion"] = type.api_version();
  result["kind"] = type.kind;
  result["metadata"]["resourceVersion"] = resource_version_of(old);
  // The server writes nothing for a no-op: no new resourceVersion, no event.
  if (result == old) return old;

  const uint64_t at = ++rv;
  result["metadata"]["resourceVersion"] = std::to_string(at);
  if (deleting(result) && finalizers_of(result).empty()) {
    // The last finalizer is gone: the object is deleted, not updated. Watchers
    // see the last stored state, as etcd's previous value.
    buckets[type_key(type)].objects.erase(key);
    record(at, type_key(type), key, Json(), old);
    return result;
  }
  *stored = result;
  record(at, type_key(type), key, result, old);
  return result;
}

// Custom resources refuse unconditional PUTs (AllowUnconditionalUpdate is false
// for them); built-in kinds accept a PUT without a resourceVersion.
std::optional<Error> ApiState::check_put(const ResourceType& type, const ObjKey& key, const Json& object) {
  if (!find(type, key)) return not_found(type, key.second);
  if (!is_builtin_group(type.group) && resource_version_of(object).empty()) {
    return invalid(type, key.second, "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
  }
  return std::nullopt;
}

void ApiState::delete_object(const ResourceType& type, const ObjKey& key, const std::optional<std::string>& policy) {
  Json* stored = find(type, key);
  if (!stored || deleting(*stored)) return;  // a second delete of a terminating object changes nothing
  const Json old = *stored;
  auto finalizers = finalizers_of(old);
  // Like the real server: these policies are finalizers that only the garbage collector removes.
  auto add = [&](const char* f) {
    if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end()) finalizers.emplace_back(f);
  };
  if (policy == "Foreground") add("foregroundDeletion");
  if (policy == "Orphan") add("orphan");
  const uint64_t at = ++rv;
  if (finalizers.empty()) {
    buckets[type_key(type)].objects.erase(key);
    record(at, type_key(type), key, Json(), old);
    return;
  }
  Json result = old;
  set_finalizers(result, finalizers);
  Json& meta = result["metadata"];
  meta["deletionTimestamp"] = format_time(clock->wall_now());
  meta["deletionGracePeriodSeconds"] = 0;
  if (generation_of(old) > 0) meta["generation"] = generation_of(old) + 1;
  meta["resourceVersion"] = std::to_string(at);
  *stored = result;
  record(at, type_key(type), key, result, old);
}

int ApiState::collect_garbage() {
  struct Ref {
    ResourceType type;
    ObjKey key;
  };
  auto all = [&] {
    std::vector<Ref> out;
    for (const auto& [tk, b] : buckets) {
      for (const auto& [key, obj] : b.objects) out.push_back(Ref{b.type, key});
    }
    return out;
  };
  auto uid_exists = [&](const std::string& uid) {
    for (const auto& [tk, b] : buckets) {
      for (const auto& [key, obj] : b.objects) {
        if (uid_of(obj) == uid) return true;
      }
    }
    return false;
  };
  auto owned_by = [](const Json& obj, const std::string& uid) {
    auto owners = owner_uids(obj);
    return std::find(owners.begin(), owners.end(), uid) != owners.end();
  };
  auto drop_finalizer = [&](const Ref& r, const std::string& f) {
    Json next = *find(r.type, r.key);
    auto fins = finalizers_of(next);
    fins.erase(std::remove(fins.begin(), fins.end(), f), fins.end());
    set_finalizers(next, fins);
    must(commit(r.type, r.key, std::move(next), WriteMode::Main));
  };

  int issued = 0;
  for (int round = 0; round < 1000; ++round) {
    bool changed = false;
    for (const Ref& r : all()) {
      const Json* obj = find(r.type, r.key);
      if (!obj) continue;
      if (deleting(*obj)) {
        const std::string uid = uid_of(*obj);
        auto fins = finalizers_of(*obj);
        if (std::find(fins.begin(), fins.end(), "orphan") != fins.end()) {
          for (const Ref& d : all()) {
            const Json* dep = find(d.type, d.key);
            if (!dep || !owned_by(*dep, uid)) continue;
            Json next = *dep;
            Json kept = Json::array();
            for (const auto& ref : next["metadata"]["ownerReferences"]) {
              if (!(ref.is_object() && ref.value("uid", Json()) == uid)) kept.push_back(ref);
            }
            if (kept.empty()) {
              next["metadata"].erase("ownerReferences");
            } else {
              next["metadata"]["ownerReferences"] = kept;
            }
            must(commit(d.type, d.key, std::move(next), WriteMode::Main));
          }
          drop_finalizer(r, "orphan");
          changed = true;
        } else if (std::find(fins.begin(), fins.end(), "foregroundDeletion") != fins.end()) {
          bool dependents = false;
          for (const Ref& d : all()) {
            const Json* dep = find(d.type, d.key);
            if (!dep || !owned_by(*dep, uid)) continue;
            dependents = true;
            if (!deleting(*dep)) {
              delete_object(d.type, d.key, std::nullopt);
              ++issued;
              changed = true;
            }
          }
          if (!dependents) {
            drop_finalizer(r, "foregroundDeletion");
            changed = true;
          }
        }
        continue;
      }
      auto owners = owner_uids(*obj);
      if (owners.empty() || std::any_of(owners.begin(), owners.end(), uid_exists)) continue;
      delete_object(r.type, r.key, std::nullopt);
      ++issued;
      changed = true;
    }
    if (!changed) break;
  }
  return issued;
}

namespace {

class FakeWatchStream final : public WatchStream {
 public:
  FakeWatchStream(std::shared_ptr<ApiState> state, std::shared_ptr<Watcher> watcher)
      : state_(std::move(state)), watcher_(std::move(watcher)) {}

  ~FakeWatchStream() override {
    std::lock_guard lock(state_->mu);
    state_->watchers.remove(watcher_);
    state_->cv.notify_all();
  }

  Result<std::optional<WatchEvent>> next() override {
    std::unique_lock lock(state_->mu);
    Watcher& w = *watcher_;
    w.reading = true;
    state_->cv.notify_all();  // wait_for_delivery()
    state_->cv.wait(lock, [&] { return w.cancelled || w.failure || w.closed || !w.queue.empty(); });
    w.reading = false;
    if (w.cancelled) return make_error(ErrorKind::Cancelled, "watch cancelled");
    if (w.failure) return *w.failure;
    if (!w.queue.empty()) {
      WatchEvent event = std::move(w.queue.front());
      w.queue.pop_front();
      return std::optional<WatchEvent>(std::move(event));
    }
    return std::optional<WatchEvent>();  // closed by the server, everything delivered
  }

  void cancel() override {
    std::lock_guard lock(state_->mu);
    watcher_->cancelled = true;
    state_->cv.notify_all();
  }

 private:
  std::shared_ptr<ApiState> state_;
  std::shared_ptr<Watcher> watcher_;
};

}  // namespace
}  // namespace fake_detail

using fake_detail::ApiState;
using fake_detail::Gate;
using fake_detail::ObjKey;
using fake_detail::WriteMode;

FakeKubeClient::FakeKubeClient(const Clock& clock) : state_(std::make_shared<ApiState>(clock)) {}

FakeKubeClient::~FakeKubeClient() {
  std::lock_guard lock(state_->mu);
  state_->end_open_watches(make_error(ErrorKind::Transient, "fake API server destroyed"));
}

Result<Json> FakeKubeClient::get(const ResourceType& type, const std::string& ns, const std::string& name) {
  ApiState& s = *state_;
  std::lock_guard lock(s.mu);
  if (Gate g = s.gate("get", type); g.error) return *g.error;
  const Json* obj = s.find(type, {type.namespaced ? ns : "", name});
  if (!obj) return fake_detail::not_found(type, name);
  return *obj;
}

Result<ObjectList> FakeKubeClient::list(const ResourceType& type, const std::string& ns, const ListOptions& options) {
  ApiState& s = *state_;
  std::lock_guard lock(s.mu);
  if (Gate g = s.gate("list", type); g.error) return *g.error;
  auto filter = fake_detail::make_filter(type, ns, options.label_selector, options.field_selector);
  if (!filter.ok()) return filter.error();
  if (options.limit < 0) return fake_detail::bad_request("limit must not be negative");

  static const std::map<ObjKey, Json> kEmpty;
  const std::string tk = fake_detail::type_key(type);
  std::map<ObjKey, Json> snapshot;
  const std::map<ObjKey, Json>* objects = &kEmpty;
  uint64_t list_rv = s.rv;
  std::optional<ObjKey> after;
  if (!options.continue_token.empty()) {
    if (!options.resource_version.empty()) {
      return fake_detail::bad_request("specifying resource version is not allowed when using continue");
    }
    auto token = fake_detail::decode_continue(options.continue_token);
    if (!token) return fake_detail::bad_request("continue key is not valid");
    if (token->first < s.compacted_rv) {
      return fake_detail::api_error(
          ErrorKind::Gone, 410,
          "The provided continue parameter is too old to display a consistent list result. You can start a new list "
          "without the continue parameter.");
    }
    // Later pages come from the same snapshot as the first, as etcd reads at the token's revision.
    if (s.changed_since(tk, token->first)) {
      snapshot = s.snapshot(tk, token->first);
      objects = &snapshot;
    } else if (auto b = s.buckets.find(tk); b != s.buckets.end()) {
      objects = &b->second.objects;  // nothing changed since: paging 100k objects copies none
    }
    list_rv = token->first;
    after = token->second;
  } else {
    if (!options.resource_version.empty()) {
      auto requested = fake_detail::parse_rv(options.resource_version);
      if (!requested) return fake_detail::bad_request("invalid resourceVersion \"" + options.resource_version + "\"");
      if (*requested > s.rv) {
        return fake_detail::api_error(
            ErrorKind::Transient, 504,
            "Too large resource version: " + options.resource_version + ", current: " + std::to_string(s.rv));
      }
    }
    if (auto b = s.buckets.find(tk); b != s.buckets.end()) objects = &b->second.objects;
  }

  ObjectList out;
  out.resource_version = std::to_string(list_rv);
  ObjKey last;
  for (auto it = after ? objects->upper_bound(*after) : objects->begin(); it != objects->end(); ++it) {
    if (!filter->matches(it->second)) continue;
    if (options.limit > 0 && out.items.size() == static_cast<size_t>(options.limit)) {
      out.continue_token = fake_detail::encode_continue(list_rv, last);
      break;
    }
    out.items.push_back(it->second);
    last = it->first;
  }
  return out;
}

Result<Json> FakeKubeClient::create(const ResourceType& type, const std::string& ns, const Json& object) {
  ApiState& s = *state_;
  std::lock_guard lock(s.mu);
  Gate g = s.gate("create", type);
  if (!g.proceed) return *g.error;
  auto created = s.create_object(type, ns, object);
  if (created.ok()) s.count("create", type, key_of(created.value()));
  if (g.error) return *g.error;
  return created;
}

Result<Json> FakeKubeClient::update(const ResourceType& type, const Json& object) {
  ApiState& s = *state_;
  std::lock_guard lock(s.mu);
  Gate g = s.gate("update", type);
  if (!g.proceed) return *g.error;
  const std::string name = name_of(object);
  if (name.empty()) return fake_detail::invalid(type, "", "metadata.name: Required value");
  const ObjKey key{type.namespaced ? namespace_of(object) : "", name};
  if (auto problem = s.check_put(type, key, object)) return *problem;
  auto updated = s.commit(type, key, object, WriteMode::Main);
  if (updated.ok()) s.count("update", type, make_key(key.first, key.second));
  if (g.error) return *g.error;
  return updated;
}

Result<Json> FakeKubeClient::update_status(const ResourceType& type, const Json& object) {
  ApiState& s = *state_;
  std::lock_guard lock(s.mu);
  Gate g = s.gate("update", type);
  if (!g.proceed) return *g.error;
  if (!s.has_status(type)) return fake_detail::no_such_resource();
  const std::string name = name_of(object);
  if (name.empty()) return fake_detail::invalid(type, "", "metadata.name: Required value");
  const ObjKey key{type.namespaced ? namespace_of(object) : "", name};
  if (auto problem = s.check_put(type, key, object)) return *problem;
  auto updated = s.commit(type, key, object, WriteMode::Status);
  if (updated.ok()) s.count("update_status", type, make_key(key.first, key.second));
  if (g.error) return *g.error;
  return updated;
}

Result<Json> FakeKubeClient::patch(const ResourceType& type, const std::string& ns, const std::string& name,
                                   PatchType patch_type, const Json& patch, const PatchOptions& options) {
  ApiState& s = *state_;
  std::lock_guard lock(s.mu);
  Gate g = s.gate("patch", type);
  if (!g.proceed) return *g.error;
  if (patch_type == PatchType::Apply && options.field_manager.empty()) {
    return fake_detail::bad_request("PatchOptions.fieldManager is required for apply requests");
  }
  if (patch_type == PatchType::Strategic && !fake_detail::is_builtin_group(type.group)) {
    return fake_detail::api_error(ErrorKind::Invalid, 415,
                                  "the body of the request was in an unknown format - accepted media types include: "
                                  "application/json-patch+json, application/merge-patch+json, "
                                  "application/apply-patch+yaml");
  }
  if (options.status && !s.has_status(type)) return fake_detail::no_such_resource();
  const ObjKey key{type.namespaced ? ns : "", name};
  const std::string verb = options.status ? "patch_status" : "patch";
  const Json* current = s.find(type, key);

  Result<Json> written = fake_detail::not_found(type, name);
  if (!current && patch_type == PatchType::Apply && !options.status) {
    // Server-side apply creates what does not exist yet.
    Json body = patch;
    if (body.is_object() && body.contains("metadata") && body["metadata"].is_object() && !name_of(body).empty() &&
        name_of(body) != name) {
      return fake_detail::bad_request("the name of the object (" + name_of(body) +
                                      ") does not match the name on the URL (" + name + ")");
    }
    if (body.is_object() && (!body.contains("metadata") || body["metadata"].is_object())) {
      body["metadata"]["name"] = name;
    }
    auto checked = fake_detail::apply_patch(type, name, Json::object(), patch_type, body);
    if (!checked.ok()) return checked.error();
    written = s.create_object(type, ns, std::move(checked.value()));
  } else if (current) {
    auto patched = fake_detail::apply_patch(type, name, *current, patch_type, patch);
    if (!patched.ok()) return patched.error();
    if (name_of(*patched) != name || namespace_of(*patched) != namespace_of(*current)) {
      return fake_detail::bad_request("the name or namespace of the object does not match the URL (" + name + ")");
    }
    written = s.commit(type, key, std::move(patched.value()), options.status ? WriteMode::Status : WriteMode::Main);
  }
  if (written.ok()) s.count(verb, type, make_key(key.first, key.second));
  if (g.error) return *g.error;
  return written;
}

Status FakeKubeClient::remove(const ResourceType& type, const std::string& ns, const std::string& name,
                              const DeleteOptions& options) {
  ApiState& s = *state_;
  std::lock_guard lock(s.mu);
  Gate g = s.gate("delete", type);
  if (!g.proceed) return *g.error;
  const ObjKey key{type.namespaced ? ns : "", name};
  const Json* current = s.find(type, key);
  if (!current) return fake_detail::not_found(type, name);
  if (options.precondition_uid && *options.precondition_uid != uid_of(*current)) {
    return fake_detail::conflict(type, name,
                                 "Precondition failed: UID in precondition: " + *options.precondition_uid +
                                     ", UID in object meta: " + uid_of(*current));
  }
  if (options.precondition_resource_version &&
      *options.precondition_resource_version != resource_version_of(*current)) {
    return fake_detail::conflict(
        type, name,
        "Precondition failed: ResourceVersion in precondition: " + *options.precondition_resource_version +
            ", ResourceVersion in object meta: " + resource_version_of(*current));
  }
  if (options.propagation_policy && *options.propagation_policy != "Foreground" &&
      *options.propagation_policy != "Background" && *options.propagation_policy != "Orphan") {
    return fake_detail::bad_request("propagationPolicy: Unsupported value: \"" + *options.propagation_policy + "\"");
  }
  s.delete_object(type, key, options.propagation_policy);
  s.count("delete", type, make_key(key.first, key.second));
  if (g.error) return *g.error;
  return {};
}

Result<std::unique_ptr<WatchStream>> FakeKubeClient::watch(const ResourceType& type, const std::string& ns,
                                                           const WatchOptions& options) {
  ApiState& s = *state_;
  std::lock_guard lock(s.mu);
  if (Gate g = s.gate("watch", type); g.error) return *g.error;
  auto filter = fake_detail::make_filter(type, ns, options.label_selector, options.field_selector);
  if (!filter.ok()) return filter.error();

  auto w = std::make_shared<fake_detail::Watcher>();
  w->type = type;
  w->type_key = fake_detail::type_key(type);
  w->filter = std::move(filter.value());
  w->allow_bookmarks = options.allow_bookmarks;
  if (options.resource_version.empty() || options.resource_version == "0") {
    if (s.synthetic_initial_events) {
      if (auto b = s.buckets.find(w->type_key); b != s.buckets.end()) {
        for (const auto& [key, obj] : b->second.objects) {
          if (w->filter.matches(obj)) w->queue.push_back(WatchEvent{WatchEvent::Type::Added, obj});
        }
      }
    }
  } else {
    auto from = fake_detail::parse_rv(options.resource_version);
    if (!from) return fake_detail::bad_request("invalid resourceVersion \"" + options.resource_version + "\"");
    if (*from > s.rv) {
      return fake_detail::api_error(
          ErrorKind::Transient, 504,
          "Too large resource version: " + options.resource_version + ", current: " + std::to_string(s.rv));
    }
    if (*from < s.compacted_rv) {
      // The real server answers 200 and then an ERROR event: the stream's first next() fails.
      w->failure = fake_detail::api_error(
          ErrorKind::Gone, 410,
          "too old resource version: " + options.resource_version + " (" + std::to_string(s.compacted_rv) + ")");
    } else {
      for (const auto& e : s.log) {
        if (e.rv > *from && e.type_key == w->type_key) s.deliver(*w, e);
      }
    }
  }
  s.watchers.push_back(w);
  s.cv.notify_all();
  return std::unique_ptr<WatchStream>(std::make_unique<fake_detail::FakeWatchStream>(state_, w));
}

void FakeKubeClient::register_status_subresource(const ResourceType& type) {
  std::lock_guard lock(state_->mu);
  state_->status_types.insert(fake_detail::type_key(type));
  state_->no_status_types.erase(fake_detail::type_key(type));
}

void FakeKubeClient::unregister_status_subresource(const ResourceType& type) {
  std::lock_guard lock(state_->mu);
  state_->status_types.erase(fake_detail::type_key(type));
  state_->no_status_types.insert(fake_detail::type_key(type));
}

Json FakeKubeClient::seed(const ResourceType& type, Json object) {
  ApiState& s = *state_;
  std::lock_guard lock(s.mu);
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    throw std::invalid_argument("seed: the object needs metadata");
  }
  const std::string name = name_of(object);
  const std::string ns = type.namespaced ? namespace_of(object) : "";
  if (name.empty()) throw std::invalid_argument("seed: metadata.name is required");
  if (type.namespaced && ns.empty()) throw std::invalid_argument("seed: metadata.namespace is required");
  const ObjKey key{ns, name};
  Json& meta = object["metadata"];
  if (!type.namespaced) meta.erase("namespace");
  const Json* existing = s.find(type, key);
  Json prev = existing ? *existing : Json();
  auto fill = [&](const char* field, Json fresh) {
    if (meta.contains(field) && !meta[field].is_null()) return;
    meta[field] = existing ? (*existing)["metadata"].value(field, fresh) : fresh;
  };
  fill("uid", s.new_uid());
  fill("creationTimestamp", format_time(s.clock->wall_now()));
  fill("generation", 1);
  const uint64_t at = ++s.rv;
  meta["resourceVersion"] = std::to_string(at);
  object["apiVersion"] = type.api_version();
  object["kind"] = type.kind;
  s.bucket(type).objects[key] = object;
  s.record(at, fake_detail::type_key(type), key, object, std::move(prev));
  s.learn_crd(type, object);
  return object;
}

void FakeKubeClient::set_synthetic_initial_events(bool enabled) {
  std::lock_guard lock(state_->mu);
  state_->synthetic_initial_events = enabled;
}

std::string FakeKubeClient::resource_version() const {
  std::lock_guard lock(state_->mu);
  return std::to_string(state_->rv);
}

void FakeKubeClient::compact() {
  std::lock_guard lock(state_->mu);
  // A fresh resourceVersion marks the cut: everything handed out before is expired,
  // everything handed out after (a relist) can be watched from.
  state_->compacted_rv = ++state_->rv;
  state_->log.clear();
}

void FakeKubeClient::send_bookmarks() {
  std::lock_guard lock(state_->mu);
  for (auto& w : state_->watchers) {
    if (w->ended() || w->severed || !w->allow_bookmarks) continue;
    Json bookmark = {{"apiVersion", w->type.api_version()},
                     {"kind", w->type.kind},
                     {"metadata", {{"resourceVersion", std::to_string(state_->rv)}}}};
    w->queue.push_back(WatchEvent{WatchEvent::Type::Bookmark, std::move(bookmark)});
  }
  state_->cv.notify_all();
}

void FakeKubeClient::sever_watches(const ResourceType& type) {
  std::lock_guard lock(state_->mu);
  for (auto& w : state_->watchers) {
    if (!w->ended() && w->type_key == fake_detail::type_key(type)) w->severed = true;
  }
}

void FakeKubeClient::close_watches() {
  std::lock_guard lock(state_->mu);
  for (auto& w : state_->watchers) {
    if (!w->ended()) w->closed = true;
  }
  state_->cv.notify_all();
}

void FakeKubeClient::fail_watches(Error error) {
  std::lock_guard lock(state_->mu);
  state_->end_open_watches(error);
}

int FakeKubeClient::open_watch_count() const {
  std::lock_guard lock(state_->mu);
  return static_cast<int>(
      std::count_if(state_->watchers.begin(), state_->watchers.end(), [](const auto& w) { return !w->ended(); }));
}

bool FakeKubeClient::wait_for_delivery(std::chrono::milliseconds limit) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, limit, [&] {
    return std::all_of(state_->watchers.begin(), state_->watchers.end(),
                       [](const auto& w) { return w->ended() || (w->queue.empty() && w->reading); });
  });
}

bool FakeKubeClient::wait_for_open_watches(int n, std::chrono::milliseconds limit) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, limit, [&] {
    return std::count_if(state_->watchers.begin(), state_->watchers.end(), [](const auto& w) { return !w->ended(); }) >=
           n;
  });
}

void FakeKubeClient::inject_error(const std::string& verb, const ResourceType& type, Error error, int count) {
  static const std::set<std::string> verbs = {"get", "list", "create", "update", "patch", "delete", "watch"};
  if (!verbs.count(verb)) throw std::invalid_argument("inject_error: unknown verb " + verb);
  if (count <= 0) return;
  std::lock_guard lock(state_->mu);
  state_->injected.push_back(fake_detail::InjectedError{verb, fake_detail::type_key(type), std::move(error), count});
}

void FakeKubeClient::set_unavailable(bool unavailable, bool drop_watches) {
  std::lock_guard lock(state_->mu);
  if (unavailable && !state_->unavailable && drop_watches) state_->end_open_watches(fake_detail::unavailable_error());
  state_->unavailable = unavailable;
}

int FakeKubeClient::collect_garbage() {
  std::lock_guard lock(state_->mu);
  return state_->collect_garbage();
}

std::optional<Json> FakeKubeClient::peek(const ResourceType& type, const std::string& ns,
                                         const std::string& name) const {
  std::lock_guard lock(state_->mu);
  const Json* obj = state_->find(type, {type.namespaced ? ns : "", name});
  return obj ? std::optional<Json>(*obj) : std::nullopt;
}

int FakeKubeClient::writes() const {
  std::lock_guard lock(state_->mu);
  return state_->writes;
}

std::vector<std::string> FakeKubeClient::write_log() const {
  std::lock_guard lock(state_->mu);
  return state_->write_log;
}

void FakeKubeClient::reset_counters() {
  std::lock_guard lock(state_->mu);
  state_->writes = 0;
  state_->write_log.clear();
}

}  // namespace kube::testing
