#!/usr/bin/env bash
# The RouteReflectorCluster CRD (crds/) and the test copies of Calico's BGPPeer and
# BGPConfiguration CRDs (tests/crds/calico/) against a real kube-apiserver v1.20.2:
# install, kubectl explain, defaults, server-side validation, status subresource, printer
# columns, the examples in deploy/examples/, and the Calico objects the operator writes.
# One PASS/FAIL line per check; exit 1 on any failure.
#
# Needs RR_KUBE_DIR (set by rr_add_control_plane_test) or an explicit DIR argument.
set -uo pipefail

DIR=${1:-${RR_KUBE_DIR:?set RR_KUBE_DIR or pass the instance directory}}
# shellcheck disable=SC1091
source "$DIR/env" || { echo "FAIL: cannot read $DIR/env"; exit 1; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
K=${RR_KUBECTL:-$("$ROOT/scripts/fetch-kubectl.sh")}
export KUBECONFIG

TMP=$(mktemp -d)
CREATED=()          # RouteReflectorClusters to delete at exit (the instance may be shared)
cleanup() {
  local n
  for n in "${CREATED[@]+"${CREATED[@]}"}"; do kc delete rrc "$n" --ignore-not-found --wait=false >/dev/null 2>&1; done
  kc delete bgppeers.crd.projectcalico.org -l rr.bgp.dev/test=crds --ignore-not-found >/dev/null 2>&1
  kc delete bgpconfigurations.crd.projectcalico.org crd-test --ignore-not-found >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT

# shellcheck source=../lib/checks.sh
source "$(dirname "$0")/../lib/checks.sh"

RRC_API=/apis/rr.bgp.dev/v1alpha1/routereflectorclusters
SUFFIX=$(date +%s)-$RANDOM
name() { echo "crdtest-$1-$SUFFIX"; }
# rrc_file NAME SPEC-FLOW-YAML: a RouteReflectorCluster manifest; prints its path.
rrc_file() {
  printf 'apiVersion: rr.bgp.dev/v1alpha1\nkind: RouteReflectorCluster\nmetadata: {name: %s}\nspec: %s\n' \
    "$1" "$2" >"$TMP/$1.yaml"
  echo "$TMP/$1.yaml"
}

# ---------------------------------------------------------------- 1. install
CRD=routereflectorclusters.rr.bgp.dev
if out=$(kc apply -k "$ROOT/crds" 2>&1) &&
   out2=$(kc apply -f "$ROOT/crds/rr.bgp.dev_routereflectorclusters.yaml" -f "$ROOT/tests/crds/calico" 2>&1); then
  pass "kubectl apply -k crds/ and the Calico test CRDs"
else
  fail "apply CRDs: ${out:-} ${out2:-}"
fi
for crd in $CRD bgppeers.crd.projectcalico.org bgpconfigurations.crd.projectcalico.org; do
  if kc wait --for condition=established --timeout=20s "crd/$crd" >/dev/null 2>&1; then
    pass "CRD $crd Established"
  else
    fail "CRD $crd not Established: $(kc get crd "$crd" -o jsonpath='{.status.conditions}' 2>&1 | head -c 400)"
  fi
  nonstructural=$(kc get crd "$crd" -o json | jq -r '.status.conditions[]? | select(.type=="NonStructuralSchema" and .status=="True") | .message')
  [[ -z $nonstructural ]] && pass "CRD $crd has a structural schema" || fail "CRD $crd: $nonstructural"
done
crd_json=$(kc get crd "$CRD" -o json)
got=$(jq -r '[.spec.scope, .spec.names.shortNames[0], .spec.versions[0].name, (.spec.versions[0].subresources.status != null)] | join(" ")' <<<"$crd_json")
[[ $got == "Cluster rrc v1alpha1 true" ]] && pass "cluster-scoped, short name rrc, v1alpha1, status subresource" \
  || fail "scope/shortName/version/status: $got"
# Every field of the schema carries a description (kubectl explain shows it).
undocumented=$(jq -r '.spec.versions[0].schema.openAPIV3Schema as $s
  | [$s | paths(objects) | select(length >= 2 and .[-2] == "properties")] as $fields
  | ($fields | length | tostring) + " fields",
    ($fields[] | select(. != ["properties","metadata"]) | . as $p
     | select(($s | getpath($p)).description == null) | map(tostring) | join("."))' <<<"$crd_json" 2>&1)
nfields=$(head -1 <<<"$undocumented" | cut -d' ' -f1)
undocumented=$(tail -n +2 <<<"$undocumented")
[[ $nfields -gt 50 && -z $undocumented ]] && pass "every schema field ($nfields) has a description" \
  || fail "fields without a description (of ${nfields:-?}): $(tr '\n' ' ' <<<"$undocumented")"

# Discovery and the published OpenAPI lag a moment behind Established.
for _ in $(seq 100); do kc get rrc >/dev/null 2>&1 && break; sleep 0.2; done
explained=""
for _ in $(seq 75); do
  explained=$(kc explain rrc.spec.reflectors.perRack 2>&1) && grep -q 'Reflectors in each rack' <<<"$explained" && break
  sleep 0.4
done
if grep -q 'perRack <integer>' <<<"$explained" && grep -q 'Reflectors in each rack' <<<"$explained"; then
  pass "kubectl explain rrc.spec.reflectors.perRack shows the description"
else
  fail "kubectl explain rrc.spec.reflectors.perRack: $(head -c 400 <<<"$explained")"
fi

# ---------------------------------------------------------------- 2. defaults
MIN=$(name min)
if kc create -f "$(rrc_file "$MIN" '{}')" >/dev/null 2>"$TMP/min.err"; then
  CREATED+=("$MIN")
  spec=$(kc get rrc "$MIN" -o json | jq -c .spec)
  want='{"asNumber":64512,"namespace":"rr-system","rackLabel":"topology.kubernetes.io/rack","clusterIDPool":"10.255.0.0/16","perRack":2,"refSel":{"rr.bgp.dev/reflector":"true"},"placement":"Dedicated","port":179,"hold":90,"keepalive":30,"gr":true,"ipv6":false,"lease":15,"mesh":true,"calicoAPI":"crd.projectcalico.org/v1"}'
  got=$(jq -c '{asNumber, namespace, rackLabel, clusterIDPool, perRack: .reflectors.perRack,
               refSel: .reflectors.nodeSelector, placement: .reflectors.placement, port: .reflectors.port,
               hold: .bgp.holdTimeSeconds, keepalive: .bgp.keepaliveSeconds, gr: .bgp.gracefulRestart,
               ipv6: .bgp.ipv6, lease: .lease.durationSeconds, mesh: .manageNodeToNodeMesh, calicoAPI}' <<<"$spec")
  [[ $got == "$want" ]] && pass "spec: {} defaults: $got" || fail "spec: {} defaults: got $got, want $want"
else
  fail "create the minimal fabric (spec: {}): $(cat "$TMP/min.err")"
fi
# An object without any spec gets the same defaults (spec defaults to {}).
NOSPEC=$(name nospec)
printf 'apiVersion: rr.bgp.dev/v1alpha1\nkind: RouteReflectorCluster\nmetadata: {name: %s}\n' "$NOSPEC" >"$TMP/nospec.yaml"
if kc create -f "$TMP/nospec.yaml" >/dev/null 2>"$TMP/nospec.err"; then
  CREATED+=("$NOSPEC")
  got=$(kc get rrc "$NOSPEC" -o jsonpath='{.spec.asNumber} {.spec.reflectors.perRack} {.spec.lease.durationSeconds}')
  [[ $got == "64512 2 15" ]] && pass "no spec at all: defaults applied ($got)" || fail "no spec at all: got '$got'"
else
  fail "create a fabric without spec: $(cat "$TMP/nospec.err")"
fi
# No defaults inside list items (kubectl apply replaces lists whole, so a server default there
# is drift on every apply): an external peer is stored as written; rr-operator takes port 179
# and multihop true when they are absent.
EXT=$(name ext)
if kc create -f "$(rrc_file "$EXT" '{externalPeers: [{name: edge-1, address: "2001:db8::1", asNumber: 65000}]}')" >/dev/null 2>"$TMP/ext.err"; then
  CREATED+=("$EXT")
  got=$(kc get rrc "$EXT" -o json | jq -c '.spec.externalPeers[0] | keys')
  [[ $got == '["address","asNumber","name"]' ]] && pass "external peer (IPv6) stored as written: $got" \
    || fail "external peer stored as: '$got'"
else
  fail "create a fabric with an IPv6 external peer: $(cat "$TMP/ext.err")"
fi

# ---------------------------------------------------------------- 3. validation
# name | spec | text the refusal must contain (the field path)
CASES=(
  "asNumber 0|{asNumber: 0}|spec.asNumber"
  "asNumber above 32 bits|{asNumber: 4294967296}|spec.asNumber"
  "perRack 0|{reflectors: {perRack: 0}}|spec.reflectors.perRack"
  "perRack 9|{reflectors: {perRack: 9}}|spec.reflectors.perRack"
  "port 70000|{reflectors: {port: 70000}}|spec.reflectors.port"
  "placement Sideways|{reflectors: {placement: Sideways}}|spec.reflectors.placement"
  "clusterIDPool /33|{clusterIDPool: \"10.0.0.0/33\"}|spec.clusterIDPool"
  "clusterIDPool nonsense|{clusterIDPool: nonsense}|spec.clusterIDPool"
  "clusterIDPool /7|{clusterIDPool: \"10.0.0.0/7\"}|spec.clusterIDPool"
  "clusterIDPool /31|{clusterIDPool: \"10.0.0.0/31\"}|spec.clusterIDPool"
  "clusterIDPool /32|{clusterIDPool: \"10.0.0.1/32\"}|spec.clusterIDPool"
  "namespace not a DNS label|{namespace: Rr_System}|spec.namespace"
  "rackLabel not a label key|{rackLabel: \"a/b/c\"}|spec.rackLabel"
  "external peer without asNumber|{externalPeers: [{name: edge, address: 192.0.2.1}]}|spec.externalPeers.asNumber: Required value"
  "external peer without address|{externalPeers: [{name: edge, asNumber: 65000}]}|spec.externalPeers.address: Required value"
  "external peer address with port|{externalPeers: [{name: edge, address: \"192.0.2.1:179\", asNumber: 65000}]}|spec.externalPeers.address"
  "duplicate external peer names|{externalPeers: [{name: edge, address: 192.0.2.1, asNumber: 65000}, {name: edge, address: 192.0.2.2, asNumber: 65001}]}|spec.externalPeers[1]: Duplicate value"
  "passwordSecretRef without key|{bgp: {passwordSecretRef: {name: s}}}|spec.bgp.passwordSecretRef.key: Required value"
  "holdTime 2|{bgp: {holdTimeSeconds: 2}}|spec.bgp.holdTimeSeconds"
  "lease 2|{lease: {durationSeconds: 2}}|spec.lease.durationSeconds"
  "calicoAPI v2|{calicoAPI: projectcalico.org/v2}|spec.calicoAPI"
  "toleration operator In|{reflectors: {tolerations: [{key: k, operator: In}]}}|spec.reflectors.tolerations.operator"
  "resource quantity lots|{reflectors: {resources: {requests: {cpu: lots}}}}|spec.reflectors.resources.requests.cpu"
)
i=0
for c in "${CASES[@]}"; do
  IFS='|' read -r cname cspec cwant <<<"$c"
  i=$((i + 1))
  n=$(name "bad$i")
  # --validate=false: the server must refuse (kubectl's client-side check may not have the schema yet).
  if out=$(kc create --validate=false -f "$(rrc_file "$n" "$cspec")" 2>&1); then
    CREATED+=("$n")
    fail "$cname: accepted ($cspec)"
  elif grep -qF -- "$cwant" <<<"$out"; then
    pass "$cname refused: $(sed -n 's/.* is invalid: //p' <<<"$out" | head -1 | cut -c1-110)"
  else
    fail "$cname refused without naming '$cwant': $out"
  fi
done
# Quantities as in a Pod: an integer or a quantity string.
QTY=$(name qty)
if kc create --validate=false -f "$(rrc_file "$QTY" '{reflectors: {resources: {requests: {cpu: 1, memory: 64Mi}, limits: {cpu: "1.5"}}}}')" >/dev/null 2>"$TMP/qty.err"; then
  CREATED+=("$QTY")
  got=$(kc get rrc "$QTY" -o json | jq -c .spec.reflectors.resources)
  [[ $got == '{"limits":{"cpu":"1.5"},"requests":{"cpu":1,"memory":"64Mi"}}' ]] && pass "quantities 1, 64Mi, \"1.5\" accepted as written" \
    || fail "quantities stored as $got"
else
  fail "quantities 1, 64Mi, \"1.5\" refused: $(cat "$TMP/qty.err")"
fi
# The edges the operator accepts, the server accepts too (operator/api: prefix 8..30).
for pool in 10.0.0.0/8 10.0.0.4/30 192.0.2.0/24; do
  n=$(name "pool-${pool//[.\/]/-}")
  if out=$(kc create --validate=false -f "$(rrc_file "$n" "{clusterIDPool: \"$pool\"}")" 2>&1); then
    CREATED+=("$n")
    pass "clusterIDPool $pool accepted"
  else
    fail "clusterIDPool $pool refused: $out"
  fi
done

# ---------------------------------------------------------------- 4. examples
for ex in "$ROOT"/deploy/examples/*.yaml; do
  exname=$(basename "$ex")
  objname=$(awk '/^metadata:/{m=1} m && /^  name:/{print $2; exit}' "$ex")
  if out=$(kc apply --validate=false -f "$ex" 2>&1); then
    CREATED+=("$objname")
    pass "deploy/examples/$exname accepted by the server ($objname)"
  else
    fail "deploy/examples/$exname refused: $out"
  fi
done

# ---------------------------------------------------------------- 5. status and printer columns
header=$(kc get rrc 2>&1 | head -1)
if [[ $(awk '{print $1,$2,$3,$4,$5,$6}' <<<"$header") == "NAME RACKS REFLECTORS SESSIONS READY AGE" ]]; then
  pass "kubectl get rrc columns: $header"
else
  fail "kubectl get rrc header: '$header'"
fi
status='{"status":{"observedGeneration":1,"rackCount":3,"reflectorsWanted":6,"reflectorsReady":5,
  "reflectors":"5/6","sessionsEstablished":57,"sessionsTotal":60,
  "conditions":[
    {"type":"Ready","status":"False","reason":"ReflectorsNotReady","message":"rack r2: 1/2 reflectors ready",
     "lastTransitionTime":"2024-05-01T10:00:00Z","observedGeneration":1},
    {"type":"Progressing","status":"True","reason":"ReplacingReflector","message":"r2 slot 1",
     "lastTransitionTime":"2024-05-01T10:00:00Z","observedGeneration":1},
    {"type":"Degraded","status":"True","reason":"ReflectorsNotReady","message":"rack r2: 1/2 reflectors ready",
     "lastTransitionTime":"2024-05-01T10:00:00Z","observedGeneration":1}],
  "racks":[{"name":"r1","clusterID":"10.255.0.1","nodes":20,"reflectorsWanted":2,"reflectorsReady":2,
            "reflectors":[{"pod":"rr-a","node":"n1","address":"10.0.1.1","state":"Ready","sessionsEstablished":20,"sessionsTotal":20}]},
           {"name":"r2","clusterID":"10.255.0.2","nodes":18,"reflectorsWanted":2,"reflectorsReady":1,
            "reflectors":[{"pod":"rr-b","node":"n2","address":"10.0.2.1","state":"Lost","sessionsEstablished":0,"sessionsTotal":20}]}]}}'
r=$(api PATCH "$RRC_API/$MIN/status" application/merge-patch+json "$status")
if [[ $(code_of "$r") == 200 ]]; then
  pass "status written through /status (merge patch)"
else
  fail "PATCH $RRC_API/$MIN/status: $(code_of "$r") $(body_of "$r" | head -c 400)"
fi
row=$(kc get rrc "$MIN" --no-headers 2>&1)
if [[ $(awk '{print $2,$3,$4,$5}' <<<"$row") == "3 5/6 57 False" ]]; then
  pass "kubectl get rrc row: $row"
else
  fail "kubectl get rrc row: '$row' (want 3 5/6 57 False)"
fi
wide=$(kc get rrc "$MIN" -o wide 2>&1)
if grep -q 'AS.*PLACEMENT.*REASON' <<<"$wide" && grep -q '64512 *Dedicated *ReflectorsNotReady' <<<"$wide"; then
  pass "kubectl get rrc -o wide adds AS, PLACEMENT, REASON"
else
  fail "kubectl get rrc -o wide: $wide"
fi
r=$(api PATCH "$RRC_API/$MIN/status" application/merge-patch+json '{"status":{"conditions":[{"type":"Ready","status":"Maybe"}]}}')
if [[ $(code_of "$r") == 422 ]] && body_of "$r" | grep -q 'status.conditions.status'; then
  pass "condition status Maybe refused: $(body_of "$r" | jq -r .message | cut -c1-140)"
else
  fail "condition status Maybe: $(code_of "$r") $(body_of "$r" | head -c 300)"
fi
r=$(api PATCH "$RRC_API/$MIN/status" application/merge-patch+json '{"status":{"racks":[{"name":"r1","clusterID":"10.255.0.300"}]}}')
[[ $(code_of "$r") == 422 ]] && pass "status rack clusterID 10.255.0.300 refused" \
  || fail "status rack clusterID 10.255.0.300: $(code_of "$r")"

# ---------------------------------------------------------------- 6. Calico objects the operator writes
cat >"$TMP/calico.yaml" <<EOF
apiVersion: crd.projectcalico.org/v1
kind: BGPPeer
metadata:
  name: rr-$MIN-r1-0
  labels: {app.kubernetes.io/managed-by: rr-operator, rr.bgp.dev/cluster: $MIN, rr.bgp.dev/test: crds}
spec:
  nodeSelector: "topology.kubernetes.io/rack == 'r1' && kubernetes.io/hostname != 'n1'"
  peerIP: "10.0.1.1:1179"
  asNumber: 64512
  password:
    secretKeyRef: {name: rr-bgp, key: password}
  keepOriginalNextHop: true
  maxRestartTime: 120s
---
apiVersion: crd.projectcalico.org/v1
kind: BGPPeer
metadata:
  name: rr-$MIN-ext
  labels: {rr.bgp.dev/test: crds}
spec:
  node: n1
  peerIP: "2001:db8::1"
  asNumber: 65000
  sourceAddress: None
  numAllowedLocalASNumbers: 1
  ttlSecurity: 1
  reachableBy: 10.0.0.1
  filters: [edge-in]
  nextHopMode: Keep
---
apiVersion: crd.projectcalico.org/v1
kind: BGPConfiguration
metadata: {name: crd-test}
spec:
  nodeToNodeMeshEnabled: false
  asNumber: 64512
  listenPort: 179
  logSeverityScreen: Info
  serviceClusterIPs: [{cidr: 10.96.0.0/12}]
EOF
if out=$(kc create --validate=false -f "$TMP/calico.yaml" 2>&1); then
  pass "BGPPeers and a BGPConfiguration created"
  got=$(kc get bgppeers.crd.projectcalico.org "rr-$MIN-r1-0" -o json | jq -c .spec)
  want=$(jq -nc --arg sel "topology.kubernetes.io/rack == 'r1' && kubernetes.io/hostname != 'n1'" \
         '{asNumber: 64512, keepOriginalNextHop: true, maxRestartTime: "120s", nodeSelector: $sel,
           password: {secretKeyRef: {name: "rr-bgp", key: "password"}}, peerIP: "10.0.1.1:1179"}')
  [[ $(jq -cS . <<<"$got") == $(jq -cS . <<<"$want") ]] && pass "BGPPeer read back unpruned: $got" \
    || fail "BGPPeer read back: $got, want $want"
  got=$(kc get bgppeers.crd.projectcalico.org "rr-$MIN-ext" -o json | jq -c '.spec | keys')
  [[ $got == '["asNumber","filters","nextHopMode","node","numAllowedLocalASNumbers","peerIP","reachableBy","sourceAddress","ttlSecurity"]' ]] \
    && pass "BGPPeer node-scoped fields kept: $got" || fail "BGPPeer node-scoped fields: $got"
  got=$(kc get bgpconfigurations.crd.projectcalico.org crd-test -o json | jq -c .spec)
  [[ $(jq -r '"\(.nodeToNodeMeshEnabled) \(.asNumber) \(.listenPort) \(.serviceClusterIPs[0].cidr)"' <<<"$got") == "false 64512 179 10.96.0.0/12" ]] \
    && pass "BGPConfiguration read back: $got" || fail "BGPConfiguration read back: $got"
else
  fail "create BGPPeers/BGPConfiguration: $out"
fi
# Pruning like the real CRD: a misspelt field is dropped, not stored.
cat >"$TMP/pruned.yaml" <<EOF
apiVersion: crd.projectcalico.org/v1
kind: BGPPeer
metadata: {name: rr-$MIN-pruned, labels: {rr.bgp.dev/test: crds}}
spec: {peerIp: 10.0.0.9, asNumber: 64512}
EOF
if kc create --validate=false -f "$TMP/pruned.yaml" >/dev/null 2>&1; then
  got=$(kc get bgppeers.crd.projectcalico.org "rr-$MIN-pruned" -o json | jq -c .spec)
  [[ $got == '{"asNumber":64512}' ]] && pass "unknown BGPPeer field peerIp pruned, as by Calico's CRD" \
    || fail "unknown BGPPeer field: spec read back $got"
else
  fail "create a BGPPeer with an unknown field"
fi

echo "crds: $FAILS failure(s)"
((FAILS == 0))
