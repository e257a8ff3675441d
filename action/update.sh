#!/usr/bin/env bash
# The step of action.yml: downloads a kedge release for this runner, checks
# its SHA-256, runs `kedge update -o json` and writes the `result` and
# `pr-url` outputs (and a line of the job summary). Exits as kedge did: 0
# updated or current, 1 when an image failed, 2 for a configuration error.
#
# It reads what action.yml passes (KEDGE_CONFIG, KEDGE_DRY_RUN,
# KEDGE_VERSION, KEDGE_DOWNLOAD_URL, KEDGE_REPOSITORY, GITHUB_TOKEN) and what
# the runner sets (RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, GITHUB_OUTPUT,
# GITHUB_PATH, GITHUB_STEP_SUMMARY).
set -euo pipefail

fail() { echo "::error title=kedge::$*"; exit 2; }

: "${GITHUB_OUTPUT:?runs as a GitHub Actions step: GITHUB_OUTPUT is not set}"
: "${RUNNER_TEMP:?runs as a GitHub Actions step: RUNNER_TEMP is not set}"
config=${KEDGE_CONFIG:-kedge.yaml}
dry_run=${KEDGE_DRY_RUN:-false}
version=${KEDGE_VERSION:-latest}
# github.action_repository is empty in some runners' composite steps.
repository=${KEDGE_REPOSITORY:-kedge-dev/kedge}

[[ ${RUNNER_OS:-} == Linux ]] || fail "kedge's release runs on Linux runners, not ${RUNNER_OS:-unknown}"
case ${RUNNER_ARCH:-} in
  X64) arch=amd64 ;;
  ARM64) arch=arm64 ;;
  *) fail "no kedge release for runner architecture ${RUNNER_ARCH:-unknown} (X64 and ARM64 have one)" ;;
esac
case $dry_run in
  true | false) ;;
  *) fail "dry-run is '$dry_run': use true or false" ;;
esac
[[ -f $config ]] || fail "no configuration file $config in $PWD (the config input)"

asset=kedge-linux-$arch.tar.gz
if [[ -n ${KEDGE_DOWNLOAD_URL:-} ]]; then
  url=$KEDGE_DOWNLOAD_URL
elif [[ $version == latest ]]; then
  url=https://github.com/$repository/releases/latest/download/$asset
else
  url=https://github.com/$repository/releases/download/$version/$asset
fi

bin=$RUNNER_TEMP/kedge-bin
mkdir -p "$bin"
echo "downloading $url"
curl --fail --silent --show-error --location --retry 3 -o "$bin/$asset" "$url" ||
  fail "could not download $url"
curl --fail --silent --show-error --location --retry 3 -o "$bin/$asset.sha256" "$url.sha256" ||
  fail "could not download its checksum, $url.sha256"
expected=$(cut -d' ' -f1 <"$bin/$asset.sha256")
actual=$(sha256sum "$bin/$asset" | cut -d' ' -f1)
[[ $expected == "$actual" ]] ||
  fail "$url has SHA-256 $actual, but $url.sha256 says $expected: not running it"
tar -xzf "$bin/$asset" -C "$bin" kedge
echo "$bin" >>"${GITHUB_PATH:-/dev/null}"
"$bin/kedge" --version

args=(update --config "$config" --output json)
if [[ $dry_run == true ]]; then args+=(--dry-run); fi
status=0
"$bin/kedge" "${args[@]}" >"$bin/result.json" || status=$?
cat "$bin/result.json"

delimiter=kedge-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
pr_url=$(jq -r '[.pullRequests[]?.url // empty][0] // ""' "$bin/result.json" 2>/dev/null || true)
{
  echo "result<<$delimiter"
  cat "$bin/result.json"
  echo "$delimiter"
  echo "pr-url=$pr_url"
} >>"$GITHUB_OUTPUT"

if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
  jq -r '"kedge update" + (if .dryRun then " (dry run)" else "" end) + ": "
    + ([.updates[]? | "\(.alias) \(.oldTag // .oldReference) → \(.newTag)"] | join(", ") | if . == "" then "no change" else . end)
    + (if (.failed // []) | length > 0 then "; failed: " + ([.failed[].alias] | join(", ")) else "" end)
    + (if $pr != "" then "; pull request " + $pr else "" end)' \
    --arg pr "$pr_url" "$bin/result.json" >>"$GITHUB_STEP_SUMMARY" 2>/dev/null || true
fi
exit "$status"
