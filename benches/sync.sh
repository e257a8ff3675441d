#!/usr/bin/env bash
# `kedge sync` beside `kubectl apply --server-side` on the same 1,000 objects
# (500 ConfigMaps, 300 Services, 200 Deployments, one file each), against the
# real test bed (tests/kube), release build, every command timed in the same run:
#   first apply   kedge sync --create-namespace | kubectl apply --server-side
#                 | the same with --validate=false (each into its own namespace)
#   no-op         kedge sync again | kubectl re-apply | kubectl diff --server-side
#   self-heal     kedge sync --watch running; kubectl deletes one Deployment;
#                 time from the watch's DELETED event to its ADDED event
# Write requests are counted by the API server itself: the growth of
# apiserver_request_total (from /metrics) for configmaps, services and
# deployments, by verb, around each no-op command.
#
# There is no kubelet, so the Deployments have `replicas: 0`: the real
# deployment controller still has to observe each one before kedge's health
# wait (included in kedge's time) calls it Healthy; kubectl does not wait.
# kedge is therefore also timed with `--timeout 0s` (apply only; it exits 1
# because the Deployments are not yet observed), into a namespace of its own.
#
# Usage: benches/sync.sh            (RUNS=3, HEALS=5 by default)
# Needs GNU time (/usr/bin/time), and Go (the test bed, helm) and python3
# (the kubectl wheel) unless BENCH_KUBECONFIG names a running test bed's kubeconfig (kubectl on PATH);
# KEDGE names a built kedge (else `cargo build --release -p kedge-cli`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

runs=${RUNS:-3}
heals=${HEALS:-5}
if [ -z "${KEDGE:-}" ]; then cargo build --release -q -p kedge-cli; fi
kedge=${KEDGE:-${CARGO_TARGET_DIR:-$PWD/target}/release/kedge}
if [ -n "${BENCH_KUBECONFIG:-}" ]; then
  export KUBECONFIG=$BENCH_KUBECONFIG
else
  testbed_tools
  testbed_start
fi
now_ms() { date +%s%3N; }

# The 1,000 objects, without a namespace (each tool is given one).
python3 - "$work/objects" <<'PY'
import os, sys
root = sys.argv[1]
os.makedirs(root)
def write(name, text):
    with open(os.path.join(root, name), "w") as f:
        f.write(text)
for i in range(500):
    write(f"cm-{i:03}.yaml", f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{i}
  labels: {{app: bench, shard: s{i % 10}}}
data:
  index: "{i}"
  settings.yaml: |
    name: cm-{i}
    replicas: {i % 7}
    endpoints: [a-{i}.example.com, b-{i}.example.com]
""")
for i in range(300):
    write(f"svc-{i:03}.yaml", f"""apiVersion: v1
kind: Service
metadata:
  name: svc-{i}
  labels: {{app: bench}}
spec:
  selector: {{app: web-{i % 200}}}
  ports:
    - {{name: http, port: 80, targetPort: 8080}}
""")
for i in range(200):
    write(f"deploy-{i:03}.yaml", f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{i}
  labels: {{app: web-{i}}}
spec:
  replicas: 0
  selector:
    matchLabels: {{app: web-{i}}}
  template:
    metadata:
      labels: {{app: web-{i}}}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.{i}.0
          ports: [{{containerPort: 8080}}]
          resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
""")
PY

