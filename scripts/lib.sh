# Shared by scripts/demo.sh and benches/*.sh: a work directory and background
# servers that are cleaned up on exit, free loopback ports, and the registry.
# Source it; it sets $work and $pids.

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
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
