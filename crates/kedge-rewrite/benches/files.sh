#!/usr/bin/env bash
# `kedge set-image` beside `sed -i` on the same generated files, in the same run: wall, user and
# system time and peak RSS from `/usr/bin/time -v`, for 1,000, 10,000 and 100,000 manifests
# (one image changed in each), then one file of 5 MB and one of 50 MB (one Pod per document).
#
# Needs a release build (`cargo build --release -p kedge-cli`) and GNU time (`/usr/bin/time`).
# Usage: benches/files.sh [COUNTS...]   (default: 1000 10000 100000; `big`: only the single files)
# Environment: RUNS (runs per tool and size, default 3), NOFILE (open-file limit the runs get,
# default 1024), BIG (set to 0 to skip the single-file cases), SETTLE (seconds to wait after
# `sync` before each run, default 10), KEDGE_BIN.
#
# Every run gets its own copy of the tree, made before the round starts; before each run the
# filesystem is synced and left alone for SETTLE seconds, and the tools take turns (the order
# rotates each round). Without that pause, on ext4 without a journal (this machine's root), a
# run that follows many deletions (the previous run's tree, or the other tool's renames) pays for
# them: the inode allocator skips inodes freed in the last seconds, reading their inode table
# block each time (`recently_deleted` was 40-60 % of kedge's samples under `perf record`), which
# made either tool 2-3x slower depending on what ran just before it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
kedge="${KEDGE_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/kedge}"
runs="${RUNS:-3}"
nofile="${NOFILE:-1024}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ "${1:-}" = big ]; then counts=(); elif [ $# -gt 0 ]; then counts=("$@"); else counts=(1000 10000 100000); fi

old=quay.io/brancz/kube-rbac-proxy:v0.22.1
new=quay.io/brancz/kube-rbac-proxy:v9.9.9

# N manifests, 1,000 per directory, each with the image to change and one other.
generate() {
  python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"team-{i // 1000}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"svc-{i}.yaml"), "w") as f:
        f.write(f"""# service {i}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
spec:
  template:
    spec:
      containers:
      - name: app
        image: registry.example.com/app/svc-{i}:1.{i}.0
        resources: {{limits: {{cpu: 500m, memory: 256Mi}}}}
      - name: proxy
        image: "quay.io/brancz/kube-rbac-proxy:v0.22.1" # sidecar
""")
PY
}

# One file of N documents (about 142 bytes each).
generate_big() {
  python3 - "$1" "$2" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(n):
        f.write(f"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{i}\n  labels: {{app: a{i}}}\nspec:\n  containers:\n  - name: c\n    image: quay.io/brancz/kube-rbac-proxy:v0.22.1 # web\n")
PY
}

# Runs "$@" under the open-file limit, prints "wall user sys maxrss_kb exit".
measure() {
  local out="$work/time.txt" rc=0
  sh -c "ulimit -n $nofile && exec /usr/bin/time -v \"\$@\" >/dev/null 2>$out" sh "$@" || rc=$?
  awk -v rc="$rc" '
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
    /User time/ { user = $NF } /System time/ { sys = $NF } /Maximum resident/ { rss = $NF }
    END { printf "%.2f %.2f %.2f %d %d\n", wall, user, sys, rss, rc }' "$out"
}

# min/median/max of column $2 over lines of file $1.
stats() {
  sort -g -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { printf "%s/%s/%s", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) ($(nproc) cores), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kedge: $kedge ($("$kedge" --version)); $(sed --version | head -1); ulimit -n $nofile; $runs runs each"
echo "| files | tool | wall s (min/median/max) | user s | sys s | max RSS MB | changed | exit |"
echo "|---|---|---|---|---|---|---|---|"
tools=(sed kedge kedge-dry-run)
settle="${SETTLE:-10}"

# One measured run of tool $1 on tree $2, appended to $work/$1.txt.
run_tool() {
  case $1 in
    sed) measure sh -c "find '$2' -name '*.yaml' -print0 | xargs -0 sed -i 's|$old|$new|'" ;;
    kedge) measure "$kedge" set-image "$2" "quay.io/brancz/kube-rbac-proxy=$new" ;;
    kedge-dry-run) measure "$kedge" set-image --dry-run "$2" "quay.io/brancz/kube-rbac-proxy=$new" ;;
  esac >> "$work/$1.txt"
}

for n in "${counts[@]+"${counts[@]}"}"; do
  generate "$work/orig" "$n"
  for tool in "${tools[@]}"; do : > "$work/$tool.txt"; done
  for round in $(seq "$runs"); do
    rm -rf "$work"/tree-*
    for tool in "${tools[@]}"; do cp -a "$work/orig" "$work/tree-$tool"; done
    # Rotate the order: each tool runs first, second and third in turn.
    offset=$(( (round - 1) % ${#tools[@]} ))
    for k in "${!tools[@]}"; do
      tool=${tools[$(( (k + offset) % ${#tools[@]} ))]}
      sync && sleep "$settle"
      run_tool "$tool" "$work/tree-$tool"
    done
  done
  for tool in "${tools[@]}"; do
    changed=$( (grep -rl "kube-rbac-proxy:v9.9.9" "$work/tree-$tool" || true) | wc -l)
    rss=$(stats "$work/$tool.txt" 4 | awk -F/ '{ printf "%.1f", $3 / 1024 }')
    echo "| $n | $tool | $(stats "$work/$tool.txt" 1) | $(stats "$work/$tool.txt" 2) | $(stats "$work/$tool.txt" 3) | $rss (max) | $changed | $(cut -d' ' -f5 "$work/$tool.txt" | sort -u | xargs) |"
  done
  echo "load after $n files: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  rm -rf "$work/orig" "$work"/tree-*
done

[ "${BIG:-1}" = 0 ] && exit 0
echo
echo "| file | tool | wall s (min/median/max) | user s | sys s | max RSS MB | exit |"
echo "|---|---|---|---|---|---|---|"
for docs in 34267 342672; do
  generate_big "$work/big.orig.yaml" "$docs"
  size=$(du -m "$work/big.orig.yaml" | cut -f1)
  for tool in sed kedge; do
    : > "$work/$tool.txt"
    for _ in $(seq "$runs"); do
      cp "$work/big.orig.yaml" "$work/big.yaml"
      case $tool in
        sed) measure sed -i "s|$old|$new|" "$work/big.yaml" >> "$work/$tool.txt" ;;
        kedge) measure "$kedge" set-image "$work/big.yaml" "quay.io/brancz/kube-rbac-proxy=$new" >> "$work/$tool.txt" ;;
      esac
    done
    rss=$(stats "$work/$tool.txt" 4 | awk -F/ '{ printf "%.1f", $3 / 1024 }')
    echo "| ${size} MB, $docs documents | $tool | $(stats "$work/$tool.txt" 1) | $(stats "$work/$tool.txt" 2) | $(stats "$work/$tool.txt" 3) | $rss (max) | $(cut -d' ' -f5 "$work/$tool.txt" | sort -u | xargs) |"
  done
done
