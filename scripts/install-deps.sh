#!/usr/bin/env bash
# Installs what kedge's tests and demo run against: the CNCF distribution
# registry, skopeo, htpasswd, git, lighttpd; python3-venv for the test bed's
# kubectl wheel; jq (the GitHub Action's script) and shellcheck (its lint);
# util-linux (unshare, setpriv) for the container-like smoke test. Needs root
# (or sudo) on Debian/Ubuntu.
set -euo pipefail

packages=(docker-registry skopeo apache2-utils git lighttpd curl openssl ca-certificates pkg-config libssl-dev zlib1g-dev python3-venv jq shellcheck util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
