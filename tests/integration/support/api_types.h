#pragma once
// The API types the tests drive, named as crds/ and tests/crds/calico/ define
// them: from the outside, not taken from the code under test.

#include "kube/resource_type.h"

namespace rr::testing {

inline const kube::ResourceType kFabrics{"rr.bgp.dev", "v1alpha1", "routereflectorclusters", "RouteReflectorCluster",
                                         false};
inline const kube::ResourceType kPeers{"crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", false};
inline const kube::ResourceType kBgpConfigs{"crd.projectcalico.org", "v1", "bgpconfigurations", "BGPConfiguration",
                                            false};

}  // namespace rr::testing
