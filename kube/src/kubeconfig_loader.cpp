// load_kubeconfig: one kubeconfig file (or a merged KUBECONFIG list) to a ClientConfig, clientcmd semantics
// for the fields we support. yaml-cpp exceptions stop here.

#include <yaml-cpp/yaml.h>

#include <array>
#include <map>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "config_support.h"
#include "kube/client_config.h"

namespace kube {
namespace {

bool absent(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// Relative paths inside a kubeconfig are relative to the file's directory.
std::filesystem::path directory_of(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(file, ec);
  return (ec ? file : abs).parent_path();
}

// Reads one parsed kubeconfig. Every error is BadConfig and names the file and
// the field as a path such as users[name=admin].user.client-key-data.
class KubeconfigReader {
 public:
  KubeconfigReader(const std::filesystem::path& path, Clock& clock)
      : label_("kubeconfig " + path.string()), dir_(directory_of(path)), clock_(clock) {}

  Result<ClientConfig> read(const YAML::Node& root, const KubeconfigOptions& options) const;

  Error fail(std::string_view field, std::string_view what) const {
    std::string message = label_;
    if (!field.empty()) message += ": " + std::string(field);
    return make_error(ErrorKind::BadConfig, message + ": " + std::string(what));
  }

 private:
  // Scalar field of a map; nullopt when absent, null or empty (as in clientcmd).
  Result<std::optional<std::string>> string_field(const YAML::Node& map, const std::string& key,
                                                  const std::string& field) const {
    if (!map.IsMap()) return std::optional<std::string>();
    const YAML::Node node = map[key];
    if (absent(node)) return std::optional<std::string>();
    if (!node.IsScalar()) return fail(field, "expected a string");
    if (node.Scalar().empty()) return std::optional<std::string>();
    return std::optional<std::string>(node.Scalar());
  }

  Result<bool> bool_field(const YAML::Node& map, const std::string& key, const std::string& field) const {
    if (!map.IsMap()) return false;
    const YAML::Node node = map[key];
    if (absent(node)) return false;
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) return fail(field, "expected true or false");
    return value;
  }

  // A nested map; a Null node when absent.
  Result<YAML::Node> map_field(const YAML::Node& map, const std::string& key, const std::string& field) const {
    if (!map.IsMap()) return YAML::Node();
    const YAML::Node node = map[key];
    if (absent(node)) return YAML::Node();
    if (!node.IsMap()) return fail(field, "expected a map");
    return node;
  }

  // The `inner` map of the entry of list `list` whose name is `name`
  // (clusters[].cluster, users[].user, contexts[].context); nullopt when none.
  Result<std::optional<YAML::Node>> find_named(const YAML::Node& root, const std::string& list,
                                               const std::string& inner, const std::string& name) const {
    const YAML::Node entries = root[list];
    if (absent(entries)) return std::optional<YAML::Node>();
    if (!entries.IsSequence()) return fail(list, "expected a list");
    std::optional<YAML::Node> found;
    for (size_t i = 0; i < entries.size(); ++i) {
      const YAML::Node entry = entries[i];
      const std::string at = list + "[" + std::to_string(i) + "]";
      if (!entry.IsMap()) return fail(at, "expected a map with name and " + inner);
      Result<std::optional<std::string>> entry_name = string_field(entry, "name", at + ".name");
      if (!entry_name.ok()) return entry_name.error();
      if (entry_name.value() != name) continue;
      if (found) return fail(list, "duplicate name " + in_quotes(name));
      Result<YAML::Node> body = map_field(entry, inner, list + "[name=" + name + "]." + inner);
      if (!body.ok()) return body.error();
      found = body.value();
    }
    return found;
  }

  // `key-data` (base64) or else `key` (a path relative to the kubeconfig);
  // nullopt when neither is set.
  Result<std::optional<std::string>> bytes_field(const YAML::Node& map, const std::string& key,
                                                 const std::string& prefix) const {
    const std::string data_field = prefix + "." + key + "-data";
    Result<std::optional<std::string>> data = string_field(map, key + "-data", data_field);
    if (!data.ok()) return data.error();
    if (data.value()) {
      std::optional<std::string> decoded = detail::decode_base64(*data.value());
      if (!decoded) return fail(data_field, "not valid base64");
      return decoded;
    }
    const std::string path_field = prefix + "." + key;
    Result<std::optional<std::string>> path = string_field(map, key, path_field);
    if (!path.ok()) return path.error();
    if (!path.value()) return std::optional<std::string>();
    Result<std::string> contents = detail::read_file(resolve(*path.value()));
    if (!contents.ok()) return fail(path_field, contents.error().message);
    return std::optional<std::string>(std::move(contents).value());
  }

  // Which of `key-data` / `key` supplied the bytes, for error messages.
  std::string source_field(const YAML::Node& map, const std::string& key, const std::string& prefix) const {
    Result<std::optional<std::string>> data = string_field(map, key + "-data", "");
    bool from_data = data.ok() && data.value().has_value();
    return prefix + "." + key + (from_data ? "-data" : "");
  }

  std::filesystem::path resolve(const std::string& p) const {
    std::filesystem::path path(p);
    return path.is_absolute() ? path : dir_ / path;
  }

  Status read_cluster(const YAML::Node& cluster, const std::string& prefix, ClientConfig& out) const;
  Status read_user(const YAML::Node& user, const std::string& prefix, ClientConfig& out) const;

  std::string label_;
  std::filesystem::path dir_;
  Clock& clock_;
};

Result<ClientConfig> KubeconfigReader::read(const YAML::Node& root, const KubeconfigOptions& options) const {
  if (absent(root)) return fail("", "empty file: no clusters, users or contexts");
  if (!root.IsMap()) return fail("", "expected a map at the top level");

  std::string context_name;
  bool chosen = options.context.has_value() && !options.context->empty();
  if (chosen) {
    context_name = *options.context;
  } else {
    Result<std::optional<std::string>> current = string_field(root, "current-context", "current-context");
    if (!current.ok()) return current.error();
    if (!current.value()) return fail("current-context", "not set and no context was chosen");
    context_name = *current.value();
  }

  Result<std::optional<YAML::Node>> context = find_named(root, "contexts", "context", context_name);
  if (!context.ok()) return context.error();
  if (!context.value()) {
    if (chosen) return fail("contexts", "no context named " + in_quotes(context_name));
    return fail("current-context", "no context named " + in_quotes(context_name) + " in contexts");
  }
  const std::string context_prefix = "contexts[name=" + context_name + "].context";

  ClientConfig out;
  out.description = label_ + ", context " + context_name;

  Result<std::optional<std::string>> ns = string_field(**context, "namespace", context_prefix + ".namespace");
  if (!ns.ok()) return ns.error();
  if (ns.value()) out.default_namespace = *ns.value();

  Result<std::optional<std::string>> cluster_name = string_field(**context, "cluster", context_prefix + ".cluster");
  if (!cluster_name.ok()) return cluster_name.error();
  if (!cluster_name.value()) return fail(context_prefix + ".cluster", "not set");
  Result<std::optional<YAML::Node>> cluster = find_named(root, "clusters", "cluster", *cluster_name.value());
  if (!cluster.ok()) return cluster.error();
  if (!cluster.value()) return fail(context_prefix + ".cluster", "no cluster named " + in_quotes(*cluster_name.value()));
  Status cluster_ok = read_cluster(**cluster, "clusters[name=" + *cluster_name.value() + "].cluster", out);
  if (!cluster_ok.ok()) return cluster_ok.error();

  // A context without a user is anonymous access, as in clientcmd.
  Result<std::optional<std::string>> user_name = string_field(**context, "user", context_prefix + ".user");
  if (!user_name.ok()) return user_name.error();
  if (user_name.value()) {
    Result<std::optional<YAML::Node>> user = find_named(root, "users", "user", *user_name.value());
    if (!user.ok()) return user.error();
    if (!user.value()) return fail(context_prefix + ".user", "no user named " + in_quotes(*user_name.value()));
    Status user_ok = read_user(**user, "users[name=" + *user_name.value() + "].user", out);
    if (!user_ok.ok()) return user_ok.error();
  }
  return out;
}

Status KubeconfigReader::read_cluster(const YAML::Node& cluster, const std::string& prefix, ClientConfig& out) const {
  Result<std::optional<std::string>> server = string_field(cluster, "server", prefix + ".server");
  if (!server.ok()) return server.error();
  if (!server.value()) return fail(prefix + ".server", "not set");
  std::string url = *server.value();
  if (!starts_with_ci(url, "https://")) {
    return fail(prefix + ".server", in_quotes(url) + " is not an https:// URL (TLS is always on)");
  }
  url = "https://" + url.substr(8);
  while (url.size() > 8 && url.back() == '/') url.pop_back();
  if (url.size() == 8) return fail(prefix + ".server", in_quotes(*server.value()) + " has no host");
  if (auto bad = detail::check_https_authority(std::string_view(url).substr(8))) {
    // Not echoed when it carries credentials.
    bool secret = url.substr(0, url.find('/', 8)).find('@') != std::string::npos;
    return fail(prefix + ".server", (secret ? std::string("the URL") : in_quotes(url)) + " " + *bad);
  }
  out.server = url;

  if (Result<std::optional<std::string>> proxy = string_field(cluster, "proxy-url", prefix + ".proxy-url");
      !proxy.ok() || proxy.value()) {
    return proxy.ok() ? fail(prefix + ".proxy-url", "proxies are not supported") : proxy.error();
  }

  Result<std::optional<std::string>> ca = bytes_field(cluster, "certificate-authority", prefix);
  if (!ca.ok()) return ca.error();
  if (ca.value()) {
    if (auto bad = detail::check_pem_certificates(*ca.value())) {
      return fail(source_field(cluster, "certificate-authority", prefix), *bad);
    }
    out.ca_pem = std::move(*ca.value());
  }

  Result<bool> insecure = bool_field(cluster, "insecure-skip-tls-verify", prefix + ".insecure-skip-tls-verify");
  if (!insecure.ok()) return insecure.error();
  if (insecure.value() && !out.ca_pem.empty()) {
    // clientcmd refuses this too: one of the two is a mistake.
    return fail(prefix + ".insecure-skip-tls-verify", "cannot be combined with certificate-authority(-data)");
  }
  if (insecure.value()) {
    // Whoever sits between us and the API server would get the token and write BGPPeers.
    return fail(prefix + ".insecure-skip-tls-verify",
                "true is refused: TLS verification is always on; give the API server's CA as "
                "certificate-authority or certificate-authority-data");
  }

  Result<std::optional<std::string>> sni = string_field(cluster, "tls-server-name", prefix + ".tls-server-name");
  if (!sni.ok()) return sni.error();
  if (sni.value()) out.tls_server_name = *sni.value();
  return {};
}

Status KubeconfigReader::read_user(const YAML::Node& user, const std::string& prefix, ClientConfig& out) const {
  // Refused rather than ignored: silently dropping them would connect with
  // other credentials (or none) than the kubeconfig asks for.
  static constexpr std::string_view kUseInstead = "; use client-certificate/client-key, token or tokenFile";
  static const std::array<std::pair<const char*, std::string>, 8> kUnsupported = {{
      {"exec", "exec credential plugins are not supported" + std::string(kUseInstead)},
      {"auth-provider", "auth-provider plugins are not supported" + std::string(kUseInstead)},
      {"username", "basic authentication is not supported" + std::string(kUseInstead)},
      {"password", "basic authentication is not supported" + std::string(kUseInstead)},
      {"as", "impersonation is not supported"},
      {"as-uid", "impersonation is not supported"},
      {"as-groups", "impersonation is not supported"},
      {"as-user-extra", "impersonation is not supported"},
  }};
  if (user.IsMap()) {
    for (const auto& [key, why] : kUnsupported) {
      if (!absent(user[key])) {
        return fail(prefix + "." + key, why);
      }
    }
  }

  Result<std::optional<std::string>> cert = bytes_field(user, "client-certificate", prefix);
  if (!cert.ok()) return cert.error();
  Result<std::optional<std::string>> key = bytes_field(user, "client-key", prefix);
  if (!key.ok()) return key.error();
  if (cert.value() && !key.value()) {
    return fail(prefix + ".client-key", "not set, but " + source_field(user, "client-certificate", prefix) + " is");
  }
  if (key.value() && !cert.value()) {
    return fail(prefix + ".client-certificate", "not set, but " + source_field(user, "client-key", prefix) + " is");
  }
  if (cert.value()) {
    if (auto bad = detail::check_pem_certificates(*cert.value())) {
      return fail(source_field(user, "client-certificate", prefix), *bad);
    }
    if (auto bad = detail::check_pem_private_key(*key.value())) {
      return fail(source_field(user, "client-key", prefix), *bad);
    }
    if (auto bad = detail::check_key_matches_certificate(*cert.value(), *key.value())) {
      return fail(source_field(user, "client-key", prefix), *bad);
    }
    out.client_cert_pem = std::move(*cert.value());
    out.client_key_pem = std::move(*key.value());
  }

  // As in clientcmd, an inline token wins over tokenFile.
  Result<std::optional<std::string>> token = string_field(user, "token", prefix + ".token");
  if (!token.ok()) return token.error();
  if (token.value() && !detail::trim(*token.value()).empty()) {
    out.token = std::make_shared<StaticTokenSource>(detail::trim(*token.value()));
    return {};
  }
  Result<std::optional<std::string>> token_file = string_field(user, "tokenFile", prefix + ".tokenFile");
  if (!token_file.ok()) return token_file.error();
  if (token_file.value()) {
    auto source = std::make_shared<FileTokenSource>(resolve(*token_file.value()), clock_);
    // Read now so that a missing file fails at start-up, not at the first request.
    Result<std::string> first = source->token();
    if (!first.ok()) return fail(prefix + ".tokenFile", first.error().message);
    out.token = std::move(source);
  }
  return {};
}

// Makes the relative file paths of one kubeconfig entry absolute, against the directory of the
// file it was written in, before the entry leaves that file in a merge.
void anchor_paths(YAML::Node inner, const std::filesystem::path& dir) {
  if (!inner.IsMap()) return;
  for (const char* key : {"certificate-authority", "client-certificate", "client-key", "tokenFile"}) {
    YAML::Node node = inner[key];
    if (!node.IsDefined() || !node.IsScalar() || node.Scalar().empty()) continue;
    std::filesystem::path path(node.Scalar());
    if (path.is_relative()) inner[key] = (dir / path).string();
  }
}

// kubectl's merge of a KUBECONFIG list: each named cluster, user and context from the first
// file that names it; current-context from the first file that sets one.
Result<YAML::Node> merge_kubeconfigs(const std::vector<std::filesystem::path>& files, Clock& clock) {
  YAML::Node merged(YAML::NodeType::Map);
  const std::pair<const char*, const char*> lists[] = {{"clusters", "cluster"}, {"users", "user"}, {"contexts", "context"}};
  std::map<std::string, std::set<std::string>> seen;
  for (const auto& file : files) {
    KubeconfigReader reader(file, clock);
    Result<std::string> text = detail::read_file(file);
    if (!text.ok()) return reader.fail("", text.error().message);
    YAML::Node root;
    try {
      root = YAML::Load(text.value());
    } catch (const YAML::ParserException& e) {
      if (e.mark.is_null()) return reader.fail("", e.msg);
      return reader.fail("line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1),
                         e.msg);
    }
    if (absent(root)) continue;
    if (!root.IsMap()) return reader.fail("", "expected a map");
    for (const auto& [list, inner] : lists) {
      const YAML::Node entries = root[list];
      if (absent(entries)) continue;
      if (!entries.IsSequence()) return reader.fail(list, "expected a list");
      for (size_t i = 0; i < entries.size(); ++i) {
        const YAML::Node entry = entries[i];
        const YAML::Node name = entry.IsMap() ? entry["name"] : YAML::Node();
        // The merged reader names what is wrong with an entry; only well-named ones can be merged by name.
        if (name.IsDefined() && name.IsScalar() && !seen[list].insert(name.Scalar()).second) continue;
        YAML::Node copy = YAML::Clone(entry);
        if (copy.IsMap()) anchor_paths(copy[inner], directory_of(file));
        merged[list].push_back(copy);
      }
    }
    const YAML::Node current = root["current-context"];
    if (!merged["current-context"] && current.IsDefined() && current.IsScalar() && !current.Scalar().empty()) {
      merged["current-context"] = current.Scalar();
    }
  }
  return merged;
}

}  // namespace

Result<ClientConfig> load_kubeconfig(const std::filesystem::path& path, const KubeconfigOptions& options,
                                     Clock& clock) {
  Result<std::string> text = detail::read_file(path);
  if (!text.ok()) return KubeconfigReader(path, clock).fail("", text.error().message);
  return parse_kubeconfig(text.value(), path, options, clock);
}

Result<ClientConfig> load_kubeconfig_list(const std::vector<std::filesystem::path>& files,
                                          const KubeconfigOptions& options, Clock& clock) {
  if (files.size() == 1) return load_kubeconfig(files.front(), options, clock);
  std::string joined;
  for (const auto& f : files) joined += (joined.empty() ? "" : ":") + f.string();
  Result<YAML::Node> merged = merge_kubeconfigs(files, clock);
  if (!merged.ok()) return merged.error();
  try {
    return KubeconfigReader(joined, clock).read(merged.value(), options);
  } catch (const YAML::Exception& e) {
    return KubeconfigReader(joined, clock).fail("", e.what());
  }
}

Result<ClientConfig> parse_kubeconfig(std::string_view text, const std::filesystem::path& path,
                                      const KubeconfigOptions& options, Clock& clock) {
  KubeconfigReader reader(path, clock);
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    return reader.read(root, options);
  } catch (const YAML::ParserException& e) {
    if (e.mark.is_null()) return reader.fail("", e.msg);
    return reader.fail("line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1),
                       e.msg);
  } catch (const YAML::Exception& e) {
    // Shape checks above should make this unreachable; keep the promise anyway.
    return reader.fail("", e.what());
  }
}

}  // namespace kube
