#pragma once
// RouteReflectorCluster JSON -> contract::FabricSpec: defaults as the CRD sets
// them (an object may come from a server whose CRD did not default it), and
// every check the schema makes plus those it cannot (keepalive < hold, the
// pool's host bits, unique peer names, a Colocated port other than 179, ...).

#include <string_view>

#include "contract/types.h"
#include "kube/object.h"
#include "kube/result.h"

namespace rr::contract {

// ErrorKind::Invalid when the object is not a valid fabric; the message names
// each offending field by path, joined by "; ", e.g.
//   spec.externalPeers[1].address: "300.1.1.1" is not an IP address
// Never throws, whatever the JSON. default_image replaces an empty or absent
// spec.reflectors.image (empty: FabricSpec's default).
kube::Result<contract::FabricSpec> parse_fabric(const kube::Json& rrc, std::string_view default_image = {});

}  // namespace rr::contract
