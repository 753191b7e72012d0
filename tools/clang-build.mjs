// Compile one C file to a wasm module with the pinned clang and wasm-ld (tools/get-clang.sh):
//
//   node tools/clang-build.mjs BUNDLE SOURCE.c OUT.wasm [CLANG ARGS...]
//
// BUNDLE is the path get-clang.sh prints. The toolchain runs in a virtual file system:
// the source goes in as src.c, the module comes out as out.wasm.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, source, out, ...args] = process.argv.slice(2);
const { runClang } = await import(pathToFileURL(bundle).href);
const files = await runClang(['clang', ...args, 'src.c', '-o', 'out.wasm'], { 'src.c': readFileSync(source, 'utf8') });
writeFileSync(out, files['out.wasm']);
