#!/usr/bin/env bash
# Install the pinned Clang/LLD toolchain for WebAssembly from npm (@yowasp/clang: clang and
# wasm-ld themselves, built to WebAssembly and run by Node.js) into a cache folder, and print
# the path of its module, which tools/clang-build.mjs imports.
#
#   tools/get-clang.sh
#
# Cache: $WASMEM_CACHE (default ~/.cache/wasmem)/clang/VERSION. Only the tools/ scripts
# that regenerate the C golden fixtures need this; the tests never do.
set -euo pipefail
VERSION=22.0.0-git20542-10   # clang 22.1.0
dir="${WASMEM_CACHE:-$HOME/.cache/wasmem}/clang/$VERSION"
bundle="$dir/node_modules/@yowasp/clang/gen/bundle.js"
command -v npm >/dev/null || { echo "get-clang.sh: npm is needed to install @yowasp/clang" >&2; exit 2; }
if [ ! -f "$bundle" ]; then
  echo "installing @yowasp/clang@$VERSION into $dir" >&2
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private":true}' > "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@yowasp/clang@$VERSION" >&2
fi
echo "$bundle"
