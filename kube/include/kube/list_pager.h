#pragma once
// One listing's walk through its continue tokens, for KubeClient::list_pages and the clients
// that fetch pages their own way (RestKubeClient reads the next one ahead): which page to ask
// for next, a restart from the first page when a token's snapshot was compacted (410, once),
// and a refusal of a token the server already gave in this listing (it would page forever).

#include <optional>
#include <set>
#include <string>

#include "kube/kube_client.h"

namespace kube {

class ListPager {
 public:
  ListPager(const ResourceType& type, ListOptions first_page);

  // The options of the page to fetch now.
  const ListOptions& options() const { return options_; }
  // Whether `token` was already handed on in this listing (no page is read ahead for it).
  bool seen(const std::string& token) const { return seen_.count(token) > 0; }
  // After a page failed: true when the listing starts over from its first page (a 410 on a
  // continue token, once); options() then names that page. False: the error is the listing's.
  bool restart_after(const Error& error);
  // Hands a page to `sink` (restart = it begins the listing). Returns the listing's
  // resourceVersion when it was the last page, nullopt when options() now names the next one,
  // or a Protocol error when the server repeated a continue token.
  Result<std::optional<std::string>> deliver(ObjectList&& page, const KubeClient::PageSink& sink);

 private:
  const ResourceType& type_;
  const ListOptions first_page_;
  ListOptions options_;
  bool restarted_ = false;
  bool first_ = true;
  std::set<std::string> seen_;
};

}  // namespace kube
