#pragma once
// What a fabric's status says on the fake API, as the controller tests read it.
#include <string>

#include "contract/well_known.h"
#include "fakes/fake_kube_client.h"

namespace rr::controller::testing {

// Fabric `fabric`'s condition `type` as "Status/Reason" ("" when it has none); its message
// into `message` when given.
inline std::string fabric_condition(const kube::testing::FakeKubeClient& api, const std::string& fabric,
                                    const std::string& type, std::string* message = nullptr) {
  auto f = api.peek(contract::route_reflector_clusters(), "", fabric);
  if (!f) return "";
  for (const auto& c : f->value("status", kube::Json::object()).value("conditions", kube::Json::array())) {
    if (c.value("type", "") != type) continue;
    if (message) *message = c.value("message", "");
    return c.value("status", "") + "/" + c.value("reason", "");
  }
  return "";
}

}  // namespace rr::controller::testing