# request_counts: "VERB N" lines of apiserver_request_total for the three kinds,
# every verb that writes (APPLY is a server-side apply PATCH).
request_counts() {
  kubectl get --raw /metrics | awk '
    /^apiserver_request_total\{/ && /resource="(configmaps|services|deployments)"/ && /subresource=""/ {
      match($0, /verb="[A-Z]+"/); verb = substr($0, RSTART + 6, RLENGTH - 7)
      if ($0 ~ /dry_run="All"/) verb = verb "-dry-run"
      n[verb] += $NF }
    END { for (v in n) print v, n[v] }' | sort
}
# requests_between BEFORE AFTER: "writes W (APPLY a, ...), reads R".
requests_between() {
  join -a2 -e0 -o 0,1.2,2.2 <(echo "$1") <(echo "$2") | awk '
    { d = $3 - $2; if (d == 0) next
      if ($1 ~ /^(GET|LIST|WATCH)$/) reads += d
      else if ($1 ~ /-dry-run$/) dry += d
      else { writes += d; w = w sep $1 " " d; sep = ", " } }
    END { printf "writes %d%s, dry-run writes %d, reads %d\n", writes, (w ? " (" w ")" : ""), dry, reads }'
}

# controller_idle: until the deployment controller has observed every
# Deployment (an earlier run's are still queued behind its request rate limit).
controller_idle() {
  until kubectl get deployments -A -o jsonpath='{range .items[*]}{.metadata.generation} {.status.observedGeneration}{"\n"}{end}' |
    awk '$1 != $2 { n++ } END { exit n > 0 }'; do sleep 1; done
}

# timed LABEL CMD...: runs CMD, appends "LABEL ms exit" to $work/times.
timed() {
  local label=$1 start rc=0
  shift
  start=$(now_ms)
  "$@" >"$work/out.txt" 2>&1 || rc=$?
  echo "$label $(($(now_ms) - start)) $rc" >>"$work/times"
  if [ "$rc" -ne 0 ] && [ "$label" != kubectl-diff ] && [ "$label" != kedge-first-no-wait ]; then
    echo "$label exited $rc:" >&2
    tail -5 "$work/out.txt" >&2
  fi
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) ($(nproc) cores), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kedge: $kedge ($("$kedge" --version)); kubectl $(kubectl version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])'); $runs runs"
: >"$work/times"
: >"$work/kedge-cpu"
for run in $(seq "$runs"); do
  ns=bench-$run-$$
  kubectl create namespace "$ns-kubectl" >/dev/null
  kubectl create namespace "$ns-novalidate" >/dev/null
  controller_idle
  timed kedge-first "$kedge" sync "$work/objects" --app "$ns" --namespace "$ns" --create-namespace --timeout 5m
  timed kedge-first-no-wait /usr/bin/time -a -o "$work/kedge-cpu" -f "%U %S" "$kedge" sync "$work/objects" --app "$ns-nowait" --namespace "$ns-nowait" --create-namespace --timeout 0s
  timed kubectl-first kubectl apply --server-side -n "$ns-kubectl" -f "$work/objects"
  timed kubectl-novalidate-first kubectl apply --server-side --validate=false -n "$ns-novalidate" -f "$work/objects"
  before=$(request_counts)
  timed kedge-noop "$kedge" sync "$work/objects" --app "$ns" --namespace "$ns" --create-namespace --timeout 5m
  after=$(request_counts)
  echo "run $run, kedge no-op: $(requests_between "$before" "$after")"
  before=$after
  timed kubectl-reapply kubectl apply --server-side -n "$ns-kubectl" -f "$work/objects"
  after=$(request_counts)
  echo "run $run, kubectl re-apply: $(requests_between "$before" "$after")"
  before=$after
  timed kubectl-diff kubectl diff --server-side -n "$ns-kubectl" -f "$work/objects"
  after=$(request_counts)
  echo "run $run, kubectl diff --server-side: $(requests_between "$before" "$after") (exit $(tail -1 "$work/times" | cut -d' ' -f3))"
done

echo "kedge's own CPU in the first applies without health wait (user+sys s): $(awk '/^[0-9.]+ [0-9.]+$/ { printf "%s%.2f", sep, $1 + $2; sep = ", " }' "$work/kedge-cpu")"
echo
echo "| command | min ms | median ms | max ms | exit |"
echo "|---|---|---|---|---|"
for label in kedge-first kedge-first-no-wait kubectl-first kubectl-novalidate-first kedge-noop kubectl-reapply kubectl-diff; do
  grep "^$label " "$work/times" | sort -n -k2 | awk -v l="$label" '
    { v[NR] = $2; rc[$3] = 1 } END { codes = ""; for (c in rc) codes = codes c " "
      printf "| %s | %d | %d | %d | %s|\n", l, v[1], v[int((NR + 1) / 2)], v[NR], codes }'
done

# Self-heal: the last run's app, kept by `kedge sync --watch`. A watch on
# the Deployments stamps each event; deletions are one at a time.
ns=bench-$runs-$$
"$kedge" sync "$work/objects" --app "$ns" --namespace "$ns" --watch --timeout 5m 2>"$work/watch.log" >/dev/null &
pids+=($!)
for _ in $(seq 600); do grep -q "watching app" "$work/watch.log" && break; sleep 0.2; done
grep -q "watching app" "$work/watch.log" || { echo "kedge sync --watch did not start:" >&2; cat "$work/watch.log" >&2; exit 1; }
kubectl get deployments -n "$ns" --watch-only --output-watch-events \
  -o custom-columns=EVENT:.type,NAME:.object.metadata.name,UID:.object.metadata.uid --no-headers |
  while read -r event name _; do echo "$(now_ms) $event $name"; done >"$work/events" &
pids+=($!)
sleep 2
for i in $(seq 0 $((heals - 1))); do
  kubectl delete deployment "web-$i" -n "$ns" --wait=false >/dev/null
  for _ in $(seq 100); do grep -q "ADDED web-$i\$" "$work/events" && break; sleep 0.1; done
done
sleep 1
echo
awk '$2 == "DELETED" { d[$3] = $1 } $2 == "ADDED" && ($3 in d) { print $3, $1 - d[$3] }' "$work/events" |
  sort -n -k2 | awk -v n="$heals" '{ v[NR] = $2 } END {
    if (NR < n) printf "self-heal: only %d of %d deleted Deployments came back within 10 s\n", NR, n
    printf "self-heal, DELETED -> ADDED (ms, %d deletions): min %d median %d max %d\n", NR, v[1], v[int((NR + 1) / 2)], v[NR] }'

for run in $(seq "$runs"); do
  kubectl delete namespace "bench-$run-$$" "bench-$run-$$-nowait" "bench-$run-$$-kubectl" "bench-$run-$$-novalidate" --wait=false >/dev/null
done
