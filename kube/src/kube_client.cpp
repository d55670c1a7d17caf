#include "kube/kube_client.h"

#include <set>

namespace kube {

Result<ObjectList> KubeClient::list_all(const ResourceType& type, const std::string& ns, ListOptions options) {
  const ListOptions first_page = options;
  ObjectList all;
  bool restarted = false;
  // The continue tokens of this listing: a server (or a proxy) that hands one back twice would
  // page forever, growing the list without end.
  std::set<std::string> seen;
  for (;;) {
    auto page = list(type, ns, options);
    if (!page.ok()) {
      // A continue token outlives its snapshot after compaction: start over once.
      if (page.is(ErrorKind::Gone) && !options.continue_token.empty() && !restarted) {
        restarted = true;
        options = first_page;
        all = ObjectList{};
        seen.clear();
        continue;
      }
      return page.error();
    }
    for (auto& item : page->items) all.items.push_back(std::move(item));
    all.resource_version = page->resource_version;
    if (page->continue_token.empty()) return all;
    if (!seen.insert(page->continue_token).second) {
      return make_error(ErrorKind::Protocol, "list " + type.describe() + ": the server sent continue token \"" +
                                                 page->continue_token.substr(0, 100) + "\" twice in one listing");
    }
    options.continue_token = page->continue_token;
  }
}

}  // namespace kube
