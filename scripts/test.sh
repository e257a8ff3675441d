#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, and the whole test suite,
# including the tests against a real registry. Installs what they need first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
