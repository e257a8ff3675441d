#!/usr/bin/env bash
# `kedge serve --controller` with 1,000 Applications on the real test bed
# (tests/kube), release build. Each Application is a small app: its own path
# holding one ConfigMap, all in one repository served by `git daemon`, all in
# one namespace, automated sync with prune, `syncPolicy.interval` 1m.
# Measured and printed:
#   cold start   time from the controller's start until every Application
#                is Ready=True (polled once a second)
#   memory       the controller's VmHWM (peak) and VmRSS (steady) from
#                /proc/PID/status, sampled every second
#   API requests the growth of apiserver_request_total (the API server's
#                /metrics) by verb and resource per idle minute; the test
#                bed's own background (controller-manager lease renewals and
#                the like) is measured for a minute before kedge starts and
#                subtracted. The metric has no client label, so the baseline
#                is how kedge's share is told apart.
#   git requests upload-pack requests in the `git daemon --verbose` log per
#                idle minute (an ls-remote and a fetch are both one; an idle
#                controller's renders are cached, so these are ls-remotes)
#   webhooks     a commit changing one app's ConfigMap, then a signed GitHub
#                `push` delivery; the time until that app's
#                status.lastSyncedRevision is the new commit, split at the
#                moment the app's kedge.dev/refresh annotation changes (the
#                server's Git debounce and the fan-out to every Application of
#                the repository happen before it). The next round starts when
#                every Application has synced the commit.
#
# Usage: benches/controller-scale.sh
#   APPS=1000 IDLE_MINUTES=3 WEBHOOKS=10 BASELINE_SECONDS=60 by default
# Needs Go (the test bed) unless BENCH_KUBECONFIG names a running test bed's
# kubeconfig (kubectl on PATH); git, jq, curl, python3. KEDGE names a built
# kedge (else `cargo build --release -p kedge-cli`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

apps=${APPS:-1000}
idle_minutes=${IDLE_MINUTES:-3}
webhooks=${WEBHOOKS:-10}
baseline_seconds=${BASELINE_SECONDS:-60}
secret=bench-webhook-secret
repository=bench/fleet
ns=fleet-$$
if [ -z "${KEDGE:-}" ]; then cargo build --release -q -p kedge-cli; fi
kedge=${KEDGE:-${CARGO_TARGET_DIR:-$PWD/target}/release/kedge}
if [ -n "${BENCH_KUBECONFIG:-}" ]; then
  export KUBECONFIG=$BENCH_KUBECONFIG
else
  testbed_tools
  testbed_start
fi
now_ms() { date +%s%3N; }

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) ($(nproc) cores), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kedge: $kedge ($("$kedge" --version)); $apps Applications, interval 1m"

# --- The repository: apps/app-NNNN/configmap.yaml, one commit --------------
config_map() { # INDEX VERSION
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\n  labels: {app: app-%04d}\ndata:\n  index: "%d"\n  version: "%s"\n' "$1" "$1" "$1" "$2"
}
mkdir -p "$work/git/bench" "$work/clone"
git init -q --bare -b main "$work/git/$repository.git"
git -C "$work/clone" init -q -b main
for i in $(seq 0 $((apps - 1))); do
  mkdir -p "$work/clone/apps/app-$(printf %04d "$i")"
  config_map "$i" 1 >"$work/clone/apps/app-$(printf %04d "$i")/configmap.yaml"
done
git -C "$work/clone" add -A
git -C "$work/clone" -c user.name=bench -c user.email=bench@example.com commit -q -m "$apps apps"
git -C "$work/clone" push -q "$work/git/$repository.git" main
git_port=$(free_port 19418)
git daemon --verbose --log-destination=stderr --reuseaddr --export-all --listen=127.0.0.1 \
  --port="$git_port" --base-path="$work/git" "$work/git" 2>"$work/git-daemon.log" &
pids+=($!)
wait_port "$git_port"
repo_url="git://127.0.0.1:$git_port/$repository.git"
# git_requests: upload-pack requests the daemon has logged so far.
git_requests() { grep -c "Request upload-pack" "$work/git-daemon.log" || true; }

