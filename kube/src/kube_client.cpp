#include "kube/kube_client.h"

#include "kube/list_pager.h"

namespace kube {

Result<std::string> KubeClient::list_pages(const ResourceType& type, const std::string& ns, ListOptions options,
                                           const PageSink& page_sink) {
  ListPager pager(type, std::move(options));
  for (;;) {
    auto page = list(type, ns, pager.options());
    if (!page.ok()) {
      if (pager.restart_after(page.error())) continue;
      return page.error();
    }
    auto last = pager.deliver(std::move(*page), page_sink);
    if (!last.ok()) return last.error();
    if (*last) return std::move(**last);
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
