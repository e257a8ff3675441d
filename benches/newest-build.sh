#!/usr/bin/env bash
# `kedge tags --strategy newest-build` on 200 tags, each a different image
# (its own config with its own build time), in the local distribution
# registry (plain HTTP, loopback), release build, default settings; beside
# what a script would do without kedge: `skopeo inspect --config` of every
# tag, then the newest. Both print the same tag. Time per run, RUNS runs.
# Usage: benches/newest-build.sh [TAGS]   (needs docker-registry, skopeo, curl, jq)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

tags=${1:-200}
runs=${RUNS:-5}
if [ -z "${KEDGE:-}" ]; then cargo build --release -q -p kedge-cli; fi
kedge=${KEDGE:-$PWD/target/release/kedge}

port=$(free_port 5400)
start_registry "$port"
registry=127.0.0.1:$port
repo=bench/builds

# Tag 1.N.0 is built N minutes after midnight: the newest build is the last.
push_image() { # TAG MINUTE
  local created manifest
  created=$(printf '2026-01-01T%02d:%02d:00Z' $(($2 / 60)) $(($2 % 60)))
  manifest=$(config_image "$registry" "$repo" "$created")
  put_manifest "$manifest" "http://$registry/v2/$repo/manifests/$1"
}
for i in $(seq 0 $((tags - 1))); do push_image "1.$i.0" "$i"; done

now_ms() { date +%s%3N; }
# skopeo_newest: every tag's build time by `skopeo inspect --config`, newest first.
skopeo_newest() {
  skopeo list-tags --tls-verify=false "docker://$registry/$repo" | jq -r '.Tags[]' |
    while read -r tag; do
      printf '%s %s\n' "$(skopeo inspect --config --tls-verify=false "docker://$registry/$repo:$tag" | jq -r .created)" "$tag"
    done | sort -r | head -1 | cut -d' ' -f2
}
echo "CPU: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg); $tags tags, $runs runs each"
for run in $(seq "$runs"); do
  start=$(now_ms)
  chosen=$("$kedge" tags "$registry/$repo" --insecure --strategy newest-build -o json | jq -r .tag)
  kedge_ms=$(($(now_ms) - start))
  start=$(now_ms)
  expected=$(skopeo_newest)
  skopeo_ms=$(($(now_ms) - start))
  [ "$chosen" = "$expected" ] || { echo "kedge chose $chosen, skopeo's newest is $expected" >&2; exit 1; }
  echo "run $run: kedge $kedge_ms ms, skopeo inspect of every tag $skopeo_ms ms, both $chosen"
done
