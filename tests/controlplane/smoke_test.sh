#!/usr/bin/env bash
# Smoke test of the local control plane (scripts/kube-local.sh): proves that it is a
# real kube-apiserver v1.20.2 with CRDs (structural schema, status subresource),
# Leases, watches and RBAC. One PASS/FAIL line per check; exit 1 on any failure.
#
# Needs RR_KUBE_DIR (set by rr_add_control_plane_test) or an explicit DIR argument.
set -uo pipefail

DIR=${1:-${RR_KUBE_DIR:?set RR_KUBE_DIR or pass the instance directory}}
# shellcheck disable=SC1091
source "$DIR/env" || { echo "FAIL: cannot read $DIR/env"; exit 1; }
K=${RR_KUBECTL:-$("$(dirname "$0")/../../scripts/fetch-kubectl.sh")}
export KUBECONFIG

TMP=$(mktemp -d)
BG_PIDS=()
cleanup() {
  local p
  for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# shellcheck source=../lib/checks.sh
source "$(dirname "$0")/../lib/checks.sh"

NS=smoke-$(date +%s)-$RANDOM
GROUP=smoke.rr.bgp.dev
W=/apis/$GROUP/v1/namespaces/$NS/widgets

# ---------------------------------------------------------------- 1. version
ver=$(kc version -o json 2>"$TMP/version.err" | jq -r '.serverVersion.gitVersion // empty')
if [[ $ver == v1.20.2 ]]; then pass "server version $ver"
else fail "server version is '${ver:-unknown}', want v1.20.2 ($(head -c 300 "$TMP/version.err"))"; fi

kc create namespace "$NS" >/dev/null && pass "namespace $NS created" || fail "create namespace $NS"

# ---------------------------------------------------------------- 2. CRD
cat >"$TMP/crd.yaml" <<EOF
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.$GROUP
spec:
  group: $GROUP
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string}
          status:
            type: object
            properties:
              phase: {type: string}
              observedSize: {type: integer}
EOF
if kc apply -f "$TMP/crd.yaml" >/dev/null &&
   kc wait --for condition=established --timeout=20s "crd/widgets.$GROUP" >/dev/null; then
  pass "CRD widgets.$GROUP established (structural schema, status subresource)"
else
  fail "CRD widgets.$GROUP not established"
fi
# Discovery of a new CRD can lag a moment behind Established.
for _ in $(seq 50); do kc get widgets -n "$NS" >/dev/null 2>&1 && break; sleep 0.2; done

widget() {  # widget NAME SIZE-YAML
  printf 'apiVersion: %s/v1\nkind: Widget\nmetadata: {name: %s, namespace: %s}\nspec: %s\n' \
    "$GROUP" "$1" "$NS" "$2" >"$TMP/$1.yaml"
  echo "$TMP/$1.yaml"
}
if kc apply -f "$(widget w1 '{size: 3, color: blue}')" >/dev/null && [[ $(kc get widget w1 -n "$NS" -o jsonpath='{.spec.size}') == 3 ]]; then
  pass "custom object w1 created"
else
  fail "custom object w1 not created"
fi

# ---------------------------------------------------------------- 3. schema validation
# --validate=false: the server must refuse (kubectl's own client-side validation only
# applies once the CRD's OpenAPI is published, which races with this test).
if out=$(kc apply --validate=false -f "$(widget bad1 '{size: 0}')" 2>&1); then
  fail "a widget with size 0 (minimum 1) was accepted"
elif grep -q 'spec.size' <<<"$out" && grep -qi 'greater than or equal to 1' <<<"$out"; then
  pass "schema violation refused: $(grep -o 'spec.size[^"]*' <<<"$out" | head -1)"
else
  fail "size 0 refused, but the message does not name spec.size: $out"
fi
if out=$(kc apply --validate=false -f "$(widget bad2 '{color: red}')" 2>&1); then
  fail "a widget without the required spec.size was accepted"
elif grep -q 'spec.size: Required value' <<<"$out"; then
  pass "missing required field refused: spec.size: Required value"
else
  fail "missing spec.size refused with an unexpected message: $out"
fi
if out=$(kc apply --validate=false -f "$(widget bad3 '{size: "three"}')" 2>&1); then
  fail "a widget with a string size was accepted"
elif grep -q 'spec.size' <<<"$out"; then
  pass "wrong type refused: $(grep -o 'spec.size in body[^:]*' <<<"$out" | head -1)"
