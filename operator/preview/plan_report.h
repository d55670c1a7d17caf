#pragma once
// A Preview laid out: a table for people, JSON for tools, Graphviz dot for a picture.

#include <string>

#include "kube/object.h"
#include "preview/preview.h"

namespace rr::preview {

// Per rack its cluster ID, nodes and reflectors (new ones and ones going marked), the mesh
// decision, every problem with its field, the changes (+ create, ~ update or patch, - delete),
// then the changes of the reconcile after, once the new reflectors run (their BGPPeers, the
// mesh), the Events it would record, and what was assumed.
std::string render_table(const Preview& preview);

// The same facts as one JSON object (racks, mesh, conditions, problems, changes with the
// objects written, onceRunning {changes, mesh}, events, assumptions, exitCode).
kube::Json render_json(const Preview& preview);

// The topology as a Graphviz digraph: a box per rack (cluster ID, node count) holding its
// reflectors, the reflectors' mesh, external peers, and the node-to-node mesh decision.
// New reflectors and BGPPeers are green, ones going red and dashed.
std::string render_dot(const Preview& preview);

}  // namespace rr::preview
