#!/usr/bin/env bash
# Copies the project's shared third-party fixtures (../shared/fixtures beside
# this repository, origins in their README.md and SOURCES.jsonl) into
# tests/fixtures, the copy GitHub Actions reads through KEDGE_FIXTURES:
# there is no other public place to fetch them from. scripts/test.sh warns
# when the two differ.
set -euo pipefail
cd "$(dirname "$0")/.."
source=${1:-../shared/fixtures}
[[ -f $source/SOURCES.jsonl ]] || { echo "no fixtures at $source (give their directory)" >&2; exit 2; }
rm -rf tests/fixtures
cp -R "$source" tests/fixtures
chmod -R u+w tests/fixtures
echo "tests/fixtures now equals $source; commit it"
