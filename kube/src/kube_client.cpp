#include "kube/kube_client.h"

#include <set>

namespace kube {

Result<std::string> KubeClient::list_pages(const ResourceType& type, const std::string& ns, ListOptions options,
                                           const PageSink& page_sink) {
  const ListOptions first_page = options;
  bool restarted = false;
  bool first = true;
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
        first = true;
        seen.clear();
        continue;
      }
      return page.error();
    }
    page_sink(std::move(page->items), first);
    first = false;
    if (page->continue_token.empty()) return std::move(page->resource_version);
    if (!seen.insert(page->continue_token).second) {
      return make_error(ErrorKind::Protocol, "list " + type.describe() + ": the server sent continue token \"" +
                                                 page->continue_token.substr(0, 100) + "\" twice in one listing");
    }
    options.continue_token = page->continue_token;
  }
}

Result<ObjectList> KubeClient::list_all(const ResourceType& type, const std::string& ns, ListOptions options) {
  ObjectList all;
  auto rv = list_pages(type, ns, std::move(options), [&all](std::vector<Json>&& items, bool restart) {
    if (restart) all.items.clear();
    for (auto& item : items) all.items.push_back(std::move(item));
  });
  if (!rv.ok()) return rv.error();
  all.resource_version = std::move(*rv);
  return all;
}

}  // namespace kube
