#include "preview/recording_client.h"

#include <algorithm>
#include <condition_variable>

namespace rr::preview {
namespace {

bool same_type(const kube::ResourceType& a, const kube::ResourceType& b) {
  return a.group == b.group && a.plural == b.plural;
}

// Whether `object`'s labels satisfy an equality-based selector as informers write them
// ("a=b,c!=d,e"; "" selects everything).
bool selects(const std::string& selector, const kube::Json& object) {
  const auto labels = kube::labels_of(object);
  std::size_t start = 0;
  while (start <= selector.size()) {
    std::size_t end = selector.find(',', start);
    if (end == std::string::npos) end = selector.size();
    std::string term = selector.substr(start, end - start);
    start = end + 1;
    if (term.empty()) continue;
    const bool negated = term.find("!=") != std::string::npos;
    const auto op = term.find(negated ? "!=" : "=");
    if (op == std::string::npos) {
      if (!labels.count(term)) return false;
      continue;
    }
    const std::string key = term.substr(0, op);
    std::string value = term.substr(op + (negated ? 2 : 1));
    if (!value.empty() && value[0] == '=') value.erase(0, 1);  // "=="
    auto it = labels.find(key);
    const bool equal = it != labels.end() && it->second == value;
    if (negated == equal) return false;
  }
  return true;
}

// Open until cancelled, with nothing to say: the informer keeps its first list.
class QuietWatch final : public kube::WatchStream {
 public:
  kube::Result<std::optional<kube::WatchEvent>> next() override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return cancelled_; });
    return kube::make_error(kube::ErrorKind::Cancelled, "watch cancelled");
  }
  void cancel() override {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
};

}  // namespace

void RecordingKubeClient::overlay(const kube::ResourceType& type, kube::Json object) {
  std::lock_guard lock(mu_);
  overlays_.push_back({type, std::move(object)});
}

void RecordingKubeClient::hide(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  hidden_.push_back({type, kube::Json{{"metadata", {{"name", name}, {"namespace", ns}}}}});
}

void RecordingKubeClient::stand_in(const kube::ResourceType& type, kube::Json object) {
  std::lock_guard lock(mu_);
  stand_ins_.push_back({type, std::move(object)});
}

std::vector<std::string> RecordingKubeClient::stood_in() const {
  std::lock_guard lock(mu_);
  return stood_in_;
}

bool RecordingKubeClient::hidden(const kube::ResourceType& type, const std::string& key) const {
  for (const auto& h : hidden_) {
    if (same_type(h.type, type) && kube::key_of(h.object) == key) return true;
  }
  return false;
}

std::vector<RecordedWrite> RecordingKubeClient::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

const kube::Json* RecordingKubeClient::overlaid(const kube::ResourceType& type, const std::string& ns,
                                                const std::string& name) const {
  for (const auto& o : overlays_) {
    if (same_type(o.type, type) && kube::namespace_of(o.object) == ns && kube::name_of(o.object) == name) {
      return &o.object;
    }
  }
  return nullptr;
}

void RecordingKubeClient::record(RecordedWrite write) {
  std::lock_guard lock(mu_);
  writes_.push_back(std::move(write));
}

kube::Result<kube::Json> RecordingKubeClient::get(const kube::ResourceType& type, const std::string& ns,
                                                  const std::string& name) {
  {
    std::lock_guard lock(mu_);
    if (const auto* o = overlaid(type, type.namespaced ? ns : "", name)) return *o;
    if (hidden(type, kube::make_key(type.namespaced ? ns : "", name))) {
      return kube::make_error(kube::ErrorKind::NotFound, type.plural + " \"" + name + "\" not found");
    }
  }
  auto got = api_.get(type, ns, name);
  if (!got.is(kube::ErrorKind::Forbidden)) return got;
  std::lock_guard lock(mu_);
  for (const auto& o : stand_ins_) {
    if (!same_type(o.type, type) || kube::namespace_of(o.object) != ns || kube::name_of(o.object) != name) continue;
    std::string said = type.kind + " " + kube::make_key(ns, name) + " could not be read (" + got.error().message + ")";
    if (std::find(stood_in_.begin(), stood_in_.end(), said) == stood_in_.end()) stood_in_.push_back(std::move(said));
    return o.object;
  }
  return got;
}

kube::Result<kube::ObjectList> RecordingKubeClient::list(const kube::ResourceType& type, const std::string& ns,
                                                         const kube::ListOptions& options) {
  auto listed = api_.list(type, ns, options);
  if (!listed.ok()) return listed;
  // Overlays join the last page (the one without a continue token), and replace their
  // namesakes on every page.
  std::lock_guard lock(mu_);
  std::vector<const kube::Json*> extra;
  for (const auto& o : overlays_) {
    if (same_type(o.type, type) && (ns.empty() || kube::namespace_of(o.object) == ns) &&
        selects(options.label_selector, o.object)) {
      extra.push_back(&o.object);
    }
  }
  std::erase_if(listed->items, [&](const kube::Json& item) { return hidden(type, kube::key_of(item)); });
  for (auto& item : listed->items) {
    for (auto it = extra.begin(); it != extra.end(); ++it) {
      if (kube::key_of(**it) == kube::key_of(item)) {
        item = **it;
        extra.erase(it);
        break;
      }
    }
  }
  if (listed->continue_token.empty()) {
    for (const auto* o : extra) listed->items.push_back(*o);
  }
  return listed;
}

kube::Result<kube::Json> RecordingKubeClient::create(const kube::ResourceType& type, const std::string& ns,
                                                     const kube::Json& object) {
  record({"create", type, ns, kube::name_of(object), false, object});
  return object;
}

kube::Result<kube::Json> RecordingKubeClient::update(const kube::ResourceType& type, const kube::Json& object) {
  record({"update", type, kube::namespace_of(object), kube::name_of(object), false, object});
  return object;
}

kube::Result<kube::Json> RecordingKubeClient::update_status(const kube::ResourceType& type, const kube::Json& object) {
  record({"update", type, kube::namespace_of(object), kube::name_of(object), true, object});
  return object;
}

kube::Result<kube::Json> RecordingKubeClient::patch(const kube::ResourceType& type, const std::string& ns,
                                                    const std::string& name, kube::PatchType /*patch_type*/,
                                                    const kube::Json& patch, const kube::PatchOptions& options) {
  record({"patch", type, ns, name, options.status, patch});
  kube::Json answer = patch.is_object() ? patch : kube::Json::object();
  answer["metadata"]["name"] = name;
  if (!ns.empty()) answer["metadata"]["namespace"] = ns;
  return answer;
}

kube::Status RecordingKubeClient::remove(const kube::ResourceType& type, const std::string& ns,
                                         const std::string& name, const kube::DeleteOptions& /*options*/) {
  record({"delete", type, ns, name, false, nullptr});
  return {};
}

kube::Result<std::unique_ptr<kube::WatchStream>> RecordingKubeClient::watch(const kube::ResourceType& /*type*/,
                                                                            const std::string& /*ns*/,
                                                                            const kube::WatchOptions& /*options*/) {
  return std::unique_ptr<kube::WatchStream>(std::make_unique<QuietWatch>());
}

}  // namespace rr::preview
