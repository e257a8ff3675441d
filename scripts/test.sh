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
# The kedge crate's features hold on their own: a tool that only rewrites files
# builds no network or C code, and the embedding example needs only `update`.
cargo check -p kedge --no-default-features --features rewrite --locked
cargo check -p kedge-embed --locked
testbed_start
echo "Kubernetes test bed: KUBECONFIG=$KUBECONFIG"
cargo test --workspace --locked
