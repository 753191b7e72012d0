#!/usr/bin/env bash
# Install pinned AssemblyScript compilers from npm into a cache folder, one
# folder per version, and print the path of each `asc` binary.
#
#   tools/get-asc.sh                 # every pinned version
#   tools/get-asc.sh 0.28.20 0.9.4   # just these
#
# Cache: $WASMEM_CACHE (default ~/.cache/wasmem)/asc/VERSION. Only the tools/
# scripts that regenerate golden fixtures need this; the tests never do.
set -euo pipefail
PINNED=(0.9.4 0.16.1 0.17.1 0.17.14 0.20.19 0.23.1 0.28.20)
CACHE="${WASMEM_CACHE:-$HOME/.cache/wasmem}/asc"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=("${PINNED[@]}")
command -v npm >/dev/null || { echo "get-asc.sh: npm is needed to install AssemblyScript" >&2; exit 2; }
for v in "${versions[@]}"; do
  dir="$CACHE/$v"
  if [ ! -x "$dir/node_modules/.bin/asc" ]; then
    echo "installing assemblyscript@$v into $dir" >&2
    mkdir -p "$dir"
    (cd "$dir" && [ -f package.json ] || echo '{"private":true}' > "$dir/package.json")
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "assemblyscript@$v" >&2
  fi
  echo "$dir/node_modules/.bin/asc"
done
