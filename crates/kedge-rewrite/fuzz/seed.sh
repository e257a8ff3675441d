#!/usr/bin/env bash
# Seeds corpus/rewrite (git-ignored) from the shared fixtures: manifests with an image update
# line, and Flux setter files with a setter update line (see fuzz_targets/rewrite.rs for the layout).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fixtures="${KEDGE_FIXTURES:-$here/../../../../shared/fixtures}"
out="$here/corpus/rewrite"
mkdir -p "$out"
i=0
for f in "$fixtures"/manifests/*/*.yaml "$fixtures"/manifests/*/*/*.yaml \
         "$fixtures"/setters/fluxcd__image-automation-controller/internal/update/testdata/setters/original/*; do
  [ -f "$f" ] || continue
  i=$((i + 1))
  { printf '\003nginx=registry.test:5000/x:1.10\n'; head -c 4000 "$f"; } > "$out/seed$i"
  [ "$i" -ge 66 ] && break
done
{ printf '\004automation-ns:policy=index.repo.fake/updated:v1.0.1\n'
  cat "$fixtures/setters/fluxcd__image-automation-controller/internal/update/testdata/setters/original/kustomization.yml"; } > "$out/setter1"
echo "seeded $(ls "$out" | wc -l) inputs in $out"
