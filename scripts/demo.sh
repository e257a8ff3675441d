#!/usr/bin/env bash
# kedge's main job on local real parts: start the CNCF distribution registry on
# loopback, push sample images with skopeo, and let `kedge tags` choose tags.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --quiet --locked -p kedge-cli -p kedge-testkit --bin kedge --bin oci-sample
kedge=target/debug/kedge

work=$(mktemp -d)
port=""
for p in $(seq 5500 5599); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[[ -n $port ]] || { echo "no free port in 5500-5599" >&2; exit 1; }
cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/data}}
http: {addr: 127.0.0.1:$port}
YAML
docker-registry serve "$work/registry.yml" 2>"$work/registry.log" &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null; rm -rf "$work"' EXIT
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done

image=127.0.0.1:$port/demo/web
echo "== pushing sample images to $image with skopeo"
for tag in $(target/debug/oci-sample "$work/layout"); do
  skopeo copy --quiet --all --preserve-digests --dest-tls-verify=false \
    "oci:$work/layout:$tag" "docker://$image:$tag"
  echo "   pushed $tag"
done

run() { echo; echo "\$ kedge $*"; "$kedge" "$@" || echo "(exit $?)"; }
run tags "$image" --insecure --constraint '^1.0'
run tags "$image" --insecure --constraint '>=1.0 <3' -o json
run tags "$image" --insecure --constraint '^1.0' --prereleases
run tags "$image" --insecure --strategy newest-build
run tags "$image" --insecure --constraint '^1.0' --platform linux/arm64
run tags "$image" --insecure --strategy alphabetical --allow '^main-' 
run tags "$image" --insecure --constraint '^3.0'
