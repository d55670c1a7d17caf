#pragma once
// NodeBirdConfig -> bird.cfg for BIRD 1.6, laid out as confd's template lays
// it out: router id, listen, filters, kernel/device/direct/static, the
// bgp_template, then the mesh, global and node-specific sessions.

#include <string>

#include "confd/node_bird_config.h"

namespace rr::calico {

std::string render_bird16(const NodeBirdConfig& config);

}  // namespace rr::calico
