#include "kube/list_pager.h"

namespace kube {

ListPager::ListPager(const ResourceType& type, ListOptions first_page)
    : type_(type), first_page_(first_page), options_(std::move(first_page)) {}

bool ListPager::restart_after(const Error& error) {
  if (error.kind != ErrorKind::Gone || options_.continue_token.empty() || restarted_) return false;
  restarted_ = true;
  options_ = first_page_;
  first_ = true;
  seen_.clear();
  return true;
}

Result<std::optional<std::string>> ListPager::deliver(ObjectList&& page, const KubeClient::PageSink& sink) {
  sink(std::move(page.items), first_);
  first_ = false;
  if (page.continue_token.empty()) return std::optional<std::string>(std::move(page.resource_version));
  if (!seen_.insert(page.continue_token).second) {
    return make_error(ErrorKind::Protocol, "list " + type_.describe() + ": the server sent continue token \"" +
                                               page.continue_token.substr(0, 100) + "\" twice in one listing");
  }
  options_.continue_token = std::move(page.continue_token);
  return std::optional<std::string>();
}

}  // namespace kube
