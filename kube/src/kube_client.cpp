#include "kube/kube_client.h"

namespace kube {

Result<ObjectList> KubeClient::list_all(const ResourceType& type, const std::string& ns, ListOptions options) {
  const ListOptions first_page = options;
  ObjectList all;
  bool restarted = false;
  for (;;) {
    auto page = list(type, ns, options);
    if (!page.ok()) {
      // A continue token outlives its snapshot after compaction: start over once.
      if (page.is(ErrorKind::Gone) && !options.continue_token.empty() && !restarted) {
        restarted = true;
        options = first_page;
        all = ObjectList{};
        continue;
      }
      return page.error();
    }
    for (auto& item : page->items) all.items.push_back(std::move(item));
    all.resource_version = page->resource_version;
    if (page->continue_token.empty()) return all;
    options.continue_token = page->continue_token;
  }
}

}  // namespace kube