# --- The CRDs and the Applications ------------------------------------------
"$kedge" crds | kubectl apply --server-side -f - >/dev/null
kubectl wait --for condition=established --timeout 60s crd/applications.kedge.dev >/dev/null
kubectl create namespace "$ns" >/dev/null
for i in $(seq 0 $((apps - 1))); do
  name=app-$(printf %04d "$i")
  printf -- '---\napiVersion: kedge.dev/v1alpha1\nkind: Application\nmetadata: {name: %s, namespace: %s}\nspec:\n  source: {repoURL: "%s", targetRevision: main, path: apps/%s}\n  destination: {namespace: %s}\n  syncPolicy: {automated: true, prune: true, interval: 1m}\n' \
    "$name" "$ns" "$repo_url" "$name" "$ns"
done >"$work/applications.yaml"
kubectl apply --server-side -f "$work/applications.yaml" >/dev/null
created=$(kubectl get applications.kedge.dev -n "$ns" -o name | wc -l)
echo "created $created Applications"
[ "$created" -eq "$apps" ] || { echo "expected $apps Applications" >&2; exit 1; }

# --- API server requests -----------------------------------------------------
# request_counts: "VERB|RESOURCE|SUBRESOURCE N" for every apiserver_request_total
# series (VERB gets -dry-run for dry runs; RESOURCE is - for non-resource URLs).
request_counts() {
  kubectl get --raw /metrics | awk '
    /^apiserver_request_total\{/ {
      verb = ""; resource = "-"; sub_ = ""
      if (match($0, /verb="[A-Z]+"/)) verb = substr($0, RSTART + 6, RLENGTH - 7)
      if (match($0, /resource="[^"]+"/)) resource = substr($0, RSTART + 10, RLENGTH - 11)
      if (match($0, /subresource="[^"]+"/)) sub_ = substr($0, RSTART + 13, RLENGTH - 14)
      if ($0 ~ /dry_run="All"/) verb = verb "-dry-run"
      n[verb "|" resource "|" sub_] += $NF }
    END { for (k in n) print k, n[k] }' | sort
}
# request_growth BEFORE AFTER: "KEY DELTA" for every series that grew.
request_growth() {
  join -a2 -e0 -o 0,1.2,2.2 <(echo "$1") <(echo "$2") | awk '$3 > $2 { print $1, $3 - $2 }'
}
# summarize GROWTH BASELINE SECONDS: per-minute writes, dry-run writes and
# reads, minus the baseline's per-minute rate, and the series that grew.
summarize() {
  awk -v secs="$3" -v base="$2" '
    BEGIN { n = split(base, b, " "); for (i = 1; i <= n; i += 2) bl[b[i]] = b[i + 1] }
    { split($1, k, "|"); verb = k[1]; d = $2 * 60 / secs
      if (verb ~ /-dry-run$/) dry += d
      else if (verb ~ /^(GET|LIST|WATCH)$/) reads += d
      else { writes += d; w = w sep $1 " " sprintf("%.1f", d); sep = ", " } }
    END { printf "writes %.1f/min%s, dry-run writes %.1f/min, reads %.1f/min (test-bed background: writes %.1f/min, reads %.1f/min)\n",
      writes - bl["writes"], (w ? " [every series, background included: " w "]" : ""), dry - bl["dry"], reads - bl["reads"], bl["writes"], bl["reads"] }' <<<"$1"
}
# rates GROWTH SECONDS: "writes W dry D reads R" per minute, for the baseline.
rates() {
  awk -v secs="$2" '{ split($1, k, "|"); d = $2 * 60 / secs
      if (k[1] ~ /-dry-run$/) dry += d; else if (k[1] ~ /^(GET|LIST|WATCH)$/) reads += d; else writes += d }
    END { printf "writes %f dry %f reads %f", writes, dry, reads }' <<<"$1"
}
# top GROWTH: the series that grew most, per window.
top() { sort -k2 -n -r <<<"$1" | head -"${2:-8}" | awk '{ printf "%s%s %d", sep, $1, $2; sep = ", " } END { print "" }'; }

echo "test-bed background, $baseline_seconds s without kedge ..."
before=$(request_counts)
sleep "$baseline_seconds"
baseline_growth=$(request_growth "$before" "$(request_counts)")
baseline=$(rates "$baseline_growth" "$baseline_seconds")
echo "  $(top "$baseline_growth")"

# --- Cold start --------------------------------------------------------------
# not_ready: how many Applications are not Ready=True.
not_ready() {
  kubectl get applications.kedge.dev -n "$ns" -o json | jq '[.items[] | select(([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length) == 0)] | length'
}
kedge_port=$(free_port 18080)
start=$(now_ms)
git_at_start=$(git_requests)
# KEDGE_SERVE_ARGS: more flags for kedge serve (e.g. "--git-debounce 50ms").
read -r -a serve_args <<<"${KEDGE_SERVE_ARGS:-}"
(cd "$work" && KEDGE_GITHUB_WEBHOOK_SECRET=$secret exec "$kedge" serve --controller --no-leader-election \
  --watch-namespace "$ns" --listen "127.0.0.1:$kedge_port" --cache-dir "$work/cache" "${serve_args[@]}" 2>"$work/kedge.log" >/dev/null) &
pids+=($!)
kedge_pid=$!
# The RSS sampler: "ms VmRSS_kB VmHWM_kB" every second.
while kill -0 "$kedge_pid" 2>/dev/null; do
  awk -v t="$(now_ms)" '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { if (r) print t, r, h }' "/proc/$kedge_pid/status" 2>/dev/null || true
  sleep 1
done >"$work/rss" &
pids+=($!)
rss_now() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$kedge_pid/status"; }
hwm_now() { awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$kedge_pid/status"; }
left=$apps
while [ "$left" -gt 0 ]; do
  kill -0 "$kedge_pid" || { echo "kedge exited:" >&2; tail -20 "$work/kedge.log" >&2; exit 1; }
  if [ $(($(now_ms) - start)) -gt 1800000 ]; then echo "not all Ready after 30 min ($left left)" >&2; exit 1; fi
  sleep 1
  left=$(not_ready)
done
cold_ms=$(($(now_ms) - start))
echo
echo "cold start: all $apps Applications Ready=True after $((cold_ms / 1000)).$(printf %03d $((cold_ms % 1000))) s" \
  "($(($(git_requests) - git_at_start)) git upload-packs); RSS then $(rss_now) MiB, peak so far $(hwm_now) MiB"

# --- Idle: nothing changes ----------------------------------------------------
echo
echo "idle, per minute (kedge's share of API requests, test-bed background subtracted):"
rss_min=999999 rss_max=0
for minute in $(seq "$idle_minutes"); do
  before=$(request_counts)
  git_before=$(git_requests)
  sleep 60
  growth=$(request_growth "$before" "$(request_counts)")
  rss=$(rss_now)
  [ "$rss" -lt "$rss_min" ] && rss_min=$rss
  [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  echo "  minute $minute: git upload-packs $(($(git_requests) - git_before)); $(summarize "$growth" "$baseline" 60)"
  echo "    grew most: $(top "$growth")"
done
echo "memory: peak (VmHWM) $(hwm_now) MiB; steady (VmRSS at the end of each idle minute) $rss_min-$rss_max MiB"

# --- Webhook -> Synced --------------------------------------------------------
# deliver_push OLD NEW FILE: a signed GitHub push delivery for the repository's
# main, listing the file its one commit modified (as GitHub's payload does).
deliver_push() {
  local body signature
  body=$(printf '{"ref":"refs/heads/main","before":"%s","after":"%s","deleted":false,"repository":{"full_name":"%s","clone_url":"https://github.com/%s.git"},"commits":[{"id":"%s","added":[],"removed":[],"modified":["%s"]}]}' \
    "$1" "$2" "$repository" "$repository" "$2" "$3")
  signature=sha256=$(printf %s "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
  curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$kedge_port/webhooks/github" \
    -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-GitHub-Delivery: bench-$(now_ms)" -H "X-Hub-Signature-256: $signature" --data-binary "$body"
}
# behind COMMIT: how many Applications have not synced COMMIT yet.
behind() { kubectl get applications.kedge.dev -n "$ns" -o json | jq --arg c "$1" '[.items[] | select(.status.lastSyncedRevision != $c)] | length'; }

echo
: >"$work/webhook-times"
for round in $(seq "$webhooks"); do
  index=$(((round * 379) % apps))
  name=app-$(printf %04d "$index")
  config_map "$index" "$((round + 1))" >"$work/clone/apps/$name/configmap.yaml"
  git -C "$work/clone" -c user.name=bench -c user.email=bench@example.com commit -q -am "$name version $((round + 1))"
  old=$(git -C "$work/clone" rev-parse HEAD~1)
  new=$(git -C "$work/clone" rev-parse HEAD)
  git -C "$work/clone" push -q "$work/git/$repository.git" main
  # A watch on the app stamps its refresh annotation and synced revision.
  rm -f "$work/watch"
  kubectl get applications.kedge.dev "$name" -n "$ns" --watch \
    -o jsonpath='{.metadata.annotations.kedge\.dev/refresh} {.status.lastSyncedRevision}{"\n"}' |
    while read -r refresh revision; do echo "$(now_ms) $refresh $revision"; done >"$work/watch" &
  watch_pid=$!
  until [ -s "$work/watch" ]; do sleep 0.05; done
  first_refresh=$(head -1 "$work/watch" | cut -d' ' -f2)
  sent=$(now_ms)
  code=$(deliver_push "$old" "$new" "apps/$name/configmap.yaml")
  [ "$code" = 202 ] || { echo "webhook answered $code" >&2; tail -5 "$work/kedge.log" >&2; exit 1; }
  for _ in $(seq 6000); do grep -q " $new\$" "$work/watch" && break; sleep 0.05; done
  kill "$watch_pid" 2>/dev/null || true
  synced=$(awk -v c="$new" '$NF == c { print $1; exit }' "$work/watch")
  refreshed=$(awk -v r="$first_refresh" 'NF >= 3 && $2 != r { print $1; exit }' "$work/watch")
  [ -n "$synced" ] || { echo "round $round: $name did not sync $new within 300 s" >&2; exit 1; }
  until [ "$(behind "$new")" -eq 0 ]; do sleep 0.5; done
  all=$(now_ms)
  echo "$((synced - sent)) $((${refreshed:-$synced} - sent)) $((synced - ${refreshed:-$synced})) $((all - sent))" >>"$work/webhook-times"
  echo "round $round: $name synced $((synced - sent)) ms after the delivery (annotated at $((${refreshed:-$synced} - sent)) ms); all $apps at the commit after $((all - sent)) ms"
done
# pct COLUMN P: the P-th percentile (nearest rank) of a column of webhook-times.
pct() { cut -d' ' -f"$1" "$work/webhook-times" | sort -n | awk -v p="$2" '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i] }'; }
if [ "$webhooks" -gt 0 ]; then
  echo
  echo "webhook -> Synced over $webhooks rounds (ms): p50 $(pct 1 50), p99 $(pct 1 99), max $(pct 1 100)"
  echo "  delivery -> refresh annotation (the Git debounce, then the PATCHes: the Applications the push touched first): p50 $(pct 2 50), p99 $(pct 2 99)"
  echo "  refresh annotation -> Synced: p50 $(pct 3 50), p99 $(pct 3 99)"
  echo "  delivery -> all $apps synced at the commit: p50 $(pct 4 50), p99 $(pct 4 99)"
fi
echo "memory after the webhook rounds: peak (VmHWM) $(hwm_now) MiB, VmRSS $(rss_now) MiB"
echo "kedge CPU (user+sys s) over the whole run: $(awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$kedge_pid/stat")"
