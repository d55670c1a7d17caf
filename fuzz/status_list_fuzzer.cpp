// API responses other than watch events: Status objects (error_from_response,
// error_from_status_object, Retry-After) and list pages (items,
// metadata.resourceVersion, metadata.continue), including list_all's paging.
// Input: responses separated by "\n--\n"; each is one status byte, the
// Retry-After header up to the first '\n', then the body. Once the responses
// run out the last one repeats, as a stuck server would.

#include <cstdint>
#include <cstdlib>

#include "fuzz_support.h"
#include "kube/resource_type.h"
#include "kube/rest_kube_client.h"

namespace {

rr::fuzz::ScriptedTransport::Response response_of(std::string_view piece) {
  rr::fuzz::ScriptedTransport::Response r;
  if (piece.empty()) return r;
  r.status = rr::fuzz::status_from_byte(static_cast<unsigned char>(piece[0]));
  piece.remove_prefix(1);
  auto nl = piece.find('\n');
  if (nl == std::string_view::npos) {
    r.body = std::string(piece);
  } else {
    r.retry_after = std::string(piece.substr(0, nl));
    r.body = std::string(piece.substr(nl + 1));
  }
  return r;
}

void check_error(const kube::Error& e) {
  if (e.retry_after && (e.retry_after->count() < 0 || e.retry_after->count() > 600)) std::abort();
  if (e.message.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<rr::fuzz::ScriptedTransport::Response> script;
  for (auto piece : rr::fuzz::split(rr::fuzz::as_text(data, size), "\n--\n")) {
    if (script.size() == 64) break;
    script.push_back(response_of(piece));
  }

  // Status decoding on its own, for every response.
  for (const auto& r : script) {
    check_error(kube::error_from_response(r.status, r.body, r.retry_after));
    kube::Json parsed = kube::Json::parse(r.body, nullptr, false);
    (void)kube::error_from_status_object(parsed);
  }

  auto transport = std::make_shared<rr::fuzz::ScriptedTransport>(script);
  kube::RestClientOptions options;
  options.qps = 0;
  options.max_attempts = 1;
  kube::RestKubeClient client(transport, nullptr, options);
  kube::ListOptions list_options;
  list_options.limit = 500;
  auto all = client.list_all(kube::resources::nodes(), "", list_options);
  if (all.ok()) {
    for (const auto& item : all->items) (void)kube::key_of(item);
    if (!all->continue_token.empty()) std::abort();  // list_all follows every page
  } else {
    check_error(all.error());
  }
  auto one = client.get(kube::resources::nodes(), "", "n1");
  if (!one.ok()) check_error(one.error());
  return 0;
}
