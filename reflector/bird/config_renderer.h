#pragma once
// ReflectorConfig -> bird.conf text (BIRD 2). Rendering is deterministic: the
// same config, with its peers in any order, gives byte-identical text, so the
// agent can compare texts to decide whether BIRD needs a `configure`.
//
// Protocol names are derived from (role, stable peer name) only, so adding or
// removing one peer never renames (and so never resets) another session.

#include <optional>
#include <string>
#include <string_view>

#include "bird/bird_config.h"
#include "kube/result.h"

namespace rr::bird {

// BIRD identifiers are at most 64 characters.
inline constexpr std::size_t kMaxBirdSymbolLength = 64;

// Prefix of every protocol name of a role: "client_", "mesh_", "ext_".
std::string_view protocol_prefix(PeerRole role);
// Name of the BGP template a role's sessions inherit from, per address family
// of the session: "rr_clients"/"rr_mesh"/"rr_external", "..._v6" for IPv6.
std::string_view template_name(PeerRole role, bool ipv6_session = false);

// The BIRD protocol name of a peer: prefix + name when the name is only
// [a-z0-9] and at most 40 characters; otherwise prefix + the name mapped to
// [a-z0-9_] (truncated to 40) + "_" + 8 hex digits of FNV-1a(name). A plain
// name never contains '_', a mapped one always ends in "_<hash>", so two
// different names cannot meet unless their hashes collide (validate_config
// rejects that case anyway).
std::string protocol_name(PeerRole role, const std::string& peer_name);
// The role a protocol name was made for, from its prefix; nullopt for
// protocols the renderer does not make per peer (device1, static, ...).
std::optional<PeerRole> role_of_protocol(std::string_view protocol);

// Everything render_bird_config relies on: router id / cluster id are nonzero
// IPv4, addresses parse, ports 1..65535, timers in BIRD's ranges, protocol
// names and (address, port) unique, AS numbers consistent with the role,
// each session has a local address and a channel of its family, passwords
// 1..80 printable ASCII without '"' or '\' (BIRD 2.0 strings have no escapes).
// Errors are ErrorKind::Invalid; messages never contain a password.
kube::Status validate_config(const ReflectorConfig& config);

// The bird.conf text. Total: callers validate first; for an invalid config
// the text is well-formed as far as possible but BIRD may refuse it.
std::string render_bird_config(const ReflectorConfig& config);

}  // namespace rr::bird
