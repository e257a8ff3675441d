#!/usr/bin/env bash
# Compares `kedge set-image` with Python yq (jq wrapper) and yaqpy on the same files:
# one image (quay.io/brancz/kube-rbac-proxy) rewritten across the kube-prometheus corpus and a
# generated repository of 10,000 manifests. Needs: `pip install yq yaqpy`, Debian `jq` and
# `hyperfine`, and a release build: `cargo build --release -p kedge-cli`.
# Usage: benches/compare.sh [SAMPLE]   (SAMPLE: files per tool for the per-file loops, default 100)
# Environment: SETS (default "kp gen"), LOOP_RUNS (runs of each per-file loop, default 1), KEDGE_BIN.
# Besides the per-file loops, yq also runs once over the same files (`yq1`: one process).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
fixtures="${KEDGE_FIXTURES:-$root/../shared/fixtures}"
kedge="${KEDGE_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/kedge}"
sample="${1:-100}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

name=quay.io/brancz/kube-rbac-proxy
new=quay.io/brancz/kube-rbac-proxy:v9.9.9
jq_expr='(.. | objects | select(has("image")) | .image | select(type == "string" and startswith("quay.io/brancz/kube-rbac-proxy:"))) |= "quay.io/brancz/kube-rbac-proxy:v9.9.9"'
yaq_expr='(.. | select(tag == "!!map" and has("image")) | .image | select(test("^quay.io/brancz/kube-rbac-proxy:"))) = "quay.io/brancz/kube-rbac-proxy:v9.9.9"'

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) ($(nproc) cores)"
echo "kedge: $kedge; $(yq --version 2>&1); jq $(jq --version); yaqpy $(yaqpy --version 2>&1 | tail -1)"

# Corpora.
mkdir -p "$work/kp" "$work/gen"
cp -r "$fixtures/manifests/prometheus-operator__kube-prometheus/manifests" "$work/kp/"
# The shared fixtures are read-only, which kedge (rightly) refuses to replace.
chmod -R u+w "$work/kp"
python3 - "$work/gen" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(10000):
    t = i % 17
    d = os.path.join(root, "apps", f"team-{t}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"svc-{i}.yaml"), "w") as f:
        f.write(f"""# service {i}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  labels:
    app: svc-{i} # owner: team-{t}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: svc-{i}
  template:
    metadata:
      labels:
        app: svc-{i}
    spec:
      containers:
      - name: app
        image: registry.example.com/team-{t}/svc-{i}:1.{i}.0
        ports:
        - containerPort: 8080
        resources: {{limits: {{cpu: 500m, memory: 256Mi}}}}
      - name: proxy
        image: "quay.io/brancz/kube-rbac-proxy:v0.22.1" # sidecar
        args: ["--secure-listen-address=0.0.0.0:8443"]
""")
PY
cp -r "$work/kp" "$work/kp.orig"; cp -r "$work/gen" "$work/gen.orig"

reset() { rm -rf "$work/$1"; cp -r "$work/$1.orig" "$work/$1"; }
export -f reset; export work

run_tools() { # $1 = kp|gen, $2 = file list for the per-file loops
  local set=$1 list=$2 n
  n=$(wc -l < "$list")
  echo "== $set: kedge on all files, yq/yaqpy per-file loop on $n files"
  hyperfine --shell=bash --warmup 1 --runs 5 --prepare "reset $set" \
    "$kedge set-image $work/$set $name=$new" --export-json "$work/$set.kedge.json" >/dev/null
  reset "$set"; "$kedge" set-image "$work/$set" "$name=$new" >/dev/null; cp -r "$work/$set" "$work/kedge.$set"
  hyperfine --shell=bash --runs "${LOOP_RUNS:-1}" --prepare "reset $set" \
    "while read -r f; do yq -y -i '$jq_expr' \"\$f\"; done < $list" --export-json "$work/$set.yq.json" >/dev/null
  cp -r "$work/$set" "$work/yq.$set"
  hyperfine --shell=bash --runs "${LOOP_RUNS:-1}" --prepare "reset $set" \
    "xargs -a $list yq -y -i '$jq_expr'" --export-json "$work/$set.yq1.json" >/dev/null
  hyperfine --shell=bash --runs "${LOOP_RUNS:-1}" --prepare "reset $set" \
    "while read -r f; do yaqpy -i '$yaq_expr' \"\$f\"; done < $list" --export-json "$work/$set.yaqpy.json" >/dev/null
  cp -r "$work/$set" "$work/yaqpy.$set"
  python3 - "$work" "$set" "$n" <<'PY'
import json, sys, os
work, s, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
total = sum(len(fs) for _, _, fs in os.walk(os.path.join(work, s + ".orig")))
def times(tool):
    r = json.load(open(f"{work}/{s}.{tool}.json"))["results"][0]
    return r["min"], r["median"], r["max"]
def ms(t):
    return "/".join(f"{v*1000:.1f}" for v in t)
k = times("kedge")
print(f"kedge     all {total} files, min/median/max: {ms(k)} ms")
for tool, how in (("yq1", "one process"), ("yq", "loop"), ("yaqpy", "loop")):
    t = times(tool)
    per = t[1] / n
    print(f"{tool:5} {how:11} {n} files: {ms(t)} ms ({per*1000:.1f} ms/file, {per*total:.1f} s extrapolated to {total} files, {per*total/k[1]:.0f}x kedge at the medians)")
PY
  # Stray bytes: lines that differ from the input outside the image value, per tool.
  echo "input: $( (cat $(cat "$list" | sed "s|$work/$set|$work/$set.orig|") || true) | grep -c '#' || true) lines with '#' in the per-file set"
  for tool in kedge yq yaqpy; do
    local changed_files lines comments
    changed_files=$( (diff -rq "$work/$set.orig" "$work/$tool.$set" || true) | wc -l)
    lines=$( (diff -r "$work/$set.orig" "$work/$tool.$set" || true) | grep '^[<>]' | grep -vc 'kube-rbac-proxy:v' || true)
    comments=$( (cat $(cat "$list" | sed "s|$work/$set|$work/$tool.$set|") || true) | grep -c '#' || true)
    echo "$tool: $changed_files files changed, $lines changed lines not holding the image value, $comments lines with '#' left in the per-file set"
  done
}

# SETS="kp gen" by default; set SETS=gen to rerun only the generated repository.
for set in ${SETS:-kp gen}; do
  find "$work/$set" -name '*.yaml' | sort > "$work/$set.all"
  if [ "$set" = gen ]; then
    sed -n "1,${sample}p" "$work/$set.all" > "$work/$set.list"
  else
    cp "$work/$set.all" "$work/$set.list"
  fi
  run_tools "$set" "$work/$set.list"
done
