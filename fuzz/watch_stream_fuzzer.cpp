// The watch stream as RestKubeClient decodes it: newline-delimited JSON
// events (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR with a Status), and the
// Status body of a watch the server refused. Input: one byte for the HTTP
// status of the watch request, then the body.

#include <cstdint>
#include <cstdlib>

#include "fuzz_support.h"
#include "kube/resource_type.h"
#include "kube/rest_kube_client.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int status = rr::fuzz::status_from_byte(data[0]);
  const std::string_view body = rr::fuzz::as_text(data + 1, size - 1);
  auto transport = std::make_shared<rr::fuzz::ScriptedTransport>(
      std::vector<rr::fuzz::ScriptedTransport::Response>{{status, "", std::string(body)}});
  kube::RestClientOptions options;
  options.qps = 0;  // no client-side rate limit: nothing here may sleep
  options.max_attempts = 1;
  kube::RestKubeClient client(transport, nullptr, options);

  auto stream = client.watch(kube::resources::leases(), "rr-system", kube::WatchOptions{});
  if (!stream.ok()) {
    if (status == 200) std::abort();  // a 200 always gives a stream
    return 0;
  }
  if (status != 200) std::abort();
  // Every line is consumed at most once, so this ends; the bound guards the guard.
  for (std::size_t i = 0; i <= size; ++i) {
    auto next = stream.value()->next();
    if (!next.ok()) return 0;                  // malformed event or ERROR: the watcher relists or backs off
    if (!next.value().has_value()) return 0;  // the server ended the watch
    const kube::WatchEvent& event = *next.value();
    if (!event.object.is_object()) std::abort();
    // What the watcher reads of every event.
    (void)kube::resource_version_of(event.object);
    (void)kube::key_of(event.object);
  }
  std::abort();  // more events than lines
}
