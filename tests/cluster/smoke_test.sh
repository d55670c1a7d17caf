#!/usr/bin/env bash
# Smoke test of the real multi-node cluster (scripts/kube-cluster.sh): every Node Ready
# in its rack, node credentials that are not admin's, the scheduler placing Pods on every
# node, host and pod networking across nodes, the `kubernetes` Service through kube-proxy
# with a ServiceAccount token, logs/exec, Pod deletion and container restarts.
# One PASS/FAIL line per check; exit 1 on any failure.
#
# Needs RR_CLUSTER_DIR (set by rr_add_cluster_test) or an explicit DIR argument.
set -uo pipefail

DIR=${1:-${RR_CLUSTER_DIR:?set RR_CLUSTER_DIR or pass the cluster directory}}
# shellcheck disable=SC1091
source "$DIR/env" || { echo "FAIL: cannot read $DIR/env"; exit 1; }
K=${RR_KUBECTL:?}
export KUBECONFIG

# shellcheck source=../lib/checks.sh
source "$(dirname "$0")/../lib/checks.sh"

NS=smoke-$(date +%s)-$RANDOM
TMP=$(mktemp -d)
cleanup() {
  kc delete namespace "$NS" --wait=false >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT

read -r -a NODES <<<"$RR_CLUSTER_NODES"
read -r -a NODE_IPS <<<"$RR_CLUSTER_NODE_IPS"
N=${#NODES[@]}
IMAGE=$RR_CLUSTER_TOOLBOX_IMAGE
SA_DIR=/var/run/secrets/kubernetes.io/serviceaccount

# poll SECONDS CMD...: until CMD succeeds (a bound on waiting, not on speed).
poll() {
  local n=$(($1 * 2)); shift
  while ((n-- > 0)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}
jpath() { kc get "$1" -n "$NS" -o jsonpath="$2" 2>/dev/null; }
node_index() { local i; for i in "${!NODES[@]}"; do [[ ${NODES[i]} == "$1" ]] && echo $((i + 1)); done; }
pod_yaml() {  # pod_yaml NAME NODE-SELECTOR-OR-EMPTY HOSTNETWORK COMMAND
  cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $NS, labels: {app: $1}}
spec:
  ${2:+nodeSelector: {kubernetes.io/hostname: $2}}
  hostNetwork: $3
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $IMAGE
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "$4"]
EOF
}

# ---------------------------------------------------------------- 1. Nodes
kc get nodes -o json >"$TMP/nodes.json"
ready=$(jq '[.items[] | select(any(.status.conditions[]; .type == "Ready" and .status == "True"))] | length' "$TMP/nodes.json")
if ((N >= 1 && ready == N)); then pass "all $N Nodes Ready"; else fail "$ready of $N Nodes Ready"; fi
racks=$(jq -r '[.items[].metadata.labels["topology.kubernetes.io/rack"] // empty] | unique | length' "$TMP/nodes.json")
if ((racks >= (N < 3 ? N : 3))); then pass "Nodes span $racks racks"; else fail "Nodes span $racks racks"; fi
reflectors=$(jq -r '[.items[] | select(.metadata.labels["rr.bgp.dev/reflector"] == "true")] | length' "$TMP/nodes.json")
if ((reflectors >= 1)); then pass "$reflectors Nodes are reflector hosts"; else fail "no Node carries rr.bgp.dev/reflector=true"; fi
for i in "${!NODES[@]}"; do
  ip=$(jq -r --arg n "${NODES[i]}" '.items[] | select(.metadata.name == $n) | .status.addresses[] | select(.type == "InternalIP") | .address' "$TMP/nodes.json")
  [[ $ip == "${NODE_IPS[i]}" ]] || fail "${NODES[i]} InternalIP is '$ip', want ${NODE_IPS[i]}"
done
# spec.podCIDR is what Calico's BIRD announces for a node (tests/calico-node): the node's CNI range.
cidrs_ok=1
for i in "${!NODES[@]}"; do
  want_var="RR_CLUSTER_NODE_$((i + 1))_POD_CIDR"
  got=$(jq -r --arg n "${NODES[i]}" '.items[] | select(.metadata.name == $n) | "\(.spec.podCIDR) \(.spec.podCIDRs)"' "$TMP/nodes.json")
  [[ $got == "${!want_var} [\"${!want_var}\"]" ]] || { cidrs_ok=0; fail "${NODES[i]} spec.podCIDR(s) is '$got', want ${!want_var}"; }
done
((cidrs_ok)) && pass "every Node's spec.podCIDR is its CNI range"
ep=$(kc get endpoints kubernetes -n default -o jsonpath='{.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}')
if [[ https://$ep == "$RR_CLUSTER_APISERVER" ]]; then pass "the kubernetes Service points at the node-facing apiserver $ep"
else fail "kubernetes endpoints are '$ep', want ${RR_CLUSTER_APISERVER#https://}"; fi

# ---------------------------------------------------------------- 2. node credentials
NODE1_KC=$RR_CLUSTER_NODE_1_KUBECONFIG
if out=$(timeout 30 "$K" --kubeconfig="$NODE1_KC" get node "${NODES[0]}" -o name 2>&1); then
  pass "${NODES[0]}'s own credentials read its Node ($out)"
else fail "${NODES[0]}'s credentials cannot read its own Node: $out"; fi
out=$(timeout 30 "$K" --kubeconfig="$NODE1_KC" get secrets --all-namespaces 2>&1)
if [[ $out == *Forbidden* && $out == *'"system:node:'"${NODES[0]}"'"'* ]]; then
  pass "${NODES[0]}'s credentials cannot list Secrets cluster-wide (403)"
else fail "listing Secrets as ${NODES[0]} was not forbidden: $(head -c 300 <<<"$out")"; fi
if ((N > 1)); then
  out=$(timeout 30 "$K" --kubeconfig="$NODE1_KC" label node "${NODES[1]}" rr-smoke=1 2>&1)
  if [[ $out == *Forbidden* || $out == *forbidden* ]]; then pass "${NODES[0]} cannot label ${NODES[1]} (NodeRestriction)"
  else fail "${NODES[0]} labelled ${NODES[1]}: $out"; fi
fi

kc create namespace "$NS" >/dev/null || fail "create namespace $NS"
poll 60 kc get serviceaccount default -n "$NS" -o 'jsonpath={.secrets[0].name}' ||
  fail "no token Secret for $NS/default"

# ---------------------------------------------------------------- 3. scheduling on every node
# A Deployment whose replicas may not share a node: only the scheduler places them.
cat >"$TMP/spread.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: spread, namespace: $NS}
spec:
  replicas: $N
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      terminationGracePeriodSeconds: 1
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: spread}}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: web
        image: $IMAGE
        imagePullPolicy: Never
        command: ["/bin/sh", "-c", "exec httpd -f -p 8080 -h /www"]
EOF
kc apply -f "$TMP/spread.yaml" >/dev/null || fail "create Deployment spread"
spread_ready() {
  [[ $(kc get deployment spread -n "$NS" -o jsonpath='{.status.readyReplicas}') == "$N" ]]
}
if poll 300 spread_ready; then pass "Deployment spread: $N replicas Ready"; else fail "Deployment spread not Ready"; fi
kc get pods -n "$NS" -l app=spread -o json >"$TMP/spread.json"
placed=$(jq -r '[.items[] | select(.status.phase == "Running") | .spec.nodeName] | unique | join(" ")' "$TMP/spread.json")
want=$(printf '%s\n' "${NODES[@]}" | sort | tr '\n' ' '); want=${want% }
if [[ $placed == "$want" ]]; then pass "the scheduler placed one Pod on each node ($placed)"
else fail "Pods placed on '$placed', want '$want'"; fi
declare -A POD_ON POD_IP
while read -r name node ip; do POD_ON[$node]=$name; POD_IP[$node]=$ip; done < <(
  jq -r '.items[] | select(.status.phase == "Running") | "\(.metadata.name) \(.spec.nodeName) \(.status.podIP)"' "$TMP/spread.json")
for node in "${NODES[@]}"; do
  i=$(node_index "$node")
  cidr_var=RR_CLUSTER_NODE_${i}_POD_CIDR; prefix=${!cidr_var%.0/24}.
  [[ ${POD_IP[$node]:-} == "$prefix"* ]] || fail "Pod on $node has IP '${POD_IP[$node]:-}', outside ${!cidr_var}"
done

# ---------------------------------------------------------------- 4. hostNetwork
HN_NODE=${NODES[N - 1]}
pod_yaml hostnet "$HN_NODE" true "sleep 3600" | kc apply -f - >/dev/null
kc wait --for=condition=Ready pod/hostnet -n "$NS" --timeout=180s >/dev/null || fail "hostnet Pod not Ready"
want_ip=${NODE_IPS[N - 1]}
got_ip=$(jpath pod/hostnet '{.status.podIP}')
in_pod=$(kc exec -n "$NS" hostnet -- ip -4 -o addr show dev eth0 2>&1)
if [[ $got_ip == "$want_ip" && $in_pod == *"inet $want_ip/"* ]]; then
  pass "a hostNetwork Pod on $HN_NODE has its node's address $want_ip"
else fail "hostNetwork Pod: podIP '$got_ip', eth0 '$in_pod', want $want_ip"; fi

# ---------------------------------------------------------------- 5. pod network across nodes
# A ring: the Pod on each node fetches from the Pod on the next node.
if ((N > 1)); then
  for i in "${!NODES[@]}"; do
    a=${NODES[i]} b=${NODES[(i + 1) % N]}
    out=$(kc exec -n "$NS" "${POD_ON[$a]}" -- curl -sS --max-time 10 "http://${POD_IP[$b]}:8080/" 2>&1)
    if [[ $out == rr-toolbox ]]; then pass "a Pod on $a reaches a Pod on $b (${POD_IP[$b]}:8080)"
    else fail "Pod on $a could not fetch from ${POD_IP[$b]}:8080 on $b: $out"; fi
  done
fi

# ---------------------------------------------------------------- 6. kubernetes Service via kube-proxy
# Each node's kube-proxy: curl from that node's Pod to 10.96.0.1, TLS verified with the
# ServiceAccount's ca.crt under the Service's DNS name, authenticated with its token.
for node in "${NODES[@]}"; do
  out=$(kc exec -n "$NS" "${POD_ON[$node]}" -- sh -c "curl -sS --max-time 15 -o /tmp/version -w '%{http_code}' \
      --cacert $SA_DIR/ca.crt -H \"Authorization: Bearer \$(cat $SA_DIR/token)\" \
      --resolve kubernetes.default.svc:443:10.96.0.1 https://kubernetes.default.svc/version && echo && cat /tmp/version" 2>&1)
  code=$(head -n 1 <<<"$out")
  if [[ $code == 200 && $out == *'"gitVersion": "v1.20.2"'* ]]; then
    pass "from $node, https://kubernetes.default.svc (10.96.0.1) /version: 200 v1.20.2 with the ServiceAccount token"
  else fail "from $node, /version through 10.96.0.1: $(head -c 300 <<<"$out")"; fi
done
# The same token is a ServiceAccount's, not admin's.
out=$(kc exec -n "$NS" "${POD_ON[${NODES[0]}]}" -- sh -c "curl -sS --max-time 15 -o /dev/null -w '%{http_code}' \
    --cacert $SA_DIR/ca.crt -H \"Authorization: Bearer \$(cat $SA_DIR/token)\" \
    --resolve kubernetes.default.svc:443:10.96.0.1 https://kubernetes.default.svc/api/v1/secrets" 2>&1)
if [[ $out == 403 ]]; then pass "the ServiceAccount token may not list Secrets (403)"
else fail "listing Secrets with the ServiceAccount token gave '$out', want 403"; fi

# ---------------------------------------------------------------- 7. logs and exec
MARK=marker-$RANDOM$RANDOM
pod_yaml talker "${NODES[0]}" false "echo $MARK; exec sleep 3600" | kc apply -f - >/dev/null
kc wait --for=condition=Ready pod/talker -n "$NS" --timeout=180s >/dev/null || fail "talker Pod not Ready"
if poll 30 bash -c '"$@" | grep -qx '"$MARK" _ timeout 30 "$K" logs -n "$NS" talker; then
  pass "kubectl logs shows the container's output"
else fail "kubectl logs talker: $(kc logs -n "$NS" talker 2>&1 | head -c 200)"; fi
out=$(kc exec -n "$NS" talker -- sh -c 'echo exec-$((6 * 7))' 2>&1)
if [[ $out == exec-42 ]]; then pass "kubectl exec runs a command in the container"; else fail "kubectl exec: $out"; fi

# ---------------------------------------------------------------- 8. a killed container is restarted
node=${NODES[0]}; i=$(node_index "$node")
sock_var=RR_CLUSTER_NODE_${i}_CONTAINERD
cid=$(jpath pod/talker '{.status.containerStatuses[0].containerID}'); cid=${cid#containerd://}
if [[ -n $cid ]] && ctr --address "${!sock_var}" -n k8s.io tasks kill -s SIGKILL "$cid" >/dev/null 2>&1; then
  restarted() {
    local n c
    n=$(jpath pod/talker '{.status.containerStatuses[0].restartCount}')
    c=$(jpath pod/talker '{.status.containerStatuses[0].containerID}')
    [[ ${n:-0} -ge 1 && ${c#containerd://} != "$cid" && $(jpath pod/talker '{.status.containerStatuses[0].ready}') == true ]]
  }
  if poll 120 restarted; then pass "a container killed with SIGKILL on $node was restarted (restartCount $(jpath pod/talker '{.status.containerStatuses[0].restartCount}'))"
  else fail "the killed container was not restarted: $(jpath pod/talker '{.status.containerStatuses[0]}')"; fi
else fail "could not kill container '$cid' through $node's containerd"; fi

# ---------------------------------------------------------------- 9. a deleted Pod goes
cid=$(jpath pod/talker '{.status.containerStatuses[0].containerID}'); cid=${cid#containerd://}
kc delete pod talker -n "$NS" --wait=false >/dev/null
gone() { ! kc get pod talker -n "$NS" >/dev/null 2>&1; }
container_gone() { ! ctr --address "${!sock_var}" -n k8s.io containers info "$cid" >/dev/null 2>&1; }
if poll 120 gone && poll 60 container_gone; then pass "a deleted Pod is gone from the API and its container from $node"
else fail "Pod talker or its container $cid still present after deletion"; fi

tally smoke_test.sh
