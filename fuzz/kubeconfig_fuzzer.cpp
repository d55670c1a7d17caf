// kubeconfig files (YAML) as load_kubeconfig reads them: yaml-cpp's parser,
// then every field check. A kubeconfig is operator-supplied, but a bad one
// must end in a BadConfig naming the field, never in a crash or a hang.
// Relative paths in the input resolve under a directory that does not exist.

#include <cstdint>
#include <cstdlib>

#include "fuzz_support.h"
#include "kube/client_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = rr::fuzz::as_text(data, size);
  static const std::filesystem::path kPath = "/nonexistent-rr-fuzz/kubeconfig";
  for (const auto& options : {kube::KubeconfigOptions{}, kube::KubeconfigOptions{std::string("dev")}}) {
    auto config = kube::parse_kubeconfig(text, kPath, options);
    if (!config.ok()) {
      // Every failure is a BadConfig that names the file.
      if (config.error().kind != kube::ErrorKind::BadConfig ||
          config.error().message.rfind("kubeconfig " + kPath.string(), 0) != 0) {
        std::abort();
      }
      continue;
    }
    const kube::ClientConfig& c = config.value();
    // Promises of the loader: https only, a host, no trailing slash, no
    // credentials, query or fragment in the URL.
    if (c.server.rfind("https://", 0) != 0 || c.server.size() <= 8 || c.server.back() == '/') std::abort();
    if (c.server.find_first_of("@?#") != std::string::npos) std::abort();
    if (c.client_cert_pem.empty() != c.client_key_pem.empty()) std::abort();
  }
  return 0;
}
