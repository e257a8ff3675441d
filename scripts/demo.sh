#!/usr/bin/env bash
# kedge's main job end to end on local real parts, offline:
#   1. the CNCF distribution registry on loopback, sample images pushed by skopeo
#   2. `kedge tags` choosing tags with a few policies
#   3. a manifest repository served by `git daemon`; `kedge update` bumps it
#      and pushes a commit (the diff is shown)
#   4. a newer image, and `kedge update` in pull-request mode against a local
#      server answering GitHub's REST API (the pull request is shown)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --quiet --locked -p kedge-cli -p kedge-testkit --bin kedge --bin oci-sample
cargo build --quiet --locked -p kedge-forge --features test-server --example test-github
bin=$PWD/target/debug
kedge=$bin/kedge

source scripts/lib.sh
step() { echo; echo "== $*"; }
run() { echo; echo "\$ kedge $*"; "$kedge" "$@" || echo "(exit $?)"; }

step "1. registry and images"
port=$(free_port 5500)
start_registry "$port"
image=127.0.0.1:$port/demo/web
push() {
  skopeo copy --quiet --all --preserve-digests --dest-tls-verify=false \
    "oci:$work/layout:$1" "docker://$image:$1"
  echo "   pushed $image:$1"
}
tags=$("$bin/oci-sample" "$work/layout")
for tag in 1.0.0 1.1.0; do push "$tag"; done

step "2. kedge tags"
run tags "$image" --insecure --constraint '^1.0'
run tags "$image" --insecure --constraint '^1.0' -o json
run tags "$image" --insecure --constraint '^3.0'

step "3. kedge update: push mode against git daemon"
git_port=$(free_port 9400)
mkdir -p "$work/git" "$work/seed/apps/web"
git init --quiet --bare -b main "$work/git/manifests.git"
cat >"$work/seed/apps/web/deployment.yaml" <<YAML
# The storefront. kedge keeps its image current; everything else is by hand.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: "$image:1.0.0" # bumped by kedge
          ports:
            - containerPort: 8080
YAML
git -C "$work/seed" init --quiet -b main
git -C "$work/seed" add -A
git -C "$work/seed" -c user.name=demo -c user.email=demo@example.com commit --quiet -m "Initial manifests"
git -C "$work/seed" push --quiet "$work/git/manifests.git" main
git daemon --reuseaddr --export-all --enable=receive-pack --listen=127.0.0.1 \
  --port="$git_port" --base-path="$work/git" "$work/git" 2>"$work/git-daemon.log" &
pids+=($!)
wait_port "$git_port"
cat >"$work/kedge.yaml" <<YAML
git:
  url: git://127.0.0.1:$git_port/manifests.git
  author: {name: kedge, email: kedge@example.com}
registries:
  - prefix: 127.0.0.1:$port
    insecure: true
images:
  - alias: web
    image: $image
    policy: {strategy: semver, constraint: "^1.0"}
    targets: [apps/web]
YAML
export KEDGE_CACHE_DIR=$work/cache
run update --config "$work/kedge.yaml"
echo; echo "\$ git log -p -1 main   # in the manifest repository"
git -C "$work/git/manifests.git" log -p -1 --format='commit %H%nAuthor: %an <%ae>%n%n    %s%n' main
run update --config "$work/kedge.yaml"

step "4. kedge update: pull-request mode against a local GitHub"
push 1.2.0
github_port=$(free_port 8700)
"$bin/examples/test-github" "127.0.0.1:$github_port" org/manifests demo-token >"$work/github.log" 2>&1 &
pids+=($!)
wait_port "$github_port"
api=http://127.0.0.1:$github_port
echo demo-token >"$work/github.token"
cat >>"$work/kedge.yaml" <<YAML
writeBack:
  mode: pull-request
  pullRequest: {labels: [dependencies]}
forge:
  github: {apiUrl: "$api", owner: org, repo: manifests, tokenFile: $work/github.token}
YAML
run update --config "$work/kedge.yaml"
echo; echo "\$ curl $api/repos/org/manifests/pulls"
curl -s -H "Authorization: Bearer demo-token" "$api/repos/org/manifests/pulls" |
  grep -o '"html_url":"[^"]*/pull/[0-9]*"\|"title":"[^"]*"\|"state":"[^"]*"\|"ref":"kedge/[^"]*"\|"name":"dependencies"' |
  sed 's/^/   /' 
echo; echo "\$ git diff main kedge/web"
git -C "$work/git/manifests.git" diff main kedge/web
echo; echo "demo done: all of it ran on this machine, nothing left running."
