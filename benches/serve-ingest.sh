#!/usr/bin/env bash
# Verified GitHub deliveries per second: the shipped `kedge serve` binary beside
# two peers on the same loopback, in the same run (docs/perf-server.md):
#   kedge    `kedge serve` with a GitHub receiver and one tracked repository;
#            each request is verified (HMAC-SHA256), parsed, matched, queued
#   aiohttp  benches/ingest_peer.py, one process doing the same work per request
#   nginx    one process answering 202, discarding the body unread: what loopback
#            HTTP with this body costs on this machine (it cannot verify HMACs)
# Each round starts each server afresh (the order rotates), checks it answers
# 202 to a signed push and 401 to a wrongly signed one, runs wrk against it, and
# reads its peak RSS (VmHWM) and CPU time; the table gives min / median / max.
#
#   KEDGE=target/release/kedge RUNS=3 benches/serve-ingest.sh
# It builds nothing: cargo build --release -p kedge-cli --locked
# Needs wrk, curl, nginx and python3-aiohttp (PYTHON=... picks the interpreter).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
duration=${DURATION:-20s}
connections=${CONNECTIONS:-32}
kedge=${KEDGE:-target/release/kedge}
[[ -x $kedge ]] || { echo "no kedge binary at $kedge (cargo build --release -p kedge-cli --locked)" >&2; exit 1; }
kedge=$(cd "$(dirname "$kedge")" && pwd)/$(basename "$kedge")
for tool in wrk curl nginx python3; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
# The peer's Python: $PYTHON, else the first python3 that has aiohttp (a pyenv
# shim on PATH may hide the system's python3-aiohttp).
for python in ${PYTHON:-python3 /usr/bin/python3}; do
  "$python" -c 'import aiohttp' 2>/dev/null && break
done
"$python" -c 'import aiohttp' 2>/dev/null || { echo "no python3 with aiohttp (apt-get install python3-aiohttp)" >&2; exit 1; }

# The fixtures live beside the checkout (for a worktree, beside the main one).
fixtures=${KEDGE_FIXTURES:-../shared/fixtures}
[[ -d $fixtures ]] || fixtures=$(git rev-parse --path-format=absolute --git-common-dir)/../../shared/fixtures
payload=$fixtures/webhooks/github/octokit__webhooks/payload-examples/api.github.com/push/with-new-branch.payload
[[ -f $payload.json ]] || { echo "no fixture $payload.json (set KEDGE_FIXTURES)" >&2; exit 1; }
payload=$(cd "$(dirname "$payload")" && pwd)/$(basename "$payload")
signature=$(sed -n 's/^X-Hub-Signature-256: //p' "$payload.headers" | tr -d '\r')
secret="It's a Secret to Everybody"   # the fixture's signing secret (see its .headers)
wrk_script=$PWD/crates/kedge-server/examples/wrk-github-push.lua
peer=$PWD/benches/ingest_peer.py
source scripts/lib.sh
clock_ticks=$(getconf CLK_TCK)

# --- The servers ------------------------------------------------------------
# start_NAME PORT starts the server in the background and sets $server.

# kedge tracks Codertocat/Hello-World@master, the payload's repository. The
# key is the remote URL's path, so a file:// URL cannot name it; the remote is
# a bare repository served read-only by `git daemon` on loopback, as
# git://127.0.0.1:PORT/Codertocat/Hello-World.git. The debounce windows are an
# hour long, so no job runs during the load; the one image (kedge.yaml needs
# one) is never polled and no delivery names it.
bare=$work/remote/Codertocat/Hello-World.git
git init --quiet --bare -b master "$bare"
git -C "$bare" -c user.name=b -c user.email=b@example.com \
  commit-tree -m seed "$(git -C "$bare" mktree </dev/null)" | xargs git -C "$bare" update-ref refs/heads/master
git_port=$(free_port 19418)
git daemon --listen=127.0.0.1 --port="$git_port" --base-path="$work/remote" --export-all \
  "$work/remote" 2>"$work/git-daemon.log" &
git_daemon=$!
wait_port "$git_port"
printf '%s' "$secret" >"$work/github-secret"
cat >"$work/kedge.yaml" <<YAML
git: {url: "git://127.0.0.1:$git_port/Codertocat/Hello-World.git", branch: master}
images: [{alias: web, image: "127.0.0.1:9/bench/web", targets: [apps/web], pollInterval: 0s}]
serve:
  debounce: 1h
  gitDebounce: 1h
  github: {secretFile: "$work/github-secret"}
YAML
start_kedge() {
  rm -rf "$work/cache"
  env -u RUST_LOG "$kedge" serve --config "$work/kedge.yaml" --listen "127.0.0.1:$1" \
    --cache-dir "$work/cache" >/dev/null 2>"$work/kedge.log" &
  server=$!
}

start_aiohttp() {
  "$python" "$peer" "$1" "$secret" Codertocat/Hello-World master 2>"$work/aiohttp.log" &
  server=$!
}

# One process (no master), keep-alive unbounded like the other two.
start_nginx() {
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/body;
  server {
    listen 127.0.0.1:$1;
    location = /webhooks/github {
      if (\$request_method != POST) { return 405; }
      return 202;
    }
  }
}
CONF
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx.log" &
  server=$!
}

# stop_server: SIGINT, then SIGKILL after 10 s (kedge finishes queued jobs first).
stop_server() {
  local i
  kill -INT "$server" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  pids=("$git_daemon")
}