else
  fail "string size refused with an unexpected message: $out"
fi

# ---------------------------------------------------------------- 4. status subresource
gen0=$(kc get widget w1 -n "$NS" -o jsonpath='{.metadata.generation}')
r=$(api PATCH "$W/w1/status" application/merge-patch+json \
      '{"status":{"phase":"Ready","observedSize":3},"spec":{"size":99}}')
if [[ $(code_of "$r") == 200 ]]; then
  got=$(kc get widget w1 -n "$NS" -o json)
  phase=$(jq -r '.status.phase' <<<"$got") size=$(jq -r '.spec.size' <<<"$got")
  gen1=$(jq -r '.metadata.generation' <<<"$got")
  if [[ $phase == Ready ]]; then pass "status written through /status (phase=Ready)"
  else fail "status.phase is '$phase' after PATCH /status"; fi
  if [[ $size == 3 && $gen1 == "$gen0" ]]; then pass "spec change through /status ignored (size=3, generation $gen1)"
  else fail "spec change through /status applied (size=$size, generation $gen0 -> $gen1)"; fi
else
  fail "PATCH $W/w1/status returned $(code_of "$r"): $(body_of "$r" | head -c 300)"
fi
# ...and the main resource ignores status.
r=$(api PATCH "$W/w1" application/merge-patch+json '{"status":{"phase":"Hacked"},"spec":{"size":4}}')
got=$(kc get widget w1 -n "$NS" -o json)
if [[ $(code_of "$r") == 200 && $(jq -r .status.phase <<<"$got") == Ready && $(jq -r .spec.size <<<"$got") == 4 &&
      $(jq -r .metadata.generation <<<"$got") -gt $gen0 ]]; then
  pass "main resource ignores status, bumps generation on spec change"
else
  fail "main resource PATCH: code $(code_of "$r"), status.phase=$(jq -r .status.phase <<<"$got"), spec.size=$(jq -r .spec.size <<<"$got")"
fi

# ---------------------------------------------------------------- 5. Lease
ts() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
cat >"$TMP/lease.yaml" <<EOF
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: smoke-lease, namespace: $NS}
spec: {holderIdentity: smoke-holder, leaseDurationSeconds: 15, acquireTime: "$(ts)", renewTime: "$(ts)"}
EOF
if kc create -f "$TMP/lease.yaml" >/dev/null; then
  l0=$(kc get lease smoke-lease -n "$NS" -o json)
  sleep 0.05
  renew=$(ts)
  kc patch lease smoke-lease -n "$NS" --type merge -p "{\"spec\":{\"renewTime\":\"$renew\"}}" >/dev/null
  l1=$(kc get lease smoke-lease -n "$NS" -o json)
  rt0=$(jq -r .spec.renewTime <<<"$l0") rt1=$(jq -r .spec.renewTime <<<"$l1")
  rv0=$(jq -r .metadata.resourceVersion <<<"$l0") rv1=$(jq -r .metadata.resourceVersion <<<"$l1")
  if [[ $rt1 == "$renew" && $rt1 != "$rt0" && $rv1 -gt $rv0 ]]; then
    pass "Lease renewed: renewTime $rt0 -> $rt1, resourceVersion $rv0 -> $rv1"
  else
    fail "Lease renewal: renewTime $rt0 -> $rt1 (want $renew), resourceVersion $rv0 -> $rv1"
  fi
else
  fail "create Lease smoke-lease"
fi

# ---------------------------------------------------------------- 6. watch
rv=$(api GET "$W" | sed '$d' | jq -r .metadata.resourceVersion)
curl -sSN --max-time 30 --cacert "$RR_KUBE_CA" -H "Authorization: Bearer $RR_KUBE_ADMIN_TOKEN" \
  "$RR_KUBE_SERVER$W?watch=1&resourceVersion=$rv&fieldSelector=metadata.name%3Dw2" >"$TMP/watch.json" 2>"$TMP/watch.err" &
BG_PIDS+=($!)
kc apply -f "$(widget w2 '{size: 1}')" >/dev/null
kc patch widget w2 -n "$NS" --type merge -p '{"spec":{"size":2}}' >/dev/null
kc delete widget w2 -n "$NS" --wait=false >/dev/null
events=""
for _ in $(seq 100); do
  events=$(jq -r 'select(.object.metadata.name=="w2") | .type' "$TMP/watch.json" 2>/dev/null | tr '\n' ' ')
  [[ $events == *DELETED* ]] && break
  sleep 0.1
