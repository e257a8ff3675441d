#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, and the whole test suite,
# including the tests against a real registry, real git servers and the
# Kubernetes test bed (a real kube-apiserver, etcd and controller-manager
# built from their Go modules; see tests/kube). Installs what they need first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

scripts/install-deps.sh
# A clean CI build gains nothing from incremental state, which would take
# several more GB of disk.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --all --check
# The GitHub workflows, and action.yml through ci.yml's `uses: ./`, with
# shellcheck on their scripts; the Action's own script; the chart's values table.
lint_tools
"$testbed_bin/actionlint" .github/workflows/*.yml
shellcheck action/update.sh scripts/vendor-fixtures.sh
scripts/chart-values-doc.py --check
# GitHub Actions reads the vendored copy of the fixtures; say when it is stale.
if [[ -d ../shared/fixtures ]] && ! diff -rq ../shared/fixtures tests/fixtures >/dev/null 2>&1; then
  echo "warning: tests/fixtures (GitHub CI's copy) differs from ../shared/fixtures: run scripts/vendor-fixtures.sh" >&2
fi
testbed_tools
(cd tests/kube && test -z "$(gofmt -l .)" && go vet .)
cargo clippy --workspace --all-targets --locked -- -D warnings
# The API docs build without a broken link or a warning (the crate guides' examples run as
# doc tests with the rest).
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# The kedge crate's features hold on their own, without warnings, and the
# light ones stay light: a tool that only rewrites files builds no network or
# C code, one that only lists tags builds no libgit2 or OpenSSL (figures in
# docs/performance.md). The embedding example needs only `update`.
kedge_feature_refuses() {
  local feature=$1 crates=$2 tree pulled
  tree=$(cargo tree -p kedge --no-default-features --features "$feature" -e normal --prefix none --locked)
  pulled=$(grep -E "^($crates) v" <<<"$tree" | sed "s/ (\*)$//" | sort -u || true)
  if [[ -n $pulled ]]; then
    printf "error: kedge's %s feature alone pulls:\n%s\n" "$feature" "$pulled" >&2
    exit 1
  fi
}
kedge_feature_refuses rewrite 'libgit2-sys|libssh2-sys|openssl-sys|aws-lc-sys|ring|tokio'
kedge_feature_refuses registry 'libgit2-sys|libssh2-sys|openssl-sys'
for feature in registry rewrite render sync git github update; do
  cargo clippy -p kedge --no-default-features --features "$feature" --locked -- -D warnings
done
cargo check -p kedge-embed --locked
testbed_start
echo "Kubernetes test bed: KUBECONFIG=$KUBECONFIG"
cargo test --workspace --locked