# wait_up NAME PORT: until the server answers on PORT; fails when it exited.
wait_up() {
  until (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; do
    kill -0 "$server" 2>/dev/null || { echo "$1 did not start:" >&2; cat "$work/$1.log" >&2; exit 1; }
    sleep 0.05
  done
}

# post PORT SIGNATURE: the status of one push delivery.
post() {
  curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$1/webhooks/github" \
    -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' -H "X-Hub-Signature-256: $2" \
    --data-binary "@$payload.json"
}

# cpu_seconds PID: user + system time of the process (all its threads).
cpu_seconds() {
  local stat
  stat=$(cat "/proc/$1/stat")
  echo "${stat##*) }" | awk -v hz="$clock_ticks" '{printf "%.2f", ($12 + $13) / hz}'
}

# --- The runs ---------------------------------------------------------------
names=(kedge aiohttp nginx)
port=$(free_port 18400)
: >"$work/results"
echo "kedge: $kedge ($(git rev-parse --short HEAD))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 0; round < runs; round++)); do
  for ((i = 0; i < ${#names[@]}; i++)); do
    name=${names[$(((round + i) % ${#names[@]}))]}
    "start_$name" "$port"
    pids=("$git_daemon" "$server")
    wait_up "$name" "$port"
    [[ $name == kedge ]] && until curl -fs -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.05; done
    signed=$(post "$port" "$signature")
    unsigned=$(post "$port" "sha256=$(printf '0%.0s' {1..64})")
    if [[ $signed != 202 ]] || { [[ $name != nginx ]] && [[ $unsigned != 401 ]]; }; then
      echo "$name: signed push got $signed, unsigned $unsigned (want 202, 401)" >&2
      exit 1
    fi
    load=$(cut -d' ' -f1 /proc/loadavg)
    cpu_before=$(cpu_seconds "$server")
    out=$work/wrk-$name-$round.txt
    KEDGE_BODY=$payload.json KEDGE_SIGNATURE=$signature \
      wrk -t1 -c"$connections" -d"$duration" --latency -s "$wrk_script" "http://127.0.0.1:$port" >"$out"
    cpu=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$server")" 'BEGIN {printf "%.2f", b - a}')
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    requests=$(awk '/ requests in / {print $1}' "$out")
    p50=$(awk '/^p50 / {print $2}' "$out")
    p99=$(awk '/^p50 / {print $5}' "$out")
    errors=$(awk -F': ' '/Non-2xx/ {n = $2} END {print n + 0}' "$out")
    echo "round $((round + 1)) $name: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx $errors," \
      "VmHWM $hwm kB, CPU ${cpu} s, load $load"
    grep -q 'Socket errors' "$out" && grep 'Socket errors' "$out"
    if [[ $name == kedge ]]; then
      metrics=$(curl -fs "http://127.0.0.1:$port/metrics")
      queued=$(echo "$metrics" | awk '/^kedge_webhook_events_total\{.*source="github".*outcome="queued"/ {n = $2} END {print n + 0}')
      echo "  /metrics: $queued queued (wrk counted $requests answers, + 1 sanity push)"
      echo "$metrics" | grep -E '^kedge_(webhook_events_total|jobs_total|jobs_coalesced_total)' | sed 's/^/  /'
      echo "  log: $(wc -l <"$work/kedge.log") lines, $(wc -c <"$work/kedge.log") bytes" \
        "($(awk -v b="$(wc -c <"$work/kedge.log")" -v n="$queued" 'BEGIN {printf "%.0f", n ? b / n : 0}') bytes per queued delivery)"
    fi
    stop_server
    echo "$name $rps $p50 $p99 $hwm $cpu $requests $errors $load" >>"$work/results"
  done
done

# --- The table ----------------------------------------------------------------
# spread COLUMN SCALE FORMAT [NAME]: min / median / max of a results column
# (times SCALE) for one server.
spread() {
  awk -v s="$1" -v name="$4" '$1 == name {print $s}' "$work/results" | sort -g |
    awk -v k="$2" -v f="$3" '{a[NR] = $1 * k} END {
      m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
      printf f " / " f " / " f, a[1], m, a[NR]}'
}
median() { spread "$1" 1 %s "$2" | cut -d' ' -f3; }
echo
echo "$(date -u +%F), $(nproc) cores, wrk -t1 -c$connections -d$duration, $runs runs each," \
  "load average $(awk '{print $9}' "$work/results" | sort -g | sed -n '1p;$p' | paste -sd-)"
echo
echo "| server | requests/s | p50 ms | p99 ms | peak RSS MiB (VmHWM) | server CPU µs per request | non-2xx |"
echo "|---|---|---|---|---|---|---|"
awk '{printf "%s %.1f\n", $0, $6 * 1e6 / $7}' "$work/results" >"$work/results.cpu"
mv "$work/results.cpu" "$work/results"
for name in "${names[@]}"; do
  echo "| $name | $(spread 2 1 %.0f "$name") | $(spread 3 1 %.2f "$name") | $(spread 4 1 %.2f "$name")" \
    "| $(spread 5 0.0009765625 %.1f "$name") | $(spread 10 1 %.0f "$name") | $(spread 8 1 %d "$name") |"
done
echo
awk -v k="$(median 2 kedge)" -v a="$(median 2 aiohttp)" -v n="$(median 2 nginx)" 'BEGIN {
  printf "median requests/s: kedge/aiohttp %.2f, kedge/nginx %.2f\n", k / a, k / n}'
