// Label selectors. Neither binary parses selector text: selectors arrive as
// label maps in a RouteReflectorCluster (spec.nodeSelector,
// spec.reflectors.nodeSelector, spec.rackLabel) and leave as text the
// operator builds: the Calico selector of each BGPPeer and the agent's watch
// labelSelector. So the parser under test is the label map reader with its key
// and value checks, and the property is that nothing it accepts can inject
// selector syntax into the text built from it.
// Input: lines; line 1 is the rack label key, the others "key=value" entries of
// spec.nodeSelector (a line without '=' is a key with an empty value).

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "contract/fabric_spec.h"
#include "contract/validation.h"
#include "fuzz_support.h"
#include "planner/planner.h"

namespace {

// Characters that would end or extend a quoted value or a requirement in
// Calico's selector language or the API's labelSelector syntax.
bool has_selector_syntax(std::string_view s) {
  return s.find_first_of("'\"=!,()&| \t\n\\") != std::string_view::npos;
}

void check_key(std::string_view key) {
  if (!rr::contract::is_label_key(key)) return;
  if (key.empty() || key.size() > 253 + 1 + 63 || has_selector_syntax(key)) std::abort();
}

void check_value(std::string_view value) {
  if (!rr::contract::is_label_value(value)) return;
  if (value.size() > 63 || has_selector_syntax(value)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto lines = rr::fuzz::split(rr::fuzz::as_text(data, size), "\n");
  kube::Json selector = kube::Json::object();
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto eq = lines[i].find('=');
    std::string key(lines[i].substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view{} : lines[i].substr(eq + 1));
    check_key(key);
    check_value(value);
    // nlohmann::json throws on invalid UTF-8 only when dumping; the API hands over valid UTF-8.
    selector[key] = value;
  }
  const std::string rack_label(lines[0]);
  check_key(rack_label);
  (void)rr::contract::is_dns_label(rack_label);
  (void)rr::contract::is_dns_subdomain(rack_label);

  kube::Json rrc = {{"apiVersion", "rr.bgp.dev/v1alpha1"},
                    {"kind", "RouteReflectorCluster"},
                    {"metadata", {{"name", "fabric"}}},
                    {"spec",
                     {{"rackLabel", rack_label},
                      {"nodeSelector", selector},
                      {"reflectors", {{"nodeSelector", selector}, {"placement", "Colocated"}, {"port", 1179}}}}}};
  auto spec = rr::contract::parse_fabric(rrc);
  if (!spec.ok()) return 0;
  // Accepted: every key and value must be safe to splice into selector text.
  if (!rr::contract::is_label_key(spec->rack_label)) std::abort();
  for (const auto* labels : {&spec->node_selector, &spec->reflector_node_selector}) {
    for (const auto& [k, v] : *labels) {
      if (!rr::contract::is_label_key(k) || !rr::contract::is_label_value(v)) std::abort();
    }
  }
  // The Calico selector: quotes balanced, one "==" requirement for the rack and one per
  // nodeSelector entry (a reflector's own host is not excluded: in Colocated placement its
  // calico-node peers with the reflector beside it, on another port).
  const std::string calico = rr::planner::client_selector(*spec, "r1", "node-1");
  if (std::count(calico.begin(), calico.end(), '\'') % 2 != 0) std::abort();
  std::size_t requirements = 1 + spec->node_selector.size();
  std::size_t ands = 0;
  for (std::size_t at = calico.find(" && "); at != std::string::npos; at = calico.find(" && ", at + 4)) ++ands;
  if (ands + 1 != requirements) std::abort();
  // The agent's lease and node watches: "<key>=<value>" with a single '='.
  const std::string watch = spec->rack_label + "=" + "r1";
  if (std::count(watch.begin(), watch.end(), '=') != 1 || watch.find(',') != std::string::npos) std::abort();
  return 0;
}
