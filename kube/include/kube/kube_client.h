#pragma once
// The role every part of the project uses to talk to the Kubernetes API.
// RestKubeClient implements it over HTTP; tests use FakeKubeClient, an
// in-memory API with resourceVersions and watches.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kube/object.h"
#include "kube/resource_type.h"
#include "kube/result.h"

namespace kube {

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int limit = 0;                 // page size; 0 = let the server decide
  std::string continue_token;
  std::string resource_version;  // "" = most recent (quorum read)
};

struct ObjectList {
  std::vector<Json> items;
  std::string resource_version;  // of the list: where a watch starts
  std::string continue_token;    // non-empty when more pages follow
};

enum class PatchType {
  Merge,           // application/merge-patch+json
  JsonPatch,       // application/json-patch+json
  Strategic,       // application/strategic-merge-patch+json (built-in kinds only)
  Apply,           // application/apply-patch+yaml: server-side apply
};

struct PatchOptions {
  std::string field_manager;  // required for Apply
  bool force = false;         // Apply: take ownership of conflicting fields
  bool status = false;        // patch the status subresource
};

struct DeleteOptions {
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
  std::optional<std::string> propagation_policy;  // Foreground, Background, Orphan
  std::optional<int> grace_period_seconds;        // 0 = immediately (what a kubelet does when done)
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;   // resume point; "" = from now
  bool allow_bookmarks = true;
  int timeout_seconds = 290;      // server closes the watch cleanly after this
};

struct WatchEvent {
  enum class Type { Added, Modified, Deleted, Bookmark };
  Type type = Type::Added;
  Json object;
};

class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // The next event; nullopt when the server ended the watch (resume from the
  // last resourceVersion); Error{Gone} for 410 / an expired resourceVersion.
  virtual Result<std::optional<WatchEvent>> next() = 0;
  // Thread-safe; makes next() return Cancelled promptly.
  virtual void cancel() = 0;
};

class KubeClient {
 public:
  virtual ~KubeClient() = default;

  virtual Result<Json> get(const ResourceType& type, const std::string& ns, const std::string& name) = 0;
  virtual Result<ObjectList> list(const ResourceType& type, const std::string& ns, const ListOptions& options) = 0;
  virtual Result<Json> create(const ResourceType& type, const std::string& ns, const Json& object) = 0;
  // PUT; object.metadata.resourceVersion, when set, makes it a compare-and-swap (409 on mismatch).
  virtual Result<Json> update(const ResourceType& type, const Json& object) = 0;
  virtual Result<Json> update_status(const ResourceType& type, const Json& object) = 0;
  virtual Result<Json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                             PatchType patch_type, const Json& patch, const PatchOptions& options) = 0;
  virtual Status remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options) = 0;
  virtual Result<std::unique_ptr<WatchStream>> watch(const ResourceType& type, const std::string& ns,
                                                     const WatchOptions& options) = 0;

  // Every page of a list, following `continue` tokens, each handed to `page` as it arrives and
  // then dropped: memory holds one page, never the whole list. `restart` is true for the first
  // page of a listing: a 410 on a continue token (the snapshot was compacted) starts over from
  // the first page once, and what earlier pages said no longer describes one snapshot.
  // Returns the list's resourceVersion (where a watch of it starts).
  // A client may fetch the next page while `page` runs (RestKubeClient does); `page` is
  // always called on the caller's thread, in order.
  using PageSink = std::function<void(std::vector<Json>&& items, bool restart)>;
  virtual Result<std::string> list_pages(const ResourceType& type, const std::string& ns, ListOptions options,
                                         const PageSink& page);
  // Every page at once (list_pages into one list): for small lists.
  Result<ObjectList> list_all(const ResourceType& type, const std::string& ns, ListOptions options);
};

}  // namespace kube
