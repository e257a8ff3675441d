#!/usr/bin/env bash
# `kedge tags` beside `skopeo list-tags` on one repository of 2,000 tags in the
# local distribution registry (plain HTTP, loopback), release build, hyperfine.
# Usage: benches/tags-startup.sh [TAGS]   (needs docker-registry, skopeo, curl, hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

tags=${1:-2000}
if [ -z "${KEDGE:-}" ]; then cargo build --release -q -p kedge-cli; fi
kedge=${KEDGE:-$PWD/target/release/kedge}

port=$(free_port 5300)
start_registry "$port"
registry=127.0.0.1:$port
repo=bench/app

# One small image (a config blob, no layers), pushed with curl, then TAGS tags
# pointing at it: a tag is one PUT of the same manifest.
manifest=$(config_image "$registry" "$repo" 2026-01-01T00:00:00Z)
for i in $(seq 0 $((tags - 1))); do
  printf 'url = "http://%s/v2/%s/manifests/1.%d.0"\n' "$registry" "$repo" "$i"
done >"$work/urls"
put_manifest "$manifest" -K "$work/urls"

echo "registry $registry, $repo: $("$kedge" tags "$registry/$repo" --insecure -o json | grep -o '"seen": [0-9]*')"
hyperfine --warmup 5 --runs "${RUNS:-30}" -N \
  --export-json "$work/result.json" \
  "skopeo list-tags --tls-verify=false docker://$registry/$repo" \
  "$kedge tags $registry/$repo --insecure"
python3 - "$work/result.json" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = sorted(x * 1000 for x in r["times"])
    print(f"{r['command'].split()[0].rsplit('/', 1)[-1]:8} min {t[0]:6.1f} ms  median {statistics.median(t):6.1f} ms  max {t[-1]:6.1f} ms  ({len(t)} runs)")
PY
