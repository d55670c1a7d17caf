#pragma once
// An in-memory Kubernetes API for tests: one global resourceVersion, an event
// log that watches resume from, compaction (410 Gone), status subresources,
// finalizers, selectors, pagination, plus hooks to inject failures and to see
// what the code under test wrote. It holds state; expectations belong in tests.
//
// Behaviour mirrors kube-apiserver where the project depends on it: 409s on
// stale resourceVersions, 422 on unconditional PUTs of custom resources, no-op
// writes that keep the resourceVersion and send no event, DELETED events with
// the last state, finalizers and deletionTimestamp, label-value validation.
// Known simplifications:
//  - Apply is a JSON merge of the body (no field ownership, `force` ignored);
//    Strategic is a JSON merge for built-in types and 415 (Invalid) for custom ones.
//  - A watch from "" or "0" starts from now with no synthetic ADDED events
//    unless set_synthetic_initial_events(true); timeout_seconds is ignored
//    (end watches with close_watches()).
//  - List resourceVersion is "not older than" (always the latest state); a
//    continue token reads the snapshot it was issued at, until compact().
//  - Namespaces need not exist; update never creates (even for Leases); pods
//    are deleted at once (no kubelet, no grace period).
//  - No garbage collector runs on its own: call collect_garbage().

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kube/clock.h"
#include "kube/kube_client.h"

namespace kube::testing {

namespace fake_detail {
struct ApiState;
}

class FakeKubeClient final : public KubeClient {
 public:
  // `clock` stamps creation and deletion timestamps (wall time only); it must
  // outlive the fake.
  explicit FakeKubeClient(const Clock& clock = RealClock::instance());
  // Open watches end with a Transient error; streams may outlive the fake.
  ~FakeKubeClient() override;
  FakeKubeClient(const FakeKubeClient&) = delete;
  FakeKubeClient& operator=(const FakeKubeClient&) = delete;

  Result<Json> get(const ResourceType& type, const std::string& ns, const std::string& name) override;
  Result<ObjectList> list(const ResourceType& type, const std::string& ns, const ListOptions& options) override;
  Result<Json> create(const ResourceType& type, const std::string& ns, const Json& object) override;
  Result<Json> update(const ResourceType& type, const Json& object) override;
  Result<Json> update_status(const ResourceType& type, const Json& object) override;
  Result<Json> patch(const ResourceType& type, const std::string& ns, const std::string& name, PatchType patch_type,
                     const Json& patch, const PatchOptions& options) override;
  Status remove(const ResourceType& type, const std::string& ns, const std::string& name,
                const DeleteOptions& options) override;
  Result<std::unique_ptr<WatchStream>> watch(const ResourceType& type, const std::string& ns,
                                             const WatchOptions& options) override;

  // --- Setup -------------------------------------------------------------
  // Types with a status subresource: update/patch leave .status alone,
  // update_status/status patches change only .status, and generation counts
  // .spec changes. Default: every type in group "rr.bgp.dev", core pods, nodes
  // and namespaces, and any CRD created through this fake that declares
  // subresources.status. update_status on other types is NotFound, as on a
  // real server.
  void register_status_subresource(const ResourceType& type);
  void unregister_status_subresource(const ResourceType& type);
  // Stores `object` as given (upsert; fills uid, creationTimestamp and
  // generation when missing, always stamps a new resourceVersion) without
  // counting a write and bypassing injected errors. Watches see it. Returns
  // the stored object. metadata.name, and metadata.namespace for namespaced
  // types, are required (std::invalid_argument otherwise).
  Json seed(const ResourceType& type, Json object);
  // Real servers start a watch from "" or "0" with ADDED events for every
  // existing object; off by default.
  void set_synthetic_initial_events(bool enabled);

  // --- resourceVersions ---------------------------------------------------
  std::string resource_version() const;
  // Forgets the event log: a watch from, or a continue token issued at, any
  // resourceVersion handed out before this call gets 410 Gone. Lists made
  // afterwards return a resourceVersion that can be watched again.
  void compact();

  // --- Watches -------------------------------------------------------------
  // A BOOKMARK with the current resourceVersion to every open watch that allowed them.
  void send_bookmarks();
  // The server ends every open watch cleanly: next() drains what was already
  // sent, then returns nullopt.
  void close_watches();
  // Every open watch drops: next() returns `error` (undelivered events are lost).
  void fail_watches(Error error);
  // Every open watch of `type` goes silent for good: it stays open, no event or bookmark
  // reaches it again, and it never ends (a connection dropped without a reset). Watches
  // opened afterwards are not affected.
  void sever_watches(const ResourceType& type);
  int open_watch_count() const;
  // Bounded wait until at least `n` watches are open.
  // Bounded, not a timing assertion: generous enough for an instrumented build on a busy machine.
  bool wait_for_open_watches(int n, std::chrono::milliseconds limit = std::chrono::seconds(60)) const;
  // Bounded wait until every open watch's reader has taken every event sent to it and come back
  // for the next: what was written has been handled (an informer handles an event before it
  // reads on). Lets a test on a fake clock move time on only once the writes so far were seen.
  bool wait_for_delivery(std::chrono::milliseconds limit) const;

  // --- Failure injection ---------------------------------------------------
  // The next `count` calls of `verb` on `type` return `error`. Verbs: get, list,
  // create, update (also update_status), patch, delete, watch. When
  // error.maybe_applied is set on a write, the write happens and the error is
  // still returned (a timeout after the server applied it).
  void inject_error(const std::string& verb, const ResourceType& type, Error error, int count = 1);
  // While true every call fails Transient (no HTTP status) and going down drops
  // open watches; unless `drop_watches` is false: they stay open and silent, as a
  // kube-apiserver shutting down keeps them while it refuses new requests.
  void set_unavailable(bool unavailable, bool drop_watches = true);

  // --- Garbage collection --------------------------------------------------
  // One pass of what kube-controller-manager's garbage collector would do:
  // deletes objects whose ownerReferences all name uids that no longer exist
  // (repeating until nothing changes, so chains go at once), and completes
  // Foreground ("foregroundDeletion") and Orphan ("orphan") deletions.
  // Returns how many deletions it issued. Does not count as writes.
  int collect_garbage();

  // --- Inspection ----------------------------------------------------------
  // The stored object, bypassing injected errors and counters.
  std::optional<Json> peek(const ResourceType& type, const std::string& ns, const std::string& name) const;
  // Successful create, update, update_status, patch and remove calls (a no-op
  // update counts: the call was made even though the server changed nothing).
  int writes() const;
  // One entry per counted write: "verb plural key", verb one of create, update,
  // update_status, patch, patch_status, delete; key "ns/name" or "name".
  std::vector<std::string> write_log() const;
  void reset_counters();

 private:
  std::shared_ptr<fake_detail::ApiState> state_;
};

}  // namespace kube::testing