done
if [[ $events == "ADDED MODIFIED DELETED " ]]; then
  pass "watch from resourceVersion $rv saw: $events"
else
  fail "watch events for w2: '$events' (want ADDED MODIFIED DELETED) $(head -c 300 "$TMP/watch.err")"
fi

# ---------------------------------------------------------------- 7. RBAC
cat >"$TMP/rbac.yaml" <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: lease-reader, namespace: $NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: lease-reader, namespace: $NS}
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: lease-reader, namespace: $NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: lease-reader}
subjects:
- {kind: ServiceAccount, name: lease-reader, namespace: $NS}
EOF
kc apply -f "$TMP/rbac.yaml" >/dev/null && pass "ServiceAccount, Role (get/list leases), RoleBinding created" \
  || fail "create ServiceAccount/Role/RoleBinding"
echo '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":600}}' >"$TMP/tr.json"
sa_token=$(kc create --raw "/api/v1/namespaces/$NS/serviceaccounts/lease-reader/token" -f "$TMP/tr.json" 2>"$TMP/tr.err" |
           jq -r '.status.token // empty')
if [[ -n $sa_token ]]; then pass "TokenRequest issued a token for $NS/lease-reader"
else fail "TokenRequest for $NS/lease-reader: $(head -c 300 "$TMP/tr.err")"; sa_token=invalid; fi

L=/apis/coordination.k8s.io/v1/namespaces/$NS/leases
code=""
for _ in $(seq 50); do                     # RBAC caches settle within milliseconds
  r=$(API_TOKEN=$sa_token api GET "$L"); code=$(code_of "$r")
  [[ $code == 200 ]] && break; sleep 0.1
done
if [[ $code == 200 && $(body_of "$r" | jq -r '.items | length') -ge 1 ]]; then
  pass "SA token lists leases: 200 ($(body_of "$r" | jq -r '.items | length') item)"
else
  fail "SA token list leases: $code $(body_of "$r" | head -c 300)"
fi
r=$(API_TOKEN=$sa_token api POST "$L" application/json \
      "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"forbidden\"},\"spec\":{\"holderIdentity\":\"x\"}}")
reason=$(body_of "$r" | jq -r 'select(.kind=="Status") | .reason' 2>/dev/null)
if [[ $(code_of "$r") == 403 && $reason == Forbidden ]]; then
  pass "SA token creating a Lease: 403, Status reason Forbidden: $(body_of "$r" | jq -r .message)"
else
  fail "SA token creating a Lease: $(code_of "$r") reason '$reason' $(body_of "$r" | head -c 300)"
fi
r=$(API_TOKEN=$sa_token api GET /apis/coordination.k8s.io/v1/namespaces/default/leases)
[[ $(code_of "$r") == 403 ]] && pass "SA token listing leases in another namespace: 403" \
  || fail "SA token listing leases in namespace default: $(code_of "$r")"
r=$(API_TOKEN=$RR_KUBE_USER_TOKEN api GET "$L")
[[ $(code_of "$r") == 403 ]] && pass "static token of $RR_KUBE_USER_NAME (no bindings): 403 on leases" \
  || fail "static token of $RR_KUBE_USER_NAME listing leases: $(code_of "$r")"
r=$(API_TOKEN=not-a-valid-token api GET "$L")
[[ $(code_of "$r") == 401 ]] && pass "unknown token: 401" || fail "unknown token: $(code_of "$r")"

# ---------------------------------------------------------------- 8. controller manager
if [[ ${RR_KUBE_CONTROLLER_MANAGER:-0} == 1 ]]; then
  ok=0
  for _ in $(seq 100); do kc get sa default -n "$NS" >/dev/null 2>&1 && { ok=1; break; }; sleep 0.1; done
  ((ok)) && pass "kube-controller-manager created ServiceAccount $NS/default" \
    || fail "no ServiceAccount $NS/default after 10 s (kube-controller-manager)"
  kc delete namespace "$NS" --wait=false >/dev/null
  gone=0
  for _ in $(seq 300); do kc get namespace "$NS" >/dev/null 2>&1 || { gone=1; break; }; sleep 0.1; done
  ((gone)) && pass "namespace $NS deleted (namespace controller)" \
    || fail "namespace $NS still present 30 s after deletion"
else
  kc delete namespace "$NS" --wait=false >/dev/null || true
fi

echo "smoke: $FAILS failure(s)"
((FAILS == 0))
