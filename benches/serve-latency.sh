#!/usr/bin/env bash
# Registry push → commit pushed, through the real distribution registry's
# notifications and `kedge serve` (release build), over 50 pushes, each waited
# for before the next. Prints p50/p99 of the time from skopeo's exit (the
# manifest PUT that makes the registry notify) to the commit on main.
set -euo pipefail
cd "$(dirname "$0")/.."

pushes=${PUSHES:-50}
debounce=${DEBOUNCE:-50ms}
cargo build --quiet --release --locked -p kedge-cli -p kedge-testkit --bin kedge --bin oci-sample
bin=$PWD/target/release
source scripts/lib.sh
now_ms() { date +%s%3N; }

kport=$(free_port 8800)
rport=$(free_port 5700)
start_registry "$rport" "notifications:
  endpoints:
    - name: kedge
      url: http://127.0.0.1:$kport/webhooks/registry/local
      headers: {Authorization: [Bearer bench]}
      timeout: 2s
      threshold: 1
      backoff: 100ms"
image=127.0.0.1:$rport/bench/web

mkdir -p "$work/seed/apps/web"
printf 'spec:\n  containers:\n    - name: web\n      image: %s:1.0.0\n' "$image" >"$work/seed/apps/web/deploy.yaml"
git -C "$work/seed" init --quiet -b main
git -C "$work/seed" add -A
git -C "$work/seed" -c user.name=b -c user.email=b@example.com commit --quiet -m seed
git init --quiet --bare -b main "$work/manifests.git"
git -C "$work/seed" push --quiet "$work/manifests.git" main
printf 'Bearer bench' >"$work/secret"
cat >"$work/kedge.yaml" <<YAML
git: {url: "file://$work/manifests.git"}
registries: [{prefix: "127.0.0.1:$rport", insecure: true}]
images: [{alias: web, image: "$image", targets: [apps/web], pollInterval: 0s}]
serve:
  debounce: $debounce
  receivers:
    - {name: local, source: distribution, auth: {type: header, header: Authorization, secretFile: "$work/secret"}}
YAML

# Images 1.0.0 … 1.$pushes.0 in one layout; pushing one is a few small blobs and a manifest.
mkdir -p "$work/layout"
"$bin/oci-sample" "$work/layout" >/dev/null   # creates the layout files
skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$work/layout:1.0.0" "docker://$image:1.0.0"
"$bin/kedge" serve --config "$work/kedge.yaml" --listen "127.0.0.1:$kport" --cache-dir "$work/cache" 2>"$work/kedge.log" &
pids+=($!)
wait_port "$kport"
sleep 1

# Each new tag is the 1.0.0 image under a new name: the notification, not the
# blob upload, is what is being timed.
latencies=()
for i in $(seq 1 "$pushes"); do
  tag="1.$i.0"
  skopeo copy --quiet --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
    "docker://$image:1.0.0" "docker://$image:$tag"
  start=$(now_ms)
  until git -C "$work/manifests.git" show main:apps/web/deploy.yaml | grep -q ":$tag\$"; do sleep 0.002; done
  latencies+=($(($(now_ms) - start)))
done
sorted=$(printf '%s\n' "${latencies[@]}" | sort -n)
p() { echo "$sorted" | awk -v q="$1" '{a[NR]=$1} END {i=int((NR*q)+0.999); if (i<1) i=1; print a[i]}'; }
echo "pushes: $pushes, debounce: $debounce"
echo "push -> commit ms: min $(p 0.0001) p50 $(p 0.5) p90 $(p 0.9) p99 $(p 0.99) max $(p 1)"
echo "kedge RSS (VmHWM): $(grep VmHWM /proc/${pids[1]}/status | awk '{print $2, $3}')"
