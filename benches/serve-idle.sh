#!/usr/bin/env bash
# `kedge serve` at rest: a minimal kedge.yaml (one image, polling off, one
# receiver, a `file://` Git remote), release build; after WAIT seconds (5 by
# default) prints VmRSS, VmHWM and the thread count from /proc, RUNS times
# (3 by default), each a fresh process.
# Usage: benches/serve-idle.sh     (KEDGE names a built kedge; else cargo builds one)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

runs=${RUNS:-3}
wait_s=${WAIT:-5}
if [ -z "${KEDGE:-}" ]; then cargo build --release -q -p kedge-cli; fi
kedge=${KEDGE:-${CARGO_TARGET_DIR:-$PWD/target}/release/kedge}

mkdir -p "$work/seed/apps/web"
printf 'spec:\n  containers:\n    - name: web\n      image: 127.0.0.1:5000/bench/web:1.0.0\n' >"$work/seed/apps/web/deploy.yaml"
git -C "$work/seed" init --quiet -b main
git -C "$work/seed" add -A
git -C "$work/seed" -c user.name=b -c user.email=b@example.com commit --quiet -m seed
git init --quiet --bare -b main "$work/manifests.git"
git -C "$work/seed" push --quiet "$work/manifests.git" main
printf 'Bearer bench' >"$work/secret"
cat >"$work/kedge.yaml" <<YAML
git: {url: "file://$work/manifests.git"}
registries: [{prefix: "127.0.0.1:5000", insecure: true}]
images: [{alias: web, image: "127.0.0.1:5000/bench/web", targets: [apps/web], pollInterval: 0s}]
serve:
  receivers:
    - {name: local, source: distribution, auth: {type: header, header: Authorization, secretFile: "$work/secret"}}
YAML

echo "kedge: $kedge ($("$kedge" --version)); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| run | VmRSS | VmHWM | threads |"
echo "|---|---|---|---|"
for run in $(seq "$runs"); do
  port=$(free_port 8900)
  "$kedge" serve --config "$work/kedge.yaml" --listen "127.0.0.1:$port" --cache-dir "$work/cache" 2>"$work/serve.log" &
  pid=$!
  pids+=("$pid")
  wait_port "$port"
  sleep "$wait_s"
  status=/proc/$pid/status
  echo "| $run | $(awk '/^VmRSS/ {print $2, $3}' "$status") | $(awk '/^VmHWM/ {print $2, $3}' "$status") | $(awk '/^Threads/ {print $2}' "$status") |"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done
