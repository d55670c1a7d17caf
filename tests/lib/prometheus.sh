# Sourced by the real-cluster suites after cluster_checks.sh: a real Prometheus (Debian's, from
# trixie: bookworm's has no Kubernetes discovery; scripts/fetch-prometheus.sh) on
# this host that discovers rr-operator and its reflectors through the Kubernetes API with the
# shipped scrape configuration (monitoring/prometheus-scrape.yaml) and evaluates the shipped
# rules (monitoring/alerts.yaml). It listens on loopback only; it reads the API as a
# ServiceAccount of its own with list/watch on pods, services and endpoints of one namespace.
# Needs $K (kubectl, admin), $TMP and pass/fail/must from checks.sh and cluster_checks.sh.
# shellcheck shell=bash

PROM=
PROM_URL=
# prom_start ROOT NAMESPACE FOR: Prometheus scraping and evaluating every 2 s, with every
# rule's `for:` set to FOR (the shipped durations are minutes; tests/deploy/alerts_test.yaml
# checks them with promtool on synthetic series). Sets PROM (pid) and PROM_URL.
prom_start() {
  local root=$1 ns=$2 for=$3 dir=$TMP/prometheus secret token port bin
  mkdir -p "$dir"
  bin=$("$root/scripts/fetch-prometheus.sh")/usr/bin || { fail "scripts/fetch-prometheus.sh"; return 1; }
  kc apply -f - >/dev/null <<EOF || { fail "Prometheus' ServiceAccount and Role"; return 1; }
apiVersion: v1
kind: ServiceAccount
metadata: {name: rr-test-prometheus, namespace: $ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rr-test-prometheus, namespace: $ns}
rules:
  - apiGroups: [""]
    resources: [pods, services, endpoints]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rr-test-prometheus, namespace: $ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rr-test-prometheus}
subjects: [{kind: ServiceAccount, name: rr-test-prometheus, namespace: $ns}]
EOF
  poll 60 prom_sa_secret "$ns" || { fail "no token Secret for Prometheus' ServiceAccount"; return 1; }
  secret=$(kc get sa rr-test-prometheus -n "$ns" -o jsonpath='{.secrets[0].name}')
  token=$(kc get secret "$secret" -n "$ns" -o jsonpath='{.data.token}' | base64 -d)
  # The admin kubeconfig's cluster (server, CA), with the ServiceAccount's token as the user.
  kc config view --raw --minify -o json |
    jq --arg t "$token" '.users = [{name: "prometheus", user: {token: $t}}]
                         | .contexts[0].context.user = "prometheus"' >"$dir/kubeconfig" ||
    { fail "Prometheus' kubeconfig"; return 1; }
  chmod 600 "$dir/kubeconfig"
  python3 - "$root/monitoring/prometheus-scrape.yaml" "$root/monitoring/alerts.yaml" "$dir" "$ns" "$for" <<'EOF' ||
import sys, yaml
scrape, alerts, out, ns, for_ = sys.argv[1:]
config = yaml.safe_load(open(scrape))
for job in config["scrape_configs"]:
    job["scrape_interval"] = "2s"
    job["scrape_timeout"] = "1s"
    for sd in job["kubernetes_sd_configs"]:
        sd["kubeconfig_file"] = out + "/kubeconfig"
        sd["namespaces"] = {"names": [ns]}
rules = yaml.safe_load(open(alerts))
for group in rules["groups"]:
    for rule in group["rules"]:
        if "for" in rule:
            rule["for"] = for_
yaml.safe_dump(rules, open(out + "/alerts.yaml", "w"))
config["global"] = {"scrape_interval": "2s", "evaluation_interval": "2s"}
config["rule_files"] = [out + "/alerts.yaml"]
yaml.safe_dump(config, open(out + "/prometheus.yml", "w"))
EOF
    { fail "Prometheus' configuration from monitoring/"; return 1; }
  "$bin/promtool" check config "$dir/prometheus.yml" >"$dir/check.log" 2>&1 ||
    { fail "promtool check config: $(cat "$dir/check.log")"; return 1; }
  for _ in 1 2 3 4 5; do  # a port taken meanwhile: another one
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$bin/prometheus" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
      --web.listen-address="127.0.0.1:$port" >"$dir/log" 2>&1 &
    PROM=$!
    PROM_URL=http://127.0.0.1:$port
    if poll 60 prom_ready; then
      pass "Prometheus $("$bin/prometheus" --version 2>&1 | awk 'NR == 1 {print $3}') on $PROM_URL, discovery through the API as $ns/rr-test-prometheus"
      return 0
    fi
    kill "$PROM" 2>/dev/null; wait "$PROM" 2>/dev/null; PROM=
  done
  fail "Prometheus did not start: $(tail -5 "$dir/log")"
  return 1
}
prom_sa_secret() { [[ -n $(kc get sa rr-test-prometheus -n "$1" -o jsonpath='{.secrets[0].name}') ]]; }
prom_ready() { curl -sf "$PROM_URL/-/ready" && kill -0 "$PROM"; }
prom_stop() {
  [[ -n $PROM ]] || return 0
  kill "$PROM" 2>/dev/null; wait "$PROM" 2>/dev/null; PROM=
}
# prom_query EXPR: the instant vector as "labels-json value" lines, sorted
prom_query() {
  curl -sf "$PROM_URL/api/v1/query" --data-urlencode "query=$1" |
    jq -r '.data.result[] | "\(.metric | tojson) \(.value[1])"' | sort
}
# prom_value EXPR: the value of a one-element result (empty when none)
prom_value() { prom_query "$1" | awk 'NR == 1 {print $NF}'; }
# firing ALERT RACK: the alert fires for that rack; quiet ALERT RACK: it neither fires nor is pending
alert_states() {
  curl -sf "$PROM_URL/api/v1/alerts" |
    jq -r --arg a "$1" --arg r "$2" '.data.alerts[] | select(.labels.alertname == $a and .labels.rack == $r) | .state'
}
firing() { [[ $(alert_states "$1" "$2") == *firing* ]]; }
quiet() { [[ -z $(alert_states "$1" "$2") ]]; }
