#pragma once
// A KubeClient for previews: reads go to the real API (with the objects a preview applies laid
// over what it answers), writes are recorded and answered as accepted but never sent, and
// watches stay open and quiet, so informers hold exactly their first list.

#include <mutex>
#include <string>
#include <vector>

#include "kube/kube_client.h"

namespace rr::preview {

struct RecordedWrite {
  std::string verb;  // create | update | patch | delete
  kube::ResourceType type;
  std::string ns;
  std::string name;
  bool status = false;  // the status subresource
  kube::Json body;      // the object created or updated, or the patch; null for a delete
};

class RecordingKubeClient final : public kube::KubeClient {
 public:
  explicit RecordingKubeClient(kube::KubeClient& api) : api_(api) {}

  // `object` stands in for the API's object of its name (or joins the list when there is none).
  void overlay(const kube::ResourceType& type, kube::Json object);
  // The API's object of this name reads as gone (a Pod the preview deletes).
  void hide(const kube::ResourceType& type, const std::string& ns, const std::string& name);
  // `object` answers a get of its name when the API refuses it (403): what a caller without the
  // right assumes instead. Each time it does is noted in stood_in().
  void stand_in(const kube::ResourceType& type, kube::Json object);
  std::vector<RecordedWrite> writes() const;
  // "<Kind> ns/name could not be read (<the API's refusal>)", once per object a stand-in
  // answered for.
  std::vector<std::string> stood_in() const;

  kube::Result<kube::Json> get(const kube::ResourceType& type, const std::string& ns, const std::string& name) override;
  kube::Result<kube::ObjectList> list(const kube::ResourceType& type, const std::string& ns,
                                      const kube::ListOptions& options) override;
  kube::Result<kube::Json> create(const kube::ResourceType& type, const std::string& ns,
                                  const kube::Json& object) override;
  kube::Result<kube::Json> update(const kube::ResourceType& type, const kube::Json& object) override;
  kube::Result<kube::Json> update_status(const kube::ResourceType& type, const kube::Json& object) override;
  kube::Result<kube::Json> patch(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                                 kube::PatchType patch_type, const kube::Json& patch,
                                 const kube::PatchOptions& options) override;
  kube::Status remove(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                      const kube::DeleteOptions& options) override;
  kube::Result<std::unique_ptr<kube::WatchStream>> watch(const kube::ResourceType& type, const std::string& ns,
                                                         const kube::WatchOptions& options) override;

 private:
  struct Overlaid {
    kube::ResourceType type;
    kube::Json object;
  };
  const kube::Json* overlaid(const kube::ResourceType& type, const std::string& ns, const std::string& name) const;
  bool hidden(const kube::ResourceType& type, const std::string& key) const;
  void record(RecordedWrite write);

  kube::KubeClient& api_;
  mutable std::mutex mu_;
  std::vector<Overlaid> overlays_;
  std::vector<Overlaid> hidden_;  // type, and an object holding only the name
  std::vector<Overlaid> stand_ins_;
  std::vector<std::string> stood_in_;
  std::vector<RecordedWrite> writes_;
};

}  // namespace rr::preview
