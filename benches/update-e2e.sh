#!/usr/bin/env bash
# Times `kedge update` from start to pushed commit for one image on a
# 1,000-file manifest repository served by git daemon, with a warm cache
# (the working clone kept between runs) and a cold one (cloned every run), beside
# the shell steps a pipeline would otherwise run for the same change (skopeo
# list-tags, git clone or fetch, grep | sed, git commit, git push) in the same
# hyperfine run.
# Needs hyperfine and jq (Debian packages) besides what scripts/install-deps.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --release --locked -p kedge-cli -p kedge-testkit --bin kedge --bin oci-sample
bin=$PWD/target/release
source scripts/lib.sh

port=$(free_port 5600)
start_registry "$port"
image=127.0.0.1:$port/bench/web
"$bin/oci-sample" "$work/layout" >/dev/null
for tag in 1.0.0 1.1.0; do
  skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$work/layout:$tag" "docker://$image:$tag"
done

# 1,000 manifests in 100 directories; one of them runs the image.
seed=$work/seed
for d in $(seq -w 0 99); do
  mkdir -p "$seed/apps/svc-$d"
  for f in $(seq -w 0 9); do
    cat >"$seed/apps/svc-$d/deploy-$f.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-$d-$f # team $d
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example/team/svc-$d-$f:2.$f.0
YAML
  done
done
sed -i "s|registry.example/team/svc-42-7:2.7.0|$image:1.0.0|" "$seed/apps/svc-42/deploy-7.yaml"
git -C "$seed" init --quiet -b main
git -C "$seed" add -A
git -C "$seed" -c user.name=b -c user.email=b@example.com commit --quiet -m seed
git init --quiet --bare -b main "$work/git/manifests.git"
git -C "$seed" push --quiet "$work/git/manifests.git" main
start=$(git -C "$work/git/manifests.git" rev-parse main)
git_port=$(free_port 9500)
git daemon --reuseaddr --export-all --enable=receive-pack --listen=127.0.0.1 --port="$git_port" \
  --base-path="$work/git" "$work/git" 2>/dev/null &
pids+=($!)
wait_port "$git_port"
cat >"$work/kedge.yaml" <<YAML
git: {url: "git://127.0.0.1:$git_port/manifests.git"}
registries: [{prefix: "127.0.0.1:$port", insecure: true}]
images:
  - {alias: web, image: "$image", policy: {constraint: "^1.0"}, targets: [apps]}
YAML
reset="git -C $work/git/manifests.git update-ref refs/heads/main $start"
update="$bin/kedge update --config $work/kedge.yaml --cache-dir $work/cache"
$reset && $update >/dev/null   # fill the warm cache once
# The same change by hand: newest 1.x tag, rewrite every reference, commit, push.
cat >"$work/by-hand.sh" <<SH
#!/bin/sh
set -eu
clone=$work/by-hand
tag=\$(skopeo list-tags --tls-verify=false docker://$image | jq -r '.Tags[]' |
  grep -E '^1\.[0-9]+\.[0-9]+\$' | sort -V | tail -n 1)
if [ -d "\$clone" ]; then
  git -C "\$clone" fetch --quiet origin main && git -C "\$clone" reset --quiet --hard origin/main
else
  git clone --quiet --branch main git://127.0.0.1:$git_port/manifests.git "\$clone"
fi
grep -rlF "$image:" "\$clone/apps" | xargs -r sed -i "s|$image:[^\"' ]*|$image:\$tag|"
git -C "\$clone" -c user.name=b -c user.email=b@example.com commit --quiet -am "web: \$tag"
git -C "\$clone" push --quiet origin main
SH
chmod +x "$work/by-hand.sh"
$reset && "$work/by-hand.sh"   # fill the warm clone once
git -C "$work/git/manifests.git" show --stat main | grep -q 'svc-42/deploy-7.yaml' ||
  { echo "the by-hand steps did not push the change" >&2; exit 1; }
hyperfine --warmup 2 --runs 20 -N --export-json "$work/update.json" \
  --prepare "$reset" -n "kedge, warm cache (fetch)" "$update" \
  --prepare "$reset" -n "by hand, warm clone (fetch)" "$work/by-hand.sh" \
  --prepare "sh -c '$reset && rm -rf $work/cache'" -n "kedge, cold (clone every run)" "$update" \
  --prepare "sh -c '$reset && rm -rf $work/by-hand'" -n "by hand, cold (clone every run)" "$work/by-hand.sh"
python3 - "$work/update.json" <<'PY'
import json, sys
print("| run | min | median | max |\n|---|---|---|---|")
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"| {r['command']} | {r['min']*1000:.0f} ms | {r['median']*1000:.0f} ms | {r['max']*1000:.0f} ms |")
PY
